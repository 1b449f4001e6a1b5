#include "control/fleet/fleet_lifts.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "control/fleet/fleet_blocks.h"

namespace sipwall::fleet {
namespace {

using nlohmann::json;

std::optional<std::uint64_t> id_of(const std::string& s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v == 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<LiftNote> parse_note(std::uint64_t id, const std::string& text) {
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
  auto key = str("key", 600), det = str("detector", 256), by = str("by", 512), at = str("at", 64),
       from = str("from", 64);
  auto until = j.find("until_ms");
  if (!key || !det || !by || !at || !from || key->empty() || until == j.end() || !until->is_number_integer())
    return std::nullopt;
  return LiftNote{id, *key, *det, until->get<std::int64_t>(), *by, *at, *from};
}

std::string note_value(const LiftNote& n) {
  json v{{"key", n.key}, {"detector", n.detector}, {"until_ms", n.until_ms}, {"by", n.by},
         {"at", n.at},   {"from", n.from}};
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool lift_covers(const std::string& key, const std::string& entry_key) {
  if (entry_key == key) return true;
  const std::size_t arrow = entry_key.find(" -> ");
  if (arrow == std::string::npos) return false;
  return entry_key.substr(0, arrow) == key || entry_key.substr(arrow + 4) == key;
}

bool read_lifts(RedisLink& r, const FleetKeys& k, std::vector<LiftNote>& out, std::size_t& bad, std::string& error) {
  out.clear();
  bad = 0;
  RedisReply rep;
  if (!r.command({"HGETALL", k.lifts()}, rep)) {
    error = r.error();
    return false;
  }
  if (rep.type != RedisReply::Type::array || rep.elements.size() % 2 != 0) {
    error = "HGETALL " + k.lifts() + ": Redis answered " + (rep.is_error() ? rep.str : "an unexpected reply");
    return false;
  }
  for (std::size_t i = 0; i + 1 < rep.elements.size() && out.size() < kMaxLiftNotes; i += 2) {
    std::optional<std::uint64_t> id = id_of(rep.elements[i].str);
    std::optional<LiftNote> n = id ? parse_note(*id, rep.elements[i + 1].str) : std::nullopt;
    if (n)
      out.push_back(std::move(*n));
    else
      bad++;
  }
  return true;
}

bool write_lift(RedisLink& r, const FleetKeys& k, LiftNote note, std::int64_t now_ms, LiftWritten& out,
                std::string& error) {
  RedisReply seq;
  if (!r.command({"INCR", k.lifts_seq()}, seq)) {
    error = r.error();
    return false;
  }
  if (seq.type != RedisReply::Type::integer || seq.integer <= 0) {
    error = "INCR " + k.lifts_seq() + ": Redis answered " + (seq.is_error() ? seq.str : "an unexpected reply");
    return false;
  }
  note.id = static_cast<std::uint64_t>(seq.integer);
  std::vector<Block> blocks;
  std::vector<LiftNote> notes;
  std::size_t bad = 0;
  if (!read_blocks(r, k, blocks, bad, error) || !read_lifts(r, k, notes, bad, error)) return false;

  std::vector<std::vector<std::string>> cmds;
  out = LiftWritten{note.id, 0};
  for (const Block& b : blocks) {
    if (!lift_covers(note.key, b.key) || (!note.detector.empty() && b.detector != note.detector)) continue;
    cmds.push_back({"HDEL", k.blocks(), b.field()});
    // The fleet view's shares of a global detection: summed again at the
    // next view turn of an appliance that has not applied the lift yet,
    // they would bring the detection back.
    if (b.from_view()) cmds.push_back({"DEL", k.view(b.field())});
    out.blocks_removed++;
  }
  for (const LiftNote& n : notes)
    if (n.until_ms <= now_ms) cmds.push_back({"HDEL", k.lifts(), std::to_string(n.id)});
  cmds.push_back({"HSET", k.lifts(), std::to_string(note.id), note_value(note)});
  cmds.push_back({"PEXPIRE", k.lifts(), std::to_string(2 * kLiftNoteMs)});
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

}  // namespace sipwall::fleet
