// Base64 (RFC 4648, with padding) for bytes that travel in a JSON reply:
// the packet copies of `watch-read` (docs/control-protocol.md). Decoding is
// total and strict: any text gives the bytes or nullopt, and only the one
// canonical text of a byte string is accepted (no stray bits in padding).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sipwall::protocol {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sipwall::protocol
