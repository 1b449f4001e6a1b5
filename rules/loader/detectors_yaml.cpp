// detectors: behavioural counters over a sliding window (docs/rules.md
// "Detectors"). A list of maps:
//   - name: call_bombing
//     key: caller_callee        # what the count is kept per
//     count: invites            # what is counted
//     window: 60s
//     block: 10                 # fires when the count in the window exceeds 10
//     block_for: 10m
// Every value is checked here with its position; the compiler only copies
// the specs (and detect::validate() guards the artifact loader).
#include <array>
#include <charconv>
#include <map>

#include "rules/detect/definition_hash.h"
#include "rules/loader/loader_internal.h"
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

using detect::DetectCount;
using detect::DetectKey;

constexpr std::array<std::string_view, 11> kDetectorKeys = {
    "name", "key", "count", "window", "warn", "block", "within", "min_attempts", "block_for", "report", "capacity"};
constexpr std::array<std::string_view, 6> kKeyNames = {"caller", "callee",        "caller_callee",
                                                       "source", "source_callee", "trunk"};
constexpr std::array<std::string_view, 7> kCountNames = {
    "invites", "distinct_callees", "distinct_callers", "one_ring", "short_calls", "unanswered", "asr"};

// The most a rule file may ask for: 4 Mi keys (hundreds of MiB per detector
// and worker). The library's own bound is higher; a rule file must not be
// able to make the data plane allocate gigabytes.
constexpr std::uint32_t kMaxYamlCapacity = 1U << 22;
constexpr std::uint64_t kMaxHoldMs = 7ULL * 24 * 3600 * 1000;  // block_for: a week

// "90s", "5m", "1h", "500ms", "1d" -> milliseconds; nullopt if malformed.
std::optional<std::uint64_t> parse_duration(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + digits, v);
  const std::string_view unit = s.substr(digits);
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  return v * scale;
}

std::string duration_text(std::uint64_t ms) {
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// "20%", "12.5%" -> permille (200, 125); nullopt if malformed or > 100%.
std::optional<std::uint32_t> parse_percent(std::string_view s) {
  if (s.size() < 2 || s.back() != '%') return std::nullopt;
  s.remove_suffix(1);
  std::uint32_t whole = 0, tenth = 0;
  const std::size_t dot = s.find('.');
  const std::string_view w = s.substr(0, dot);
  if (w.empty() || w.size() > 3) return std::nullopt;
  const auto r = std::from_chars(w.data(), w.data() + w.size(), whole);
  if (r.ec != std::errc() || r.ptr != w.data() + w.size()) return std::nullopt;
  if (dot != std::string_view::npos) {
    const std::string_view f = s.substr(dot + 1);
    if (f.size() != 1 || f[0] < '0' || f[0] > '9') return std::nullopt;
    tenth = static_cast<std::uint32_t>(f[0] - '0');
  }
  const std::uint32_t permille = whole * 10 + tenth;
  if (permille > 1000) return std::nullopt;
  return permille;
}

template <class E, std::size_t N>
std::optional<E> enum_of(std::string_view s, const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint32_t> Loader::duration(const Entry& e, std::uint64_t min_ms, std::uint64_t max_ms) {
  const auto text = scalar(e, "a duration such as 60s, 5m or 1h");
  if (!text) return std::nullopt;
  const auto ms = parse_duration(*text);
  if (!ms) {
    error(e.value_at, "'" + e.key + "' must be a duration such as 500ms, 60s, 5m, 1h or 1d, got " + text::quote(*text));
    return std::nullopt;
  }
  if (*ms < min_ms || *ms > max_ms) {
    error(e.value_at, "'" + e.key + "' must be between " + duration_text(min_ms) + " and " + duration_text(max_ms) +
                          ", got " + *text);
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*ms);
}

void Loader::read_detectors(const Entry& e) {
  if (!e.value.IsSequence()) {
    error(e.value_at, "'detectors' must be a list of detectors, got " + describe(e.value));
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& node : e.value) {
    ++index;
    const SourceLocation d_at = at(node, e.value_at);
    std::string what = "detector #" + std::to_string(index);
    if (node.IsMap()) {
      if (const YAML::Node n = node["name"]; n.IsDefined() && n.IsScalar() && !n.Scalar().empty()) {
        what = "detector " + text::quote(n.Scalar());
      }
    }
    if (index == detect::kMaxDetectors + 1) {
      error(d_at, "too many detectors: a rule set may have at most " + std::to_string(detect::kMaxDetectors) +
                      " (each costs every INVITE a table update in every worker)");
    }
    const auto entries = map_entries(node, d_at, what, kDetectorKeys);
    if (!entries) continue;
    const std::size_t errors_before = error_count();
    Detector d;
    d.where = d_at;
    detect::DetectorSpec& s = d.spec;
    s.capacity = 0;  // not written: the data plane's detection.capacity (64 Ki keys unless configured)

    if (const Entry* n = require(*entries, "name", d_at, what)) {
      if (auto v = scalar(*n, "a detector name"); v && check_name(*v, n->value_at, "detector name")) {
        d.name = *v;
        if (auto [pos, fresh] = detector_at_.emplace(*v, n->value_at); !fresh) {
          error(n->value_at,
                "duplicate detector name " + text::quote(*v) + " (first used at " + to_string(pos->second) + ")");
        }
      }
    }
    bool have_key = false, have_count = false;
    if (const Entry* k = require(*entries, "key", d_at, what)) {
      if (auto v = scalar(*k, "what the count is kept per")) {
        if (auto kind = enum_of<DetectKey>(*v, kKeyNames)) {
          s.key = *kind;
          have_key = true;
        } else {
          std::string msg = "unknown detector key " + text::quote(*v);
          if (auto near = closest(*v, kKeyNames); !near.empty()) msg += "; did you mean '" + near + "'?";
          error(k->value_at, msg + " (keys: " + join_names(kKeyNames) + ")");
        }
      }
    }
    const Entry* count_entry = require(*entries, "count", d_at, what);
    if (count_entry != nullptr) {
      if (auto v = scalar(*count_entry, "what is counted")) {
        if (auto kind = enum_of<DetectCount>(*v, kCountNames)) {
          s.count = *kind;
          have_count = true;
        } else {
          std::string msg = "unknown detector count " + text::quote(*v);
          if (auto near = closest(*v, kCountNames); !near.empty()) msg += "; did you mean '" + near + "'?";
          error(count_entry->value_at, msg + " (counts: " + join_names(kCountNames) + ")");
        }
      }
    }
    // A distinct count over a key that already fixes the counted number
    // would always be 0 or 1.
    if (have_key && have_count) {
      const bool has_callee =
          s.key == DetectKey::callee || s.key == DetectKey::caller_callee || s.key == DetectKey::source_callee;
      const bool has_caller = s.key == DetectKey::caller || s.key == DetectKey::caller_callee;
      if ((s.count == DetectCount::distinct_callees && has_callee) ||
          (s.count == DetectCount::distinct_callers && has_caller)) {
        error(count_entry->value_at, "count '" + std::string(kCountNames[static_cast<std::size_t>(s.count)]) +
                                         "' over key '" + std::string(kKeyNames[static_cast<std::size_t>(s.key)]) +
                                         "' is at most 1; count it per a key without that number (e.g. caller, "
                                         "callee, source or trunk)");
      }
    }
    if (const Entry* w = require(*entries, "window", d_at, what)) {
      if (auto ms = duration(*w, detect::kMinWindowMs, detect::kMaxWindowMs)) s.window_ms = *ms;
    }
    const bool asr = have_count && s.count == DetectCount::asr;
    const Entry* warn = find(*entries, "warn");
    const Entry* block = find(*entries, "block");
    auto threshold = [&](const Entry& t) -> std::optional<std::uint32_t> {
      if (asr) {
        const auto v = scalar(t, "a percentage such as 20%");
        if (!v) return std::nullopt;
        const auto p = parse_percent(*v);
        if (!p || *p == 0) {
          error(t.value_at,
                "'" + t.key + "' of an asr detector is a percentage above 0% and at most 100% such as 20% " +
                    "or 12.5% (it fires when the answer-seizure ratio falls below it), got " + text::quote(*v));
          return std::nullopt;
        }
        return *p;
      }
      const auto v = integer(t, 1, 10'000'000);
      if (!v) return std::nullopt;
      return static_cast<std::uint32_t>(*v);
    };
    if (warn == nullptr && block == nullptr) {
      error(d_at, what + " needs 'warn' or 'block' (or both): the count above which it fires");
    }
    if (warn != nullptr) {
      if (auto v = threshold(*warn)) s.warn = *v;
    }
    if (block != nullptr) {
      if (auto v = threshold(*block)) s.block = *v;
    }
    if (s.warn != 0 && s.block != 0) {
      if (!asr && s.warn >= s.block) {
        error(warn->value_at, "'warn' must be below 'block' (warn " + std::to_string(s.warn) + ", block " +
                                  std::to_string(s.block) + "): warn is the earlier level");
      } else if (asr && s.warn <= s.block) {
        error(warn->value_at, "'warn' of an asr detector must be above 'block': the ratio falls below warn first");
      }
    }
    const bool timed = have_count && (s.count == DetectCount::one_ring || s.count == DetectCount::short_calls);
    if (const Entry* w = find(*entries, "within")) {
      if (!timed) {
        error(w->key_at,
              "'within' applies only to count one_ring (cancelled within it of the first 18x) and "
              "short_calls (ended within it of the answer)");
      } else if (auto ms = duration(*w, 100, 3'600'000)) {
        s.within_ms = *ms;
      }
    } else if (timed) {
      error(count_entry->key_at, "count '" + std::string(kCountNames[static_cast<std::size_t>(s.count)]) +
                                     "' needs 'within' (e.g. within: 3s)");
    }
    if (const Entry* m = find(*entries, "min_attempts")) {
      if (!asr) {
        error(m->key_at, "'min_attempts' applies only to count asr");
      } else if (auto v = integer(*m, 1, 1'000'000)) {
        s.min_attempts = static_cast<std::uint32_t>(*v);
      }
    } else if (asr) {
      error(count_entry->key_at,
            "count 'asr' needs 'min_attempts' (the attempts in the window before the ratio "
            "is judged)");
    }
    if (const Entry* b = find(*entries, "block_for")) {
      if (auto ms = duration(*b, 0, kMaxHoldMs)) s.block_for_ms = *ms;
    }
    if (const Entry* r = find(*entries, "report")) {
      if (auto v = boolean(*r)) s.report_only = *v;
    }
    if (const Entry* c = find(*entries, "capacity")) {
      if (auto v = integer(*c, detect::kMinCapacity, kMaxYamlCapacity)) s.capacity = static_cast<std::uint32_t>(*v);
    }
    if (error_count() != errors_before || d.name.empty()) continue;
    if (const char* why = detect::validate(s)) {  // the loader's checks should make this unreachable
      error(d_at, what + ": " + why);
      continue;
    }
    s.definition_hash = detect::definition_hash(s);
    if (rs_.detectors.size() < detect::kMaxDetectors) rs_.detectors.push_back(std::move(d));
  }
}

bool Loader::check_detector_ref(const std::string& name, const SourceLocation& where) {
  if (detector_at_.count(name)) return true;
  std::vector<std::string> names;
  for (const auto& [n, _] : detector_at_) names.push_back(n);
  std::string msg = "unknown detector " + text::quote(name);
  if (const std::string near = closest(name, names); !near.empty()) msg += "; did you mean '" + near + "'?";
  msg += names.empty() ? " (no detectors are defined)" : " (detectors: " + join_names(names) + ")";
  error(where, std::move(msg));
  return false;
}

}  // namespace sipwall::rules::loader
