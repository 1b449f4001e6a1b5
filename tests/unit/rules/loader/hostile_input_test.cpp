// Rule files and list files written to hurt (issue 12): YAML alias cycles
// and alias bombs, deep nesting, FIFOs and devices instead of files, files
// over the size limits, files that are not rule files at all, and what error
// messages echo of them. Each must end in a clear error, quickly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>

#include "rules/io/file_input.h"
#include "rules/loader/regex_cost.h"
#include "rules/text/safe_text.h"
#include "rules/yaml/limits.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

class HostileInput : public ::testing::Test {
 protected:
  Lines errors(const LoadResult& r) {
    EXPECT_FALSE(r.ok());
    Lines out;
    for (const std::string& l : dir.lines(r)) {
      if (l.find(": warning: ") == std::string::npos) out.push_back(l);
    }
    return out;
  }
  // Runs `f` on a thread; if it has not returned after 10 s (it hangs on a
  // FIFO), opens the FIFO for writing so the reader sees its end, and fails.
  template <class F>
  LoadResult within_seconds(const std::filesystem::path& fifo, F f) {
    auto fut = std::async(std::launch::async, f);
    if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
      ADD_FAILURE() << "reading " << fifo << " hung";
    }
    return fut.get();
  }
  TempDir dir;
};

// The input: `match: &s {not: *s}` segfaulted `rules check`
// (yaml-cpp makes the alias the node itself; the walk never ended).
TEST_F(HostileInput, SelfReferencingAliasIsRefusedWithItsPosition) {
  const LoadResult r = dir.load(kHead + "rules:\n  - id: a\n    match: &s {not: *s}\n    action: drop\n");
  EXPECT_EQ(errors(r), Lines{"r.yaml:5:21: YAML alias '*s' is inside the node its anchor '&s' (line 5) "
                             "names: a node cannot contain itself"});
}

TEST_F(HostileInput, IndirectAliasCycleIsRefused) {
  const LoadResult r = dir.load(kHead +
                                "rules:\n  - id: a\n    match: &o {any: [{caller: {present: true}}, "
                                "{all: [&i {not: *o}]}]}\n    action: drop\n");
  const Lines e = errors(r);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("YAML alias '*o' is inside the node its anchor '&o'"), std::string::npos) << e[0];
}

// Ten aliases of ten aliases, nine levels deep: a kilobyte of text, 10^9
// nodes to a walker (the 3.9 KB bomb reached 3.9 GB in a minute).
TEST_F(HostileInput, AliasBombIsRefusedAtTheAliasThatCrossesTheLimit) {
  std::string y = kHead +
                  "rules:\n  - id: a0\n    match: &a0 {caller: {equals: [\"+8613800138000\"]}}\n"
                  "    action: drop\n";
  for (int level = 1; level <= 9; ++level) {
    y += "  - id: a" + std::to_string(level) + "\n    match: &a" + std::to_string(level) + " {any: [";
    for (int k = 0; k < 10; ++k) y += (k ? ", *a" : "*a") + std::to_string(level - 1);
    y += "]}\n    action: drop\n";
  }
  EXPECT_LT(y.size(), 4096u);
  const LoadResult r = dir.load(y);
  const Lines e = errors(r);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find(": YAML aliases expand this document to more than 2000000 nodes"), std::string::npos) << e[0];
  EXPECT_EQ(e[0].rfind("r.yaml:", 0), 0u) << e[0];
}

TEST_F(HostileInput, GuardCountsExpansionAndDepthExactly) {
  // 1 map + 2 keys + seq (1) + 3 scalars + 3 aliased copies of 4 nodes.
  const char* doc = "a: &x [1, 2, 3]\nb: [*x, *x, *x]\n";
  yaml::Limits tight;
  tight.max_nodes = 1 + 2 + 4 + 1 + 12;
  EXPECT_FALSE(yaml::check_limits(doc, tight).has_value());
  tight.max_nodes -= 1;
  const auto p = yaml::check_limits(doc, tight);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 2u);
  EXPECT_EQ(p->column, 13u);  // the third *x
  yaml::Limits shallow;
  shallow.max_depth = 3;
  EXPECT_FALSE(yaml::check_limits("a: {b: [1]}\n", shallow).has_value());
  const auto deep = yaml::check_limits("a: {b: [[1]]}\n", shallow);
  ASSERT_TRUE(deep.has_value());
  EXPECT_EQ(deep->message, "YAML nested deeper than 3 levels");
  EXPECT_EQ(deep->column, 9u);
  // Not YAML: left to the caller's parser, which says where.
  EXPECT_FALSE(yaml::check_limits("a: [1, 2\n").has_value());
}

TEST_F(HostileInput, DeepNestingIsRefused) {
  std::string m;
  for (int i = 0; i < 200; ++i) m += "{not: ";
  m += "{caller: {present: true}}";
  for (int i = 0; i < 200; ++i) m += "}";
  const Lines e = errors(dir.load(kHead + "rules:\n  - id: a\n    match: " + m + "\n    action: drop\n"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("YAML nested deeper than 128 levels"), std::string::npos) << e[0];
}

// A FIFO hung `rules check` (and the data plane's `load`) forever.
TEST_F(HostileInput, FifoAsListFileIsRefusedAtOnce) {
  const auto fifo = dir.path() / "lists" / "l.txt";
  std::filesystem::create_directories(fifo.parent_path());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string yaml = kHead +
                           "lists:\n  l: {kind: exact, file: lists/l.txt}\n"
                           "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n";
  const LoadResult r = within_seconds(fifo, [&] { return dir.load(yaml); });
  EXPECT_EQ(errors(r), Lines{"r.yaml:4:26: cannot read list file 'lists/l.txt' of list 'l': a FIFO, not a "
                             "regular file"});
}

TEST_F(HostileInput, FifoAsRuleFileIsRefusedAtOnce) {
  const auto fifo = dir.path() / "r.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const LoadResult r = within_seconds(fifo, [&] { return load_rule_set(fifo); });
  EXPECT_EQ(errors(r), Lines{"r.yaml: cannot read the rule file: a FIFO, not a regular file"});
}

TEST_F(HostileInput, DevicesAndDirectoriesAreNotRuleFiles) {
  const LoadResult z = load_rule_set("/dev/zero");
  ASSERT_EQ(z.diagnostics.size(), 1u);
  EXPECT_EQ(format(z.diagnostics[0]), "/dev/zero: cannot read the rule file: a character device, not a regular file");
  const LoadResult d = load_rule_set(dir.path());
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_NE(format(d.diagnostics[0]).find(": cannot read the rule file: a directory, not a regular file"),
            std::string::npos);
}

TEST_F(HostileInput, FilesOverTheLimitAreRefusedBeforeReading) {
  // Sparse: the size is what fstat says, nothing is written to disk.
  const auto big = dir.write("r.yaml", "");
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(io::kRuleFile.max_bytes + 1)), 0);
  const LoadResult r = load_rule_set(big);
  EXPECT_EQ(errors(r), Lines{"r.yaml: cannot read the rule file: 16.0 MiB, more than the 16 MiB a rule file may have"});

  const auto list = dir.write("lists/l.txt", "");
  ASSERT_EQ(::truncate(list.c_str(), static_cast<off_t>(io::kListFile.max_bytes + 4096)), 0);
  const LoadResult l = dir.load(kHead +
                                "lists:\n  l: {kind: exact, file: lists/l.txt}\n"
                                "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n");
  EXPECT_EQ(errors(l), Lines{"r.yaml:4:26: cannot read list file 'lists/l.txt' of list 'l': 1.0 GiB, more than the "
                             "1 GiB a list file may have"});
}

// Given a file that is not a rule or list file (here a line shaped like
// /etc/shadow), errors must not repeat its content.
TEST_F(HostileInput, ContentOfFilesThatAreNotRuleFilesIsNotEchoed) {
  const std::string shadow =
      "root:$y$j9T$SECRETsaltSECRET$SECREThashSECREThashSECRET:19000:0:99999:7:::\n"
      "daemon:*:19000:0:99999:7:::\n";
  // Its lines end in ':', so YAML reads them as keys of a map.
  const LoadResult as_rules = dir.load(shadow);
  for (const std::string& l : dir.lines(as_rules)) EXPECT_EQ(l.find("SECRET"), std::string::npos) << l;
  EXPECT_EQ(errors(as_rules),
            Lines{"r.yaml:1:1: not a rule set: none of its top-level keys is, or is close to, one of version, name, "
                  "description, dial_plan, trunks, deny_sources, lists, detectors, guard_rails, defaults, rules (its "
                  "content "
                  "is not shown)"});
  const LoadResult text = dir.load("root:x:0:0:root:/root:/bin/bash SECRET\n");
  EXPECT_EQ(errors(text),
            Lines{"r.yaml:1:1: not a rule set: the file must be a YAML map of keys (version, dial_plan, rules, "
                  "...), but it is plain text"});

  dir.write("lists/l.txt", shadow);
  const LoadResult as_list = dir.load(kHead +
                                      "lists:\n  l: {kind: exact, file: lists/l.txt}\n"
                                      "rules:\n  - {id: r, match: {caller: {in: l}}, action: drop}\n");
  const Lines e = errors(as_list);
  ASSERT_EQ(e.size(), 2u);
  for (const std::string& l : e) EXPECT_EQ(l.find("SECRET"), std::string::npos) << l;
  EXPECT_EQ(e[0].rfind("lists/l.txt:1:1: not a number, prefix or range", 0), 0u) << e[0];
  EXPECT_EQ(e[1].rfind("lists/l.txt:2:1: not a number, prefix or range", 0), 0u) << e[1];
}

// A 1 MB scalar or a key with terminal escapes is echoed capped and escaped.
TEST_F(HostileInput, EchoedTextIsCappedAndEscaped) {
  const std::string huge(1 << 20, 'x');
  const Lines big = errors(dir.load(kHead + "defaults: {action: " + huge + "}\n"));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_LT(big[0].size(), 400u);
  EXPECT_NE(big[0].find("'" + std::string(text::kMaxQuotedBytes, 'x') + "...(+" +
                        std::to_string(huge.size() - text::kMaxQuotedBytes) + " bytes)'"),
            std::string::npos)
      << big[0];

  const Lines esc = errors(dir.load(kHead + "\"\\e[31mred\\x01\": 1\n"));
  ASSERT_EQ(esc.size(), 1u);
  EXPECT_NE(esc[0].find("unknown key '\\x1b[31mred\\x01'"), std::string::npos) << esc[0];
  for (const char c : esc[0]) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);

  const Lines bad_utf8 = errors(dir.load(kHead + "version2: \"\xff\xfe\"\n"));
  ASSERT_EQ(bad_utf8.size(), 1u);
  EXPECT_TRUE(text::is_printable(bad_utf8[0])) << bad_utf8[0];
}

// Issue 12: ten distinct `[^x]{10000}y`-style patterns took 56 s to compile,
// with no limit. Each is now refused at its place before Hyperscan sees it.
TEST_F(HostileInput, CostlyPatternsAreRefusedBeforeCompiling) {
  std::string y = kHead + "rules:\n";
  for (int i = 0; i < 10; ++i) {
    y += "  - {id: r" + std::to_string(i) + ", match: {user_agent: {regex: [\"[^" +
         std::string(1, static_cast<char>('a' + i)) + "]{10000}y\"]}}, action: drop}\n";
  }
  const Lines e = errors(dir.load(y));
  ASSERT_EQ(e.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(e[static_cast<std::size_t>(i)],
              "r.yaml:" + std::to_string(4 + i) + ":43: bad regex '[^" + std::string(1, static_cast<char>('a' + i)) +
                  "]{10000}y': too costly to compile: 10001 positions once its bounded repeats are written out, more "
                  "than the 500 a pattern may have");
  }
}

TEST_F(HostileInput, PatternRepeatsHaveABudgetForTheWholeSet) {
  // 30 distinct patterns of 401 positions, 399 of them from the repeat: the
  // 26th crosses the 10,000 budget.
  std::string y = kHead + "rules:\n";
  for (int i = 0; i < 30; ++i) {
    y += "  - {id: r" + std::to_string(i) + ", match: {user_agent: {regex: [\"a" + std::to_string(1000 + i) +
         "[^x]{400}\"]}}, action: drop}\n";
  }
  const Lines e = errors(dir.load(y));
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0],
            "r.yaml:29:44: bad regex 'a1025[^x]{400}': too costly to compile: its bounded repeats add 399 "
            "positions to the 9975 of the patterns before it, more than the 10000 all patterns together may have");
  // The same pattern in many rules counts once.
  std::string same = kHead + "rules:\n";
  for (int i = 0; i < 200; ++i) {
    same += "  - {id: r" + std::to_string(i) + ", match: {user_agent: {regex: [\"[^x]{400}y\"]}}, action: drop}\n";
  }
  EXPECT_TRUE(dir.load(same).ok());
}

TEST(RegexCost, CountsWrittenOutRepeats) {
  using loader::regex_cost;
  EXPECT_EQ(regex_cost("abc").positions, 3u);
  EXPECT_EQ(regex_cost("abc").repeated, 0u);
  EXPECT_EQ(regex_cost("(?i)sipvicious|friendly-scanner").positions, 26u);
  EXPECT_EQ(regex_cost("[^x]{10000}y").positions, 10001u);
  EXPECT_EQ(regex_cost("[^x]{10000}y").repeated, 9999u);
  EXPECT_EQ(regex_cost("(ab|cd){300}").positions, 1200u);
  EXPECT_EQ(regex_cost("a{2,5}").positions, 5u);
  EXPECT_EQ(regex_cost("a{7,}").positions, 8u);
  EXPECT_EQ(regex_cost("(a{10}){10}").positions, 100u);
  EXPECT_EQ(regex_cost("(a{10}){10}").repeated, 99u);  // 100 written out, 1 as written
  EXPECT_EQ(regex_cost("a*b+c?").positions, 3u);
  EXPECT_EQ(regex_cost("\\d{3}-\\x{41}[a-z\\]]{2}").positions, 7u);
  EXPECT_EQ(regex_cost("a{x}").positions, 4u);  // not a repeat: literal braces
  EXPECT_EQ(regex_cost("^\\+?86\\d{11}$").positions, 14u);
  // Nested repeats saturate rather than wrap.
  EXPECT_GT(regex_cost("((((a{99999}){99999}){99999}){99999}){99999}").positions, loader::kMaxRegexPositions);
}

TEST(FileInput, ReadsRegularFilesAndSaysWhyNot) {
  TempDir dir;
  const auto p = dir.write("f.txt", "hello");
  std::string out, err;
  ASSERT_TRUE(io::read_whole_file(p.string(), io::kRuleFile, out, err)) << err;
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(io::read_whole_file((dir.path() / "nope").string(), io::kRuleFile, out, err));
  EXPECT_EQ(err, (dir.path() / "nope").string() + ": cannot read the rule file: No such file or directory");
  EXPECT_TRUE(out.empty());
  // A symbolic link is followed (the deploy's current.swr is one).
  std::filesystem::create_symlink(p, dir.path() / "link");
  ASSERT_TRUE(io::read_whole_file((dir.path() / "link").string(), io::kRuleFile, out, err)) << err;
  EXPECT_EQ(out, "hello");
  if (::geteuid() != 0) {  // root reads anything
    ::chmod(p.c_str(), 0);
    EXPECT_FALSE(io::read_whole_file(p.string(), io::kRuleFile, out, err));
    EXPECT_NE(err.find("Permission denied"), std::string::npos) << err;
  }
  EXPECT_EQ(io::size_text(16 << 20), "16 MiB");
  EXPECT_EQ(io::size_text(3221225472ULL), "3 GiB");
  EXPECT_EQ(io::size_text(1536), "1.5 KiB");
  EXPECT_EQ(io::size_text(12), "12 bytes");
}

}  // namespace
}  // namespace sipwall::rules::test
