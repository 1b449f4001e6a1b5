#include "rules/compiled/artifact.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "rules/compiled/digit_order.h"
#include "rules/compiler/compiler.h"
#include "rules/number/e164_key.h"
#include "tests/unit/rules/compiled/rule_builders.h"

using namespace sipwall;
using namespace sipwall::rules;
using namespace sipwall::rules::test;

namespace {

// Header offsets (rules/compiled/artifact.cpp FileHeader).
constexpr std::size_t kVersionAt = 8, kPayloadAt = 16, kChecksumAt = 24, kFeaturesAt = 40, kHsVersionAt = 128;
constexpr std::size_t kHeader = 256;

class ArtifactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sipwall-artifact-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    SetBuilder b;
    std::vector<number::E164Key> many;
    for (std::uint64_t i = 0; i < 20000; ++i) many.push_back(number::pack(std::to_string(8613900000000ULL + i * 7)));
    b.exact_keys("complaints", many)
        .prefixes("premium", {"86168"})
        .ranges("block", {{"8675512340000", "8675512349999"}})
        .trunk("intl", "international", {SetBuilder::source("10.1.0.0/16"), SetBuilder::source("2001:db8::/32", 7)},
               {"86"})
        .rule("c", in_list(Field::caller, "complaints"), reject(608, "Reported", "https://j/x"), 5)
        .rule("ua", regex(Field::user_agent, {"(?i)sipvicious", "friendly-scanner"}), act(ActionKind::drop))
        .rule("h", header_regex("X-Campaign", {"^robo"}), tag("X-Risk", "{rule}:{score}", 50))
        .rule("spoof", all({equals(Field::trunk_class, {"international"}), trunk_ranges(false)}),
              act(ActionKind::drop));
    b.rs.guard_rails.emergency = {"110", "119"};
    const CompileResult r = compile(b.rs);
    ASSERT_TRUE(r.ok());
    set_ = std::move(*r.set);
    path_ = (dir_ / "rules.swr").string();
    const ArtifactSaveResult s = save_artifact(set_, path_);
    ASSERT_TRUE(s.ok) << s.error;
    std::ifstream f(path_, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(f), {});
    ASSERT_EQ(bytes_.size(), s.bytes);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Rewrites the header checksum so only the field under test is "wrong".
  static void fix_checksum(std::string& b) {
    std::uint64_t zero = 0;
    std::string header = b.substr(0, kHeader);
    std::memcpy(header.data() + kChecksumAt, &zero, 8);
    const std::uint64_t ph = XXH3_64bits(b.data() + kHeader, b.size() - kHeader);
    const std::uint64_t sum = XXH3_64bits_withSeed(header.data(), kHeader, ph);
    std::memcpy(b.data() + kChecksumAt, &sum, 8);
  }

  std::filesystem::path dir_;
  std::string path_;
  std::string bytes_;
  CompiledRuleSet set_;
};

}  // namespace

TEST_F(ArtifactTest, RoundTripKeepsEverything) {
  const ArtifactLoadResult l = load_artifact(path_);
  ASSERT_TRUE(l.ok()) << l.message;
  const CompiledRuleSet& s = *l.set;
  EXPECT_EQ(l.error, ArtifactError::none);
  EXPECT_EQ(s.checksum(), set_.checksum());
  EXPECT_EQ(s.version(), set_.version());
  EXPECT_EQ(s.rule_count(), set_.rule_count());
  for (std::size_t i = 0; i < s.rule_count(); ++i) EXPECT_EQ(s.rule_id(i), set_.rule_id(i));
  EXPECT_EQ(s.named_list_count(), set_.named_list_count());
  EXPECT_EQ(s.str(s.rule_action(0).call_info_line), "Call-Info: <https://j/x>;purpose=jwscard");
  for (std::uint64_t i = 0; i < 20000; i += 13) {
    const auto k = number::pack(std::to_string(8613900000000ULL + i));
    EXPECT_EQ(s.exact_table().find(k), set_.exact_table().find(k));
  }
  EXPECT_EQ(s.range_map().find(number::pack("8675512345678")), set_.range_map().find(number::pack("8675512345678")));
  EXPECT_NE(s.range_map().find(number::pack("8675512345678")), 0U);
  EXPECT_NE(s.prefix_map().find(order_key("8616812345678")), 0U);
  EXPECT_TRUE(s.is_emergency(number::pack("119")));
  EXPECT_EQ(s.scan_targets().size(), 2U);
  EXPECT_NE(s.database(0), nullptr);
  EXPECT_EQ(s.dial_plan(), set_.dial_plan());
  EXPECT_EQ(l.info.rule_set_version, "2024-05-01.1");
  EXPECT_EQ(l.info.content_checksum, set_.checksum());
  // No temporary file is left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1U);
}

TEST_F(ArtifactTest, SaveReplacesAnExistingFile) {
  ASSERT_TRUE(save_artifact(set_, path_).ok);
  const ArtifactLoadResult l = load_artifact(path_);
  ASSERT_TRUE(l.ok()) << l.message;
}

TEST_F(ArtifactTest, EveryCorruptedByteIsCaught) {
  // Flip one byte at a spread of positions (header fields and payload).
  for (std::size_t pos = 0; pos < bytes_.size(); pos += bytes_.size() / 97 + 1) {
    std::string b = bytes_;
    b[pos] = static_cast<char>(b[pos] ^ 0x5A);
    const ArtifactLoadResult l = load_artifact_bytes(b, "x");
    ASSERT_FALSE(l.ok()) << "byte " << pos;
    if (pos >= kHeader) {
      EXPECT_EQ(l.error, ArtifactError::checksum_mismatch) << "byte " << pos;
    }
  }
  std::string b = bytes_;
  b[bytes_.size() / 2] ^= 1;
  const ArtifactLoadResult l = load_artifact_bytes(b, "a.swr");
  EXPECT_EQ(l.error, ArtifactError::checksum_mismatch);
  EXPECT_EQ(l.message.rfind("a.swr: checksum mismatch (stored ", 0), 0U) << l.message;
}

TEST_F(ArtifactTest, TruncatedFileIsRefused) {
  for (const std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{100}, kHeader, bytes_.size() - 1}) {
    const ArtifactLoadResult l = load_artifact_bytes(std::string_view(bytes_).substr(0, keep), "x");
    EXPECT_EQ(l.error, ArtifactError::truncated) << keep << ": " << l.message;
  }
}

TEST_F(ArtifactTest, WrongMagicIsRefused) {
  std::string b = bytes_;
  b[0] = 'X';
  EXPECT_EQ(load_artifact_bytes(b).error, ArtifactError::bad_magic);
  EXPECT_EQ(load_artifact_bytes("version: 1\nrules: []\n").error, ArtifactError::bad_magic);
}

TEST_F(ArtifactTest, WrongFormatVersionIsRefused) {
  std::string b = bytes_;
  const std::uint32_t v = 99;
  std::memcpy(b.data() + kVersionAt, &v, 4);
  fix_checksum(b);
  const ArtifactLoadResult l = load_artifact_bytes(b, "x");
  EXPECT_EQ(l.error, ArtifactError::unsupported_format);
  EXPECT_NE(l.message.find("format 99, this build reads " + std::to_string(kArtifactFormatVersion)), std::string::npos)
      << l.message;
}

TEST_F(ArtifactTest, OtherPlatformIsRefused) {
  {
    std::string b = bytes_;
    std::memcpy(b.data() + kHsVersionAt, "4.7.0", 6);
    fix_checksum(b);
    const ArtifactLoadResult l = load_artifact_bytes(b, "x");
    EXPECT_EQ(l.error, ArtifactError::platform_mismatch);
    EXPECT_NE(l.message.find("built with Hyperscan 4.7.0"), std::string::npos) << l.message;
  }
  {
    std::string b = bytes_;
    std::uint64_t f = 0;
    std::memcpy(&f, b.data() + kFeaturesAt, 8);
    f |= std::uint64_t{1} << 40;  // a CPU feature no machine has
    std::memcpy(b.data() + kFeaturesAt, &f, 8);
    fix_checksum(b);
    EXPECT_EQ(load_artifact_bytes(b, "x").error, ArtifactError::platform_mismatch);
  }
}

TEST_F(ArtifactTest, MissingFileIsAnIoError) {
  const ArtifactLoadResult l = load_artifact((dir_ / "nope.swr").string());
  EXPECT_EQ(l.error, ArtifactError::io);
  EXPECT_NE(l.message.find("No such file"), std::string::npos) << l.message;
}

TEST_F(ArtifactTest, InfoReadsTheHeaderOnly) {
  const ArtifactLoadResult l = read_artifact_info(path_);
  EXPECT_EQ(l.error, ArtifactError::none) << l.message;
  EXPECT_EQ(l.info.rule_set_version, "2024-05-01.1");
  EXPECT_EQ(l.info.format_version, kArtifactFormatVersion);
  EXPECT_FALSE(l.info.hs_version.empty());
  EXPECT_NE(l.info.build_info.find("sipwall"), std::string::npos);
  EXPECT_EQ(l.info.file_bytes, bytes_.size());
  EXPECT_EQ(l.set, nullptr);
}

// Issue 12: payload_bytes near 2^64 made the message add header + payload
// and print a wrapped number.
TEST_F(ArtifactTest, HugePayloadSizeIsReportedAsWritten) {
  std::string b = bytes_;
  const std::uint64_t huge = ~std::uint64_t{0};
  std::memcpy(b.data() + kPayloadAt, &huge, 8);
  fix_checksum(b);
  const ArtifactLoadResult l = load_artifact_bytes(b, "x");
  EXPECT_EQ(l.error, ArtifactError::truncated);
  EXPECT_NE(l.message.find("the header says 256 + a payload of 18446744073709551615"), std::string::npos) << l.message;
}

// Issue 12: a FIFO hung `load` (on the data plane's main lcore) and
// `explain`; /dev/zero or a 3 GB file ran for minutes. Refused at once now,
// by type or by size, before anything is read.
TEST_F(ArtifactTest, OnlyRegularFilesOfBoundedSizeAreRead) {
  const auto fifo = dir_ / "fifo.swr";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ArtifactLoadResult l = load_artifact(fifo.string());  // before: blocked in open() until a writer came
  EXPECT_EQ(l.error, ArtifactError::io);
  EXPECT_EQ(l.message, fifo.string() + ": i/o error (a FIFO, not a regular file)");
  EXPECT_FALSE(is_artifact_file(fifo.string()));

  l = load_artifact("/dev/zero");
  EXPECT_EQ(l.message, "/dev/zero: i/o error (a character device, not a regular file)");

  const auto big = dir_ / "big.swr";  // sparse: nothing written to disk
  std::filesystem::copy_file(path_, big);
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(3) << 30), 0);
  l = load_artifact(big.string());
  EXPECT_EQ(l.error, ArtifactError::io);
  EXPECT_EQ(l.message, big.string() + ": i/o error (3 GiB, more than the 2 GiB an artifact may have)");
  EXPECT_TRUE(is_artifact_file(big.string()));  // the magic is there; the size is what is wrong

  // Within the limit but not what the header says: refused after reading
  // the header only.
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(1) << 30), 0);
  l = load_artifact(big.string());
  EXPECT_EQ(l.error, ArtifactError::malformed);
  EXPECT_NE(l.message.find(" bytes after the payload"), std::string::npos) << l.message;
}
