// The one YAML reader (rules/yaml/reader.h) the rule loader and both
// configuration readers use: places, map shapes, typed values, the order of
// the messages, reading a file. The readers' own tests (loader_errors_test,
// control config_test, dataplane config_test) pin the messages in context.
#include "rules/yaml/reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <string>
#include <vector>

#include "tests/unit/rules/test_util.h"

namespace sipwall::yaml {
namespace {

using Lines = std::vector<std::string>;

constexpr std::array<std::string_view, 3> kKeys = {"size", "name", "mode"};

TEST(YamlReader, EveryErrorAtItsPlaceInFileOrder) {
  Reader r("c.yaml");
  const auto root = r.parse("mode: \"0999\"\nsize: 5000\nnmae: x\nsize: 1\n");
  ASSERT_TRUE(root);
  Map m(r, *root, r.top(), "the file", kKeys);
  std::uint32_t mode = 0, size = 7;
  EXPECT_FALSE(m.mode("mode", mode));
  EXPECT_FALSE(m.integer("size", size, 1, 100));
  EXPECT_EQ(size, 7u);  // an invalid value is not stored
  EXPECT_EQ(r.error_count(), 4u);
  EXPECT_EQ(r.messages(),
            (Lines{"c.yaml:1:7: 'mode' must be an octal file mode such as \"0660\", got '0999'",
                   "c.yaml:2:7: 'size' must be between 1 and 100, got 5000",
                   "c.yaml:3:1: unknown key 'nmae' in the file; did you mean 'name'? (allowed: size, name, mode)",
                   "c.yaml:4:1: duplicate key 'size' (first at c.yaml:2:1)"}));
}

TEST(YamlReader, TypedValues) {
  Reader r("c.yaml");
  const auto root = r.parse(R"(a: TRUE
b: "0660"
c: 640
d: debug
e: [x, "y", 3]
f: []
g: [1, 2]
h: ""
i: -3
j: +4
)");
  ASSERT_TRUE(root);
  Map m(r, *root, r.top(), "t", {});
  bool a = false;
  std::uint32_t b = 0, c = 0;
  std::string d, h = "x";
  std::vector<std::string> e, f{"old"};
  std::vector<unsigned> g;
  int i = 0, j = 0;
  constexpr std::array<std::string_view, 2> kLevels = {"info", "debug"};
  EXPECT_TRUE(m.flag("a", a));
  EXPECT_TRUE(a);
  EXPECT_TRUE(m.mode("b", b));
  EXPECT_EQ(b, 0660u);
  EXPECT_TRUE(m.mode("c", c));
  EXPECT_EQ(c, 0640u);
  EXPECT_TRUE(m.word("d", kLevels, d));
  EXPECT_EQ(d, "debug");
  EXPECT_TRUE(m.texts("e", e, "a name"));
  EXPECT_EQ(e, (std::vector<std::string>{"x", "y", "3"}));
  EXPECT_TRUE(m.texts("f", f, "a name"));
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(m.integers("g", g, 0, 9));
  EXPECT_EQ(g, (std::vector<unsigned>{1, 2}));
  EXPECT_TRUE(m.text("h", h, "a path", Map::Empty::allowed));
  EXPECT_EQ(h, "");
  EXPECT_TRUE(m.integer("i", i, -5, 5));
  EXPECT_EQ(i, -3);
  EXPECT_TRUE(m.integer("j", j, -5, 5));
  EXPECT_EQ(j, 4);
  EXPECT_FALSE(m.flag("absent", a));  // absent: nothing stored, no error
  EXPECT_EQ(r.error_count(), 0u);
}

TEST(YamlReader, WhatIsWrongWithAValue) {
  Reader r("c.yaml");
  const auto root = r.parse(R"(a: yes
b: 0x10
c: [1, y]
d: debgu
e: ""
f:
g: {x: 1}
)");
  ASSERT_TRUE(root);
  Map m(r, *root, r.top(), "t", {});
  bool a = false;
  int b = 0;
  std::vector<int> c;
  std::string d, e, f;
  std::vector<std::string> g;
  constexpr std::array<std::string_view, 2> kLevels = {"info", "debug"};
  m.flag("a", a);
  m.integer("b", b, 0, 99);
  m.integers("c", c, 0, 9);
  m.word("d", kLevels, d);
  m.text("e", e, "a path");
  m.text("f", f, "a path");
  m.texts("g", g, "a name");
  EXPECT_EQ(r.messages(), (Lines{"c.yaml:1:4: 'a' must be true or false, got 'yes'",
                                 "c.yaml:2:4: 'b' must be an integer from 0 to 99, got '0x10'",
                                 "c.yaml:3:8: each entry of 'c' must be an integer from 0 to 9, got 'y'",
                                 "c.yaml:4:4: 'd' must be info or debug, got 'debgu'; did you mean 'debug'?",
                                 "c.yaml:5:4: 'e' must not be empty (a path)", "c.yaml:6:1: 'f' needs a value (a path)",
                                 "c.yaml:7:4: 'g' must be a list, got a map"}));
}

// Outside text in messages goes through text::quote: escaped and capped.
TEST(YamlReader, QuotesWhatItEchoes) {
  Reader r("c.yaml");
  const auto root = r.parse("\"a\\e[2Jb\": 1\nlong: " + std::string(200, 'x') + "\n");
  ASSERT_TRUE(root);
  constexpr std::array<std::string_view, 1> kLong = {"long"};
  Map m(r, *root, r.top(), "t", kLong);
  int v = 0;
  m.integer("long", v, 0, 1);
  EXPECT_EQ(r.messages(), (Lines{"c.yaml:1:1: unknown key 'a\\x1b[2Jb' in t (allowed: long)",
                                 "c.yaml:2:7: 'long' must be an integer from 0 to 1, got '" + std::string(64, 'x') +
                                     "...(+136 bytes)'"}));
}

TEST(YamlReader, NestedMapsAndRequiredKeys) {
  Reader r("c.yaml");
  const auto root = r.parse("tcp: {max: 3}\nudp: 5\n");
  ASSERT_TRUE(root);
  constexpr std::array<std::string_view, 3> kTop = {"tcp", "udp", "sctp"};
  constexpr std::array<std::string_view, 2> kTcp = {"max", "min"};
  Map top(r, *root, r.top(), "the file", kTop);
  auto tcp = top.map("tcp", kTcp);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->what(), "tcp");
  EXPECT_EQ(tcp->require("min"), nullptr);
  EXPECT_FALSE(top.map("udp", kTcp));
  EXPECT_FALSE(top.map("sctp", kTcp));  // absent: no error
  EXPECT_EQ(top.at("sctp").line, 1u);   // a missing key: the map's place
  EXPECT_EQ(r.messages(),
            (Lines{"c.yaml:1:6: missing required key 'min' in tcp", "c.yaml:2:6: udp must be a map, got '5'"}));
}

TEST(YamlReader, SyntaxErrorsAndTheGuardStopTheParse) {
  Reader tabs("t.yaml");
  EXPECT_FALSE(tabs.parse("a:\n\tb: 1\n"));
  const Lines t = tabs.messages();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].rfind("t.yaml:2:", 0), 0u) << t[0];
  EXPECT_NE(t[0].find("YAML syntax error: "), std::string::npos) << t[0];
  EXPECT_NE(t[0].find("(YAML indentation must use spaces, not tabs)"), std::string::npos) << t[0];

  Reader cycle("c.yaml");
  EXPECT_FALSE(cycle.parse("a: &x\n  b: *x\n"));
  EXPECT_EQ(cycle.messages(), (Lines{"c.yaml:2:6: YAML alias '*x' is inside the node its anchor '&x' (line 1) "
                                     "names: a node cannot contain itself"}));

  Reader empty("e.yaml");
  const auto root = empty.parse("");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->IsNull());
  Map m(empty, *root, empty.top(), "the file", kKeys);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(empty.messages(), (Lines{"e.yaml:1:1: the file must be a map, got nothing"}));
}

TEST(YamlReader, ReadsFilesThroughTheBoundedReader) {
  rules::test::TempDir dir;
  const std::string path = dir.write("c.yaml", "size: 3\n").string();
  Reader r(path);
  const auto root = r.read_file(path, io::kConfigFile);
  ASSERT_TRUE(root);
  EXPECT_EQ((*root)["size"].Scalar(), "3");

  const std::string fifo = (dir.path() / "f.yaml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Reader f(fifo);
  EXPECT_FALSE(f.read_file(fifo, io::kConfigFile));
  EXPECT_EQ(f.messages(), (Lines{fifo + ": cannot read the configuration file: a FIFO, not a regular file"}));

  const std::string missing = (dir.path() / "none.yaml").string();
  Reader m(missing);
  EXPECT_FALSE(m.read_file(missing, io::kRuleFile));
  EXPECT_EQ(m.messages(), (Lines{missing + ": cannot read the rule file: No such file or directory"}));
}

// Diagnostics of other files (list files) come after the document's own,
// in order of first mention; file-level notes after the placed ones.
TEST(YamlReader, SortsByFileThenPlace) {
  Reader r("main.yaml");
  r.error({"main.yaml", 5, 1}, "e");
  r.take({{Severity::error, {"b.txt", 2, 1}, "b2"}, {Severity::error, {"a.txt", 1, 1}, "a1"}});
  r.error({"main.yaml", 0, 0}, "whole file");
  r.warning({"main.yaml", 2, 3}, "w");
  r.error({"b.txt", 1, 1}, "b1");
  EXPECT_EQ(r.error_count(), 5u);
  EXPECT_EQ(r.messages(), (Lines{"main.yaml:2:3: warning: w", "main.yaml:5:1: e", "main.yaml: whole file",
                                 "b.txt:1:1: b1", "b.txt:2:1: b2", "a.txt:1:1: a1"}));
}

}  // namespace
}  // namespace sipwall::yaml
