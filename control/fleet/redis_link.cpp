#include "control/fleet/redis_link.h"

#include <hiredis.h>
#include <sys/time.h>

#include <algorithm>

namespace sipwall::fleet {
namespace {

timeval to_timeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

RedisReply convert(const redisReply* r, int depth) {
  RedisReply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      // Our own commands nest at most two levels; deeper is not ours.
      if (depth < 4) {
        out.elements.reserve(r->elements);
        for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i], depth + 1));
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

RedisLink::~RedisLink() {
  disconnect();
}

void RedisLink::disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

std::string RedisLink::where() const {
  if (addr_.host.find(':') != std::string::npos) return "[" + addr_.host + "]:" + std::to_string(addr_.port);
  return addr_.host + ":" + std::to_string(addr_.port);
}

bool RedisLink::fail(const std::string& what) {
  error_ = what;
  disconnect();
  return false;
}

bool RedisLink::connect() {
  if (ctx_) return true;
  const timeval tv = to_timeval(addr_.timeout_ms);
  ctx_ = redisConnectWithTimeout(addr_.host.c_str(), addr_.port, tv);
  if (ctx_ == nullptr) return fail("cannot allocate a Redis context");
  if (ctx_->err) return fail("connect " + where() + ": " + ctx_->errstr);
  if (redisSetTimeout(ctx_, tv) != REDIS_OK) return fail("cannot set the Redis socket timeout");
  if (!addr_.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!addr_.user.empty()) auth.push_back(addr_.user);
    auth.push_back(addr_.password);
    RedisReply r;
    if (!command(auth, r)) return false;
    // Never echo the password: Redis's message names no secret.
    if (r.is_error()) return fail("AUTH refused by " + where() + ": " + r.str);
  }
  error_.clear();
  return true;
}

bool RedisLink::pipeline(const std::vector<std::vector<std::string>>& commands, std::vector<RedisReply>& replies) {
  replies.clear();
  if (!connect()) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& cmd : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
      return fail(std::string("Redis ") + where() + ": " + ctx_->errstr);
  }
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = ctx_->err ? ctx_->errstr : "no reply";
      return fail("Redis " + where() + ": " + why);
    }
    replies.push_back(convert(static_cast<redisReply*>(raw), 0));
    freeReplyObject(raw);
  }
  return true;
}

bool RedisLink::command(const std::vector<std::string>& argv, RedisReply& reply) {
  std::vector<RedisReply> rs;
  if (!pipeline({argv}, rs)) return false;
  reply = std::move(rs.front());
  return true;
}

bool parse_redis_address(const std::string& text, RedisAddress& out, std::string* why) {
  auto fail = [why](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos) return fail("'" + text + "' is not [IPv6]:port");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return fail("'" + text + "' is not [IPv6]:port");
      port = text.substr(close + 2);
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') != colon)
      return fail("'" + text + "': write an IPv6 address as [addr]:port");
    host = text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
  }
  if (host.empty()) return fail("'" + text + "' has no host");
  if (host.size() > 255) return fail("the Redis host name is longer than 255 bytes");
  unsigned long p = 6379;
  if (!port.empty() || (text.find(':') != std::string::npos && text[0] != '[')) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail("'" + text + "': the port must be a number");
    p = std::stoul(port);
    if (p == 0 || p > 65535) return fail("'" + text + "': the port must be 1 to 65535");
  }
  out.host = host;
  out.port = static_cast<std::uint16_t>(p);
  return true;
}

}  // namespace sipwall::fleet
