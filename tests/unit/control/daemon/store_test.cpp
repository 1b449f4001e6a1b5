#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "control/daemon/artifact_store.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

void set_mtime(const fs::path& p, std::int64_t sec) {
  timespec ts[2] = {{sec, 0}, {sec, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
}

// Stages a fake artifact and commits it.
fs::path add(ArtifactStore& s, const std::string& version, const std::string& checksum, std::int64_t mtime) {
  fs::path staged = s.staging_path();
  test::write_file(staged, "artifact " + version);
  fs::path out;
  std::string err;
  EXPECT_TRUE(s.commit(staged, version, checksum, json{{"version", version}, {"checksum", checksum}}, out, err)) << err;
  set_mtime(out, mtime);
  return out;
}

TEST(ArtifactStore, CommitNamesFilesByVersionAndChecksum) {
  test::TempDir dir;
  ArtifactStore s(dir / "store");
  std::string err;
  ASSERT_TRUE(s.init(err)) << err;
  fs::path staged = s.staging_path();
  EXPECT_EQ(staged.parent_path(), dir / "store");  // same file system: rename is atomic
  test::write_file(staged, "bytes");
  fs::path out;
  ASSERT_TRUE(s.commit(staged, "2024-06-01.1", "878b4f889320613f", json{{"version", "2024-06-01.1"}}, out, err));
  EXPECT_EQ(out, dir / "store" / "2024-06-01.1-878b4f889320613f.swr");
  EXPECT_FALSE(fs::exists(staged));
  EXPECT_EQ(test::read_file(out), "bytes");
  ASSERT_TRUE(s.meta(out));
  EXPECT_EQ((*s.meta(out))["version"], "2024-06-01.1");
  // A version with characters a file name should not hold.
  staged = s.staging_path();
  test::write_file(staged, "x");
  ASSERT_TRUE(s.commit(staged, "v 1/2", "00000000000000aa", json{{"version", "v 1/2"}}, out, err));
  EXPECT_EQ(out.filename(), "v_1_2-00000000000000aa.swr");
  auto list = s.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].path, out);         // newest first
  EXPECT_EQ(list[0].version, "v 1/2");  // from the meta file, not the file name
  EXPECT_FALSE(s.commit(s.staging_path(), "v", "not-hex", json::object(), out, err));
}

TEST(ArtifactStore, InitRemovesStagingLeftovers) {
  test::TempDir dir;
  fs::create_directories(dir / "store");
  test::write_file(dir / "store" / ".staging-123-1.swr", "half");
  test::write_file(dir / "store" / "x.swr.meta.json.tmp", "half");
  test::write_file(dir / "store" / "1-00000000000000aa.swr", "keep");
  ArtifactStore s(dir / "store");
  std::string err;
  ASSERT_TRUE(s.init(err));
  EXPECT_FALSE(fs::exists(dir / "store" / ".staging-123-1.swr"));
  EXPECT_FALSE(fs::exists(dir / "store" / "x.swr.meta.json.tmp"));
  EXPECT_TRUE(fs::exists(dir / "store" / "1-00000000000000aa.swr"));
}

// One sipwall-control per store: a second one would remove the first one's
// staging files (init) while it compiles.
TEST(ArtifactStore, ASecondUserOfTheSameStoreIsRefused) {
  test::TempDir dir;
  std::string err;
  {
    ArtifactStore first(dir / "store");
    ASSERT_TRUE(first.init(err)) << err;
    test::write_file(dir / "store" / ".staging-1-1.swr", "being written");
    ArtifactStore second(dir / "store");
    EXPECT_FALSE(second.init(err));
    EXPECT_NE(err.find("in use by another sipwall-control"), std::string::npos) << err;
    EXPECT_TRUE(fs::exists(dir / "store" / ".staging-1-1.swr"));
  }
  ArtifactStore after(dir / "store");  // the first one is gone: free again
  EXPECT_TRUE(after.init(err)) << err;
}

TEST(ArtifactStore, PruneKeepsTheNewestAndTheProtected) {
  test::TempDir dir;
  ArtifactStore s(dir.path());
  std::string err;
  ASSERT_TRUE(s.init(err));
  std::vector<fs::path> a;
  for (int i = 0; i < 6; ++i) {
    char sum[17];
    std::snprintf(sum, sizeof sum, "%016x", i + 1);
    a.push_back(add(s, "v" + std::to_string(i), sum, 1'700'000'000 + i));
  }
  // Keep 3; the oldest one is what the data plane runs: never pruned.
  auto removed = s.prune(3, {a[0]});
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(fs::exists(a[0]));
  EXPECT_FALSE(fs::exists(a[1]));
  EXPECT_FALSE(fs::exists(a[2]));
  EXPECT_FALSE(fs::exists(a[2].string() + ".meta.json"));
  EXPECT_TRUE(fs::exists(a[3]) && fs::exists(a[4]) && fs::exists(a[5]));
  EXPECT_EQ(s.list().size(), 4u);
  // touch() makes an old artifact the newest (a rollback target just used).
  s.touch(a[0]);
  removed = s.prune(2, {});
  EXPECT_TRUE(fs::exists(a[0]));
  EXPECT_TRUE(fs::exists(a[5]));
  EXPECT_FALSE(fs::exists(a[3]));
}

TEST(ArtifactStore, FindsByVersionChecksumOrName) {
  test::TempDir dir;
  ArtifactStore s(dir.path());
  std::string err, why;
  ASSERT_TRUE(s.init(err));
  fs::path a = add(s, "2024-06-01.1", "878b4f889320613f", 100);
  fs::path b = add(s, "2024-06-01.2", "039144c4e864ce85", 200);
  fs::path c = add(s, "2024-06-01.2", "aa9144c4e864ce85", 300);  // edited without bumping the version
  EXPECT_EQ(s.find("2024-06-01.1", &why)->path, a);
  EXPECT_EQ(s.find("878b", &why)->path, a);
  EXPECT_EQ(s.find("039144c4e864ce85", &why)->path, b);
  EXPECT_EQ(s.find("2024-06-01.2-aa9144c4e864ce85.swr", &why)->path, c);
  EXPECT_EQ(s.find("2024-06-01.2-aa9144c4e864ce85", &why)->path, c);
  EXPECT_EQ(s.find(c.string(), &why)->path, c);
  EXPECT_FALSE(s.find("2024-06-01.2", &why));
  EXPECT_NE(why.find("matches 2 artifacts"), std::string::npos) << why;
  EXPECT_FALSE(s.find("2023", &why));
  EXPECT_NE(why.find("no artifact"), std::string::npos) << why;
  EXPECT_FALSE(s.find("878", &why));  // too short for a checksum prefix
}

TEST(History, AppendsReadsAndTrims) {
  test::TempDir dir;
  History h(dir / "history.jsonl", 10);
  std::string err;
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(h.append(json{{"n", i}, {"result", "ok"}}, err)) << err;
  auto all = h.read();
  ASSERT_EQ(all.size(), 11u);  // 10 % slack before a rewrite
  EXPECT_EQ(all.front()["n"], 0);
  auto last3 = h.read(3);
  ASSERT_EQ(last3.size(), 3u);
  EXPECT_EQ(last3[0]["n"], 8);
  EXPECT_EQ(last3[2]["n"], 10);
  ASSERT_TRUE(h.append(json{{"n", 11}}, err));  // 12 > 10 + 1: trimmed to the newest 10
  all = h.read();
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all.front()["n"], 2);
  EXPECT_EQ(all.back()["n"], 11);
  // A second History on the same file (a restarted daemon) continues it.
  History again(dir / "history.jsonl", 10);
  ASSERT_TRUE(again.append(json{{"n", 12}}, err));
  EXPECT_EQ(again.read().back()["n"], 12);
  EXPECT_EQ(again.read().size(), 11u);
}

TEST(History, SkipsBrokenLines) {
  test::TempDir dir;
  test::write_file(dir / "h.jsonl", "{\"n\":1}\nnot json\n{\"n\":2}\n");
  History h(dir / "h.jsonl", 100);
  auto all = h.read();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["n"], 2);
}

}  // namespace
}  // namespace sipwall::control
