// One connection to Redis through hiredis (Debian's libhiredis 0.14: plain
// TCP, no TLS; docs/fleet.md says how to protect the link). Every call is
// bounded: connecting and each read or write time out after `timeout_ms`, and
// any error drops the connection, so the next call reconnects from scratch.
// Replies are copied into plain values (RedisReply) so no hiredis type leaks
// out of this file. Used by sipwall-control's fleet agent and by
// `sipwallctl fleet`; nothing on the packet path links it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct redisContext;

namespace sipwall::fleet {

struct RedisAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      // ACL user (Redis 6+); empty: AUTH with the password alone
  std::string password;  // empty: no AUTH
  int timeout_ms = 200;  // connect, and each read/write
};

struct RedisReply {
  enum class Type { nil, integer, string, status, array, error };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status, error
  std::vector<RedisReply> elements;

  bool is_error() const noexcept { return type == Type::error; }
};

class RedisLink {
 public:
  explicit RedisLink(RedisAddress addr) : addr_(std::move(addr)) {}
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connects (and authenticates) if not connected. False with error() set.
  bool connect();
  bool connected() const noexcept { return ctx_ != nullptr; }
  void disconnect();
  // The password for AUTH (read from a file by the caller); takes effect at the next connect.
  void set_password(std::string password) {
    disconnect();
    addr_.password = std::move(password);
  }

  // Sends every command in one write and reads every reply (a pipeline: one
  // round trip). False on a connection error (error() says why; the
  // connection is dropped). A command Redis refused is a reply of type error,
  // not a failure of the call.
  bool pipeline(const std::vector<std::vector<std::string>>& commands, std::vector<RedisReply>& replies);
  // One command.
  bool command(const std::vector<std::string>& argv, RedisReply& reply);

  const std::string& error() const noexcept { return error_; }
  const RedisAddress& address() const noexcept { return addr_; }
  // "127.0.0.1:6379", for messages.
  std::string where() const;

 private:
  bool fail(const std::string& what);

  RedisAddress addr_;
  redisContext* ctx_ = nullptr;
  std::string error_;
};

// "host:port" or "[v6]:port" (port optional, default 6379) into `out`. False with *why.
bool parse_redis_address(const std::string& text, RedisAddress& out, std::string* why);

}  // namespace sipwall::fleet
