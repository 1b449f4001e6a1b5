// The versioned artifact store: every rule set sipwall-control compiled, as
// <store>/<version>-<checksum>.swr plus <same>.meta.json (what `status`,
// `history` and `rollback` need without loading the artifact), and the
// history of every reload attempt in <store>/history.jsonl.
//
// Files appear atomically: the compiler writes a staging file in the store
// (rules::save_artifact: temp + fsync + rename), commit() renames it to its
// final name. The store keeps the newest `keep` artifacts; the one running
// and the one wanted are never pruned.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sipwall::control {

struct StoredArtifact {
  std::filesystem::path path;
  std::string version;   // from the meta file, else from the file name
  std::string checksum;  // 16 hex digits
  std::int64_t mtime_ns = 0;
};

// "2024-06-01.1" -> "2024-06-01.1"; anything but [A-Za-z0-9._+-] becomes '_' (max 64 chars).
std::string safe_version(const std::string& version);

class ArtifactStore {
 public:
  explicit ArtifactStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  ~ArtifactStore();
  ArtifactStore(const ArtifactStore&) = delete;
  ArtifactStore& operator=(const ArtifactStore&) = delete;

  // Creates the directory, takes the store's lock (one sipwall-control per
  // store: a second one would delete the first one's staging files and race
  // its commits) and removes staging files a crash left behind.
  bool init(std::string& error);
  const std::filesystem::path& dir() const noexcept { return dir_; }

  // A fresh staging path inside the store (same file system: rename is atomic).
  std::filesystem::path staging_path();
  // Renames `staged` to <version>-<checksum>.swr (an identical artifact already
  // there is replaced) and writes its meta file. `final_path` is set.
  bool commit(const std::filesystem::path& staged, const std::string& version, const std::string& checksum,
              const nlohmann::json& meta, std::filesystem::path& final_path, std::string& error);
  // Marks an artifact as just used (its age decides pruning).
  void touch(const std::filesystem::path& artifact);

  std::vector<StoredArtifact> list() const;  // newest first
  std::optional<nlohmann::json> meta(const std::filesystem::path& artifact) const;

  // Deletes all but the newest `keep` artifacts (and their meta files); never
  // one in `protect`. Returns what it deleted.
  std::vector<std::filesystem::path> prune(unsigned keep, const std::set<std::filesystem::path>& protect);

  // VERSION as an operator types it: a file name (with or without .swr), a
  // rule-set version, "<version>-<checksum>", or a checksum prefix (>= 4 hex
  // digits). Several artifacts of the same version (edited without bumping
  // it) are ambiguous: *why lists them.
  std::optional<StoredArtifact> find(const std::string& what, std::string* why) const;

 private:
  std::filesystem::path dir_;
  std::uint64_t staging_seq_ = 0;
  int lock_fd_ = -1;  // <store>/.lock, flock()ed while this process lives
};

// history.jsonl: one JSON object per reload attempt, oldest first. Trimmed to
// the newest `max_entries` (rewritten atomically) when it grows 10 % past it.
class History {
 public:
  History(std::filesystem::path path, std::size_t max_entries) : path_(std::move(path)), max_(max_entries) {}
  bool append(const nlohmann::json& entry, std::string& error);
  // The newest `limit` entries (0: all), oldest first.
  std::vector<nlohmann::json> read(std::size_t limit = 0) const;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  std::size_t max_;
  std::optional<std::size_t> lines_;  // counted on first append
};

}  // namespace sipwall::control
