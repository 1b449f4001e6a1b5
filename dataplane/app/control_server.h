// The data plane's control socket: a Unix stream socket served from the main
// lcore without threads. Requests and replies are one line each (JSON; see
// docs/control-protocol.md). The main loop calls poll() every few
// milliseconds; nothing here ever runs on a worker lcore.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sipwall::dataplane {

class ControlServer {
 public:
  using Handler = std::function<std::string(const std::string& request_line)>;

  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket (removing a stale one), sets its mode and group.
  bool open(const std::string& path, unsigned mode, const std::string& group, std::string& error);
  // Accepts, reads and answers whatever is ready; waits at most timeout_ms.
  void poll(int timeout_ms, const Handler& handler);
  void close();
  const std::string& path() const { return path_; }

 private:
  struct Client {
    int fd = -1;
    std::string in;
    std::string out;
  };
  void serve(Client& c, const Handler& handler);

  int listen_fd_ = -1;
  std::string path_;
  std::vector<Client> clients_;
};

}  // namespace sipwall::dataplane
