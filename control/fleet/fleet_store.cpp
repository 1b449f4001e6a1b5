#include "control/fleet/fleet_store.h"

#include <charconv>

namespace sipwall::fleet {
namespace {

constexpr std::size_t kMaxAppliances = 10000;

std::optional<std::uint64_t> to_u64(const std::string& s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string redis_error(const RedisReply& r, const std::string& what) {
  return what + ": Redis answered " + (r.is_error() ? r.str : "an unexpected reply");
}

}  // namespace

std::string appliance_id_problem(const std::string& id) {
  if (id.empty() || id.size() > 64) return "an appliance id has 1 to 64 characters";
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return "an appliance id may hold only letters, digits, '.', '_' and '-'";
  return "";
}

bool publish_bundle(RedisLink& r, const FleetKeys& k, Manifest& m, const std::vector<std::string>& contents,
                    std::string& error) {
  RedisReply seq;
  if (!r.command({"INCR", k.ruleset_seq()}, seq)) {
    error = r.error();
    return false;
  }
  if (seq.type != RedisReply::Type::integer || seq.integer <= 0) {
    error = redis_error(seq, "INCR " + k.ruleset_seq());
    return false;
  }
  m.seq = static_cast<std::uint64_t>(seq.integer);
  std::vector<std::string> hset{"HSET", k.ruleset(m.seq), "manifest", encode_manifest(m)};
  for (std::size_t i = 0; i < contents.size(); ++i) {
    hset.push_back("file:" + std::to_string(i));
    hset.push_back(contents[i]);
  }
  // The bundle is complete before it becomes current: an appliance that
  // reads `current` always finds every file.
  RedisReply rep;
  if (!r.command(hset, rep)) {
    error = r.error();
    return false;
  }
  if (rep.is_error()) {
    error = redis_error(rep, "HSET " + k.ruleset(m.seq));
    return false;
  }
  std::vector<std::vector<std::string>> cmds{{"SET", k.ruleset_current(), std::to_string(m.seq)}};
  if (m.seq > kBundlesKept) cmds.push_back({"DEL", k.ruleset(m.seq - kBundlesKept)});
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  if (reps[0].is_error()) {
    error = redis_error(reps[0], "SET " + k.ruleset_current());
    return false;
  }
  return true;
}

std::optional<std::uint64_t> read_current(RedisLink& r, const FleetKeys& k, std::string& error) {
  RedisReply rep;
  if (!r.command({"GET", k.ruleset_current()}, rep)) {
    error = r.error();
    return std::nullopt;
  }
  if (rep.type == RedisReply::Type::nil) return 0;
  if (rep.type != RedisReply::Type::string) {
    error = redis_error(rep, "GET " + k.ruleset_current());
    return std::nullopt;
  }
  auto v = to_u64(rep.str);
  if (!v) error = k.ruleset_current() + " is not a fleet version number";
  return v;
}

std::optional<Manifest> fetch_manifest(RedisLink& r, const FleetKeys& k, std::uint64_t seq,
                                       std::uint64_t max_total_bytes, std::string& error) {
  RedisReply rep;
  if (!r.command({"HGET", k.ruleset(seq), "manifest"}, rep)) {
    error = r.error();
    return std::nullopt;
  }
  if (rep.type == RedisReply::Type::nil) {
    error = "fleet version " + std::to_string(seq) + " is current but its bundle " + k.ruleset(seq) + " is gone";
    return std::nullopt;
  }
  if (rep.type != RedisReply::Type::string) {
    error = redis_error(rep, "HGET " + k.ruleset(seq));
    return std::nullopt;
  }
  std::optional<Manifest> m = parse_manifest(rep.str, max_total_bytes, error);
  if (m && m->seq != seq) {
    error =
        "the bundle stored as fleet version " + std::to_string(seq) + " says it is version " + std::to_string(m->seq);
    return std::nullopt;
  }
  return m;
}

bool fetch_contents(RedisLink& r, const FleetKeys& k, const Manifest& m, std::vector<std::string>& contents,
                    std::string& error) {
  std::vector<std::string> cmd{"HMGET", k.ruleset(m.seq)};
  for (std::size_t i = 0; i < m.files.size(); ++i) cmd.push_back("file:" + std::to_string(i));
  RedisReply rep;
  if (!r.command(cmd, rep)) {
    error = r.error();
    return false;
  }
  if (rep.type != RedisReply::Type::array || rep.elements.size() != m.files.size()) {
    error = redis_error(rep, "HMGET " + k.ruleset(m.seq));
    return false;
  }
  contents.clear();
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    RedisReply& e = rep.elements[i];
    if (e.type != RedisReply::Type::string) {
      error = "file " + std::to_string(i) + " of fleet version " + std::to_string(m.seq) + " is missing in Redis";
      return false;
    }
    if (!verify_content(m.files[i], e.str, error)) return false;
    contents.push_back(std::move(e.str));
  }
  return true;
}

bool write_heartbeat(RedisLink& r, const FleetKeys& k, const std::string& id,
                     const std::map<std::string, std::string>& fields, std::int64_t now_ms, std::int64_t ttl_ms,
                     std::string& error) {
  std::vector<std::string> hset{"HSET", k.appliance(id)};
  for (const auto& [f, v] : fields) {
    hset.push_back(f);
    hset.push_back(v);
  }
  hset.push_back("last_seen_ms");
  hset.push_back(std::to_string(now_ms));
  std::vector<RedisReply> reps;
  if (!r.pipeline({hset,
                   {"PEXPIRE", k.appliance(id), std::to_string(ttl_ms)},
                   {"ZADD", k.appliances(), std::to_string(now_ms), id}},
                  reps)) {
    error = r.error();
    return false;
  }
  for (const RedisReply& x : reps)
    if (x.is_error()) {
      error = redis_error(x, "heartbeat");
      return false;
    }
  return true;
}

bool read_appliances(RedisLink& r, const FleetKeys& k, std::vector<ApplianceRow>& rows, std::string& error) {
  rows.clear();
  RedisReply ids;
  if (!r.command({"ZRANGE", k.appliances(), "0", std::to_string(kMaxAppliances - 1), "WITHSCORES"}, ids)) {
    error = r.error();
    return false;
  }
  if (ids.type != RedisReply::Type::array || ids.elements.size() % 2 != 0) {
    error = redis_error(ids, "ZRANGE " + k.appliances());
    return false;
  }
  std::vector<std::vector<std::string>> cmds;
  for (std::size_t i = 0; i + 1 < ids.elements.size(); i += 2) {
    ApplianceRow row;
    row.id = ids.elements[i].str;
    row.last_seen_ms = static_cast<std::int64_t>(to_u64(ids.elements[i + 1].str).value_or(0));
    rows.push_back(std::move(row));
    cmds.push_back({"HGETALL", k.appliance(rows.back().id)});
  }
  if (cmds.empty()) return true;
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RedisReply& h = reps[i];
    if (h.type != RedisReply::Type::array || h.elements.empty()) {
      rows[i].expired = true;
      continue;
    }
    for (std::size_t j = 0; j + 1 < h.elements.size(); j += 2)
      rows[i].fields[h.elements[j].str] = h.elements[j + 1].str;
  }
  return true;
}

}  // namespace sipwall::fleet
