#include "control/daemon/metrics_server.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <tuple>
#include <vector>

#include "control/daemon/basic_auth.h"

namespace sipwall::control {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBacklog = 64;
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

struct Response {
  int status = 200;
  std::string head;
  std::shared_ptr<const std::string> body;  // the published text is shared, not copied
};

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 401:
      return "Unauthorized";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

Response respond(int status, const char* type, std::shared_ptr<const std::string> body, bool head_only,
                 const char* extra = "") {
  Response r;
  r.status = status;
  r.head = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body->size()) + "\r\nConnection: close\r\n" + extra + "\r\n";
  if (!head_only) r.body = std::move(body);
  return r;
}

Response error_response(int status, const std::string& text, const char* extra = "") {
  return respond(status, kTextType, std::make_shared<const std::string>(text + "\n"), false, extra);
}

// The answer to one request head (request line and headers, without the
// blank line): GET or HEAD of / or /metrics, with credentials if `auth` asks
// for them.
Response answer(std::string_view head, const std::shared_ptr<const std::string>& metrics, BasicAuth* auth,
                Clock::time_point now) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t a = line.find(' ');
  std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (b == std::string_view::npos || line.find(' ', b + 1) != std::string_view::npos)
    return error_response(400, "bad request line");
  std::string_view method = line.substr(0, a), target = line.substr(a + 1, b - a - 1), version = line.substr(b + 1);
  if (version.substr(0, 5) != "HTTP/") return error_response(400, "bad request line");
  if (version != "HTTP/1.0" && version != "HTTP/1.1") return error_response(505, "HTTP/1.0 or HTTP/1.1 only");
  bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) return error_response(405, "GET or HEAD only", "Allow: GET, HEAD\r\n");
  if (auth && auth->enabled()) {
    switch (auth->check(BasicAuth::header_value(head), now)) {
      case BasicAuth::Result::ok:
        break;
      case BasicAuth::Result::busy:
        return error_response(429, "too many password checks this second; try again", "Retry-After: 1\r\n");
      case BasicAuth::Result::missing:
      case BasicAuth::Result::refused:
        return error_response(401, "user name and password required",
                              "WWW-Authenticate: Basic realm=\"sipwall metrics\", charset=\"UTF-8\"\r\n");
    }
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/metrics") return respond(200, kMetricsType, metrics, head_only);
  if (path == "/")
    return respond(200, kTextType, std::make_shared<const std::string>("sipwall-control: metrics at /metrics\n"),
                   head_only);
  return error_response(404, "not found; the metrics are at /metrics");
}

// End of the request head: the blank line, "\r\n\r\n" or (lenient) "\n\n".
std::size_t head_end(const std::string& in, std::size_t from) {
  for (std::size_t i = from; i < in.size(); ++i) {
    if (in[i] != '\n') continue;
    if (i >= 1 && in[i - 1] == '\n') return i + 1;
    if (i >= 3 && in[i - 1] == '\r' && in[i - 2] == '\n' && in[i - 3] == '\r') return i + 1;
  }
  return std::string::npos;
}

}  // namespace

struct MetricsServer::TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e ? buf : "unknown TLS error";
}

}  // namespace

struct MetricsServer::Connection {
  int fd = -1;
  SSL* ssl = nullptr;       // HTTPS: the session, driven non-blocking
  bool want_write = false;  // TLS: the last SSL call needs the socket writable
  bool want_read = false;   // TLS: the last SSL call needs the socket readable
  std::string in;
  std::size_t scanned = 0;
  bool responding = false;
  bool spoke = false;  // has sent a byte
  Response response;
  std::size_t sent = 0;  // of head + body
  Clock::time_point accepted, last_activity;

  std::size_t total() const { return response.head.size() + (response.body ? response.body->size() : 0); }
};

MetricsServer::MetricsServer() : text_(std::make_shared<const std::string>()) {}

bool MetricsServer::start(const std::string& host, int port, std::string& error, MetricsServerLimits limits) {
  limits_ = limits;
  limits_.max_connections = std::max<std::size_t>(limits_.max_connections, 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    error = "cannot listen on " + host + ":" + service + " for /metrics: " + ::gai_strerror(rc);
    return false;
  }
  std::string why = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, kBacklog) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (listen_fd_ < 0) {
    error = "cannot listen on " + host + ":" + service + " for /metrics: " + why;
    return false;
  }
  port_ = port;
  return run_thread(error);
}

bool MetricsServer::start_unix(const std::string& path, std::uint32_t mode, const std::string& group,
                               std::string& error, MetricsServerLimits limits) {
  limits_ = limits;
  limits_.max_connections = std::max<std::size_t>(limits_.max_connections, 1);
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    error = "metrics socket " + path + ": the path must be 1 to " + std::to_string(sizeof addr.sun_path - 1) + " bytes";
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A socket left by a crashed instance is replaced; a live one (another
  // sipwall-control) answers a connect, and is left alone.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      error = "metrics socket " + path + ": exists and is not a socket";
      return false;
    }
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      error = "metrics socket " + path + ": another process is serving it";
      return false;
    }
    ::unlink(path.c_str());
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // listen() only after chmod/chown (below): a socket that is not listening
  // refuses every connect, so the umask's mode between bind() and chmod()
  // lets nobody in.
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "metrics socket " + path + ": " + std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  unix_path_ = path;
  std::string why;
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    why = std::string("chmod: ") + std::strerror(errno);
  } else if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g)
      why = "group '" + group + "': no such group";
    else if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      why = "group '" + group + "': " + std::strerror(errno);
  }
  if (why.empty() && ::listen(listen_fd_, kBacklog) != 0) why = std::string("listen: ") + std::strerror(errno);
  if (!why.empty()) {
    error = "metrics socket " + path + ": " + why;
    stop();
    return false;
  }
  return run_thread(error);
}

bool MetricsServer::set_tls(const std::string& cert_file, const std::string& key_file, std::string& error) {
  auto t = std::make_unique<TlsContext>();
  t->ctx = SSL_CTX_new(TLS_server_method());
  if (!t->ctx) {
    error = "TLS: " + ssl_error_text();
    return false;
  }
  SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file.c_str()) != 1) {
    error = "TLS certificate " + cert_file + ": " + ssl_error_text();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "TLS key " + key_file + ": " + ssl_error_text();
    return false;
  }
  if (SSL_CTX_check_private_key(t->ctx) != 1) {
    error = "TLS key " + key_file + " does not match the certificate " + cert_file;
    return false;
  }
  tls_ = std::move(t);
  return true;
}

void MetricsServer::set_users(std::map<std::string, std::string> users) {
  auth_ = users.empty() ? nullptr : std::make_unique<BasicAuth>(std::move(users));
}

bool MetricsServer::run_thread(std::string& error) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    stop();
    return false;
  }
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void MetricsServer::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  unix_path_.clear();
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::publish(std::string text) {
  auto t = std::make_shared<const std::string>(std::move(text));
  std::lock_guard<std::mutex> lock(mutex_);
  text_ = std::move(t);
}

MetricsServerCounters MetricsServer::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void MetricsServer::run() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  auto close_conn = [](Connection& c) {
    if (c.fd < 0) return;
    if (c.ssl) {
      SSL_shutdown(c.ssl);  // one close_notify, not waiting for the peer's
      SSL_free(c.ssl);
      c.ssl = nullptr;
      ERR_clear_error();
    }
    // Read what the client sent beyond the head (bounded), so close() ends
    // the connection with FIN, not with a reset that can cut the response.
    char sink[4096];
    for (int i = 0; i < 16 && ::read(c.fd, sink, sizeof sink) > 0; ++i) {
    }
    ::close(c.fd);
    c.fd = -1;
  };
  auto count = [this](std::uint64_t MetricsServerCounters::*field) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++(counters_.*field);
  };
  auto start_response = [&](Connection& c, Response r, Clock::time_point now) {
    c.responding = true;
    c.response = std::move(r);
    c.sent = 0;
    c.last_activity = now;
    c.in.clear();
    count(&MetricsServerCounters::responses);
    if (c.response.status == 401 || c.response.status == 429)
      count(&MetricsServerCounters::auth_failures);
    else if (c.response.status >= 400)
      count(&MetricsServerCounters::bad_requests);
  };

  // Accepting waits until then (see below); in the past: not paused.
  Clock::time_point paused_until{};
  while (!stopping_) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool paused = Clock::now() < paused_until;
    fds.push_back({listen_fd_, static_cast<short>(paused ? 0 : POLLIN), 0});
    for (const Connection& c : conns) {
      short ev = c.responding ? POLLOUT : POLLIN;
      if (c.want_write) ev |= POLLOUT;
      if (c.want_read) ev |= POLLIN;
      fds.push_back({c.fd, ev, 0});
    }
    // Wake for the nearest timeout (at most a second away).
    Clock::time_point now = Clock::now(), wake = now + std::chrono::seconds(1);
    if (paused) wake = std::min(wake, paused_until);
    for (const Connection& c : conns)
      wake =
          std::min(wake, c.responding ? c.last_activity + limits_.send_timeout : c.accepted + limits_.request_timeout);
    int timeout = static_cast<int>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1));
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      std::uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
    }
    now = Clock::now();

    for (std::size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      short re = fds[2 + i].revents;
      if (!re) continue;
      if (!c.responding) {
        char buf[4096];
        ssize_t n = 0;
        if (c.ssl) {
          // The handshake happens inside SSL_read. Everything it has
          // decrypted is taken now: poll() cannot see what OpenSSL buffers.
          c.want_read = c.want_write = false;
          do {
            const int r = SSL_read(c.ssl, buf, sizeof buf);
            if (r > 0) {
              c.in.append(buf, static_cast<std::size_t>(r));
              n += r;
              continue;
            }
            const int e = SSL_get_error(c.ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
              c.want_read = true;
            } else if (e == SSL_ERROR_WANT_WRITE) {
              c.want_write = true;
            } else {
              n = -1;  // a failed handshake, a reset, a close
            }
            break;
          } while (c.in.size() <= limits_.max_request);
          ERR_clear_error();
          if (n < 0) {
            close_conn(c);
            continue;
          }
          c.last_activity = now;
          if (n == 0) continue;  // handshake progress only
        } else {
          n = ::read(c.fd, buf, sizeof buf);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_conn(c);
            continue;
          }
          if (n < 0) continue;
          c.in.append(buf, static_cast<std::size_t>(n));
        }
        c.last_activity = now;
        c.spoke = true;
        std::size_t end = head_end(c.in, c.scanned > 3 ? c.scanned - 3 : 0);
        c.scanned = c.in.size();
        if (end != std::string::npos && end <= limits_.max_request) {
          std::shared_ptr<const std::string> text;
          {
            std::lock_guard<std::mutex> lock(mutex_);
            text = text_;
          }
          start_response(c, answer(std::string_view(c.in).substr(0, end), text, auth_.get(), now), now);
        } else if (c.in.size() > limits_.max_request) {
          start_response(c, error_response(431, "request head over " + std::to_string(limits_.max_request) + " bytes"),
                         now);
        } else {
          continue;
        }
      }
      // Send what the socket takes now.
      while (c.sent < c.total()) {
        const std::string& head = c.response.head;
        std::string_view part = c.sent < head.size() ? std::string_view(head).substr(c.sent)
                                                     : std::string_view(*c.response.body).substr(c.sent - head.size());
        ssize_t n;
        if (c.ssl) {
          c.want_read = c.want_write = false;
          const int r = SSL_write(c.ssl, part.data(), static_cast<int>(std::min<std::size_t>(part.size(), 1 << 20)));
          if (r <= 0) {
            const int e = SSL_get_error(c.ssl, r);
            ERR_clear_error();
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
              (e == SSL_ERROR_WANT_READ ? c.want_read : c.want_write) = true;
              break;
            }
            close_conn(c);
            break;
          }
          n = r;
        } else {
          n = ::send(c.fd, part.data(), part.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (n > 0) {
          c.sent += static_cast<std::size_t>(n);
          c.last_activity = now;
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        close_conn(c);
        break;
      }
      if (c.fd >= 0 && c.sent == c.total()) {
        if (c.ssl) {
          SSL_shutdown(c.ssl);
          SSL_free(c.ssl);
          c.ssl = nullptr;
          ERR_clear_error();
        }
        ::shutdown(c.fd, SHUT_WR);
        close_conn(c);
      }
    }

    // Timeouts: a head that does not arrive, a response nobody reads.
    for (Connection& c : conns) {
      if (c.fd < 0) continue;
      bool late =
          c.responding ? now - c.last_activity >= limits_.send_timeout : now - c.accepted >= limits_.request_timeout;
      if (late) {
        count(&MetricsServerCounters::timeouts);
        close_conn(c);
      }
    }
    std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });

    if (!paused && (fds[1].revents & POLLIN)) {
      // As protocol::LineServer: a full table evicts a connection that never
      // sent a byte, else the one idle longest, but never one active in the
      // last accept_grace (a scrape sends its request at once). None left:
      // the rest waits in the backlog until a grace is over.
      auto evict = [&]() {
        auto victim = conns.end();
        for (auto it = conns.begin(); it != conns.end(); ++it) {
          if (now - it->last_activity < limits_.accept_grace) continue;
          if (victim == conns.end() ||
              std::tie(it->spoke, it->last_activity) < std::tie(victim->spoke, victim->last_activity))
            victim = it;
        }
        if (victim == conns.end()) return false;
        close_conn(*victim);
        conns.erase(victim);
        count(&MetricsServerCounters::evicted);
        return true;
      };
      auto pause = [&]() {
        Clock::time_point until = now + limits_.accept_grace;
        for (const Connection& c : conns) until = std::min(until, c.last_activity + limits_.accept_grace);
        paused_until = std::max(until, now + std::chrono::milliseconds(1));
      };
      for (std::size_t round = 0; round < limits_.max_connections; ++round) {
        if (conns.size() >= limits_.max_connections && !evict()) {
          pause();
          break;
        }
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR) continue;
          if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: as for a full table
            if (evict()) continue;
            pause();
          }
          break;
        }
        Connection c;
        c.fd = fd;
        if (tls_) {
          c.ssl = SSL_new(tls_->ctx);
          if (!c.ssl || SSL_set_fd(c.ssl, fd) != 1) {
            if (c.ssl) SSL_free(c.ssl);
            ERR_clear_error();
            ::close(fd);
            continue;
          }
          SSL_set_accept_state(c.ssl);
        }
        c.accepted = c.last_activity = now;
        conns.push_back(std::move(c));
      }
    }
  }
  for (Connection& c : conns) close_conn(c);
}

}  // namespace sipwall::control
