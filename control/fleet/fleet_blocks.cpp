#include "control/fleet/fleet_blocks.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace sipwall::fleet {
namespace {

using nlohmann::json;

std::optional<std::uint64_t> to_u64(const RedisReply& r) {
  if (r.type == RedisReply::Type::nil) return 0;
  if (r.type != RedisReply::Type::string || r.str.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  if (ec != std::errc() || p != r.str.data() + r.str.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Block> parse_block(const std::string& text) {
  if (text.size() > 4096) return std::nullopt;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* k, std::size_t max) -> std::optional<std::string> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string() || it->get<std::string>().size() > max) return std::nullopt;
    std::string s = it->get<std::string>();
    for (unsigned char c : s)
      if (c < 0x20 || c == 0x7f) return std::nullopt;
    return s;
  };
  auto key = str("key", 600), det = str("detector", 256), by = str("by", 512), at = str("at", 64);
  auto until = j.find("until_ms");
  if (!key || !det || !by || !at || key->empty() || det->empty() || until == j.end() || !until->is_number_integer())
    return std::nullopt;
  Block b{*key, *det, until->get<std::int64_t>(), *by, *at, "", "block"};
  if (j.contains("source")) {  // written by the fleet view; absent in an operator's block
    auto source = str("source", 16), level = str("level", 16);
    if (!source || !level || (*level != "warn" && *level != "block")) return std::nullopt;
    b.source = *source;
    b.level = *level;
  }
  return b;
}

bool read_heads(RedisLink& r, const FleetKeys& k, std::uint64_t& current, std::uint64_t& blocks_gen,
                std::string& error) {
  std::vector<RedisReply> reps;
  if (!r.pipeline({{"GET", k.ruleset_current()}, {"GET", k.blocks_gen()}}, reps)) {
    error = r.error();
    return false;
  }
  auto c = to_u64(reps[0]), g = to_u64(reps[1]);
  if (!c || !g) {
    error = (!c ? k.ruleset_current() : k.blocks_gen()) + " is not a number";
    return false;
  }
  current = *c;
  blocks_gen = *g;
  return true;
}

bool read_blocks(RedisLink& r, const FleetKeys& k, std::vector<Block>& out, std::size_t& bad, std::string& error) {
  out.clear();
  bad = 0;
  RedisReply rep;
  if (!r.command({"HGETALL", k.blocks()}, rep)) {
    error = r.error();
    return false;
  }
  if (rep.type != RedisReply::Type::array || rep.elements.size() % 2 != 0) {
    error = "HGETALL " + k.blocks() + ": Redis answered " + (rep.is_error() ? rep.str : "an unexpected reply");
    return false;
  }
  for (std::size_t i = 0; i + 1 < rep.elements.size() && out.size() < kMaxBlocks; i += 2) {
    std::optional<Block> b = parse_block(rep.elements[i + 1].str);
    if (b && b->field() == rep.elements[i].str)
      out.push_back(std::move(*b));
    else
      bad++;
  }
  return true;
}

bool write_block(RedisLink& r, const FleetKeys& k, const Block& b, std::int64_t now_ms, std::string& error) {
  std::vector<Block> all;
  std::size_t bad = 0;
  if (!read_blocks(r, k, all, bad, error)) return false;
  std::vector<std::vector<std::string>> cmds;
  for (const Block& o : all)
    if (o.until_ms <= now_ms) cmds.push_back({"HDEL", k.blocks(), o.field()});
  cmds.push_back({"HSET", k.blocks(), b.field(), block_value(b)});
  cmds.push_back({"INCR", k.blocks_gen()});
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  for (const RedisReply& x : reps)
    if (x.is_error()) {
      error = "Redis answered " + x.str;
      return false;
    }
  return true;
}

std::string block_value(const Block& b) {
  json v{{"key", b.key}, {"detector", b.detector}, {"until_ms", b.until_ms}, {"by", b.by}, {"at", b.at}};
  if (!b.source.empty()) {
    v["source"] = b.source;
    v["level"] = b.level;
  }
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool write_view_blocks(RedisLink& r, const FleetKeys& k, const std::vector<Block>& bs,
                       const std::vector<std::string>& stale, std::string& error) {
  std::vector<std::vector<std::string>> cmds;
  for (const std::string& f : stale) cmds.push_back({"HDEL", k.blocks(), f});
  for (const Block& b : bs) cmds.push_back({"HSET", k.blocks(), b.field(), block_value(b)});
  if (cmds.empty()) return true;
  cmds.push_back({"INCR", k.blocks_gen()});
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  for (const RedisReply& x : reps)
    if (x.is_error()) {
      error = "Redis answered " + x.str;
      return false;
    }
  return true;
}

bool remove_blocks(RedisLink& r, const FleetKeys& k, const std::string& key, const std::optional<std::string>& detector,
                   std::size_t& removed, std::string& error) {
  std::vector<Block> all;
  std::size_t bad = 0;
  removed = 0;
  if (!read_blocks(r, k, all, bad, error)) return false;
  std::vector<std::vector<std::string>> cmds;
  for (const Block& b : all)
    if (b.key == key && (!detector || b.detector == *detector)) cmds.push_back({"HDEL", k.blocks(), b.field()});
  removed = cmds.size();
  cmds.push_back({"INCR", k.blocks_gen()});
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  return true;
}

}  // namespace sipwall::fleet
