#include "dataplane/protocol/line_server.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "dataplane/protocol/echo.h"
#include "dataplane/protocol/reply.h"
#include "dataplane/protocol/socket_path.h"

namespace sipwall::protocol {

struct LineServer::Client {
  int fd = -1;
  ClientId id = 0;
  std::string in;
  std::size_t scanned = 0;  // in[0, scanned) holds no '\n'
  std::string out;
  std::size_t out_sent = 0;
  bool waiting = false;             // a deferred reply is outstanding
  bool eof = false;                 // the peer sends nothing more: answer what it sent, then close
  bool closing = false;             // close once `out` is sent (after an oversized line)
  bool spoke = false;               // has sent a byte: a client, not just a connection
  Clock::time_point last_activity;  // last byte in or out, or the accept: what "idle" means
  Clock::time_point line_started;   // when the unfinished line in `in` began
  Clock::time_point send_progress;  // when the reply in `out` last moved

  bool live() const noexcept { return fd >= 0; }
  std::size_t unsent() const noexcept { return out.size() - out_sent; }
  // Position of the first '\n' in `in`, scanning only bytes not seen before.
  std::size_t newline() {
    std::size_t nl = in.find('\n', scanned);
    scanned = nl == std::string::npos ? in.size() : nl;
    return nl;
  }
};

namespace {

constexpr int kBacklog = 64;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kKeepCapacity = 1u << 20;  // a bigger buffer is freed once sent

std::string words(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

}  // namespace

LineServer::LineServer() = default;
LineServer::~LineServer() {
  close();
}

bool LineServer::open(const std::string& path, unsigned mode, const std::string& group, Handler handler,
                      std::string& error, LineServerLimits limits) {
  if (auto why = socket_path_problem(path)) {
    error = "control socket: " + *why;
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  // A socket left by a crashed instance would make bind() fail; a live
  // instance is detected by connecting to it first.
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::close(probe);
    error = "another process is serving " + path;
    return false;
  }
  if (probe >= 0) ::close(probe);
  ::unlink(path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // listen() only after the mode and group are set: between bind() and
  // chmod() the file has the umask's mode, and a socket that is not
  // listening refuses every connect, so nobody gets in through that window.
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
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
  if (::listen(listen_fd_, kBacklog) != 0) {
    error = "control socket " + path + ": " + std::strerror(errno);
    close();
    return false;
  }
  handler_ = std::move(handler);
  limits_ = limits;
  limits_.max_clients = std::max<std::size_t>(limits_.max_clients, 1);
  return true;
}

void LineServer::close() {
  for (auto& c : clients_)
    if (c->live()) ::close(c->fd);
  clients_.clear();
  polled_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
  }
}

std::size_t LineServer::clients() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->live(); }));
}

LineServer::Client* LineServer::find(ClientId id) {
  for (auto& c : clients_)
    if (c->id == id) return c.get();
  return nullptr;
}

// Reading is what a client earns by having nothing else in flight: no reply
// to send or to wait for, no complete line buffered, no line over the limit.
bool LineServer::reading(Client& c) {
  return c.live() && !c.eof && !c.closing && !c.waiting && c.unsent() == 0 && c.in.size() <= limits_.max_line &&
         c.newline() == std::string::npos;
}

short LineServer::events_of(Client& c) {
  short ev = 0;
  if (reading(c)) ev |= POLLIN;
  if (c.unsent()) ev |= POLLOUT;
  return ev;  // 0 still reports POLLHUP/POLLERR: a waiting client that went away
}

void LineServer::add_pollfds(std::vector<pollfd>& fds) {
  first_fd_ = fds.size();
  polled_.clear();
  if (listen_fd_ < 0) return;
  // While accepting is paused the listen socket is not polled (it stays
  // readable: polling it would spin); wake_at() says until when.
  fds.push_back({listen_fd_, static_cast<short>(accept_paused_until_ ? 0 : POLLIN), 0});
  for (auto& c : clients_) {
    if (!c->live()) continue;
    fds.push_back({c->fd, events_of(*c), 0});
    polled_.push_back(c->id);
  }
}

std::optional<LineServer::Clock::time_point> LineServer::wake_at() const {
  return accept_paused_until_;
}

void LineServer::poll(int timeout_ms) {
  std::vector<pollfd> fds;
  add_pollfds(fds);
  if (fds.empty()) return;
  if (accept_paused_until_) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*accept_paused_until_ - Clock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, timeout_ms));
  }
  ::poll(fds.data(), fds.size(), timeout_ms);  // EINTR: revents stay 0, timeouts still run
  process(fds);
}

void LineServer::process(const std::vector<pollfd>& fds) {
  if (listen_fd_ < 0) return;
  const Clock::time_point now = Clock::now();
  // Clients first, then new connections: a client whose request is here is
  // answered before anyone can be evicted to make room.
  for (std::size_t k = 0; k < polled_.size() && first_fd_ + 1 + k < fds.size(); ++k) {
    Client* c = find(polled_[k]);
    if (!c || !c->live()) continue;
    const short re = fds[first_fd_ + 1 + k].revents;
    if (re & POLLNVAL) {
      drop(*c);
      continue;
    }
    if (c->unsent() && (re & (POLLOUT | POLLERR | POLLHUP))) flush(*c, now);
    if (c->live() && (re & (POLLIN | POLLHUP | POLLERR))) {
      if (reading(*c))
        read_some(*c, now);
      else if (c->waiting && (re & (POLLHUP | POLLERR)))
        drop(*c);  // gone while its reply is prepared
    }
  }
  // Every client: lines held while a reply was outstanding, replies given
  // from inside a handler.
  for (std::size_t i = 0; i < clients_.size(); ++i) serve(*clients_[i], now);
  if (accept_paused_until_ && now >= *accept_paused_until_) accept_paused_until_.reset();
  if (!accept_paused_until_ && first_fd_ < fds.size() && fds[first_fd_].fd == listen_fd_ &&
      (fds[first_fd_].revents & POLLIN))
    accept_new(now);
  check_timeouts(now);
  std::erase_if(clients_, [](const auto& c) { return !c->live(); });
}

void LineServer::read_some(Client& c, Clock::time_point now) {
  char buf[kReadChunk];
  // Per round at most a line's worth, so one fast client cannot starve the rest.
  std::size_t budget = limits_.max_line + sizeof buf;
  for (std::size_t got = 0; got < budget;) {
    ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n > 0) {
      if (c.in.empty()) c.line_started = now;
      c.in.append(buf, static_cast<std::size_t>(n));
      got += static_cast<std::size_t>(n);
      c.last_activity = now;
      c.spoke = true;
      if (c.newline() != std::string::npos || c.in.size() > limits_.max_line) return;
      continue;
    }
    if (n == 0) {
      c.eof = true;
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) drop(c);
    return;
  }
}

void LineServer::serve(Client& c, Clock::time_point now) {
  while (c.live() && !c.waiting && !c.closing && c.unsent() == 0) {
    std::size_t nl = c.newline();
    if (nl == std::string::npos ? c.in.size() > limits_.max_line : nl > limits_.max_line) {
      counters_.oversized_lines++;
      std::size_t size = nl == std::string::npos ? c.in.size() : nl;
      c.in.clear();
      c.scanned = 0;
      c.closing = true;
      queue_reply(c,
                  error_line("request line longer than " + std::to_string(limits_.max_line) + " bytes (" +
                             (nl == std::string::npos ? "more than " : "") + std::to_string(size) +
                             " read); closing the connection"),
                  now);
      break;
    }
    if (nl == std::string::npos) {
      if (!c.eof || c.in.empty()) break;
      nl = c.in.size();  // the last line of a client that is done sending needs no newline
    }
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, std::min(nl + 1, c.in.size()));
    c.scanned = 0;
    c.line_started = now;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    handle(c, line, now);
  }
  finish_if_done(c);
}

void LineServer::handle(Client& c, std::string_view line, Clock::time_point now) {
  counters_.requests++;
  std::optional<std::string> r;
  c.waiting = true;  // so a reply() from inside the handler answers this request
  in_handler_ = true;
  try {
    r = handler_(c.id, line);
  } catch (const std::exception& e) {
    counters_.handler_errors++;
    r = error_line("internal error while handling the request: " + printable(e.what()));
  } catch (...) {
    counters_.handler_errors++;
    r = error_line("internal error while handling the request");
  }
  in_handler_ = false;
  if (r) {
    c.waiting = false;
    queue_reply(c, *r, now);
  }
}

void LineServer::queue_reply(Client& c, std::string_view line, Clock::time_point now) {
  if (!c.live()) return;
  if (line.size() > limits_.max_reply) {
    c.out += error_line("the reply is " + std::to_string(line.size()) + " bytes, more than this server sends (" +
                        std::to_string(limits_.max_reply) + ")");
  } else {
    c.out.append(line);
  }
  c.out += '\n';
  c.send_progress = now;
  flush(c, now);
}

void LineServer::flush(Client& c, Clock::time_point now) {
  while (c.live() && c.unsent()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.unsent(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);
      c.last_activity = c.send_progress = now;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    drop(c);
    return;
  }
  if (c.out.capacity() > kKeepCapacity) std::string().swap(c.out);
  c.out.clear();
  c.out_sent = 0;
}

void LineServer::reply(ClientId id, std::string_view line) {
  Client* c = find(id);
  if (!c || !c->live() || !c->waiting) return;
  c->waiting = false;
  const Clock::time_point now = Clock::now();
  queue_reply(*c, line, now);
  // The lines it sent meanwhile; from inside a handler, process() does it.
  if (!in_handler_) serve(*c, now);
}

void LineServer::finish_if_done(Client& c) {
  if (!c.live() || c.waiting || c.unsent()) return;
  if (c.closing || (c.eof && c.in.empty())) drop(c);
}

void LineServer::drop(Client& c, std::string_view last_words) {
  if (!c.live()) return;
  // A courtesy line for a client between replies (one try, never waits).
  if (!last_words.empty() && c.unsent() == 0 && !c.waiting) {
    std::string line = std::string(last_words) + "\n";
    [[maybe_unused]] ssize_t n = ::send(c.fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::close(c.fd);
  c.fd = -1;
}

// Who goes when the table is full: first a connection that never sent a
// byte, then the client idle longest (ties: the earlier connection). Never a
// client waiting for a deferred reply (the operation bounds it), nor one
// that did something (connected, sent, was sent to) less than
// `accept_grace` ago: a client sends its request as soon as it connects and
// the next one as soon as it has its reply, so a flood of new connections
// cannot push it out mid-conversation. No victim: false.
bool LineServer::evict_one(Clock::time_point now) {
  auto rank = [](const Client& c) { return std::make_tuple(c.spoke, c.last_activity); };
  Client* victim = nullptr;
  for (auto& c : clients_) {
    if (!c->live() || c->waiting || now - c->last_activity < limits_.accept_grace) continue;
    if (!victim || rank(*c) < rank(*victim)) victim = c.get();
  }
  if (!victim) return false;
  counters_.evicted++;
  drop(*victim, error_line("connection closed: the server holds " + std::to_string(limits_.max_clients) +
                           " connections at most and this one was idle longest"));
  return true;
}

// Nobody can be evicted yet: new connections wait in the backlog (they are
// not refused) until the first grace ends, or at most a grace from now
// (waiting clients have none).
void LineServer::pause_accepting(Clock::time_point now) {
  Clock::time_point until = now + limits_.accept_grace;
  for (auto& c : clients_)
    if (c->live() && !c->waiting) until = std::min(until, c->last_activity + limits_.accept_grace);
  accept_paused_until_ = std::max(until, now + std::chrono::milliseconds(1));
}

void LineServer::accept_new(Clock::time_point now) {
  accept_paused_until_.reset();
  // Bounded per round: a flood of connects cannot keep the loop here.
  for (std::size_t round = 0; round < limits_.max_clients; ++round) {
    // Full of connections still in their grace: leave the rest in the
    // backlog until the oldest one's grace is over (not refused: later).
    if (clients() >= limits_.max_clients && !evict_one(now)) {
      pause_accepting(now);
      return;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      // Out of descriptors: make room like for a full table, then try again;
      // if nothing can go yet, wait like for a full table.
      if (errno == EMFILE || errno == ENFILE) {
        if (evict_one(now)) continue;
        pause_accepting(now);
      }
      return;
    }
    auto c = std::make_unique<Client>();
    c->fd = fd;
    c->id = next_id_++;
    c->last_activity = c->line_started = c->send_progress = now;
    clients_.push_back(std::move(c));
    counters_.accepted++;
  }
}

void LineServer::check_timeouts(Clock::time_point now) {
  for (auto& cp : clients_) {
    Client& c = *cp;
    if (!c.live() || c.waiting) continue;  // a deferred reply is bounded by whoever gives it
    if (c.unsent()) {
      if (now - c.send_progress >= limits_.send_timeout) {
        counters_.send_timeouts++;
        drop(c);
      }
      continue;
    }
    if (!c.in.empty() && !c.eof && c.newline() == std::string::npos) {
      if (now - c.line_started >= limits_.line_timeout) {
        counters_.line_timeouts++;
        drop(c, error_line("request line not finished within " + words(limits_.line_timeout) +
                           "; closing the connection"));
      }
      continue;
    }
    if (now - c.last_activity >= limits_.idle_timeout) {
      counters_.idle_timeouts++;
      drop(c);
    }
  }
}

}  // namespace sipwall::protocol
