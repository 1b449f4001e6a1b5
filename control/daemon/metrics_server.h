// GET /metrics over HTTP/1.x, served by one thread of its own so a slow
// scraper never stalls the control loop (and a data-plane load that blocks
// the loop never stalls a scrape). The loop publishes a freshly rendered text
// after each poll; a scrape returns the latest one.
//
// One poll() loop, non-blocking sockets, one request per connection
// (`Connection: close`). A thread pool (what cpp-httplib offers) gives each
// connection a worker for as long as the client keeps it open, so a few idle
// or byte-a-second clients starve every scrape; here no client can hold more
// than its own slot, and every slot is bounded (docs/control.md, "Metrics"):
//  * the request head (request line and headers) is at most `max_request`
//    bytes and must arrive within `request_timeout` of the connect;
//  * the response must make progress within `send_timeout`;
//  * at most `max_connections` at once: a new connection evicts one that
//    never sent a byte, else the one idle longest, so a scrape is never
//    refused; a connection active in the last `accept_grace` is not evicted
//    (a flood of connects cannot push a scrape out before its request is
//    read): with only such left, new connections wait in the backlog.
//
// It listens on TCP (host:port) or on a Unix socket (mode and group like the
// control socket: who may scrape is who may open it), and with users set
// (metrics.web_config) every request needs HTTP basic auth (basic_auth.h);
// with a certificate (tls_server_config) it speaks HTTPS (OpenSSL, driven
// non-blocking by the same loop: the handshake is bounded like a request).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sipwall::control {

struct MetricsServerLimits {
  std::size_t max_connections = 16;
  std::size_t max_request = 8192;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds send_timeout{10000};
  std::chrono::milliseconds accept_grace{100};  // active this recently: not evicted
};

struct MetricsServerCounters {
  std::uint64_t responses = 0;  // every status code
  std::uint64_t evicted = 0;
  std::uint64_t timeouts = 0;  // request head or response too slow
  std::uint64_t bad_requests = 0;
  std::uint64_t auth_failures = 0;  // 401 and 429: no, wrong or too many credentials
};

class BasicAuth;

class MetricsServer {
 public:
  MetricsServer();
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds now (so a busy port is a start-up error), serves in a thread.
  bool start(const std::string& host, int port, std::string& error, MetricsServerLimits limits = {});
  // The same on a Unix socket at `path`, chmod `mode`, chgrp `group` (empty:
  // the process's group). A stale socket file is replaced; a live one is an
  // error. The file is removed by stop().
  bool start_unix(const std::string& path, std::uint32_t mode, const std::string& group, std::string& error,
                  MetricsServerLimits limits = {});
  // Before start: every request needs one of these users (name -> crypt(3)
  // hash) in an Authorization: Basic header. Empty: no authentication.
  void set_users(std::map<std::string, std::string> users);
  // Before start: serve HTTPS with this PEM certificate (chain) and key.
  // False with `error` if they cannot be read or do not match.
  bool set_tls(const std::string& cert_file, const std::string& key_file, std::string& error);
  void stop();
  void publish(std::string text);
  int port() const noexcept { return port_; }
  MetricsServerCounters counters() const;

 private:
  struct Connection;
  void run();
  bool run_thread(std::string& error);

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread's poll()
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;  // text_ and counters_
  std::shared_ptr<const std::string> text_;
  MetricsServerCounters counters_;
  MetricsServerLimits limits_;
  int port_ = 0;
  std::string unix_path_;  // removed by stop()
  std::unique_ptr<BasicAuth> auth_;
  struct TlsContext;
  std::unique_ptr<TlsContext> tls_;
};

}  // namespace sipwall::control
