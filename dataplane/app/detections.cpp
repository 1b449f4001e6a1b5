#include "dataplane/app/detections.h"

#include <chrono>
#include <ctime>

#include "dataplane/app/main_state.h"
#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/key_text.h"
#include "dataplane/protocol/echo.h"
#include "dataplane/protocol/reply.h"

namespace sipwall::dataplane {
namespace {

using nlohmann::json;
constexpr const char* kActionNames[kActionCount] = {"pass", "drop", "reject", "tag", "trace"};

// A detection time (the TSC clock in ms) as UTC wall time, to the ms.
std::string wall_time(std::uint64_t at_ms, std::uint64_t now_ms) {
  using namespace std::chrono;
  const auto wall =
      system_clock::now() - milliseconds(static_cast<std::int64_t>(now_ms) - static_cast<std::int64_t>(at_ms));
  const std::time_t tt = system_clock::to_time_t(time_point_cast<seconds>(wall));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  const auto ms = duration_cast<milliseconds>(wall.time_since_epoch()).count() % 1000;
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// The action column: what the rules last did on a call this detector
// decided at this level (RuntimeSet::note_detector_action).
json action_json(const RuntimeSet* rs, std::size_t d, detect::Level level) {
  const std::uint8_t a = rs != nullptr ? rs->detector_action(d, level) : 0;
  if (a == 0) return nullptr;
  const unsigned kind = (a & ~RuntimeSet::kReportBit) - 1u;
  const std::string name = kind < kActionCount ? kActionNames[kind] : "?";
  return (a & RuntimeSet::kReportBit) ? "report (would " + name + ")" : name;
}

std::string trunk_name(const RuntimeSet* rs, std::uint64_t i) {
  if (rs == nullptr || i >= rs->set().trunk_count()) return {};
  return std::string(rs->set().trunk_name(static_cast<std::size_t>(i)));
}

}  // namespace

json detections_json(MainState& st, bool all, std::uint64_t min_percent) {
  DetectRuntime& dr = st.detect;
  RuntimeSet* rs = st.dp.current.load(std::memory_order_acquire);
  json out = json::array();
  const detect::Merger* m = dr.merger();
  if (m != nullptr && rs != nullptr) {
    const std::uint64_t now = dr.now_ms();
    const std::span<const detect::DetectorSpec> specs = rs->detector_specs();
    m->for_each([&](const detect::DynamicEntry& e) {
      const bool held = e.level != detect::Level::none && now < e.expiry_ms;
      if (!held && !all) return;
      std::size_t d = 0;
      while (d < specs.size() && specs[d].definition_hash != e.detector) ++d;
      if (d == specs.size()) return;  // a detector the running set no longer has
      const detect::DetectorSpec& s = specs[d];
      // Not held and under min_percent of its lowest threshold: left out
      // (the fleet view asks only for the keys it pushes).
      if (!held && min_percent != 0 &&
          std::uint64_t{e.count} * 100 < std::uint64_t{detect::lowest_threshold(s)} * min_percent)
        return;
      json j{{"detector", std::string(rs->set().detector_name(d))},
             {"key_kind", detect::to_string(s.key)},
             {"key", detect::key_text(s.key, e.a, e.b, [&](std::uint64_t t) { return trunk_name(rs, t); })},
             {"count", e.count},
             {"first_seen", wall_time(e.first_seen_ms, now)},
             {"last_seen", wall_time(e.last_seen_ms, now)},
             {"level", detect::to_string(held ? e.level : detect::Level::none)},
             {"report_only", s.report_only},
             {"external", e.external}};
      if (s.count == detect::DetectCount::asr) j["answered"] = e.count2;
      if (e.external) {
        if (const std::string* note = dr.hold_note(e.detector, e.key)) j["by"] = *note;
      }
      if (held) {
        j["fired"] = wall_time(e.fired_ms, now);
        j["expires"] = wall_time(e.expiry_ms, now);
        j["expires_in_s"] = static_cast<double>(e.expiry_ms - now) / 1000.0;
        j["action"] = action_json(rs, d, e.level);
      }
      out.push_back(std::move(j));
    });
  }
  // Names and keys hold bytes from the rule set: dump_json escapes them.
  json reply{{"ok", true},
             {"v", protocol::kVersion},
             {"detections", out},
             {"merges", dr.merges()},
             {"merge_ms", st.dp.cfg.detection_merge_ms}};
  if (all && rs != nullptr) {
    // What a reader needs to weigh the counts (sipwall-control's fleet
    // view sums them across appliances: docs/fleet.md).
    json dets = json::array();
    const std::span<const detect::DetectorSpec> specs = rs->detector_specs();
    for (std::size_t d = 0; d < specs.size(); ++d) {
      const detect::DetectorSpec& s = specs[d];
      dets.push_back(json{{"name", std::string(rs->set().detector_name(d))},
                          {"key_kind", detect::to_string(s.key)},
                          {"count", detect::to_string(s.count)},
                          {"window_ms", s.window_ms},
                          {"warn", s.warn},
                          {"block", s.block},
                          {"block_for_ms", s.block_for_ms},
                          {"report_only", s.report_only}});
    }
    reply["detectors"] = std::move(dets);
    reply["report_percent"] = st.dp.cfg.detection_report_percent;
  }
  return reply;
}

namespace {

std::optional<detect::ParsedKey> parse_key_of(RuntimeSet* rs, const std::string& key) {
  return detect::parse_key(key, [rs](std::string_view name) {
    const rules::CompiledRuleSet& s = rs->set();
    for (std::size_t t = 0; t < s.trunk_count(); ++t)
      if (s.trunk_name(t) == name) return std::optional<std::uint32_t>(static_cast<std::uint32_t>(t));
    return std::optional<std::uint32_t>();
  });
}

// A pair detector's KEY as `detections` shows it: "A -> B" (the callee second).
std::optional<std::pair<detect::ParsedKey, detect::ParsedKey>> parse_pair_of(RuntimeSet* rs, const std::string& key) {
  const std::size_t arrow = key.find(" -> ");
  if (arrow == std::string::npos) return std::nullopt;
  const std::optional<detect::ParsedKey> a = parse_key_of(rs, key.substr(0, arrow));
  const std::optional<detect::ParsedKey> b = parse_key_of(rs, key.substr(arrow + 4));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

}  // namespace

json hold_json(MainState& st, const HoldRequest& h) {
  const std::string& key = h.key;
  const std::string& detector = h.detector;
  const std::uint64_t for_ms = h.for_ms;
  constexpr std::uint64_t kMaxHoldMs = 30ull * 24 * 3600 * 1000;
  RuntimeSet* rs = st.dp.current.load(std::memory_order_acquire);
  if (rs == nullptr || !rs->has_detectors()) return protocol::error_json("the running rule set has no detectors");
  if (for_ms == 0 || for_ms > kMaxHoldMs) return protocol::error_json("for_ms must be 1 to 2592000000 (30 days)");
  detect::Level level = detect::Level::block;
  if (h.level == "warn")
    level = detect::Level::warn;
  else if (!h.level.empty() && h.level != "block")
    return protocol::error_json("level must be warn or block, got '" + protocol::printable(h.level) + "'");
  if (h.by.size() > kMaxHoldNote)
    return protocol::error_json("'by' is longer than " + std::to_string(kMaxHoldNote) + " bytes");
  const std::span<const detect::DetectorSpec> specs = rs->detector_specs();
  std::size_t d = 0;
  while (d < specs.size() && rs->set().detector_name(d) != detector) ++d;
  if (d == specs.size()) return protocol::error_json("no detector named '" + protocol::printable(detector) + "'");
  const detect::DetectorSpec& s = specs[d];
  detect::KeyParts parts{0, 0, true};
  if (detect::two_part(s.key)) {
    // "A -> B": A what the detector's first part is, B a callee number.
    const auto p = parse_pair_of(rs, key);
    if (!p || p->first.what != detect::first_part(s.key) || p->second.what != detect::PartKind::number)
      return protocol::error_json("detector '" + protocol::printable(detector) + "' counts pairs (" +
                                  detect::to_string(s.key) + "): give KEY as '" +
                                  (detect::first_part(s.key) == detect::PartKind::source ? "ADDRESS" : "NUMBER") +
                                  " -> NUMBER', got '" + protocol::printable(key) + "'");
    parts.a = p->first.part;
    parts.b = p->second.part;
  } else {
    const std::optional<detect::ParsedKey> k = parse_key_of(rs, key);
    if (!k)
      return protocol::error_json(
          "'" + protocol::printable(key) +
          "' is not a key: give an E.164 number (+8613800000001), an IP address or a trunk name");
    if ((k->kinds & detect::kind_bit(s.key)) == 0)
      return protocol::error_json("detector '" + protocol::printable(detector) + "' is keyed by " +
                                  detect::to_string(s.key) + ", not by what '" + protocol::printable(key) + "' is");
    parts.a = k->part;
  }
  if (!st.detect.hold(s.definition_hash, detect::key_hash(s.key, parts), parts.a, parts.b, level, for_ms, h.by))
    return protocol::error_json("the merge has no room for another key (detection.max_keys)");
  return json{{"ok", true},           {"v", protocol::kVersion}, {"key", key},
              {"detector", detector}, {"for_ms", for_ms},        {"level", detect::to_string(level)}};
}

json lift_json(MainState& st, const std::string& key, const std::optional<std::string>& detector) {
  RuntimeSet* rs = st.dp.current.load(std::memory_order_acquire);
  if (rs == nullptr || !rs->has_detectors()) return protocol::error_json("the running rule set has no detectors");
  const std::optional<detect::ParsedKey> k = parse_key_of(rs, key);
  if (!k)
    return protocol::error_json("'" + protocol::printable(key) +
                                "' is not a key: give an E.164 number (+8613800000001), an IP address or a trunk name");
  std::optional<std::uint64_t> hash;
  if (detector) {
    const std::span<const detect::DetectorSpec> specs = rs->detector_specs();
    for (std::size_t d = 0; d < specs.size(); ++d)
      if (rs->set().detector_name(d) == *detector) hash = specs[d].definition_hash;
    if (!hash) return protocol::error_json("no detector named '" + protocol::printable(*detector) + "'");
  }
  const std::size_t lifted = st.detect.lift(k->part, k->kinds, hash);
  return json{{"ok", true}, {"v", protocol::kVersion}, {"key", key}, {"lifted", lifted}};
}

json detection_stats_json(MainState& st) {
  DetectRuntime& dr = st.detect;
  const detect::Merger* m = dr.merger();
  RuntimeSet* rs = st.dp.current.load(std::memory_order_acquire);
  if (m == nullptr) return nullptr;
  json dets = json::array();
  const unsigned workers = static_cast<unsigned>(st.dp.workers.size());
  std::size_t memory = 0;
  std::uint64_t calls = 0, call_capacity = 0, evicted_live = 0, expired = 0, unknown = 0, inserted = 0;
  std::uint64_t reports_dropped = 0;
  if (rs != nullptr) {
    for (unsigned w = 0; w < workers; ++w) {
      const detect::WorkerDetect* wd = rs->detect(w);
      if (wd == nullptr) continue;
      // Read while the worker writes: a value a burst old, like the counters.
      const detect::CallTable& c = wd->calls();
      memory += wd->memory_bytes() + c.memory_bytes();  // the worker's table, lent to wd
      calls += c.size();
      call_capacity += c.capacity();
      evicted_live += c.evicted_live();
      expired += c.expired();
      unknown += c.unknown();
      inserted += c.inserted();
      reports_dropped += wd->reports_dropped();
    }
    const std::span<const detect::DetectorSpec> specs = rs->detector_specs();
    for (std::size_t d = 0; d < specs.size() && d < m->specs().size(); ++d) {
      std::uint64_t evictions = 0, keys = 0;
      for (unsigned w = 0; w < workers; ++w) {
        if (const detect::WorkerDetect* wd = rs->detect(w)) {
          evictions += wd->counter(static_cast<std::uint32_t>(d)).evictions();
          keys += wd->counter(static_cast<std::uint32_t>(d)).size();
        }
      }
      const std::string name(rs->set().detector_name(d));
      const detect::DetectorMergeStats& ms = m->stats(static_cast<std::uint32_t>(d));
      dets.push_back(json{{"name", name},
                          {"key", detect::to_string(specs[d].key)},
                          {"count", detect::to_string(specs[d].count)},
                          {"report_only", specs[d].report_only},
                          {"fires", ms.fires},
                          {"active", ms.active},
                          {"hot", ms.hot},
                          {"keys", keys},
                          {"capacity", std::uint64_t{specs[d].capacity} * workers},
                          {"evictions", evictions},
                          {"hits", st.retired.detector_hits[name] + rs->detector_hits_total(d)},
                          {"report_hits", st.retired.detector_report_hits[name] + rs->detector_report_hits_total(d)}});
    }
  }
  return json{{"detectors", dets},
              {"calls", json{{"size", calls},
                             {"capacity", call_capacity},
                             {"inserted", inserted},
                             {"expired", expired},
                             {"evicted_live", evicted_live},
                             {"unknown_events", unknown}}},
              {"memory_bytes", memory + m->memory_bytes()},
              {"merges", dr.merges()},
              {"last_merge_us", dr.last_merge_us()},
              {"merged_keys", m->tracked()},
              {"merge_dropped_full", m->dropped_full()},
              {"reports_taken", dr.reports_taken()},
              {"reports_dropped", reports_dropped}};
}

}  // namespace sipwall::dataplane
