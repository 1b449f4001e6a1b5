// rules/text/safe_text.h: the one rule for showing outside bytes.
#include "rules/text/safe_text.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace sipwall::text;

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(Utf8Decode, WellFormedSequences) {
  EXPECT_EQ(decode_utf8("a").cp, U'a');
  Decoded d = decode_utf8("\xC3\xBC");  // ü
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.cp, 0xFCu);
  EXPECT_EQ(d.len, 2u);
  d = decode_utf8("\xE5\xA4\xA7");  // 大
  EXPECT_EQ(d.cp, 0x5927u);
  EXPECT_EQ(d.len, 3u);
  d = decode_utf8("\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(d.cp, 0x1F600u);
  EXPECT_EQ(d.len, 4u);
  d = decode_utf8("\xF4\x8F\xBF\xBF");  // U+10FFFF, the last code point
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.cp, 0x10FFFFu);
}

TEST(Utf8Decode, IllFormedStartsAreOneByte) {
  for (int b : {0x80, 0xBF, 0xC0, 0xC1, 0xF5, 0xF8, 0xFC, 0xFE, 0xFF}) {
    const std::string s(1, static_cast<char>(b));
    const Decoded d = decode_utf8(s + "x");
    EXPECT_FALSE(d.valid) << b;
    EXPECT_EQ(d.len, 1u) << b;
    EXPECT_EQ(d.cp, kReplacement) << b;
  }
}

TEST(Utf8Decode, OverlongSurrogateAndTooLargeStopAtTheSecondByte) {
  for (const char* s : {"\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80", "\xF4\x90\x80\x80"}) {
    const Decoded d = decode_utf8(s);
    EXPECT_FALSE(d.valid) << s;
    EXPECT_EQ(d.len, 1u) << "only the lead byte is the maximal subpart";
  }
}

TEST(Utf8Decode, TruncatedSequenceIsItsPrefix) {
  EXPECT_EQ(decode_utf8("\xE5\xA4").len, 2u);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x98").len, 3u);
  EXPECT_EQ(decode_utf8("\xE5\xA4x").len, 2u);
  EXPECT_FALSE(decode_utf8("\xE5\xA4x").valid);
}

TEST(Utf8Repair, UnicodeTable3_8Example) {
  // Unicode 15 §3.9, Table 3-8: U+FFFD for each maximal subpart.
  const std::string in = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  EXPECT_EQ(to_valid_utf8(in), "a" + kFFFD + kFFFD + kFFFD + "b" + kFFFD + "c" + kFFFD + kFFFD + "d");
  EXPECT_FALSE(is_valid_utf8(in));
  EXPECT_TRUE(is_valid_utf8(to_valid_utf8(in)));
}

TEST(Utf8Repair, CallIdFromTheIssue) {
  EXPECT_EQ(to_valid_utf8("a\xff"), "a" + kFFFD);
  EXPECT_EQ(to_valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3)) << "NUL is valid UTF-8";
  EXPECT_EQ(to_valid_utf8("J\xC3\xBCrgen"), "J\xC3\xBCrgen");
  EXPECT_EQ(to_valid_utf8(""), "");
}

TEST(Utf8Repair, EveryByteString) {
  // Every 1- and 2-byte string: the result is valid, and valid input is kept.
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s += static_cast<char>(b);
      const std::string r = to_valid_utf8(s);
      ASSERT_TRUE(is_valid_utf8(r)) << a << " " << b;
      if (is_valid_utf8(s)) {
        ASSERT_EQ(r, s);
      }
    }
  }
}

TEST(Printable, ControlBytesAreEscaped) {
  EXPECT_EQ(printable("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\t\r\n"), "\\t\\r\\n");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
}

TEST(Printable, C1AndBidiControlsAreEscaped) {
  EXPECT_EQ(printable("\xC2\x9B"
                      "31m"),
            "\\u009b31m");  // CSI as a code point
  EXPECT_EQ(printable("\xC2\x85"), "\\u0085");
  EXPECT_EQ(printable("abc\xE2\x80\xAE"
                      "cba"),
            "abc\\u202ecba");  // right-to-left override
  EXPECT_EQ(printable("\xE2\x81\xA6"), "\\u2066");
  EXPECT_EQ(printable("\xE2\x80\xA8"), "\\u2028");
}

// In text for people, a byte that is not UTF-8 is shown as what it is.
TEST(Printable, BytesThatAreNotUtf8AreShownAsBytes) {
  EXPECT_EQ(printable("a\xff"), "a\\xff");
  EXPECT_EQ(printable("\xC0\xAF"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");                    // cut short
  EXPECT_EQ(printable("\x80"), "\\x80");                             // a lone continuation byte
  EXPECT_EQ(printable("J\xC3\xBCrgen \xE5\xA4\xA7"), "J\xC3\xBCrgen \xE5\xA4\xA7");
}

// A backslash is doubled, so "\x41" typed by someone cannot pass for an escape.
TEST(Printable, BackslashIsDoubled) {
  EXPECT_EQ(printable("a\\b \\x41"), "a\\\\b \\\\x41");
}

TEST(Printable, ZeroWidthAndFormatCharactersAreEscaped) {
  EXPECT_EQ(printable("\xe2\x80\x8b"), "\\u200b");  // zero-width space
  EXPECT_EQ(printable("\xc2\xad"), "\\u00ad");      // soft hyphen
  EXPECT_EQ(printable("\xef\xbb\xbf"
                      "x"),
            "\\ufeffx");                            // BOM
  EXPECT_EQ(printable("\xe2\x81\xa0"), "\\u2060");  // word joiner
}

TEST(Printable, CapsWhatItShowsAndCountsTheRest) {
  std::string big(50u << 20, 'x');
  EXPECT_EQ(printable(big, 200), std::string(200, 'x') + "...(+" + std::to_string(big.size() - 200) + " bytes)");
  EXPECT_EQ(printable("abcdef", 3), "abc...(+3 bytes)");
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab...(+2 bytes)");  // a character cut by the cap is not shown half
  EXPECT_EQ(printable("abc", 3), "abc");
}

// Values from rule files in messages (the loader, the compiler, the YAML
// reader): printable() between single quotes, 64 bytes at most.
TEST(Quote, IsPrintableInQuotesCappedAt64Bytes) {
  EXPECT_EQ(quote("abc"), "'abc'");
  EXPECT_EQ(quote("a\nb\tc\x7f"), "'a\\nb\\tc\\x7f'");
  EXPECT_EQ(quote("\xe4\xb8\xad\xe6\x96\x87"), "'\xe4\xb8\xad\xe6\x96\x87'");  // valid UTF-8 stays
  EXPECT_EQ(quote("\xe4\xb8"), "'\\xe4\\xb8'");                                // a cut sequence
  EXPECT_EQ(quote("\xc0\xaf"), "'\\xc0\\xaf'");                                // overlong '/'
  EXPECT_EQ(quote("it's"), "'it's'");
  EXPECT_EQ(quote("abcdef", 3), "'abc...(+3 bytes)'");
  const std::string big(1000, 'x');
  EXPECT_EQ(quote(big), "'" + std::string(kMaxQuotedBytes, 'x') + "...(+936 bytes)'");
}

TEST(IsPrintable, IsWhatPrintableShowsUnchanged) {
  EXPECT_TRUE(is_printable(""));
  EXPECT_TRUE(is_printable("caf\xc3\xa9 a\\b 'q'"));
  EXPECT_FALSE(is_printable("a\tb"));
  EXPECT_FALSE(is_printable("a\nb"));
  EXPECT_FALSE(is_printable("\x7f"));
  EXPECT_FALSE(is_printable("\xc2\x85"));      // C1 control (NEL)
  EXPECT_FALSE(is_printable("\xe2\x80\xae"));  // right-to-left override
  EXPECT_FALSE(is_printable("\xff"));
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
      const std::string_view s(two, 2);
      if (s.find('\\') != std::string_view::npos) continue;  // printable doubles it
      ASSERT_EQ(is_printable(s), printable(s) == s) << a << " " << b;
    }
  }
}

TEST(Capped, CutsSafeTextWithoutSplittingACharacter) {
  EXPECT_EQ(capped("abc", 3), "abc");
  EXPECT_EQ(capped("abcdef", 3), "abc...(+3 bytes)");
  EXPECT_EQ(capped("ab\xc3\xa9", 3), "ab...(+2 bytes)");
  EXPECT_EQ(capped("a\\b", 10), "a\\b");  // nothing escaped twice
}

TEST(Printable, NoControlByteSurvivesAnyInput) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s = {static_cast<char>(a), static_cast<char>(b)};
      const std::string p = printable(s);
      for (unsigned char c : p) ASSERT_TRUE(c >= 0x20 && c != 0x7F) << a << " " << b;
      ASSERT_TRUE(is_valid_utf8(p));
      std::string_view rest = p;
      while (!rest.empty()) {
        const Decoded d = decode_utf8(rest);
        ASSERT_FALSE(is_hidden_control(d.cp)) << a << " " << b;
        rest.remove_prefix(d.len);
      }
    }
  }
}

TEST(JsonHiddenControls, RewrittenOnlyWhenPresent) {
  std::string j = R"({"a":"plain \u00fc )"
                  "\xC3\xBC"
                  R"("})";
  const std::string before = j;
  escape_hidden_controls_in_json(j);
  EXPECT_EQ(j, before);
  j = "{\"a\":\"x\xC2\x9By\xE2\x80\xAEz\xE2\x80\xA9\"}";
  escape_hidden_controls_in_json(j);
  EXPECT_EQ(j, R"({"a":"x\u009by\u202ez\u2029"})");
}

TEST(Utf8Cut, NeverSplitsASequence) {
  const std::string s =
      "ab\xE5\xA4\xA7"
      "cd";  // 大 at bytes 2-4
  EXPECT_EQ(utf8_cut(s, 100), s.size());
  EXPECT_EQ(utf8_cut(s, 2), 2u);
  EXPECT_EQ(utf8_cut(s, 3), 2u);
  EXPECT_EQ(utf8_cut(s, 4), 2u);
  EXPECT_EQ(utf8_cut(s, 5), 5u);
  EXPECT_EQ(utf8_cut("\xC3\xBC\x80", 2), 2u) << "a stray continuation byte after a whole character";
  EXPECT_EQ(utf8_cut("\x80\x80\x80\x80\x80", 3), 3u) << "not UTF-8 at all: cut where asked";
  EXPECT_EQ(utf8_cut("a\xff\xff", 2), 2u);
}

}  // namespace
