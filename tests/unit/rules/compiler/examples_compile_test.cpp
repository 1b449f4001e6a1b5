// The shipped example rule sets, through the real loader: every one must
// compile, survive an artifact round trip, and keep its checksum.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"

using namespace sipwall::rules;

TEST(Examples, EveryExampleCompilesAndRoundTrips) {
  const char* src = std::getenv("SIPWALL_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  const std::filesystem::path dir = std::filesystem::path(src) / "rules" / "examples";
  const auto tmp = std::filesystem::temp_directory_path() / ("sipwall-ex-" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    SCOPED_TRACE(e.path().string());
    const LoadResult loaded = load_rule_set(e.path());
    std::string diags;
    for (const auto& d : loaded.diagnostics) diags += format(d) + "\n";
    ASSERT_TRUE(loaded.ok()) << diags;
    const CompileResult c = compile(*loaded.rule_set);
    for (const auto& d : c.diagnostics) diags += format(d) + "\n";
    ASSERT_TRUE(c.ok()) << diags;
    EXPECT_EQ(c.set->rule_count(), loaded.rule_set->rules.size());
    const std::string art = (tmp / (e.path().stem().string() + ".swr")).string();
    ASSERT_TRUE(save_artifact(*c.set, art).ok);
    const ArtifactLoadResult l = load_artifact(art);
    ASSERT_TRUE(l.ok()) << l.message;
    EXPECT_EQ(l.set->checksum(), c.set->checksum());
    EXPECT_EQ(l.set->version(), loaded.rule_set->version);
  }
  std::filesystem::remove_all(tmp);
  EXPECT_GE(n, 5U);
}

// A checksum identifies content: the demo set and its lists copied into two
// different folders compile to the same checksum (the folder used to be part
// of every stored source place, issue 17).
TEST(Examples, ChecksumDoesNotDependOnTheFolder) {
  const char* src = std::getenv("SIPWALL_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  const std::filesystem::path examples = std::filesystem::path(src) / "rules" / "examples";
  const auto tmp = std::filesystem::temp_directory_path() / ("sipwall-ck-" + std::to_string(::getpid()));
  std::uint64_t sums[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const auto dir = tmp / (i == 0 ? "a" : "deeper/b");
    std::filesystem::create_directories(dir);
    std::filesystem::copy(examples, dir, std::filesystem::copy_options::recursive);
    const LoadResult loaded = load_rule_set(dir / "demo.yaml");
    ASSERT_TRUE(loaded.ok());
    const CompileResult c = compile(*loaded.rule_set);
    ASSERT_TRUE(c.ok());
    sums[i] = c.set->checksum();
  }
  std::filesystem::remove_all(tmp);
  EXPECT_EQ(sums[0], sums[1]);
}

// Nor on the rule file's name (issue 18): the demo set copied as demo.yaml in
// one folder and main.yaml in another compiles to one checksum, so a fleet
// compares versions whatever name each appliance gives its rule file.
// Diagnostics still name the real file.
TEST(Examples, ChecksumDoesNotDependOnTheRuleFilesName) {
  const char* src = std::getenv("SIPWALL_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  const std::filesystem::path examples = std::filesystem::path(src) / "rules" / "examples";
  const auto tmp = std::filesystem::temp_directory_path() / ("sipwall-nm-" + std::to_string(::getpid()));
  const char* names[2] = {"demo.yaml", "main.yaml"};
  std::uint64_t sums[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const auto dir = tmp / (i == 0 ? "a" : "other/b");
    std::filesystem::create_directories(dir);
    std::filesystem::copy(examples, dir, std::filesystem::copy_options::recursive);
    if (i == 1) std::filesystem::rename(dir / "demo.yaml", dir / names[1]);
    const LoadResult loaded = load_rule_set(dir / names[i]);
    ASSERT_TRUE(loaded.ok());
    const CompileResult c = compile(*loaded.rule_set);
    ASSERT_TRUE(c.ok());
    sums[i] = c.set->checksum();
    // A rule's stored place is line:col in the rule file, wherever that is.
    const std::string where(c.set->str(c.set->rule(0).where));
    EXPECT_EQ(where.find(".yaml"), std::string::npos) << where;
    EXPECT_NE(where.find(':'), std::string::npos) << where;
  }
  EXPECT_EQ(sums[0], sums[1]);
  // An error names the file by the path it was loaded from.
  const auto bad = tmp / "other/b/broken.yaml";
  std::filesystem::copy_file(tmp / "other/b/main.yaml", bad);
  {
    std::ofstream(bad, std::ios::app) << "  - id: dup-list-ref\n    match: {caller: {in: no_such_list}}\n"
                                      << "    action: {reject: {code: 603}}\n";
  }
  const LoadResult loaded = load_rule_set(bad);
  std::string all;
  if (loaded.ok()) {
    const CompileResult c = compile(*loaded.rule_set);
    for (const auto& d : c.diagnostics) all += format(d) + "\n";
  } else {
    for (const auto& d : loaded.diagnostics) all += format(d) + "\n";
  }
  EXPECT_NE(all.find(bad.string() + ":"), std::string::npos) << all;
  std::filesystem::remove_all(tmp);
}
