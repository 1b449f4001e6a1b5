#include "daemon/line_server.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace sipwall::control {
namespace {
constexpr std::size_t kMaxLine = 64 * 1024;  // longer: a client bug, drop it
constexpr std::size_t kMaxClients = 32;
}  // namespace

LineServer::~LineServer() { close(); }

bool LineServer::open(const std::string& path, unsigned mode, const std::string& group, Handler handler,
                      std::string& error) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error = "control socket path too long: " + path;
    return false;
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::close(probe);
    error = "another process is serving " + path + " (is sipwall-control already running?)";
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
  handler_ = std::move(handler);
  return true;
}

void LineServer::close() {
  for (Client& c : clients_)
    if (c.fd >= 0) ::close(c.fd);
  clients_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
}

void LineServer::add_pollfds(std::vector<pollfd>& fds) {
  first_fd_ = fds.size();
  polled_.clear();
  if (listen_fd_ < 0) return;
  fds.push_back({listen_fd_, POLLIN, 0});
  for (Client& c : clients_) {
    fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    polled_.push_back(c.id);
  }
}

void LineServer::process(const std::vector<pollfd>& fds) {
  if (listen_fd_ < 0 || first_fd_ >= fds.size()) return;
  for (std::size_t k = 0; k < polled_.size() && first_fd_ + 1 + k < fds.size(); ++k) {
    const pollfd& p = fds[first_fd_ + 1 + k];
    auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.id == polled_[k]; });
    if (it == clients_.end() || it->fd < 0) continue;
    Client& c = *it;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(c.fd, buf, sizeof buf)) > 0) c.in.append(buf, static_cast<std::size_t>(n));
      bool gone = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      if (c.in.size() > kMaxLine && c.in.find('\n') == std::string::npos) gone = true;
      if (!gone) serve(c);
      if (gone) {
        // A client that hangs up while waiting for a reload: the reload
        // still completes, its reply is dropped.
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
    }
    if (c.fd >= 0 && !c.out.empty()) flush(c);
  }
  if (fds[first_fd_].revents & POLLIN) {
    int fd;
    while ((fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
      if (clients_.size() >= kMaxClients) {
        ::close(fd);
        continue;
      }
      Client c;
      c.fd = fd;
      c.id = next_id_++;
      clients_.push_back(std::move(c));
    }
  }
  std::erase_if(clients_, [](const Client& c) { return c.fd < 0; });
}

void LineServer::serve(Client& c) {
  std::size_t nl;
  while (!c.waiting && (nl = c.in.find('\n')) != std::string::npos) {
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    ClientId id = c.id;
    std::optional<std::string> r = handler_(id, line);
    // The handler may have called reply() or accepted clients: find c again.
    auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& x) { return x.id == id; });
    if (it == clients_.end()) return;
    if (r) {
      it->out += *r;
      it->out += '\n';
    } else {
      it->waiting = true;
    }
    flush(*it);
    if (&*it != &c) return;
  }
}

void LineServer::flush(Client& c) {
  while (c.fd >= 0 && !c.out.empty()) {
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    ::close(c.fd);
    c.fd = -1;
  }
}

void LineServer::reply(ClientId id, const std::string& line) {
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.id == id; });
  if (it == clients_.end() || it->fd < 0) return;
  it->out += line;
  it->out += '\n';
  it->waiting = false;
  flush(*it);
  if (it->fd >= 0) serve(*it);  // lines it sent while waiting
}

}  // namespace sipwall::control
