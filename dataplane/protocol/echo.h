// Bytes from outside (a request line, a path someone typed) made safe to put
// in a message that people read and that is serialised as JSON: what is
// echoed is capped, and every byte that is a control character, not UTF-8, or
// a Unicode format character (bidi overrides, zero-width) is written as an
// escape, so neither a terminal nor a JSON serialiser sees it raw.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sipwall::protocol {

// How much of a request is echoed in an error reply by default.
inline constexpr std::size_t kEchoMax = 200;
// How much of a message that quotes outside bytes (a loader error naming the
// path it was given) is kept.
inline constexpr std::size_t kMessageMax = 1000;

// `bytes` as printable text: printable ASCII and well-formed UTF-8 (RFC 3629)
// as is, `\` as `\\`, tab/CR/LF as `\t` `\r` `\n`, other control bytes and
// bytes that are not UTF-8 as `\xNN`, C1 controls and format characters as
// `\u{NNNN}`. At most `max_bytes` input bytes are shown; the rest is counted:
// `...(+N bytes)`. The result is valid UTF-8 without control characters.
std::string printable(std::string_view bytes, std::size_t max_bytes = kEchoMax);

}  // namespace sipwall::protocol
