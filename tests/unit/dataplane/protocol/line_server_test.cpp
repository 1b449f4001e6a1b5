// The line server's limits, each against a real Unix socket: idle clients
// evicted instead of locking others out (before: 16 idle connections made
// the data plane's socket unreachable), idle, slowloris and slow-reader
// timeouts, oversized lines, partial lines, handler exceptions, deferred
// replies. The server runs in its own thread, like a daemon's loop; the
// tests are its clients.
#include "dataplane/protocol/line_server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "dataplane/protocol/reply.h"

namespace sipwall::protocol {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A connected client socket; closed on scope exit.
class Conn {
 public:
  explicit Conn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // The next line, or nullopt on EOF / timeout.
  std::optional<std::string> line(std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char b[65536];
      ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) return std::nullopt;
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }
  json reply(std::chrono::milliseconds timeout = 3000ms) {
    auto l = line(timeout);
    return l ? json::parse(*l) : json();
  }
  // True once the server has closed the connection (lines before it are skipped).
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char b[65536];
      ssize_t n = ::read(fd_, b, sizeof b);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n > 0) buf_.append(b, static_cast<std::size_t>(n));
    }
    return false;
  }
  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  std::string buf_;
};

class LineServerTest : public ::testing::Test {
 protected:
  void TearDown() override { stop(); }

  // Starts the server loop with `limits`. Commands: "echo X" -> {"echo":"X"},
  // "big N" -> an N-byte reply, "throw", "later" (deferred; "release"
  // answers every deferred one), "counters".
  void start(LineServerLimits limits) {
    dir_ = std::filesystem::temp_directory_path() /
           ("sipwall-ls-" + std::to_string(::getpid()) + "-" + std::to_string(Clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "s.sock").string();
    std::string err;
    ASSERT_TRUE(server_.open(
        path_, 0600, "", [this](LineServer::ClientId id, std::string_view line) { return handle(id, line); }, err,
        limits))
        << err;
    loop_ = std::thread([this] {
      while (!stop_) {
        server_.poll(10);
        if (release_.exchange(false)) {
          for (auto id : deferred_) server_.reply(id, json{{"ok", true}, {"echo", "later"}}.dump());
          deferred_.clear();
        }
      }
    });
  }
  void stop() {
    stop_ = true;
    if (loop_.joinable()) loop_.join();
    server_.close();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::optional<std::string> handle(LineServer::ClientId id, std::string_view line) {
    std::string l(line);
    {
      std::lock_guard<std::mutex> lock(seen_mutex_);
      seen_.push_back(l);
    }
    if (l.rfind("echo ", 0) == 0) return dump_line(json{{"ok", true}, {"echo", l.substr(5)}});
    if (l.rfind("big ", 0) == 0) return std::string(std::strtoul(l.c_str() + 4, nullptr, 10), 'b');
    if (l == "throw") throw std::runtime_error("boom \xff\x1b");
    if (l == "later") {
      deferred_.push_back(id);
      return std::nullopt;
    }
    if (l == "release") {
      release_ = true;
      return dump_line(json{{"ok", true}});
    }
    if (l == "counters") {
      const LineServerCounters& c = server_.counters();
      return dump_line(json{{"clients", server_.clients()},
                            {"accepted", c.accepted},
                            {"evicted", c.evicted},
                            {"idle_timeouts", c.idle_timeouts},
                            {"line_timeouts", c.line_timeouts},
                            {"send_timeouts", c.send_timeouts},
                            {"oversized_lines", c.oversized_lines},
                            {"handler_errors", c.handler_errors},
                            {"requests", c.requests}});
    }
    return dump_line(json{{"ok", true}, {"line", l}});
  }

  json counters() {
    Conn c(path_);
    c.send("counters\n");
    return c.reply();
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    return seen_;
  }

  // One request on a fresh connection, timed.
  json ask(const std::string& line, std::chrono::milliseconds* took = nullptr) {
    auto t0 = Clock::now();
    Conn c(path_);
    EXPECT_TRUE(c.ok());
    c.send(line + "\n");
    json r = c.reply();
    if (took) *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    return r;
  }

  std::filesystem::path dir_;
  std::string path_;
  LineServer server_;
  std::thread loop_;
  std::atomic<bool> stop_{false}, release_{false};
  std::vector<LineServer::ClientId> deferred_;  // touched by the loop thread only
  std::mutex seen_mutex_;
  std::vector<std::string> seen_;
};

TEST_F(LineServerTest, IdleConnectionsBeyondTheLimitDoNotLockAnyoneOut) {
  LineServerLimits l;
  l.max_clients = 8;
  l.accept_grace = 50ms;  // 40 connections drain from the backlog 8 per grace
  start(l);
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<Conn>(path_));
  std::this_thread::sleep_for(100ms);
  std::chrono::milliseconds took{};
  json r = ask("echo hello", &took);
  EXPECT_EQ(r["echo"], "hello");
  EXPECT_LT(took, 1000ms);
  json c = counters();
  EXPECT_LE(c["clients"].get<int>(), 8);
  EXPECT_GE(c["evicted"].get<int>(), 32);
  // The evicted ones were told why.
  auto why = idle.front()->line(500ms);
  ASSERT_TRUE(why);
  EXPECT_NE(json::parse(*why)["error"].get<std::string>().find("idle longest"), std::string::npos) << *why;
}

TEST_F(LineServerTest, TheMostIdleClientIsEvictedNotTheBusyOne) {
  LineServerLimits l;
  l.max_clients = 3;
  start(l);
  Conn oldest(path_);
  std::this_thread::sleep_for(50ms);
  Conn active(path_);
  Conn third(path_);
  std::this_thread::sleep_for(50ms);
  active.send("echo still-here\n");
  EXPECT_EQ(active.reply()["echo"], "still-here");
  Conn newcomer(path_);  // the table is full: `oldest` goes
  newcomer.send("echo new\n");
  EXPECT_EQ(newcomer.reply()["echo"], "new");
  EXPECT_TRUE(oldest.closed_within(1000ms));
  active.send("echo again\n");
  EXPECT_EQ(active.reply()["echo"], "again");
}

TEST_F(LineServerTest, IdleTimeoutClosesAQuietConnection) {
  LineServerLimits l;
  l.idle_timeout = 200ms;
  start(l);
  Conn c(path_);
  c.send("echo 1\n");
  EXPECT_EQ(c.reply()["echo"], "1");
  auto t0 = Clock::now();
  EXPECT_TRUE(c.closed_within(2000ms));
  EXPECT_GE(Clock::now() - t0, 150ms);
  EXPECT_EQ(counters()["idle_timeouts"], 1);
}

TEST_F(LineServerTest, SlowlorisLineTimesOutWhileOthersAreServed) {
  LineServerLimits l;
  l.line_timeout = 400ms;
  l.idle_timeout = 60s;
  start(l);
  Conn slow(path_);
  auto t0 = Clock::now();
  bool closed = false;
  // A byte every 100 ms, never a newline: it keeps "sending", but its line
  // never ends.
  for (int i = 0; i < 30 && !closed; ++i) {
    if (!slow.send("x")) break;
    std::chrono::milliseconds took{};
    EXPECT_EQ(ask("echo other", &took)["echo"], "other");
    EXPECT_LT(took, 500ms);
    closed = slow.closed_within(100ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - t0, 1500ms);
  EXPECT_NE(slow.buffered().find("not finished within 400 ms"), std::string::npos) << slow.buffered();
  EXPECT_EQ(counters()["line_timeouts"], 1);
}

TEST_F(LineServerTest, AClientThatNeverReadsBlocksNobodyAndIsDropped) {
  LineServerLimits l;
  l.send_timeout = 300ms;
  start(l);
  Conn hog(path_);
  int size = 4 << 20;  // far more than a socket buffer holds
  hog.send("big " + std::to_string(size) + "\nbig 10\nbig 10\n");
  std::chrono::milliseconds took{};
  EXPECT_EQ(ask("echo fine", &took)["echo"], "fine");
  EXPECT_LT(took, 500ms);
  std::this_thread::sleep_for(600ms);
  json c = counters();
  EXPECT_EQ(c["send_timeouts"], 1);
  // Its pipelined lines were not even read: one reply in flight per client.
  auto s = seen();
  EXPECT_EQ(std::count(s.begin(), s.end(), "big 10"), 0);
}

TEST_F(LineServerTest, OversizedLineIsAnsweredAndTheConnectionClosed) {
  LineServerLimits l;
  l.max_line = 1024;
  start(l);
  Conn c(path_);
  c.send(std::string(5000, 'a'));
  auto r = c.line();
  ASSERT_TRUE(r);
  json j = json::parse(*r);
  EXPECT_EQ(j["ok"], false);
  EXPECT_NE(j["error"].get<std::string>().find("longer than 1024 bytes"), std::string::npos) << *r;
  EXPECT_TRUE(c.closed_within(1000ms));
  // A complete line over the limit, too.
  Conn d(path_);
  d.send(std::string(2000, 'a') + "\n");
  EXPECT_NE(d.reply()["error"].get<std::string>().find("longer than 1024"), std::string::npos);
  EXPECT_EQ(counters()["oversized_lines"], 2);
  EXPECT_EQ(ask("echo after")["echo"], "after");
}

TEST_F(LineServerTest, FiftyMegabyteLineCostsOnlyItsOwnConnection) {
  start({});
  std::thread writer([&] {
    Conn c(path_);
    std::string chunk(1 << 20, 'z');
    for (int i = 0; i < 50 && c.send(chunk); ++i) {
    }
  });
  std::chrono::milliseconds took{};
  EXPECT_EQ(ask("echo meanwhile", &took)["echo"], "meanwhile");
  EXPECT_LT(took, 1000ms);
  writer.join();
  EXPECT_EQ(counters()["oversized_lines"], 1);
}

TEST_F(LineServerTest, PartialLinesCrLfEmptyLinesAndTheLastLineAtEof) {
  start({});
  Conn c(path_);
  c.send("ec");
  std::this_thread::sleep_for(50ms);
  c.send("ho split\r\n\n\necho two\necho three\n");
  EXPECT_EQ(c.reply()["echo"], "split");
  EXPECT_EQ(c.reply()["echo"], "two");
  EXPECT_EQ(c.reply()["echo"], "three");
  // A client that sends its last line without a newline and shuts down its side.
  c.send("echo last");
  ::shutdown(c.fd(), SHUT_WR);
  EXPECT_EQ(c.reply()["echo"], "last");
  EXPECT_TRUE(c.closed_within(1000ms));
}

TEST_F(LineServerTest, BytesThatAreNotTextReachTheHandlerAsTheyAre) {
  start({});
  Conn c(path_);
  c.send(std::string("\xff\x00\x1b\n", 4));
  auto r = c.line();
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(*r)["line"], "\xef\xbf\xbd" + std::string("\0\x1b", 2));  // U+FFFD from dump_line
  EXPECT_EQ(seen().back(), std::string("\xff\x00\x1b", 3));
}

TEST_F(LineServerTest, AHandlerExceptionIsAnErrorReplyAndCounted) {
  start({});
  Conn c(path_);
  c.send("throw\necho next\n");
  json r = c.reply();
  EXPECT_EQ(r["ok"], false);
  EXPECT_EQ(r["error"], "internal error while handling the request: boom \\xff\\x1b");
  EXPECT_EQ(c.reply()["echo"], "next");
  EXPECT_EQ(counters()["handler_errors"], 1);
}

TEST_F(LineServerTest, DeferredReplyKeepsOrderAndIsNotAnIdleTimeout) {
  LineServerLimits l;
  l.idle_timeout = 200ms;
  start(l);
  Conn c(path_);
  c.send("later\necho after\n");
  EXPECT_FALSE(c.line(500ms));  // held past the idle timeout, still connected
  ask("release");
  EXPECT_EQ(c.reply()["echo"], "later");
  EXPECT_EQ(c.reply()["echo"], "after");
}

TEST_F(LineServerTest, ReplyLargerThanTheLimitBecomesAnError) {
  LineServerLimits l;
  l.max_reply = 1000;
  start(l);
  json r = ask("big 5000");
  EXPECT_EQ(r["ok"], false);
  EXPECT_NE(r["error"].get<std::string>().find("5000 bytes"), std::string::npos);
}

TEST(LineServer, SocketPathTooLongIsAClearError) {
  LineServer s;
  std::string err;
  std::string path = "/tmp/" + std::string(130, 'p') + ".sock";
  EXPECT_FALSE(s.open(
      path, 0600, "", [](LineServer::ClientId, std::string_view) { return std::string(); }, err));
  EXPECT_NE(err.find("at most 107"), std::string::npos) << err;
}

}  // namespace
}  // namespace sipwall::protocol
