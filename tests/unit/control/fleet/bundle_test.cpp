#include "control/fleet/bundle.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipwall::fleet {
namespace {

using nlohmann::json;

Manifest sample() {
  Manifest m;
  m.seq = 7;
  m.name = "fleet";
  m.version = "2026-12-07.1";
  m.checksum = "20e01fae2522958d";
  m.published_at = "2026-12-07T08:00:00.000Z";
  m.publisher = "ops@lab";
  m.files.push_back({"main.yaml", 5, content_hash("rules")});
  m.files.push_back({"lists/blocked.txt", 3, content_hash("abc")});
  return m;
}

TEST(Bundle, ContentHashIsXxh64) {
  // XXH64 test vectors (seed 0).
  EXPECT_EQ(content_hash(""), "ef46db3751d8e999");
  EXPECT_EQ(content_hash("abc"), "44bc2cf5ad770999");
}

TEST(Bundle, ManifestRoundTrips) {
  std::string why;
  auto m = parse_manifest(encode_manifest(sample()), 1 << 20, why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->seq, 7u);
  EXPECT_EQ(m->checksum, "20e01fae2522958d");
  ASSERT_EQ(m->files.size(), 2u);
  EXPECT_EQ(m->files[1].path, "lists/blocked.txt");
  EXPECT_EQ(m->total_bytes(), 8u);
}

TEST(Bundle, PathsThatCouldLeaveTheRulesFolderAreRefused) {
  for (const char* p : {"/etc/passwd", "../x", "lists/../../x", "a//b", "lists/", ".", "a/./b", "a\\b", "a\nb", ""})
    EXPECT_TRUE(path_problem(p, false)) << p;
  EXPECT_FALSE(path_problem("lists/blocked.txt", false));
  EXPECT_FALSE(path_problem("..hidden/x", false));     // a name starting with dots is a name
  EXPECT_TRUE(path_problem("lists/main.yaml", true));  // the rule file is a plain name
  EXPECT_TRUE(path_problem(std::string(kMaxPathBytes + 1, 'a'), false));

  for (const char* p : {"../../etc/cron.d/x", "/tmp/x"}) {
    json j = json::parse(encode_manifest(sample()));
    j["files"][1]["path"] = p;
    std::string why;
    EXPECT_FALSE(parse_manifest(j.dump(), 1 << 20, why)) << p;
    EXPECT_NE(why.find("manifest: file"), std::string::npos) << why;
  }
}

TEST(Bundle, MalformedManifestsAreRefusedWithAReason) {
  const std::string good = encode_manifest(sample());
  auto refused = [](const json& j, const std::string& expect) {
    std::string why;
    EXPECT_FALSE(parse_manifest(j.dump(), 1 << 20, why)) << j.dump();
    EXPECT_NE(why.find(expect), std::string::npos) << why;
  };
  std::string why;
  EXPECT_FALSE(parse_manifest("not json", 1 << 20, why));
  EXPECT_FALSE(parse_manifest("[1,2]", 1 << 20, why));
  json j = json::parse(good);
  j["format"] = 2;
  refused(j, "format");
  j = json::parse(good);
  j["seq"] = "7";
  refused(j, "seq");
  j = json::parse(good);
  j["seq"] = 0;
  refused(j, "seq");
  j = json::parse(good);
  j["checksum"] = "XYZ";
  refused(j, "checksum");
  j = json::parse(good);
  j["name"] = std::string("a\x1b[2Jb");
  refused(j, "control character");
  j = json::parse(good);
  j["files"] = json::array();
  refused(j, "files");
  j = json::parse(good);
  j["files"][1]["path"] = "main.yaml";
  refused(j, "listed twice");
  j = json::parse(good);
  j["files"][1]["bytes"] = -1;
  refused(j, "needs path");
  j = json::parse(good);
  j["files"][1]["xxh64"] = "0";
  refused(j, "xxh64");
  j = json::parse(good);
  j["files"][1]["bytes"] = 2u << 20;
  refused(j, "fleet.max_bundle_mb");
  j = json::parse(good);
  j["files"] = json::array();
  for (std::size_t i = 0; i <= kMaxBundleFiles; ++i)
    j["files"].push_back(json{{"path", "f" + std::to_string(i)}, {"bytes", 0}, {"xxh64", content_hash("")}});
  refused(j, "more than");
}

TEST(Bundle, ContentMustMatchItsManifestEntry) {
  const Manifest m = sample();
  std::string why;
  EXPECT_TRUE(verify_content(m.files[1], "abc", why)) << why;
  EXPECT_FALSE(verify_content(m.files[1], "abd", why));  // same size, other bytes
  EXPECT_NE(why.find("XXH64"), std::string::npos) << why;
  EXPECT_FALSE(verify_content(m.files[1], "ab", why));  // cut short
  EXPECT_NE(why.find("2 bytes in Redis"), std::string::npos) << why;
}

}  // namespace
}  // namespace sipwall::fleet
