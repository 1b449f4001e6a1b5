#include "dataplane/detect/key_text.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "dataplane/detect/key_hash.h"
#include "rules/number/e164_key.h"

namespace sipwall::detect {

PartKind first_part(DetectKey k) noexcept {
  switch (k) {
    case DetectKey::source:
    case DetectKey::source_callee:
      return PartKind::source;
    case DetectKey::trunk:
      return PartKind::trunk;
    default:
      return PartKind::number;
  }
}

std::string number_text(std::uint64_t key) {
  number::DigitString d;
  if (number::unpack(key, &d)) return "+" + std::string(d.view());
  char buf[24];
  std::snprintf(buf, sizeof buf, "#%llx", static_cast<unsigned long long>(key));
  return buf;
}

std::string source_text(std::uint64_t v) {
  char buf[32];
  if (v <= 0xFFFFFFFFu) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", static_cast<unsigned>(v >> 24) & 0xFF,
                  static_cast<unsigned>(v >> 16) & 0xFF, static_cast<unsigned>(v >> 8) & 0xFF,
                  static_cast<unsigned>(v) & 0xFF);
  } else {
    std::snprintf(buf, sizeof buf, "ipv6#%016llx", static_cast<unsigned long long>(v));
  }
  return buf;
}

namespace {

std::string part_text(PartKind k, std::uint64_t v, const std::function<std::string(std::uint64_t)>& trunk_name) {
  switch (k) {
    case PartKind::number:
      return number_text(v);
    case PartKind::source:
      return source_text(v);
    case PartKind::trunk: {
      std::string n = trunk_name ? trunk_name(v) : std::string();
      return n.empty() ? "[trunk " + std::to_string(v) + "]" : n;
    }
  }
  return "?";
}

}  // namespace

std::string key_text(DetectKey kind, std::uint64_t a, std::uint64_t b,
                     const std::function<std::string(std::uint64_t)>& trunk_name) {
  std::string s = part_text(first_part(kind), a, trunk_name);
  if (two_part(kind)) s += " -> " + part_text(second_part(kind), b, trunk_name);
  return s;
}

std::optional<ParsedKey> parse_key(std::string_view text,
                                   const std::function<std::optional<std::uint32_t>(std::string_view)>& trunk_index) {
  if (text.empty() || text.size() > 256) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);
  const std::uint64_t e164 = number::pack(digits);
  if (e164 != number::kNoNumber) {
    return ParsedKey{e164,
                     kind_bit(DetectKey::caller) | kind_bit(DetectKey::callee) | kind_bit(DetectKey::caller_callee) |
                         kind_bit(DetectKey::source_callee),
                     PartKind::number};
  }
  const std::string s(text);
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t v4[4];
  if (inet_pton(AF_INET, s.c_str(), v4) == 1) {
    addr[10] = addr[11] = 0xFF;
    std::memcpy(addr.data() + 12, v4, 4);
  } else if (inet_pton(AF_INET6, s.c_str(), addr.data()) != 1) {
    if (trunk_index) {
      if (std::optional<std::uint32_t> t = trunk_index(text))
        return ParsedKey{*t, kind_bit(DetectKey::trunk), PartKind::trunk};
    }
    return std::nullopt;
  }
  return ParsedKey{source_key(addr), kind_bit(DetectKey::source) | kind_bit(DetectKey::source_callee),
                   PartKind::source};
}

}  // namespace sipwall::detect
