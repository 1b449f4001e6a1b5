// Detection keys as operators read and write them: numbers, addresses and
// trunk names shown for a key's parts, and KEY arguments read back.
#include "dataplane/detect/key_text.h"

#include <gtest/gtest.h>

#include "rules/number/e164_key.h"

namespace sipwall::detect {
namespace {

std::array<std::uint8_t, 16> v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, a, b, c, d};
}

std::optional<std::uint32_t> no_trunks(std::string_view) {
  return std::nullopt;
}

TEST(KeyText, ShowsNumbersAddressesAndTrunks) {
  const std::uint64_t caller = number::pack("8613800000001"), callee = number::pack("8613900000002");
  auto names = [](std::uint64_t i) { return i == 3 ? std::string("carrier-a") : std::string(); };
  EXPECT_EQ(key_text(DetectKey::caller, caller, 0, names), "+8613800000001");
  EXPECT_EQ(key_text(DetectKey::caller_callee, caller, callee, names), "+8613800000001 -> +8613900000002");
  EXPECT_EQ(key_text(DetectKey::source, source_key(v4(192, 0, 2, 7)), 0, names), "192.0.2.7");
  EXPECT_EQ(key_text(DetectKey::source_callee, source_key(v4(198, 51, 100, 1)), callee, names),
            "198.51.100.1 -> +8613900000002");
  EXPECT_EQ(key_text(DetectKey::trunk, 3, 0, names), "carrier-a");
  EXPECT_EQ(key_text(DetectKey::trunk, 4, 0, names), "[trunk 4]");
  EXPECT_EQ(number_text(12345), "#3039");  // not a valid E.164 key: shown as what it is, never as a number
}

TEST(KeyText, SourceKeys) {
  EXPECT_EQ(source_key(v4(192, 0, 2, 7)), 0xC0000207u);  // the address itself, as the classifier makes it
  std::array<std::uint8_t, 16> six{0x20, 0x01, 0x0d, 0xb8};
  six[15] = 1;
  const std::uint64_t k6 = source_key(six);
  EXPECT_GT(k6, 0xFFFFFFFFu);  // never an IPv4 value
  EXPECT_EQ(source_text(k6).rfind("ipv6#", 0), 0u);
  six[15] = 2;
  EXPECT_NE(source_key(six), k6);
}

TEST(KeyText, ParsesOperatorKeys) {
  auto trunks = [](std::string_view n) {
    return n == "carrier-a" ? std::optional<std::uint32_t>(3) : std::optional<std::uint32_t>();
  };
  std::optional<ParsedKey> k = parse_key("+8613800000001", trunks);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->part, number::pack("8613800000001"));
  EXPECT_EQ(k->what, PartKind::number);
  EXPECT_TRUE(k->kinds & kind_bit(DetectKey::caller));
  EXPECT_TRUE(k->kinds & kind_bit(DetectKey::caller_callee));
  EXPECT_FALSE(k->kinds & kind_bit(DetectKey::source));
  EXPECT_EQ(parse_key("8613800000001", trunks)->part, k->part);

  k = parse_key("192.0.2.7", trunks);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->part, 0xC0000207u);
  EXPECT_EQ(k->kinds, kind_bit(DetectKey::source) | kind_bit(DetectKey::source_callee));
  k = parse_key("2001:db8::1", trunks);
  ASSERT_TRUE(k);
  std::array<std::uint8_t, 16> six{0x20, 0x01, 0x0d, 0xb8};
  six[15] = 1;
  EXPECT_EQ(k->part, source_key(six));

  k = parse_key("carrier-a", trunks);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->part, 3u);
  EXPECT_EQ(k->kinds, kind_bit(DetectKey::trunk));

  EXPECT_FALSE(parse_key("carrier-b", trunks));
  EXPECT_FALSE(parse_key("", trunks));
  EXPECT_FALSE(parse_key("+", no_trunks));
  EXPECT_FALSE(parse_key("+1234567890123456", no_trunks));  // 16 digits: no E.164 number
  EXPECT_FALSE(parse_key(std::string(300, '1'), no_trunks));
  EXPECT_FALSE(parse_key(std::string("1\0"
                                     "2",
                                     3),
                         no_trunks));
}

}  // namespace
}  // namespace sipwall::detect
