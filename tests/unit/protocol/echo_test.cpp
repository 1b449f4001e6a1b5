// printable(): what an error reply may quote of the bytes a client sent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/echo.h"

namespace sipwall::protocol {
namespace {

// Valid UTF-8 without a control character: what a terminal and a strict
// JSON serialiser both take.
void expect_safe(const std::string& s) {
  EXPECT_NO_THROW((void)nlohmann::json(s).dump()) << s;
  for (unsigned char c : s) EXPECT_TRUE(c >= 0x20 && c != 0x7F) << "control byte " << int(c) << " in " << s;
}

TEST(Printable, KeepsPrintableAsciiAndUtf8) {
  EXPECT_EQ(printable("load /var/lib/x.swr"), "load /var/lib/x.swr");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e");
}

TEST(Printable, EscapesControlBytesAndBackslash) {
  EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(printable(std::string("\x00\x1b[31m\x7f", 7)), "\\x00\\x1b[31m\\x7f");
  EXPECT_EQ(printable("a\\b"), "a\\\\b");
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("\xff"), "\\xff");
  EXPECT_EQ(printable("a\xff"), "a\\xff");
  EXPECT_EQ(printable("\xc0\x80"), "\\xc0\\x80");              // overlong NUL
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");      // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");               // cut short
  EXPECT_EQ(printable("\x80"), "\\x80");                        // a lone continuation byte
}

TEST(Printable, EscapesInvisibleCharacters) {
  EXPECT_EQ(printable("a\xe2\x80\xae" "b"), "a\\u{202e}b");  // right-to-left override
  EXPECT_EQ(printable("\xc2\x85"), "\\u{0085}");             // C1 next line
  EXPECT_EQ(printable("\xe2\x80\x8b"), "\\u{200b}");         // zero-width space
}

TEST(Printable, CapsWhatItShowsAndCountsTheRest) {
  std::string big(50u << 20, 'x');
  std::string p = printable(big);
  EXPECT_EQ(p, std::string(kEchoMax, 'x') + "...(+" + std::to_string(big.size() - kEchoMax) + " bytes)");
  EXPECT_EQ(printable("abcdef", 3), "abc...(+3 bytes)");
  // A character cut by the cap is not shown half.
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab...(+2 bytes)");
}

TEST(Printable, EveryByteValueGivesSafeText) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 17) {
      std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(0xA9)};
      expect_safe(printable(s));
    }
  }
}

}  // namespace
}  // namespace sipwall::protocol
