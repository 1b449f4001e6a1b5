// The Unix-socket line server of both daemons: sipwall-dataplane serves its
// control socket with it from the main lcore loop, sipwall-control its own
// socket from its event loop. One request line in, one reply line out, in
// order; no threads, nothing blocks.
//
// Whoever connects is untrusted (any member of the socket's group), so every
// resource a client can hold is bounded (docs/control-protocol.md, "Limits"):
//  * a request line is at most `max_line` bytes; a longer one is answered with
//    an error and the connection is closed;
//  * a client gets its next request read only when its reply is sent (and, for
//    a deferred reply, given): one reply buffered per client, at most
//    `max_reply` bytes;
//  * a line must be complete within `line_timeout` of its first byte (a byte
//    every few seconds does not hold a connection), a reply must make progress
//    within `send_timeout` (a client that never reads), a connection with
//    nothing going on is closed after `idle_timeout`;
//  * at most `max_clients` connections: a new one is never refused (idle
//    connections cannot lock operators out); it evicts a connection that
//    never sent a byte, else the client idle longest, but never one active
//    in the last `accept_grace` or waiting for a deferred reply
//    (evict_one()); if only such are left, new connections wait in the
//    backlog until a grace ends;
//  * an exception from the handler becomes an error reply and is counted.
//
// Deferred replies (sipwall-control's `reload`): the handler returns nullopt
// and reply(id, ...) gives the answer later; that client's further lines wait.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipwall::protocol {

struct LineServerLimits {
  std::size_t max_line = 64 * 1024;
  std::size_t max_reply = 256u << 20;  // what UnixJsonClient accepts
  std::size_t max_clients = 32;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds line_timeout{10'000};
  std::chrono::milliseconds send_timeout{10'000};
  // A connection active this recently (connected, sent, was sent to) is
  // not evicted (evict_one()).
  std::chrono::milliseconds accept_grace{100};
};

// What happened to clients since open(); both daemons show it in `status`.
struct LineServerCounters {
  std::uint64_t accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t evicted = 0;        // closed to make room for a new connection
  std::uint64_t idle_timeouts = 0;  // nothing sent or asked for idle_timeout
  std::uint64_t line_timeouts = 0;  // a line not finished within line_timeout
  std::uint64_t send_timeouts = 0;  // a reply not read within send_timeout
  std::uint64_t oversized_lines = 0;
  std::uint64_t handler_errors = 0;  // exceptions turned into error replies
};

class LineServer {
 public:
  using ClientId = std::uint64_t;
  using Clock = std::chrono::steady_clock;
  // The reply line (without newline), or nullopt: reply(id, ...) comes later.
  using Handler = std::function<std::optional<std::string>(ClientId, std::string_view line)>;

  LineServer();
  ~LineServer();
  LineServer(const LineServer&) = delete;
  LineServer& operator=(const LineServer&) = delete;

  // Creates the socket (refusing one a live process serves, removing a stale
  // one), sets its mode and group.
  bool open(const std::string& path, unsigned mode, const std::string& group, Handler handler, std::string& error,
            LineServerLimits limits = {});
  void close();

  // For a caller with its own poll(): add_pollfds() appends this server's
  // descriptors; process() handles their events and the timeouts. Call
  // process() after every poll(), whether it returned events or not.
  void add_pollfds(std::vector<pollfd>& fds);
  void process(const std::vector<pollfd>& fds);
  // Or both in one: waits up to timeout_ms (the data plane's main loop).
  void poll(int timeout_ms);
  // When a caller with its own poll() must call process() even without
  // events (accepting was paused: the table is full of new connections).
  std::optional<Clock::time_point> wake_at() const;

  // The deferred reply of client `id`; ignored if it has gone.
  void reply(ClientId id, std::string_view line);

  std::size_t clients() const noexcept;
  const LineServerCounters& counters() const noexcept { return counters_; }
  const LineServerLimits& limits() const noexcept { return limits_; }
  const std::string& path() const noexcept { return path_; }

 private:
  struct Client;
  Client* find(ClientId id);
  short events_of(Client& c);
  bool reading(Client& c);
  void read_some(Client& c, Clock::time_point now);
  void serve(Client& c, Clock::time_point now);
  void handle(Client& c, std::string_view line, Clock::time_point now);
  void queue_reply(Client& c, std::string_view line, Clock::time_point now);
  void flush(Client& c, Clock::time_point now);
  void finish_if_done(Client& c);
  void drop(Client& c, std::string_view last_words = {});
  void accept_new(Clock::time_point now);
  bool evict_one(Clock::time_point now);
  void pause_accepting(Clock::time_point now);
  void check_timeouts(Clock::time_point now);

  int listen_fd_ = -1;
  std::string path_;
  Handler handler_;
  LineServerLimits limits_;
  LineServerCounters counters_;
  std::vector<std::unique_ptr<Client>> clients_;
  ClientId next_id_ = 1;
  bool in_handler_ = false;
  std::optional<Clock::time_point> accept_paused_until_;
  std::size_t first_fd_ = 0;      // index of the listen socket in the caller's pollfd array
  std::vector<ClientId> polled_;  // clients in the order their pollfds were added
};

}  // namespace sipwall::protocol
