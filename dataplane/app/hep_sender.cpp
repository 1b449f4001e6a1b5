#include "dataplane/app/hep_sender.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sipwall::dataplane {

HepSender::~HepSender() {
  if (fd_ >= 0) ::close(fd_);
}

bool HepSender::open(const DataplaneConfig& cfg, std::string& error) {
  if (cfg.hep_collector.empty()) return true;
  std::memset(&addr_, 0, sizeof addr_);
  if (cfg.hep_address.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr_);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(cfg.hep_port);
    if (inet_pton(AF_INET6, cfg.hep_address.c_str(), &a->sin6_addr) != 1) {
      error = "export.hep.collector: not an IPv6 address";
      return false;
    }
    addr_len_ = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr_);
    a->sin_family = AF_INET;
    a->sin_port = htons(cfg.hep_port);
    if (inet_pton(AF_INET, cfg.hep_address.c_str(), &a->sin_addr) != 1) {
      error = "export.hep.collector: not an IPv4 address";
      return false;
    }
    addr_len_ = sizeof(sockaddr_in);
  }
  tcp_ = cfg.hep_tcp;
  cap_ = cfg.hep_tcp_buffer;
  enabled_ = true;
  if (tcp_) {
    next_connect_ = Clock::now();
    start_connect();
    return true;
  }
  fd_ = ::socket(addr_.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0) {
    error = "export.hep: cannot open a UDP socket to " + cfg.hep_collector + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void HepSender::send(const std::uint8_t* bytes, std::size_t n) noexcept {
  if (!enabled_) return;
  if (!tcp_) {
    // A refused datagram (ICMP unreachable reported back, buffer full) is
    // lost, never retried: the collector is best effort.
    if (::send(fd_, bytes, n, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(n)) {
      c_.sent++;
      c_.bytes += n;
    } else {
      c_.dropped++;
    }
    return;
  }
  if (queued() + n > cap_) {
    c_.dropped++;
    return;
  }
  if (out_done_ != 0 && out_done_ == out_.size()) {
    out_.clear();
    out_done_ = 0;
  }
  out_.append(reinterpret_cast<const char*>(bytes), n);
  sizes_.push_back(n);
  c_.bytes += n;
}

void HepSender::start_connect() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    fail_connection();
    return;
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) == 0) {
    state_ = State::connected;
    c_.connects++;
    backoff_ = std::chrono::milliseconds(100);
    return;
  }
  if (errno == EINPROGRESS) {
    state_ = State::connecting;
    return;
  }
  fail_connection();
}

void HepSender::fail_connection() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  state_ = State::idle;
  c_.connect_failures++;
  next_connect_ = Clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(30000));
  // A HEP packet half written is lost (the collector never sees it whole):
  // the next connection starts at a packet boundary. Whole packets queued
  // stay (bounded by cap_).
  if (head_written_ != 0) {
    const std::size_t rest = sizes_.front() - head_written_;
    out_done_ += rest;
    sizes_.pop_front();
    head_written_ = 0;
    c_.dropped++;
  }
}

void HepSender::flush() noexcept {
  while (queued() != 0) {
    const ssize_t w = ::send(fd_, out_.data() + out_done_, queued(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w > 0) {
      out_done_ += static_cast<std::size_t>(w);
      std::size_t n = static_cast<std::size_t>(w) + head_written_;
      while (!sizes_.empty() && n >= sizes_.front()) {
        n -= sizes_.front();
        sizes_.pop_front();
        c_.sent++;
      }
      head_written_ = n;
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    fail_connection();
    return;
  }
}

void HepSender::poll() noexcept {
  if (!enabled_ || !tcp_) return;
  if (state_ == State::idle) {
    if (Clock::now() >= next_connect_) start_connect();
    if (state_ != State::connected) return;
  }
  if (state_ == State::connecting) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 0) <= 0) return;  // not yet
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      fail_connection();
      return;
    }
    state_ = State::connected;
    c_.connects++;
    backoff_ = std::chrono::milliseconds(100);
  }
  flush();
  if (out_done_ > (1u << 20) && out_done_ * 2 > out_.size()) {  // keep the buffer from creeping
    out_.erase(0, out_done_);
    out_done_ = 0;
  }
}

}  // namespace sipwall::dataplane
