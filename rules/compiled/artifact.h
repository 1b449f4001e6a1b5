// The compiled rule set as one file, so the data plane can load a set the
// control process compiled (and restart with the last good one) without
// compiling anything.
//
// File layout (little-endian):
//   header, 256 bytes: magic "SIPWALLR", format version, payload size,
//     checksum, content checksum, creation time, the rule-set version, and
//     the platform it was built for (Hyperscan version, Hyperscan CPU feature
//     set and tuning, sipwall version and compiler);
//   payload: tagged sections {u32 tag, u32 0, u64 bytes, bytes, pad to 8}:
//     the flat arrays of the set (rules/compiled/sections.h) and one
//     hs_serialize_database() blob per Hyperscan database.
// checksum = XXH3_64bits_withSeed(header with checksum 0, XXH3_64bits(payload)),
// so a flipped byte anywhere is caught.
//
// Writing goes to a temporary file in the same directory, fsync, rename,
// fsync of the directory: a reader sees the old file or the new one, never
// half of one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::rules {

inline constexpr std::uint32_t kArtifactFormatVersion = 2;  // 2: tag label and verstat in ActionInfo
inline constexpr char kArtifactMagic[8] = {'S', 'I', 'P', 'W', 'A', 'L', 'L', 'R'};

enum class ArtifactError : std::uint8_t {
  none,
  io,                  // cannot open / read / write the file
  bad_magic,           // not a sipwall rule-set artifact
  unsupported_format,  // written by a build with another artifact format version
  truncated,           // shorter than its header says
  checksum_mismatch,   // the bytes are not what was written
  platform_mismatch,   // Hyperscan version or CPU features differ, or the DB is refused
  malformed,           // checksum fine but the content is inconsistent (a bug)
};
std::string_view to_string(ArtifactError e) noexcept;

// What the header says (readable without loading the set).
struct ArtifactInfo {
  std::uint32_t format_version = 0;
  std::string rule_set_version;
  std::string hs_version;             // hs_version() of the compiling build
  std::string build_info;             // "sipwall 0.1.0; gcc 12.2.0; x86_64"
  std::uint64_t hs_cpu_features = 0;  // HS_CPU_FEATURES_* the databases were built for
  std::uint32_t hs_tune = 0;
  std::uint64_t content_checksum = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::int64_t created_unix = 0;
};

struct ArtifactSaveResult {
  bool ok = false;
  std::string error;  // "path: reason" when !ok
  std::uint64_t bytes = 0;
};
ArtifactSaveResult save_artifact(const CompiledRuleSet& set, const std::string& path);

struct ArtifactLoadResult {
  std::unique_ptr<CompiledRuleSet> set;  // null on error
  ArtifactError error = ArtifactError::none;
  std::string message;  // "path: checksum mismatch (...)" when error != none
  ArtifactInfo info;    // filled as far as the header could be read
  bool ok() const noexcept { return set != nullptr; }
};
ArtifactLoadResult load_artifact(const std::string& path);
// Same checks on bytes in memory (`name` is used in messages).
ArtifactLoadResult load_artifact_bytes(std::string_view bytes, std::string_view name = "<memory>");

// Header, size and checksum only (no set is built; `set` stays null and
// ok() false): whether `bytes` are an artifact exactly as it was written,
// and which (info.content_checksum). error is none when they are.
ArtifactLoadResult check_artifact_bytes(std::string_view bytes, std::string_view name);

// Header only: identity and platform of an artifact, no payload checks.
ArtifactLoadResult read_artifact_info(const std::string& path);

// Whether `path` is a regular file that starts with the artifact magic (the
// CLI takes an artifact or a YAML rule file in the same place). False for
// anything that cannot be opened as a regular file: the YAML loader then
// says why.
bool is_artifact_file(const std::string& path);

}  // namespace sipwall::rules
