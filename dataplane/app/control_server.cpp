#include "app/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace sipwall::dataplane {
namespace {
// A request line longer than this is a client bug; drop the client.
constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr std::size_t kMaxClients = 16;
}  // namespace

ControlServer::~ControlServer() { close(); }

bool ControlServer::open(const std::string& path, unsigned mode, const std::string& group,
                         std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = "control socket path too long: " + path;
    return false;
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  // A socket left by a crashed instance would make bind() fail; a live
  // instance is detected by connecting to it first.
  int probe = ::socket(AF_UNIX, SOCK_STREAM, 0);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::close(probe);
    error = "another process is serving " + path;
    return false;
  }
  if (probe >= 0) ::close(probe);
  ::unlink(path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    error = "control socket " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  path_ = path;
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    error = "chmod " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      error = "control socket group '" + group + "': " + (g ? std::strerror(errno) : "no such group");
      close();
      return false;
    }
  }
  return true;
}

void ControlServer::close() {
  for (Client& c : clients_) ::close(c.fd);
  clients_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
}

void ControlServer::poll(int timeout_ms, const Handler& handler) {
  if (listen_fd_ < 0) return;
  std::vector<pollfd> fds;
  fds.push_back({listen_fd_, POLLIN, 0});
  for (Client& c : clients_)
    fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  if (fds[0].revents & POLLIN) {
    int fd;
    while ((fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
      if (clients_.size() >= kMaxClients) {
        ::close(fd);
        continue;
      }
      clients_.push_back({fd, {}, {}});
    }
  }
  for (std::size_t i = 1; i < fds.size(); ++i) {
    Client& c = clients_[i - 1];
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(c.fd, buf, sizeof buf)) > 0) c.in.append(buf, static_cast<std::size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || c.in.size() > kMaxRequest) {
        serve(c, handler);  // answer what was complete before the peer closed
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      serve(c, handler);
    }
    if (c.fd >= 0 && !c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
  }
  std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
}

void ControlServer::serve(Client& c, const Handler& handler) {
  std::size_t nl;
  while ((nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    c.out += handler(line);
    c.out += '\n';
  }
  // Flush replies now: most clients send one request and wait.
  while (c.fd >= 0 && !c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    c.out.erase(0, static_cast<std::size_t>(n));
  }
}

}  // namespace sipwall::dataplane
