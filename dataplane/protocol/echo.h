// Bytes from outside (a request line, a path someone typed) made safe to put
// in a message that people read and that is serialised as JSON: what is
// echoed is capped, and every byte that is a control character, not UTF-8, or
// a Unicode format character (bidi overrides, zero-width) is written as an
// escape, so neither a terminal nor a JSON serialiser sees it raw.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rules/text/safe_text.h"

namespace sipwall::protocol {

// How much of a request is echoed in an error reply by default.
inline constexpr std::size_t kEchoMax = 200;
// How much of a message that quotes outside bytes (a loader error naming the
// path it was given) is kept.
inline constexpr std::size_t kMessageMax = 1000;

// `bytes` as printable text, at most `max_bytes` of it: text::printable,
// the one rule for outside bytes in messages (rules/text/safe_text.h).
inline std::string printable(std::string_view bytes, std::size_t max_bytes = kEchoMax) {
  return text::printable(bytes, max_bytes);
}

}  // namespace sipwall::protocol
