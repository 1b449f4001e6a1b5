// Which calls are watched (docs/export.md): a filter decided once per INVITE
// on its verdict (trunk, rule, detector, caller, callee, or every call).
// A WatchSet holds the filters in force, at most kMaxWatches; the main lcore
// builds a new one for every change and publishes it like a rule set (RCU),
// so a worker reads an immutable set for a whole poll loop.
//
// Filters come from outside (control-socket lines, the config file):
// parse_watch_filter() checks them; nothing here throws on the packet path.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipwall::watch {

enum class WatchKind : std::uint8_t { all, trunk, rule, detector, caller, callee };

inline constexpr std::array<std::string_view, 6> kWatchKindNames = {"all",      "trunk",  "rule",
                                                                    "detector", "caller", "callee"};
inline constexpr std::size_t kMaxFilterValue = 128;  // trunk names, rule ids, detector names are shorter

struct WatchFilter {
  WatchKind kind = WatchKind::all;
  std::string value;  // empty for `all`; E.164 ("+8613800138000") for caller and callee
};

std::string_view to_string(WatchKind k) noexcept;
std::string describe(const WatchFilter& f);  // "caller +8613800138000", "all"

// A filter from outside: `kind` one of kWatchKindNames, `value` required
// except for `all` (and then refused), at most kMaxFilterValue printable
// ASCII bytes; a caller or callee is E.164: '+' and 1..15 digits (sipwallctl
// normalises what an operator typed by the dial plan first). On error,
// nullopt and `why` (a sentence without the outside bytes).
std::optional<WatchFilter> parse_watch_filter(std::string_view kind, std::string_view value, std::string& why);

// What a filter is compared with: the INVITE's verdict, as texts. Empty:
// the call has none (no trunk, no rule, no detector, no number).
struct CallView {
  std::string_view trunk;
  std::string_view rule;
  std::string_view detector;
  std::string_view caller;  // E.164
  std::string_view callee;
};

bool matches(const WatchFilter& f, const CallView& c) noexcept;

inline constexpr unsigned kMaxWatches = 8;  // one bit each in a watched call's mask

struct WatchSet {
  // Increases with every set the main lcore publishes.
  std::uint32_t generation = 0;
  std::uint8_t used = 0;  // bit s: filters[s] is in force
  std::array<WatchFilter, kMaxWatches> filters{};
  // The generation the filter in slot s was put in with: a call marked
  // before that was marked for an earlier filter of the slot.
  std::array<std::uint32_t, kMaxWatches> since{};

  // The slots whose filters match the call (bit s = slot s).
  std::uint8_t match(const CallView& c) const noexcept;
  // Of the slots a call was marked for at `marked` (a generation), those
  // whose filters are still the ones that marked it.
  std::uint8_t still_valid(std::uint8_t mask, std::uint32_t marked) const noexcept;
};

}  // namespace sipwall::watch
