// sipwall-control's own control socket: a Unix stream socket speaking JSON
// lines, like the data plane's. Unlike the data plane's, a reply may come
// later: `reload` answers when the reload is done (the handler returns
// nullopt and the daemon calls reply() then). While a client waits, further
// lines from it are held, so replies stay in request order.
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sipwall::control {

class LineServer {
 public:
  using ClientId = std::uint64_t;
  // nullopt: the reply will be given later with reply(id, ...).
  using Handler = std::function<std::optional<std::string>(ClientId, const std::string& line)>;

  LineServer() = default;
  ~LineServer();
  LineServer(const LineServer&) = delete;
  LineServer& operator=(const LineServer&) = delete;

  // Refuses to take over a socket a live process serves; removes a stale one.
  bool open(const std::string& path, unsigned mode, const std::string& group, Handler handler, std::string& error);
  void close();

  // Adds this server's descriptors to `fds`; process() handles their events.
  void add_pollfds(std::vector<pollfd>& fds);
  void process(const std::vector<pollfd>& fds);
  void reply(ClientId id, const std::string& line);
  std::size_t clients() const noexcept { return clients_.size(); }

 private:
  struct Client {
    int fd = -1;
    ClientId id = 0;
    std::string in, out;
    bool waiting = false;  // a deferred reply is outstanding
  };
  void serve(Client& c);
  void flush(Client& c);

  int listen_fd_ = -1;
  std::string path_;
  Handler handler_;
  std::vector<Client> clients_;
  ClientId next_id_ = 1;
  std::size_t first_fd_ = 0;  // index of the listen socket in the caller's pollfd array
  std::vector<ClientId> polled_;  // clients in the order their pollfds were added
};

}  // namespace sipwall::control
