// Sends encoded HEP packets to the configured collector (docs/export.md),
// from the main lcore, never waiting: UDP datagrams with MSG_DONTWAIT (one
// that the socket refuses is dropped and counted); over TCP, a bounded send
// buffer (export.hep.tcp_buffer bytes; what does not fit is dropped and
// counted) flushed at every turn of the main loop, and a non-blocking
// connect retried with a doubling back-off (0.1 s .. 30 s) while the
// collector is away.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "dataplane/app/config.h"

namespace sipwall::dataplane {

struct HepSenderCounters {
  std::uint64_t sent = 0;      // HEP packets handed to the kernel (UDP) or written whole (TCP)
  std::uint64_t bytes = 0;     // bytes handed to the kernel (UDP) or queued (TCP)
  std::uint64_t dropped = 0;   // refused by the socket (UDP) or over the TCP buffer
  std::uint64_t connects = 0;  // TCP connections made
  std::uint64_t connect_failures = 0;
};

class HepSender {
 public:
  HepSender() = default;
  HepSender(const HepSender&) = delete;
  HepSender& operator=(const HepSender&) = delete;
  ~HepSender();

  // UDP: the socket, connected to the collector. TCP: the first connect
  // attempt (the collector may come later). False with `error` on a local
  // failure (no socket).
  bool open(const DataplaneConfig& cfg, std::string& error);
  bool enabled() const noexcept { return enabled_; }
  void send(const std::uint8_t* bytes, std::size_t n) noexcept;
  // TCP: connects or reconnects when due, writes what the buffer holds.
  void poll() noexcept;

  const HepSenderCounters& counters() const noexcept { return c_; }
  bool connected() const noexcept { return state_ == State::connected; }
  std::size_t queued() const noexcept { return out_.size() - out_done_; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class State : std::uint8_t { idle, connecting, connected };
  void start_connect() noexcept;
  void fail_connection() noexcept;
  void flush() noexcept;

  bool enabled_ = false;
  bool tcp_ = false;
  int fd_ = -1;
  State state_ = State::idle;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  std::string out_;                // queued HEP packets, back to back
  std::size_t out_done_ = 0;       // bytes of out_ written
  std::deque<std::size_t> sizes_;  // the queued packets' sizes (boundaries)
  std::size_t head_written_ = 0;   // bytes of the first queued packet written
  std::size_t cap_ = 0;
  std::chrono::milliseconds backoff_{100};
  Clock::time_point next_connect_{};
  HepSenderCounters c_;
};

}  // namespace sipwall::dataplane
