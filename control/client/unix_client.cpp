#include "control/client/unix_client.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace sipwall::control {
namespace {

// Replies bigger than this are a bug on the other side (stats of a huge rule
// set are a few MB at most).
constexpr std::size_t kMaxReply = 256u << 20;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string permission_hint(const std::string& path) {
  // The group that may use it: the socket's, or (when its folder cannot even
  // be entered) the folder's.
  struct stat st {};
  std::string where = path;
  if (::stat(path.c_str(), &st) != 0) {
    const std::size_t slash = path.rfind('/');
    where = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::stat(where.c_str(), &st) != 0) return {};
  }
  std::string group = std::to_string(st.st_gid);
  std::vector<char> buf(16384);
  struct group g {};
  struct group* found = nullptr;
  if (::getgrgid_r(st.st_gid, &g, buf.data(), buf.size(), &found) == 0 && found) group = found->gr_name;
  return " (only root and members of group '" + group + "', the group of " + where +
         ", may use it: `adduser YOUR-USER " + group + "`, then log in again)";
}

UnixJsonClient::~UnixJsonClient() {
  close();
}

void UnixJsonClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
}

bool UnixJsonClient::connect(const std::string& path, int timeout_ms) {
  close();
  closed_by_peer_ = false;
  path_ = path;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    error_ = path + ": socket path too long";
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error_ = path + ": socket: " + std::strerror(errno);
    return false;
  }
  // A Unix socket connects at once or fails at once, except when the
  // listener's backlog is full (EAGAIN: the server is busy, e.g. its loop is
  // in a long load). That is not a connection in progress that poll() could
  // wait for: try again, a little later each time, until the timeout.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto pause = std::chrono::milliseconds(1);
  while (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      const int e = errno;
      error_ = path + ": " + std::strerror(e) + (e == EACCES || e == EPERM ? permission_hint(path) : "");
      close();
      return false;
    }
    if (std::chrono::steady_clock::now() + pause > deadline) {
      error_ = path + ": connect: the server's backlog stayed full for " + std::to_string(timeout_ms) + " ms";
      close();
      return false;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return true;
}

bool UnixJsonClient::request(const nlohmann::json& req, nlohmann::json& reply, int timeout_ms) {
  if (fd_ < 0) {
    if (error_.empty()) error_ = "not connected";
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  closed_by_peer_ = false;
  std::string out = req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 1) continue;
      error_ = path_ + ": timed out sending the request";
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      closed_by_peer_ = errno == EPIPE || errno == ECONNRESET;
      error_ = path_ + ": send: " + std::strerror(errno);
    }
    close();
    return false;
  }
  std::size_t nl;
  std::size_t scanned = 0;  // in_[0, scanned) holds no newline: a big reply is scanned once
  while ((nl = in_.find('\n', scanned)) == std::string::npos) {
    scanned = in_.size();
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      error_ = path_ + ": no reply within " + std::to_string(timeout_ms) + " ms";
      close();
      return false;
    }
    char buf[65536];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      if (in_.size() > kMaxReply) {
        error_ = path_ + ": reply too large";
        close();
        return false;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    closed_by_peer_ = n == 0 || errno == ECONNRESET;
    error_ = path_ + (n == 0 ? ": connection closed before the reply" : ": read: " + std::string(std::strerror(errno)));
    close();
    return false;
  }
  std::string line = in_.substr(0, nl);
  in_.erase(0, nl + 1);
  try {
    reply = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    error_ = path_ + ": reply is not JSON: " + e.what();
    close();
    return false;
  }
  if (!reply.is_object()) {
    error_ = path_ + ": reply is not a JSON object";
    close();
    return false;
  }
  return true;
}

bool unix_json_call(const std::string& path, const nlohmann::json& request, nlohmann::json& reply, int timeout_ms,
                    std::string& error) {
  UnixJsonClient c;
  if (!c.connect(path, timeout_ms) || !c.request(request, reply, timeout_ms)) {
    error = c.error();
    return false;
  }
  return true;
}

}  // namespace sipwall::control
