// Internal: walking TCP options (RFC 9293 §3.1). Malformed lists stop the walk.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipwall::net::detail {

inline constexpr std::uint8_t kTcpOptEnd = 0;
inline constexpr std::uint8_t kTcpOptNop = 1;
inline constexpr std::uint8_t kTcpOptSack = 5;
inline constexpr std::uint8_t kTcpOptTimestamp = 8;

// Calls f(kind, offset_from_opts, length) for every option with a length
// byte; returns false if the list is malformed (length < 2 or past the end).
template <typename F>
bool for_each_tcp_option(const std::uint8_t* opts, std::size_t len, F&& f) noexcept {
  std::size_t i = 0;
  while (i < len) {
    const std::uint8_t kind = opts[i];
    if (kind == kTcpOptEnd) return true;
    if (kind == kTcpOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= len) return false;
    const std::size_t olen = opts[i + 1];
    if (olen < 2 || olen > len - i) return false;
    f(kind, i, olen);
    i += olen;
  }
  return true;
}

}  // namespace sipwall::net::detail
