// Text that came from outside (rule files, list files, artifacts, packets)
// and is echoed back in a message. Rule (docs/rules.md "What error messages
// show"): a message quotes at most kMaxEchoBytes of such text, escapes every
// control byte and every byte that is not valid UTF-8 as \xNN, and so can
// never carry a terminal escape, a line break, invalid UTF-8 for a JSON
// serialiser to choke on, or a whole file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sipwall::rules {

inline constexpr std::size_t kMaxEchoBytes = 64;

// `s` with control bytes (tab included), DEL and invalid UTF-8 as \xNN; at
// most `max_bytes` of the input, then "..." and how long it was.
std::string escape_text(std::string_view s, std::size_t max_bytes = kMaxEchoBytes);
// The same in single quotes: 'abc', 'a\x0Ab', 'aaaa...' (300 bytes).
std::string quote_text(std::string_view s, std::size_t max_bytes = kMaxEchoBytes);

// Valid UTF-8 (no overlong forms, surrogates or C1 controls) without control
// characters; a tab is allowed when `allow_tab`.
bool printable_utf8(std::string_view s, bool allow_tab = false) noexcept;

}  // namespace sipwall::rules
