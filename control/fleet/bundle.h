// A published rule set as it travels through Redis: a manifest (JSON: the
// fleet version number, the rule set's name, version and compiled checksum,
// who published it and when, and for every file its path, size and XXH64)
// and the files' bytes. files[0] is the rule file, the others are its list
// files by their path relative to the rule file's folder, as the rule file
// names them.
//
// What comes back from Redis is outside input: parse_manifest() refuses any
// field of the wrong type, a path that could leave the rules folder
// (absolute, "..", control characters), too many or too big files, and
// verify_content() refuses bytes that do not match the manifest (a bundle
// cut short, overwritten, or mixed with another). The XXH64 sums catch
// corruption and mix-ups, not an attacker: whoever may write to Redis may
// publish a rule set anyway (docs/fleet.md, "Security").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipwall::fleet {

inline constexpr int kBundleFormat = 1;
inline constexpr std::size_t kMaxBundleFiles = 4096;
inline constexpr std::size_t kMaxPathBytes = 1024;
inline constexpr std::uint64_t kMaxManifestBytes = 4u << 20;

struct BundleFile {
  std::string path;  // files[0]: the rule file's name; others: relative to its folder
  std::uint64_t bytes = 0;
  std::string xxh64;  // 16 hex digits of the content
};

struct Manifest {
  int format = kBundleFormat;
  std::uint64_t seq = 0;                // the fleet version: 1, 2, 3 ... (INCR in Redis)
  std::string name, version, checksum;  // the compiled rule set's (checksum: 16 hex digits)
  std::string published_at, publisher;  // ISO 8601 UTC; "user@host"
  std::vector<BundleFile> files;
  std::uint64_t total_bytes() const noexcept;
};

// 16 lower-case hex digits of XXH64(content, seed 0).
std::string content_hash(std::string_view content);

// Why `path` may not be a list file's path in a bundle, or nullopt: it must
// be relative, without "." or ".." components or empty ones, of at most
// kMaxPathBytes, with printable characters only. `rule_file`: a plain name.
std::optional<std::string> path_problem(std::string_view path, bool rule_file);

std::string encode_manifest(const Manifest& m);
// nullopt with `why` set when the text is not a manifest this build accepts
// (or its files exceed `max_total_bytes`).
std::optional<Manifest> parse_manifest(std::string_view text, std::uint64_t max_total_bytes, std::string& why);
// Does `content` match file `f` of the manifest (size, then hash)?
bool verify_content(const BundleFile& f, std::string_view content, std::string& why);

}  // namespace sipwall::fleet
