// Number-list files: formats, comments, CRLF, errors with the file's own line
// numbers, the error cap, duplicates.
#include "rules/loader/list_file.h"

#include <gtest/gtest.h>

#include "rules/number/normalize.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

using number::pack;

const std::string kNotShown =
    "not a number, prefix or range (the character at this column cannot be part of one; the line is not "
    "shown as it does not look like a number)";

class ListFiles : public ::testing::Test {
 protected:
  // A rule set with one list `l` of `kind` read from `lists/l.txt`.
  LoadResult load_list(const std::string& content, const std::string& kind = "exact", std::size_t max_errors = 20) {
    dir.write("lists/l.txt", content);
    LoadOptions options;
    options.max_errors_per_list_file = max_errors;
    return dir.load(kHead + "lists:\n  l: {kind: " + kind +
                        ", file: lists/l.txt}\n"
                        "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n",
                    "r.yaml", options);
  }
  TempDir dir;
};

TEST_F(ListFiles, OperatorFormatsCommentsBlankLinesAndCrlf) {
  const LoadResult r = load_list(
      "\xEF\xBB\xBF# harassment list\r\n"
      "+8613800138000\r\n"
      "\r\n"
      "   +86 139-0013-9000   # trailing comment\r\n"
      "\t013500135000\t\r\n"
      "0086 (158) 0015.8000\n"
      "tel:+86-10-6552-0000\n"
      "18900189000\n"
      "   # indented comment\n"
      "<sip:+8618600186000@example.net;user=phone>\n"
      "110\n"
      "+1 212 555 0123");  // no newline at the end
  ASSERT_TRUE(r.ok()) << testing::PrintToString(dir.lines(r));
  EXPECT_EQ(dir.lines(r), Lines{});
  const NumberList& l = r.rule_set->lists.at(0);
  std::vector<number::E164Key> expected = {pack("8613800138000"), pack("8613900139000"), pack("8613500135000"),
                                           pack("8615800158000"), pack("861065520000"),  pack("8618900189000"),
                                           pack("8618600186000"), pack("110"),           pack("12125550123")};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(l.numbers, expected);
  ASSERT_EQ(l.files.size(), 1u);
  EXPECT_TRUE(l.files[0].ends_with("lists/l.txt"));
}

// Issue 17: a rule file staged in another folder reads its lists from the live
// folder when told to (`rules diff --lists-from`); without it they are missing.
TEST_F(ListFiles, ListBaseReadsAStagedFilesListsFromAnotherFolder) {
  dir.write("live/lists/l.txt", "+8613800138000\n");
  const std::string yaml = kHead +
                           "lists:\n  l: {file: lists/l.txt}\n"
                           "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n";
  const LoadResult alone = dir.load(yaml, "staging/new.yaml");
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(dir.lines(alone).at(0).find("cannot read list file 'staging/lists/l.txt'"), std::string::npos)
      << dir.lines(alone).at(0);
  LoadOptions options;
  options.list_base = dir.path() / "live";
  const LoadResult staged = dir.load(yaml, "staging/new.yaml", options);
  ASSERT_TRUE(staged.ok()) << testing::PrintToString(dir.lines(staged));
  EXPECT_EQ(staged.rule_set->lists.at(0).numbers, std::vector<number::E164Key>{pack("8613800138000")});
}

TEST_F(ListFiles, BadLinesReportTheFilesOwnLineAndColumn) {
  const LoadResult r = load_list(
      "+8613800138000\n"
      "# comment\n"
      "   +86 138 0013 800x\n"
      "\r\n"
      "\t12345  # too short\r\n"
      "+8613900139000\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(dir.lines(r), (Lines{"lists/l.txt:3:4: '+86 138 0013 800x' does not normalise under the dial plan: "
                                 "character 'x' is not a digit",
                                 "lists/l.txt:5:2: '12345' does not normalise under the dial plan: it is too "
                                 "short (5 digits) for any rule of the dial plan"}));
}

TEST_F(ListFiles, ErrorOutputIsCappedPerFile) {
  std::string content;
  for (int i = 0; i < 25; ++i) content += "bad" + std::to_string(i) + "\n";
  const LoadResult r = load_list(content, "exact", 3);
  EXPECT_EQ(dir.lines(r),
            (Lines{"lists/l.txt:1:1: " + kNotShown, "lists/l.txt:2:1: " + kNotShown, "lists/l.txt:3:1: " + kNotShown,
                   "lists/l.txt: 22 more bad lines not shown (25 in all)"}));
}

TEST_F(ListFiles, DuplicatesAreCountedNotErrors) {
  const LoadResult r = load_list("+8613800138000\n013800138000\n+86 138 0013 8000\n+8613900139000\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rule_set->lists.at(0).numbers.size(), 2u);
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:4:3: warning: list 'l': 2 duplicate entries ignored"});
}

TEST_F(ListFiles, EmptyFileWarns) {
  const LoadResult r = load_list("# nothing yet\n\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:4:3: warning: list 'l' is empty"});
}

TEST_F(ListFiles, PrefixFile) {
  const LoadResult r = load_list("+86 10   # Beijing\n0755\n0086 21\n138\n+881\n+86 10\n", "prefix");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rule_set->lists.at(0).prefixes, (std::vector<std::string>{"8610", "86138", "8621", "86755", "881"}));
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:4:3: warning: list 'l': 1 duplicate entry ignored"});
}

TEST_F(ListFiles, RangeFile) {
  const LoadResult r = load_list(
      "+86 10 1234 0000 - +86 10 1234 9999\n"
      "+86 20 8000 0000 .. +86 20 8000 0999   # dots\n"
      "+86 20 8100 0000 .. 0999              # shorthand end\n"
      "010 5555 0000 - 010 5555 0099         # national form\n",
      "range");
  ASSERT_TRUE(r.ok()) << testing::PrintToString(dir.lines(r));
  const auto& ranges = r.rule_set->lists.at(0).ranges;
  ASSERT_EQ(ranges.size(), 4u);
  EXPECT_EQ(ranges[0].first, "861012340000");
  EXPECT_EQ(ranges[0].last, "861012349999");
  EXPECT_EQ(ranges[1].first, "861055550000");
  EXPECT_EQ(ranges[1].last, "861055550099");
  EXPECT_EQ(ranges[2].first, "862080000000");
  EXPECT_EQ(ranges[2].last, "862080000999");
  EXPECT_EQ(ranges[3].first, "862081000000");
  EXPECT_EQ(ranges[3].last, "862081000999");
}

TEST_F(ListFiles, RangeFileErrors) {
  const LoadResult r = load_list(
      "+86 10 1234 0000\n"
      "+86 10 1234 9999 - +86 10 1234 0000\n"
      "+86 10 1234 0000 - 1 - 2\n",
      "range");
  EXPECT_EQ(dir.lines(r), (Lines{"lists/l.txt:1:1: range '+86 10 1234 0000' is not 'FIRST .. LAST' (or 'FIRST - LAST')",
                                 "lists/l.txt:2:1: range '+86 10 1234 9999 - +86 10 1234 0000': start +861012349999 "
                                 "is after end +861012340000",
                                 "lists/l.txt:3:1: range '+86 10 1234 0000 - 1 - 2' has more than one ' - '; write "
                                 "'FIRST .. LAST'"}));
}

// The reader directly: stats and the hot path's result for a large file.
TEST_F(ListFiles, ReaderStats) {
  std::string content;
  for (int i = 0; i < 10000; ++i) content += "+86138" + std::to_string(10000000 + i) + "\n";
  content += "# end\n13800x\n";
  const auto path = dir.write("big.txt", content);
  NumberList list;
  list.name = "big";
  std::vector<Diagnostic> diags;
  const loader::ListFileStats st = loader::read_list_file("big.txt", path, list, number::DialPlan::china(),
                                                          SourceLocation{"r.yaml", 1, 1}, 20, diags);
  EXPECT_TRUE(st.readable);
  EXPECT_EQ(st.lines, 10002u);
  EXPECT_EQ(st.entries, 10000u);
  EXPECT_EQ(st.errors, 1u);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(format(diags[0]),
            "big.txt:10002:1: '13800x' does not normalise under the dial plan: "
            "character 'x' is not a digit");
  EXPECT_EQ(loader::finalize_list(list), 0u);
  ASSERT_EQ(list.numbers.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(list.numbers.begin(), list.numbers.end()));
  EXPECT_EQ(list.numbers.front(), pack("8613810000000"));
  EXPECT_EQ(list.numbers.back(), pack("8613810009999"));
}

// Large unsorted lists take the radix-sort path: same result as std::sort.
TEST_F(ListFiles, LargeShuffledListIsSortedAndDeduplicated) {
  std::string content;
  std::vector<number::E164Key> expected;
  // 150000 lines: 100000 distinct numbers in a scrambled order, of two
  // lengths (mobile 13 digits, fixed 12 digits), every other one repeated.
  for (long i = 0; i < 100000; ++i) {
    const long v = (i * 7919) % 100000;
    const std::string digits = (v % 2 ? "86138" + std::to_string(10000000 + v) : "8610" + std::to_string(20000000 + v));
    content += "+" + digits + "\n";
    if (i % 2 == 0) content += "+" + digits + "  # again\n";
    expected.push_back(number::pack(digits));
  }
  std::sort(expected.begin(), expected.end());
  const LoadResult r = load_list(content);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.rule_set->lists.at(0).numbers, expected);
  EXPECT_EQ(dir.lines(r), Lines{"r.yaml:4:3: warning: list 'l': 50000 duplicate entries ignored"});
}

TEST_F(ListFiles, UnreadablePathsAreReportedAtTheYaml) {
  NumberList list;
  list.name = "x";
  std::vector<Diagnostic> diags;
  const loader::ListFileStats st = loader::read_list_file("d", dir.path(), list, number::DialPlan::china(),
                                                          SourceLocation{"r.yaml", 7, 11}, 20, diags);
  EXPECT_FALSE(st.readable);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(format(diags[0]), "r.yaml:7:11: cannot read list file 'd' of list 'x': a directory, not a regular file");
}

}  // namespace
}  // namespace sipwall::rules::test
