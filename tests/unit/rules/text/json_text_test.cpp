// rules/text/json_text.h: JSON output never throws for a string's bytes.
#include "rules/text/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using nlohmann::json;
using sipwall::text::dump_json;

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(DumpJson, PlainDumpThrowsOnTheIssuesCallId) {
  // What killed the data plane (issue 12, item 1): nlohmann's default dump.
  json j{{"call_id", std::string("a\xff")}};
  EXPECT_THROW((void)j.dump(), json::type_error);
}

TEST(DumpJson, InvalidUtf8BecomesReplacementCharacter) {
  json j{{"call_id", std::string("a\xff")}, {"n", 1}};
  std::string out;
  ASSERT_NO_THROW(out = dump_json(j));
  EXPECT_EQ(out, "{\"call_id\":\"a" + kFFFD + "\",\"n\":1}");
  EXPECT_EQ(json::parse(out)["call_id"], "a" + kFFFD);
}

TEST(DumpJson, NestedValuesAndKeysAreRepaired) {
  json j;
  j["records"] = json::array({json{{"ua", std::string("\xC0\xAF")}}, json{{"x", {std::string("\xfe"), 2}}}});
  j[std::string("k\xff")] = "v";
  const std::string out = dump_json(j);
  const json back = json::parse(out);  // throws if not valid UTF-8 JSON
  EXPECT_EQ(back["records"][0]["ua"], kFFFD + kFFFD);
  EXPECT_EQ(back["records"][1]["x"][0], kFFFD);
  EXPECT_EQ(back["k" + kFFFD], "v");
}

TEST(DumpJson, ControlCharactersAreEscapedByTheEncoder) {
  json j{{"s", std::string("a\0\x1b[2J\n\"\\", 9)}};
  const std::string out = dump_json(j);
  EXPECT_EQ(out, R"({"s":"a\u0000\u001b[2J\n\"\\"})");
  for (unsigned char c : out) EXPECT_GE(c, 0x20);
}

TEST(DumpJson, C1AndBidiControlsAreEscaped) {
  json j{{"s",
          "x\xC2\x9B"
          "y\xE2\x80\xAE"}};
  EXPECT_EQ(dump_json(j), R"({"s":"x\u009by\u202e"})");
  EXPECT_EQ(json::parse(dump_json(j))["s"],
            "x\xC2\x9B"
            "y\xE2\x80\xAE")
      << "same value";
}

TEST(DumpJson, ValidUtf8IsKeptAndOrderedJsonWorks) {
  nlohmann::ordered_json j;
  j["z"] = "J\xC3\xBCrgen \xE5\xA4\xA7";
  j["a"] = std::string("\xff");
  EXPECT_EQ(dump_json(j), "{\"z\":\"J\xC3\xBCrgen \xE5\xA4\xA7\",\"a\":\"" + kFFFD + "\"}");
}

TEST(DumpJson, PrettyForm) {
  json j{{"a", std::string("\xff")}};
  EXPECT_EQ(dump_json(j, 2), "{\n  \"a\": \"" + kFFFD + "\"\n}");
}

}  // namespace
