#include "control/fleet/fleet_view.h"

#include <algorithm>
#include <charconv>

namespace sipwall::fleet {
namespace {

using nlohmann::json;

// A text field of the data plane's reply: a string, 1 to `max` bytes, no
// control characters (it becomes part of a Redis key and of log lines).
std::optional<std::string> text_of(const json& j, const char* k, std::size_t max) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty() || s.size() > max) return std::nullopt;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  return s;
}

std::optional<std::uint32_t> u32_of(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  const std::uint64_t v = it->get<std::uint64_t>();
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

template <class T>
bool parse_int(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::uint32_t ViewDetector::lowest() const {
  if (count == "asr") return 0;
  if (warn != 0 && (block == 0 || warn < block)) return warn;
  return block;
}

std::string ViewDetector::level_of(std::uint64_t total) const {
  if (count == "asr") return "";
  if (block != 0 && total > block) return "block";  // as the data plane: equal to a threshold is not over it
  if (warn != 0 && total > warn) return "warn";
  return "";
}

std::optional<DataplaneView> parse_dataplane_view(const json& reply, std::string& error) {
  // Typed reads only: json::value() throws when a field has another type.
  auto flag = [](const json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  if (!reply.is_object() || !flag(reply, "ok")) {
    const auto why = reply.is_object() ? text_of(reply, "error", 512) : std::nullopt;
    error = "the data plane refused `detections`: " +
            (why ? *why : std::string(reply.is_object() ? "no reason" : "not an object"));
    return std::nullopt;
  }
  auto dets = reply.find("detectors");
  auto entries = reply.find("detections");
  if (dets == reply.end() || !dets->is_array() || entries == reply.end() || !entries->is_array()) {
    error = "the data plane's `detections` reply has no detectors (a data plane older than the fleet view)";
    return std::nullopt;
  }
  DataplaneView v;
  if (auto p = u32_of(reply, "report_percent")) v.report_percent = *p;
  for (const json& d : *dets) {
    if (!d.is_object()) continue;
    auto name = text_of(d, "name", 256), key_kind = text_of(d, "key_kind", 32), count = text_of(d, "count", 32);
    auto window = u32_of(d, "window_ms"), warn = u32_of(d, "warn"), block = u32_of(d, "block"),
         block_for = u32_of(d, "block_for_ms");
    if (!name || !key_kind || !count || !window || !warn || !block || !block_for || *window == 0) continue;
    v.detectors[*name] =
        ViewDetector{*name, *key_kind, *count, *window, *warn, *block, *block_for, flag(d, "report_only")};
  }
  for (const json& e : *entries) {
    if (!e.is_object()) continue;
    auto det = text_of(e, "detector", 256), key = text_of(e, "key", 600);
    auto count = u32_of(e, "count");
    if (!det || !key || !count || !v.detectors.count(*det)) continue;
    v.keys.push_back(HotKey{*det, *key, *count});
  }
  return v;
}

std::vector<HotKey> keys_to_push(const DataplaneView& v, std::uint32_t percent) {
  std::vector<HotKey> out;
  for (const HotKey& k : v.keys) {
    const ViewDetector& d = v.detectors.at(k.detector);
    const std::uint64_t lowest = d.lowest();
    if (lowest == 0) continue;
    std::uint64_t min = (lowest * percent + 99) / 100;
    if (min == 0) min = 1;
    if (k.count >= min) out.push_back(k);
  }
  std::stable_sort(out.begin(), out.end(), [](const HotKey& a, const HotKey& b) { return a.count > b.count; });
  if (out.size() > kMaxViewKeys) out.resize(kMaxViewKeys);
  return out;
}

std::string share_value(std::uint32_t count, std::int64_t now_ms) {
  return std::to_string(count) + " " + std::to_string(now_ms);
}

FleetTotal fleet_total(const std::map<std::string, std::string>& fields, std::int64_t now_ms, std::uint32_t window_ms) {
  FleetTotal t;
  for (const auto& [appliance, value] : fields) {
    const std::size_t sp = value.find(' ');
    if (sp == std::string::npos || value.size() > 40) continue;
    std::uint32_t count = 0;
    std::int64_t at = 0;
    if (!parse_int(std::string_view(value).substr(0, sp), count) ||
        !parse_int(std::string_view(value).substr(sp + 1), at))
      continue;
    if (at + std::int64_t{window_ms} < now_ms) continue;  // older than the window: its calls have left it
    t.total += count;
    t.shares.emplace_back(appliance, count);
  }
  return t;
}

std::string shares_text(const FleetTotal& t) {
  std::string s;
  for (const auto& [a, c] : t.shares) {
    if (!s.empty()) s += " + ";
    s += a + " " + std::to_string(c);
  }
  return s + " = " + std::to_string(t.total);
}

bool push_and_read(RedisLink& r, const FleetKeys& k, const std::string& appliance, const std::vector<HotKey>& pushed,
                   const std::vector<std::uint32_t>& window_ms, const std::vector<std::string>& withdrawn,
                   std::int64_t now_ms, std::vector<std::map<std::string, std::string>>& totals, std::string& error) {
  totals.clear();
  std::vector<std::vector<std::string>> cmds;
  for (const std::string& f : withdrawn) cmds.push_back({"HDEL", k.view(f), appliance});
  const std::size_t first = cmds.size();
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const std::string key = k.view(pushed[i].field());
    cmds.push_back({"HSET", key, appliance, share_value(pushed[i].count, now_ms)});
    cmds.push_back({"PEXPIRE", key, std::to_string(window_ms[i])});
    cmds.push_back({"HGETALL", key});
  }
  if (cmds.empty()) return true;
  std::vector<RedisReply> reps;
  if (!r.pipeline(cmds, reps)) {
    error = r.error();
    return false;
  }
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    const RedisReply& all = reps[first + 3 * i + 2];
    std::map<std::string, std::string> fields;
    if (all.type == RedisReply::Type::array && all.elements.size() % 2 == 0 && all.elements.size() <= 2 * 10000)
      for (std::size_t j = 0; j + 1 < all.elements.size(); j += 2)
        fields[all.elements[j].str] = all.elements[j + 1].str;
    totals.push_back(std::move(fields));
  }
  return true;
}

}  // namespace sipwall::fleet
