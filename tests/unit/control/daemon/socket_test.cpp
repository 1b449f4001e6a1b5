// The control socket server (deferred replies) and the client, together.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "control/client/unix_client.h"
#include "dataplane/protocol/line_server.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

using nlohmann::json;
using protocol::LineServer;

class SocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path = (dir / "s.sock").string();
    std::string err;
    ASSERT_TRUE(server.open(
        path, 0600, "",
        [this](LineServer::ClientId id, std::string_view line) -> std::optional<std::string> {
          json req = json::parse(line);
          if (req["cmd"] == "later") {
            deferred.push_back(id);
            return std::nullopt;
          }
          return json{{"ok", true}, {"echo", req["cmd"]}}.dump();
        },
        err))
        << err;
    loop = std::thread([this] {
      while (!stop) {
        std::vector<pollfd> fds;
        server.add_pollfds(fds);
        ::poll(fds.data(), fds.size(), 20);
        server.process(fds);
        if (release.exchange(false))
          for (auto id : deferred) server.reply(id, json{{"ok", true}, {"echo", "later"}}.dump());
      }
    });
  }
  void TearDown() override {
    stop = true;
    loop.join();
    server.close();
  }
  test::TempDir dir;
  std::string path;
  LineServer server;
  std::vector<LineServer::ClientId> deferred;
  std::atomic<bool> stop{false}, release{false};
  std::thread loop;
};

TEST_F(SocketTest, RequestAndReply) {
  json reply;
  std::string err;
  ASSERT_TRUE(unix_json_call(path, json{{"cmd", "status"}}, reply, 2000, err)) << err;
  EXPECT_EQ(reply["echo"], "status");
}

TEST_F(SocketTest, DeferredReplyKeepsRequestOrder) {
  UnixJsonClient c;
  ASSERT_TRUE(c.connect(path, 1000)) << c.error();
  json reply;
  // "later" is held; a timeout proves no reply came early.
  EXPECT_FALSE(c.request(json{{"cmd", "later"}}, reply, 200));
  // The connection was closed by the client on timeout; ask again properly.
  ASSERT_TRUE(c.connect(path, 1000));
  std::thread t([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    release = true;
  });
  ASSERT_TRUE(c.request(json{{"cmd", "later"}}, reply, 3000)) << c.error();
  EXPECT_EQ(reply["echo"], "later");
  ASSERT_TRUE(c.request(json{{"cmd", "after"}}, reply, 2000)) << c.error();
  EXPECT_EQ(reply["echo"], "after");
  t.join();
}

TEST_F(SocketTest, SecondServerOnTheSameSocketIsRefused) {
  LineServer other;
  std::string err;
  EXPECT_FALSE(other.open(
      path, 0600, "", [](LineServer::ClientId, std::string_view) { return std::string(); }, err));
  EXPECT_NE(err.find("another process is serving"), std::string::npos) << err;
}

TEST(UnixClient, UnreachableSocketIsAnErrorNotAHang) {
  json reply;
  std::string err;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(unix_json_call("/nonexistent/x.sock", json{{"cmd", "status"}}, reply, 1000, err));
  EXPECT_NE(err.find("/nonexistent/x.sock"), std::string::npos) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
}

}  // namespace
}  // namespace sipwall::control
