#include "control/client/trace_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "control/client/time_util.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kS = 1'000'000'000;
constexpr std::int64_t kT0 = 1795859755LL * kS;  // 2026-11-28T09:55:55Z

// A record as trace-drain returns it (docs/control-protocol.md).
json record(int i, const std::string& caller, const std::string& rule = "harassment-callers", std::int64_t t = kT0) {
  json r{{"time_ns", t + i * kS},
         {"action", "reject"},
         {"reject_code", 608},
         {"in_port", 0},
         {"transport", "udp"},
         {"src_ip", "192.0.2.11"},
         {"src_port", 5060},
         {"dst_ip", "10.10.0.10"},
         {"dst_port", 5060},
         {"trunk", "peer-a"},
         {"rule_id", rule},
         {"ruleset_version", "2024-06-01.1"},
         {"call_id", "call-" + std::to_string(i) + "@example"},
         {"caller", caller},
         {"callee", "+8613600136001"}};
  return r;
}

TEST(TraceLine, HasTheDocumentedFieldsInOrder) {
  json r = record(0, "+8613800138000");
  r["time_ns"] = kT0 + 742'296'755;
  r["vlan"] = 100;
  std::string line = trace_line(r, {"trunk", "core"});
  EXPECT_EQ(line,
            R"({"time":"2026-11-28T09:55:55.742Z","in_port":"trunk","transport":"udp","src_ip":"192.0.2.11",)"
            R"("src_port":5060,"dst_ip":"10.10.0.10","dst_port":5060,"vlan":100,"trunk":"peer-a",)"
            R"("call_id":"call-0@example","caller":"+8613800138000","callee":"+8613600136001",)"
            R"("rule_id":"harassment-callers","ruleset_version":"2024-06-01.1","action":"reject","reject_code":608})");
}

TEST(TraceLine, MissingFieldsAreNullAndUnknownPortsNumbered) {
  json r = record(0, "+8613800138000");
  r.erase("reject_code");
  r["caller"] = nullptr;
  r["trunk"] = nullptr;
  r["in_port"] = 5;
  json j = json::parse(trace_line(r, {"trunk"}));
  EXPECT_TRUE(j["reject_code"].is_null());
  EXPECT_TRUE(j["caller"].is_null());
  EXPECT_TRUE(j["trunk"].is_null());
  EXPECT_EQ(j["in_port"], "port5");
  EXPECT_FALSE(j.contains("vlan"));
}

TEST(TraceLine, InvalidUtf8InCallIdDoesNotLoseTheRecord) {
  json r = record(0, "+8613800138000");
  r["call_id"] = std::string("bad\xff\xfe@x");
  json j = json::parse(trace_line(r, {}));
  EXPECT_EQ(j["call_id"].get<std::string>().substr(0, 3), "bad");
}

TEST(TraceLine, InvalidUtf8BecomesReplacementCharacters) {
  json r = record(0, "+8613800138000");
  r["call_id"] = std::string("a\xff");
  r["trunk"] = std::string("\xC0\xAF");  // overlong '/': two ill-formed bytes
  const std::string line = trace_line(r, {});
  const json j = json::parse(line);
  EXPECT_EQ(j["call_id"], "a\xEF\xBF\xBD");
  EXPECT_EQ(j["trunk"], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TraceLine, NoByteOfTheLineDrivesATerminal) {
  json r = record(0, "+8613800138000");
  r["call_id"] = std::string(
      "x\x1b]0;owned\x07\xC2\x9B"
      "2J\xE2\x80\xAE@y");  // OSC, C1 CSI, RLO
  const std::string line = trace_line(r, {});
  for (unsigned char c : line) EXPECT_GE(c, 0x20) << line;
  EXPECT_NE(line.find(R"("call_id":"x\u001b]0;owned\u0007\u009b2J\u202e@y")"), std::string::npos) << line;
  EXPECT_EQ(json::parse(line)["call_id"], r["call_id"]) << "the value is unchanged";
}

TEST(TraceWriter, RotatesBySizeAndKeepsN) {
  test::TempDir dir;
  std::string line = trace_line(record(0, "+8613800138000"), {"trunk"});
  const std::uint64_t max = 3 * (line.size() + 1) + 10;  // three lines per file
  TraceWriter w({dir.path(), max, 2});
  std::string err;
  ASSERT_TRUE(w.open(err)) << err;
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) lines.push_back(trace_line(record(i, "+8613800138000"), {"trunk"}));
  ASSERT_TRUE(w.write({lines.begin(), lines.begin() + 4}, err)) << err;  // batch crossing a boundary
  for (int i = 4; i < 10; ++i) ASSERT_TRUE(w.write({lines[i]}, err)) << err;
  EXPECT_EQ(w.lines_written(), 10u);
  EXPECT_EQ(w.rotations(), 3u);  // files of 3,3,3,1 lines
  // Kept: .2 (lines 3..5), .1 (6..8), current (9); lines 0..2 rotated away.
  EXPECT_TRUE(fs::exists(dir / "trace.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir / "trace.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir / "trace.jsonl.3"));
  auto files = trace_files(dir.path());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "trace.jsonl.2");
  EXPECT_EQ(files[2].filename(), "trace.jsonl");
  EXPECT_EQ(test::read_file(dir / "trace.jsonl.2"), lines[3] + "\n" + lines[4] + "\n" + lines[5] + "\n");
  EXPECT_EQ(test::read_file(dir / "trace.jsonl.1"), lines[6] + "\n" + lines[7] + "\n" + lines[8] + "\n");
  EXPECT_EQ(test::read_file(dir / "trace.jsonl"), lines[9] + "\n");
  for (const auto& f : files) EXPECT_LE(fs::file_size(f), max);
}

TEST(TraceWriter, AppendsToAnExistingFileAcrossRestarts) {
  test::TempDir dir;
  std::string err;
  {
    TraceWriter w({dir.path(), 1 << 20, 3});
    ASSERT_TRUE(w.open(err));
    ASSERT_TRUE(w.write({"{\"a\":1}"}, err));
  }
  TraceWriter w({dir.path(), 1 << 20, 3});
  ASSERT_TRUE(w.open(err));
  ASSERT_TRUE(w.write({"{\"a\":2}"}, err));
  EXPECT_EQ(test::read_file(dir / "trace.jsonl"), "{\"a\":1}\n{\"a\":2}\n");
}

TEST(TraceWriter, KeepZeroRestartsTheFile) {
  test::TempDir dir;
  std::string err;
  TraceWriter w({dir.path(), 20, 0});
  ASSERT_TRUE(w.open(err));
  ASSERT_TRUE(w.write({"0123456789", "abcdefghij"}, err));
  EXPECT_EQ(test::read_file(dir / "trace.jsonl"), "abcdefghij\n");
  EXPECT_EQ(trace_files(dir.path()).size(), 1u);
}

TEST(TraceSearch, NormalisesTheCallerLikeTheDataPlane) {
  number::DialPlan china = number::DialPlan::china();
  std::string why;
  EXPECT_EQ(normalise_number_query("013800138000", china, &why), "+8613800138000");
  EXPECT_EQ(normalise_number_query("13800138000", china, &why), "+8613800138000");
  EXPECT_EQ(normalise_number_query("+86 138-0013-8000", china, &why), "+8613800138000");
  EXPECT_EQ(normalise_number_query("008613800138000", china, &why), "+8613800138000");
  EXPECT_EQ(normalise_number_query("tel:+8613800138000", china, &why), "+8613800138000");
  EXPECT_EQ(normalise_number_query("110", china, &why), "110");
  EXPECT_FALSE(normalise_number_query("alice", china, &why));
  EXPECT_NE(why.find("not a phone number"), std::string::npos);
  number::DialPlan na = number::DialPlan::north_america();
  EXPECT_EQ(normalise_number_query("(212) 555-0100", na, &why), "+12125550100");
}

class TraceSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    TraceWriter w({dir.path(), 2000, 5});  // several rotated files
    ASSERT_TRUE(w.open(err));
    for (int i = 0; i < 30; ++i) {
      json r = record(i, i % 3 == 0 ? "+8613800138000" : "+8613900139000", i % 2 ? "cc-dnc" : "harassment-callers");
      if (i == 7) r["call_id"] = "q\"uote@x";  // a Call-ID the JSON encoder escapes
      ASSERT_TRUE(w.write({trace_line(r, {"trunk"})}, err)) << err;
    }
    ASSERT_GT(trace_files(dir.path()).size(), 2u);
  }
  std::vector<int> find(const TraceQuery& q) {
    std::vector<int> ids;
    search_trace(trace_files(dir.path()), q, [&](const json& r, const std::string&) {
      std::string c = r["call_id"];
      ids.push_back(c == "q\"uote@x" ? 7 : std::stoi(c.substr(5)));
      return true;
    });
    return ids;
  }
  test::TempDir dir;
};

TEST_F(TraceSearchTest, ByCallerAcrossRotatedFilesOldestFirst) {
  TraceQuery q;
  q.caller = normalise_number_query("013800138000", number::DialPlan::china(), nullptr);
  // Rotation dropped the oldest records: the search sees what is left, in order.
  std::vector<int> got = find(q);
  ASSERT_FALSE(got.empty());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i] % 3, 0);
    if (i) {
      EXPECT_LT(got[i - 1], got[i]);
    }
  }
  EXPECT_EQ(got.back(), 27);
}

TEST_F(TraceSearchTest, ByRuleCalleeAndCallId) {
  TraceQuery q;
  q.rule_id = "cc-dnc";
  for (int i : find(q)) EXPECT_EQ(i % 2, 1);
  TraceQuery c;
  c.call_id = "call-29@example";
  EXPECT_EQ(find(c), std::vector<int>{29});
  TraceQuery quoted;
  quoted.call_id = "q\"uote@x";
  EXPECT_EQ(find(quoted), std::vector<int>{7});
  TraceQuery callee;
  callee.callee = "+8613600136001";
  callee.caller = "+8613900139000";
  for (int i : find(callee)) EXPECT_NE(i % 3, 0);
  TraceQuery none;
  none.caller = "+8613800138001";
  EXPECT_TRUE(find(none).empty());
}

TEST_F(TraceSearchTest, SinceAndUntilAreInclusive) {
  TraceQuery q;
  q.since_ns = kT0 + 20 * kS;
  q.until_ns = kT0 + 22 * kS;
  EXPECT_EQ(find(q), (std::vector<int>{20, 21, 22}));
  q.since_ns = parse_iso8601("2026-11-28T09:56:23Z");  // = kT0 + 28 s
  q.until_ns.reset();
  EXPECT_EQ(find(q), (std::vector<int>{28, 29}));
}

TEST(TraceSearch, SkipsBrokenLinesAndCountsThem) {
  test::TempDir dir;
  test::write_file(dir / "trace.jsonl", trace_line(record(1, "+8613800138000"), {}) +
                                            "\n{\"caller\":\"+8613800138000\", broken\n\n" +
                                            trace_line(record(2, "+8613800138000"), {}) + "\n");
  TraceQuery q;
  q.caller = "+8613800138000";
  int n = 0;
  TraceSearchStats st = search_trace(trace_files(dir.path()), q, [&](const json&, const std::string&) {
    ++n;
    return true;
  });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(st.bad_lines, 1u);
  EXPECT_EQ(st.lines, 3u);
  // Stop early.
  n = 0;
  search_trace(trace_files(dir.path()), q, [&](const json&, const std::string&) {
    ++n;
    return false;
  });
  EXPECT_EQ(n, 1);
}

TEST(TraceFiles, IgnoresOtherFilesAndSortsNumerically) {
  test::TempDir dir;
  for (const char* f : {"trace.jsonl", "trace.jsonl.1", "trace.jsonl.2", "trace.jsonl.10", "trace.jsonl.gz",
                        "trace.jsonl.1.gz", "other.jsonl"})
    test::write_file(dir / f, "");
  auto files = trace_files(dir.path());
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"trace.jsonl.10", "trace.jsonl.2", "trace.jsonl.1", "trace.jsonl"}));
}

}  // namespace
}  // namespace sipwall::control
