// Detection keys as an operator reads and writes them: the parts of a key
// (KeyParts a, b) shown as what they are -- an E.164 number "+8613800000001",
// a source address "192.0.2.7", a trunk's name -- and an operator's KEY
// (`sipwallctl detections lift KEY`) read back into a part value and the key
// kinds it can be a part of. Never a hash where a number can be shown; an
// IPv6 source is only known by its hash ("ipv6#<hex>").
//
// Main lcore and tools only (allocates).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/detect/key_hash.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

// source_key(): dataplane/detect/key_hash.h (the classifier makes InviteKeys::source with it).

// What a part of a key of this kind is: the first (a) and, for two-part
// kinds, the second (b).
enum class PartKind : std::uint8_t { number, source, trunk };
PartKind first_part(DetectKey k) noexcept;
inline constexpr PartKind second_part(DetectKey) noexcept {
  return PartKind::number;  // caller_callee, source_callee: the callee
}

std::string number_text(std::uint64_t e164_key);  // "+8613800000001"; "#<hex>" if not a valid key
std::string source_text(std::uint64_t source);    // "192.0.2.7" or "ipv6#<16 hex>"

// The key's parts as text: "+861...1", "+861...1 -> +861...2",
// "192.0.2.7 -> +861...2", or the trunk's name (`trunk_name(index)`; the
// index in brackets if it returns empty).
std::string key_text(DetectKey kind, std::uint64_t a, std::uint64_t b,
                     const std::function<std::string(std::uint64_t)>& trunk_name);

// An operator's KEY: "+8613800000001" or "8613800000001" (E.164 digits),
// an IPv4 or IPv6 address, or a trunk name (`trunk_index(name)`, nullopt if
// unknown). `kinds`: bit 1 << DetectKey of every key kind it can be a part of.
struct ParsedKey {
  std::uint64_t part = 0;
  std::uint32_t kinds = 0;
  PartKind what = PartKind::number;
};
std::optional<ParsedKey> parse_key(std::string_view text,
                                   const std::function<std::optional<std::uint32_t>(std::string_view)>& trunk_index);

constexpr std::uint32_t kind_bit(DetectKey k) noexcept {
  return 1u << static_cast<unsigned>(k);
}

}  // namespace sipwall::detect
