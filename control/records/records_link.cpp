#include "control/records/records_link.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipwall::control {

void RecordsLink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RecordsLink::ensure_connected(std::chrono::steady_clock::time_point now) {
  if (fd_ >= 0) return true;
  if (now - last_try_ < std::chrono::seconds(1)) return false;
  last_try_ = now;
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // A Unix socket connects at once or fails (no EINPROGRESS wait to bound).
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  ++connects_;
  return true;
}

std::size_t RecordsLink::read(std::vector<protocol::CallRecordWire>& out, std::size_t max_frames) {
  std::size_t n = 0;
  while (fd_ >= 0 && n < max_frames) {
    // One more byte than the largest frame: a longer one shows as truncated.
    const ssize_t got = ::recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) close();
      break;
    }
    if (got == 0) {  // the data plane went away
      close();
      break;
    }
    ++n;
    ++frames_;
    if (static_cast<std::size_t>(got) > buf_.size() - 1) {
      ++bad_frames_;
      last_problem_ = "frame longer than the largest valid frame";
      continue;
    }
    const std::size_t before = out.size();
    if (const char* why = protocol::decode_record_frame(
            std::span<const std::uint8_t>(buf_.data(), static_cast<std::size_t>(got)), out)) {
      ++bad_frames_;
      last_problem_ = why;
      continue;
    }
    records_ += out.size() - before;
  }
  return n;
}

}  // namespace sipwall::control
