// GET /metrics over HTTP (cpp-httplib), served from its own threads so a slow
// scraper never stalls the control loop. The loop publishes a freshly
// rendered text after each poll; a scrape returns the latest one.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace sipwall::control {

class MetricsServer {
 public:
  MetricsServer();
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds now (so a busy port is a start-up error), serves in a thread.
  bool start(const std::string& host, int port, std::string& error);
  void stop();
  void publish(std::string text);
  int port() const noexcept { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::shared_ptr<const std::string> text_;
  int port_ = 0;
};

}  // namespace sipwall::control
