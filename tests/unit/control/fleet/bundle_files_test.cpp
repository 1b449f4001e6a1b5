#include "control/fleet/bundle_files.h"

#include <gtest/gtest.h>

#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::fleet {
namespace {

namespace fs = std::filesystem;
using control::test::read_file;
using control::test::TempDir;
using control::test::write_file;

TEST(BundleFiles, ReadsTheRuleFileAndItsListsWithRelativePaths) {
  TempDir d;
  fs::create_directories(d / "pub/lists");
  write_file(d / "pub/main.yaml", "rules: []\n");
  write_file(d / "pub/lists/a.txt", "+8613800138000\n");
  LocalBundle b;
  std::string err;
  ASSERT_TRUE(read_local_bundle(d / "pub/main.yaml", {(d / "pub/lists/a.txt").string()}, b, err)) << err;
  ASSERT_EQ(b.manifest.files.size(), 2u);
  EXPECT_EQ(b.manifest.files[0].path, "main.yaml");
  EXPECT_EQ(b.manifest.files[1].path, "lists/a.txt");
  EXPECT_EQ(b.manifest.files[1].xxh64, content_hash("+8613800138000\n"));
  EXPECT_EQ(b.contents[1], "+8613800138000\n");
}

TEST(BundleFiles, AListOutsideTheRuleFilesFolderCannotBePublished) {
  TempDir d;
  fs::create_directories(d / "pub");
  write_file(d / "pub/main.yaml", "rules: []\n");
  write_file(d / "elsewhere.txt", "1\n");
  LocalBundle b;
  std::string err;
  EXPECT_FALSE(read_local_bundle(d / "pub/main.yaml", {(d / "elsewhere.txt").string()}, b, err));
  EXPECT_NE(err.find("must lie under the rule file's folder"), std::string::npos) << err;
}

TEST(BundleFiles, InstallThenRestorePutsTheFolderBackAsItWas) {
  TempDir d;
  const fs::path rules = d / "rules";
  fs::create_directories(rules / "lists");
  write_file(rules / "main.yaml", "old rules\n");
  write_file(rules / "lists/a.txt", "old a\n");
  write_file(rules / "lists/untouched.txt", "keep\n");

  Manifest m;
  const std::vector<std::string> contents{"new rules\n", "new a\n", "new b\n"};
  m.files.push_back({"published-name.yaml", contents[0].size(), content_hash(contents[0])});
  m.files.push_back({"lists/a.txt", contents[1].size(), content_hash(contents[1])});
  m.files.push_back({"lists/sub/b.txt", contents[2].size(), content_hash(contents[2])});
  std::string err;
  ASSERT_TRUE(install_files(rules, "main.yaml", m, contents, d / "backup", err)) << err;
  // The rule file takes the appliance's name, the lists their relative paths.
  EXPECT_EQ(read_file(rules / "main.yaml"), "new rules\n");
  EXPECT_EQ(read_file(rules / "lists/a.txt"), "new a\n");
  EXPECT_EQ(read_file(rules / "lists/sub/b.txt"), "new b\n");
  EXPECT_FALSE(fs::exists(rules / "published-name.yaml"));
  EXPECT_FALSE(fs::exists(rules / "main.yaml.fleet-tmp"));

  ASSERT_TRUE(restore_files(rules, d / "backup", err)) << err;
  EXPECT_EQ(read_file(rules / "main.yaml"), "old rules\n");
  EXPECT_EQ(read_file(rules / "lists/a.txt"), "old a\n");
  EXPECT_FALSE(fs::exists(rules / "lists/sub/b.txt"));  // created by the install: removed
  EXPECT_EQ(read_file(rules / "lists/untouched.txt"), "keep\n");
}

}  // namespace
}  // namespace sipwall::fleet
