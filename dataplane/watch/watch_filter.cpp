#include "dataplane/watch/watch_filter.h"

namespace sipwall::watch {

std::string_view to_string(WatchKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kWatchKindNames.size() ? kWatchKindNames[i] : std::string_view("?");
}

std::string describe(const WatchFilter& f) {
  std::string s(to_string(f.kind));
  if (f.kind != WatchKind::all) s += " " + f.value;
  return s;
}

std::optional<WatchFilter> parse_watch_filter(std::string_view kind, std::string_view value, std::string& why) {
  WatchFilter f;
  bool known = false;
  for (std::size_t i = 0; i < kWatchKindNames.size(); ++i) {
    if (kind == kWatchKindNames[i]) {
      f.kind = static_cast<WatchKind>(i);
      known = true;
    }
  }
  if (!known) {
    why = "the filter kind must be one of all, trunk, rule, detector, caller, callee";
    return std::nullopt;
  }
  if (f.kind == WatchKind::all) {
    if (!value.empty()) {
      why = "the filter 'all' takes no value";
      return std::nullopt;
    }
    return f;
  }
  if (value.empty()) {
    why = "the filter '" + std::string(to_string(f.kind)) + "' needs a value";
    return std::nullopt;
  }
  if (value.size() > kMaxFilterValue) {
    why = "the filter value is longer than " + std::to_string(kMaxFilterValue) + " bytes";
    return std::nullopt;
  }
  for (char c : value) {
    if (c <= 0x20 || c >= 0x7F) {
      why = "the filter value holds a space, a control or a non-ASCII byte";
      return std::nullopt;
    }
  }
  if (f.kind == WatchKind::caller || f.kind == WatchKind::callee) {
    bool e164 = value.size() >= 2 && value.size() <= 16 && value[0] == '+';
    for (std::size_t i = 1; e164 && i < value.size(); ++i) e164 = value[i] >= '0' && value[i] <= '9';
    if (!e164) {
      why = "a caller or callee filter is an E.164 number: '+' and 1 to 15 digits";
      return std::nullopt;
    }
  }
  f.value = std::string(value);
  return f;
}

bool matches(const WatchFilter& f, const CallView& c) noexcept {
  switch (f.kind) {
    case WatchKind::all:
      return true;
    case WatchKind::trunk:
      return c.trunk == f.value;
    case WatchKind::rule:
      return c.rule == f.value;
    case WatchKind::detector:
      return c.detector == f.value;
    case WatchKind::caller:
      return c.caller == f.value;
    case WatchKind::callee:
      return c.callee == f.value;
  }
  return false;
}

std::uint8_t WatchSet::match(const CallView& c) const noexcept {
  std::uint8_t m = 0;
  for (unsigned s = 0; s < kMaxWatches; ++s)
    if ((used >> s & 1u) != 0 && matches(filters[s], c)) m = static_cast<std::uint8_t>(m | 1u << s);
  return m;
}

std::uint8_t WatchSet::still_valid(std::uint8_t mask, std::uint32_t marked) const noexcept {
  std::uint8_t m = mask & used;
  for (unsigned s = 0; s < kMaxWatches; ++s)
    if ((m >> s & 1u) != 0 && marked < since[s]) m = static_cast<std::uint8_t>(m & ~(1u << s));
  return m;
}

}  // namespace sipwall::watch
