// parse_request() against both daemons' command tables: every JSON type in
// every field gives an error reply, never an exception, and every error is
// printable and bounded whatever bytes the line held. (Before: `\xff` and a
// "v" that was a string, null or an array aborted both daemons.)
#include "dataplane/protocol/request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "control/daemon/control_requests.h"
#include "dataplane/protocol/dataplane_commands.h"
#include "dataplane/protocol/reply.h"

namespace sipwall::protocol {
namespace {

using nlohmann::json;

const ProtocolSpec& dp() {
  return dataplane_protocol();
}
const ProtocolSpec& ctl() {
  return control::control_protocol();
}

// An error reply a strict serialiser takes, with no control byte, bounded.
void expect_safe_error(const ParsedRequest& p, const std::string& line) {
  ASSERT_FALSE(p.request) << line;
  EXPECT_FALSE(p.error.empty()) << line;
  EXPECT_LT(p.error.size(), 1500u) << line;
  EXPECT_NO_THROW((void)json(p.error).dump()) << line;
  for (unsigned char c : p.error) EXPECT_TRUE(c >= 0x20 && c != 0x7F) << line;
  json reply = json::parse(error_line(p.error));
  EXPECT_EQ(reply["ok"], false);
  EXPECT_EQ(reply["v"], 1);
}

std::string error_of(std::string_view line, const ProtocolSpec& spec) {
  ParsedRequest p = parse_request(line, spec);
  expect_safe_error(p, std::string(line));
  return p.error;
}

// Every JSON type but the one a field takes, and edge values of that one.
const std::vector<std::pair<json, std::string>>& wrong_values() {
  static const std::vector<std::pair<json, std::string>> v{
      {json(nullptr), "null"},
      {json(true), "a boolean (true)"},
      {json(false), "a boolean (false)"},
      {json::array({1}), "an array"},
      {json::array(), "an array"},
      {json::object({{"a", 1}}), "an object"},
      {json(1.5), "a number (1.5)"},
      {json(-1), "-1"},
      {json("1"), "a string (\"1\")"},
  };
  return v;
}

TEST(ParseRequest, ValidRequestsOfTheDataPlane) {
  ParsedRequest p = parse_request(R"({"v":1,"cmd":"status"})", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->cmd, "status");
  p = parse_request(R"({"cmd":"stats"})", dp());  // "v" is optional
  ASSERT_TRUE(p.request) << p.error;
  p = parse_request(R"({"v":1,"cmd":"load","artifact":"/var/lib/sipwall/a.swr","unknown":[1]})", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->text("artifact"), "/var/lib/sipwall/a.swr");
  p = parse_request(R"({"v":1,"cmd":"trace-drain","max":18446744073709551615})", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->count("max"), 18446744073709551615ull);
  p = parse_request(R"({"v":1,"cmd":"trace-drain"})", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_FALSE(p.request->count("max"));
}

TEST(ParseRequest, ValidRequestsOfSipwallControl) {
  for (const char* line : {R"({"v":1,"cmd":"status"})", R"({"v":1,"cmd":"reload"})", R"({"v":1,"cmd":"rollback"})"}) {
    ParsedRequest p = parse_request(line, ctl());
    EXPECT_TRUE(p.request) << line << ": " << p.error;
  }
  ParsedRequest p = parse_request(R"({"v":1,"cmd":"rollback","target":"2024-06-01.1"})", ctl());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->text("target"), "2024-06-01.1");
  p = parse_request(R"({"v":1,"cmd":"history","limit":0})", ctl());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->count("limit"), 0u);
}

TEST(ParseRequest, VersionOfEveryTypeIsAnError) {
  for (const ProtocolSpec* spec : {&dp(), &ctl()}) {
    for (const auto& [value, words] : wrong_values()) {
      if (value == json(-1)) continue;  // an integer: "not supported" below
      std::string line = json{{"v", value}, {"cmd", "status"}}.dump();
      EXPECT_EQ(error_of(line, *spec), "\"v\" must be the integer 1 (the protocol version), got " + words) << line;
    }
    EXPECT_NE(error_of(R"({"v":1.0,"cmd":"status"})", *spec).find("must be the integer 1"), std::string::npos);
    for (const char* v : {"2", "0", "-1", "18446744073709551615", "-9223372036854775808"}) {
      std::string e = error_of(std::string(R"({"v":)") + v + R"(,"cmd":"status"})", *spec);
      EXPECT_EQ(e.rfind(std::string("protocol version ") + v + " not supported (", 0), 0u) << e;
      EXPECT_NE(e.find(std::string(spec->speaker) + " speaks 1)"), std::string::npos) << e;
    }
  }
}

TEST(ParseRequest, CmdOfEveryTypeIsAnError) {
  for (const ProtocolSpec* spec : {&dp(), &ctl()}) {
    for (const auto& [value, words] : wrong_values()) {
      if (value.is_string()) continue;
      std::string line = json{{"v", 1}, {"cmd", value}}.dump();
      EXPECT_EQ(error_of(line, *spec), "\"cmd\" must be a string, got " + words) << line;
    }
    EXPECT_EQ(error_of(R"({"v":1})", *spec).rfind("request needs \"cmd\" (commands: ", 0), 0u);
    EXPECT_EQ(error_of(R"({"v":1,"cmd":"frobnicate"})", *spec).rfind("unknown command 'frobnicate' (commands: ", 0),
              0u);
    // An unknown command with escape sequences and a long name: escaped, capped.
    std::string e = error_of(R"({"v":1,"cmd":"\u001b[2J\u00ff)" + std::string(5000, 'x') + R"("})", *spec);
    EXPECT_EQ(e.rfind("unknown command '\\x1b[2J\xc3\xbf", 0), 0u) << e;
    EXPECT_NE(e.find("...(+"), std::string::npos) << e;
  }
}

// Every declared field of every command, with every wrong type.
TEST(ParseRequest, EveryFieldOfEveryCommandRejectsEveryWrongType) {
  for (const ProtocolSpec* spec : {&dp(), &ctl()}) {
    for (const CommandSpec& cmd : spec->commands) {
      for (const FieldSpec& f : cmd.fields) {
        for (const auto& [value, words] : wrong_values()) {
          json req{{"v", 1}, {"cmd", std::string(cmd.name)}};
          for (const FieldSpec& other : cmd.fields)  // the others valid, so this one is the error
            if (other.name != f.name)
              req[std::string(other.name)] = other.type == FieldType::count ? json(1) : json("x");
          req[std::string(f.name)] = value;
          std::string line = req.dump();
          if (f.type == FieldType::text && value.is_string()) {
            EXPECT_TRUE(parse_request(line, *spec).request) << line;
            continue;
          }
          EXPECT_EQ(error_of(line, *spec),
                    "\"" + std::string(f.name) + "\" must be " +
                        (f.type == FieldType::count ? "a non-negative integer" : "a non-empty string") + ", got " +
                        words)
              << line;
        }
      }
    }
  }
}

TEST(ParseRequest, TextFieldsAreBoundedAndWithoutNul) {
  EXPECT_EQ(error_of(R"({"v":1,"cmd":"load","artifact":""})", dp()), "\"artifact\" must not be empty");
  EXPECT_EQ(error_of(R"({"v":1,"cmd":"load","artifact":"/a\u0000b"})", dp()),
            "\"artifact\" must not contain a NUL byte");
  std::string long_path = json{{"cmd", "load"}, {"artifact", std::string(kMaxTextField + 1, 'a')}}.dump();
  EXPECT_EQ(error_of(long_path, dp()), "\"artifact\" is 4097 bytes; at most 4096");
  EXPECT_EQ(error_of(R"({"v":1,"cmd":"load"})", dp()), "load needs \"artifact\"");
  EXPECT_EQ(error_of(R"({"v":1,"cmd":"rollback","target":""})", ctl()), "\"target\" must not be empty");
}

TEST(ParseRequest, LinesThatAreNotRequestObjects) {
  for (const ProtocolSpec* spec : {&dp(), &ctl()}) {
    EXPECT_EQ(error_of(R"({"v":1,"cmd":)", *spec).rfind("request is not valid JSON: ", 0), 0u);
    EXPECT_EQ(error_of("{\"v\":1,\"cmd\":\"st\xff\"}", *spec).rfind("request is not valid JSON: ", 0), 0u);
    EXPECT_EQ(error_of(R"({"v":1e999,"cmd":"status"})", *spec).rfind("request is not valid JSON: ", 0), 0u);
    EXPECT_EQ(error_of(R"({"x":)" + std::string(10000, '['), *spec).rfind("request is not valid JSON: ", 0), 0u);
    // Deep nesting in a field nobody reads: parsed and freed without recursion.
    EXPECT_TRUE(
        parse_request(R"({"v":1,"cmd":"status","x":)" + std::string(10000, '[') + std::string(10000, ']') + "}", *spec)
            .request);
    EXPECT_NE(error_of(R"(   {"a":1} )", *spec).find("request needs \"cmd\""), std::string::npos);
    // Only '{' starts the JSON form; anything else is "cmd [arg]".
    EXPECT_EQ(error_of("[1,2]", *spec).rfind("unknown command '[1,2]'", 0), 0u);
    EXPECT_NE(error_of(R"({"v":1,"cmd":"status"} trailing)", *spec).find("not valid JSON"), std::string::npos);
  }
}

TEST(ParseRequest, TextForm) {
  ParsedRequest p = parse_request("status", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_TRUE(p.request->text_form);
  p = parse_request("  load   /var/lib/my rules.swr  ", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->text("artifact"), "/var/lib/my rules.swr");
  p = parse_request("trace-drain 25", dp());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->count("max"), 25u);
  p = parse_request("rollback 2024-06-01.1", ctl());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->text("target"), "2024-06-01.1");
  p = parse_request("history 5", ctl());
  ASSERT_TRUE(p.request) << p.error;
  EXPECT_EQ(p.request->count("limit"), 5u);

  EXPECT_EQ(
      error_of("\xff", dp())
          .rfind("unknown command '\\xff' (commands: status, stats, load, trace-drain, detections, detections-lift, "
                 "watch-start, watch-read, watch-stop, watch-status, detections-hold)",
                 0),
      0u);
  EXPECT_EQ(
      error_of("\xff", ctl())
          .rfind("unknown command '\\xff' (commands: status, reload, rollback, history, calls, detections-lift)", 0),
      0u);
  EXPECT_EQ(error_of("load", dp()), "load needs \"artifact\"");
  EXPECT_EQ(error_of("status now", dp()), "status takes no argument, got 'now'");
  EXPECT_EQ(error_of("reload \x1b[2J", ctl()), "reload takes no argument, got '\\x1b[2J'");
  for (const char* bad :
       {"trace-drain -1", "trace-drain 1.5", "trace-drain abc", "trace-drain 18446744073709551616", "trace-drain 0x10"})
    EXPECT_EQ(error_of(bad, dp()).rfind("\"max\" must be a non-negative integer, got '", 0), 0u) << bad;
  EXPECT_EQ(error_of("history x", ctl()), "\"limit\" must be a non-negative integer, got 'x'");
  EXPECT_EQ(error_of(" \t ", dp()).rfind("empty request", 0), 0u);
  EXPECT_EQ(error_of(std::string("load /a\0b", 9), dp()), "\"artifact\" must not contain a NUL byte");
}

// Random lines, some of them near-requests: never an exception, always a
// request or a safe error.
TEST(ParseRequest, RandomLinesNeverThrow) {
  std::mt19937 rng(12);
  const std::vector<std::string> stems{R"({"v":1,"cmd":"load","artifact":")",
                                       R"({"v":)",
                                       R"({"cmd":"trace-drain","max":)",
                                       "load ",
                                       "trace-drain ",
                                       "history ",
                                       R"({"v":1,"cmd":")",
                                       ""};
  for (int i = 0; i < 1000; ++i) {  // the fuzzers do the long runs
    std::string line = stems[rng() % stems.size()];
    int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) line += static_cast<char>(rng() % 256);
    for (const ProtocolSpec* spec : {&dp(), &ctl()}) {
      ParsedRequest p;
      ASSERT_NO_THROW(p = parse_request(line, *spec));
      if (!p.request) expect_safe_error(p, line);
    }
  }
}

}  // namespace
}  // namespace sipwall::protocol
