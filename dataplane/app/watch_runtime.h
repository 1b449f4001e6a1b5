// The main lcore's side of watched calls (docs/export.md): the watch slots
// (the configured HEP export, `watch-start` captures), the WatchSet the
// workers read (published like a rule set: pointer swap, RCU grace period,
// old set freed), the drain of the workers' watch rings, HEP encoding and
// sending, and the capture sessions `sipwallctl capture` reads.
//
// HEP is encoded and sent here, on the main lcore, rather than in
// sipwall-control: the copies are already in this process, the socket never
// blocks (hep_sender.h), and the work per turn is bounded
// (watch.drain_per_turn copies per worker), so the control socket stays
// responsive and the workers never wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/app/dataplane.h"
#include "dataplane/app/hep_sender.h"
#include "dataplane/sip/sip_message.h"
#include "dataplane/watch/hep.h"
#include "dataplane/watch/watch_filter.h"

namespace sipwall::dataplane {

// What a capture may hold (watch-start's bounds and their ceilings).
struct CaptureBounds {
  std::uint64_t for_ms = 60000;
  std::uint64_t max_packets = 10000;
  std::uint64_t max_bytes = 64ull << 20;
};
inline constexpr std::uint64_t kCaptureMaxForMs = 24ull * 3600 * 1000;
inline constexpr std::uint64_t kCaptureMaxPackets = 10000000;
inline constexpr std::uint64_t kCaptureMaxBytes = 4ull << 30;
// Copies waiting for the client's next watch-read, per capture: beyond
// this they are dropped (counted in the session's `dropped`).
inline constexpr std::size_t kCaptureBufferBytes = 32u << 20;
// A capture whose client has not read for this long is ended and freed.
inline constexpr std::chrono::seconds kCaptureIdle{30};

class WatchRuntime {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WatchRuntime(Dataplane& dp) : dp_(dp) {}
  WatchRuntime(const WatchRuntime&) = delete;
  WatchRuntime& operator=(const WatchRuntime&) = delete;
  ~WatchRuntime();

  // The configured HEP export (export.hep), if any: its socket and slot.
  bool start(std::string& error);
  // Drains the rings, sends HEP, ends captures past their bounds.
  void tick();

  // watch-start: a capture of the calls `f` matches. nullopt and `error`
  // when no slot is free.
  std::optional<std::uint64_t> start_capture(const watch::WatchFilter& f, const CaptureBounds& b, std::string& error);
  // watch-read: up to `max_packets` buffered copies (at most ~`max_bytes`
  // of frames); null if no capture has this id.
  std::optional<nlohmann::json> read_capture(std::uint64_t id, std::size_t max_packets, std::size_t max_bytes);
  bool stop_capture(std::uint64_t id);
  nlohmann::json status_json() const;

 private:
  struct Captured {
    std::uint64_t time_ns;
    std::uint8_t port;
    std::string frame;
  };
  struct Slot {
    enum class Kind : std::uint8_t { free, hep, capture } kind = Kind::free;
    watch::WatchFilter filter;
    bool active = false;  // in the published set
    // Captures.
    std::uint64_t id = 0;
    CaptureBounds bounds;
    Clock::time_point deadline{};
    Clock::time_point last_read{};
    std::uint64_t packets = 0, bytes = 0, dropped = 0;
    std::string end_reason;  // why it stopped taking copies ("" while it does)
    std::deque<Captured> buffer;
    std::size_t buffered_bytes = 0;
  };

  void publish();
  void take(rte_mbuf* copy);
  void export_hep(const std::uint8_t* frame, std::size_t len, std::uint64_t time_ns);
  void capture(Slot& s, const std::uint8_t* frame, std::size_t len, std::uint64_t time_ns, std::uint8_t port);
  void end_capture(Slot& s, const char* reason);

  Dataplane& dp_;
  std::vector<Slot> slots_ = std::vector<Slot>(watch::kMaxWatches);
  const watch::WatchSet* published_ = nullptr;
  std::uint32_t generation_ = 0;
  std::uint64_t next_id_ = 1;
  bool dirty_ = false;  // the slots changed since the last publish
  HepSender hep_;
  std::uint64_t hep_too_large_ = 0;    // copies HEP cannot carry (over 64 KiB)
  std::uint64_t hep_not_decoded_ = 0;  // copies whose frame or SIP did not decode
  std::uint64_t stale_ = 0;            // copies for a watch that had ended
  std::vector<std::uint8_t> linear_ = std::vector<std::uint8_t>(kLinearBytes);
  std::vector<std::uint8_t> hep_buf_ = std::vector<std::uint8_t>(watch::kHepMax);
  sip::Message msg_;
};

}  // namespace sipwall::dataplane
