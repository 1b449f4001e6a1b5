#include "control/daemon/artifact_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kStagingPrefix = ".staging-";
constexpr const char* kMetaSuffix = ".meta.json";

bool is_hex(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

fs::path meta_path(const fs::path& artifact) {
  return artifact.string() + kMetaSuffix;
}

std::int64_t mtime_ns(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Writes `text` to `path` atomically (temp file, fsync, rename).
bool write_atomic(const fs::path& path, const std::string& text, std::string& error) {
  fs::path tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  const char* p = text.data();
  std::size_t left = text.size();
  while (left) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = tmp.string() + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

// "<safe version>-<16 hex>.swr" -> {version, checksum}.
bool parse_name(const std::string& name, std::string& version, std::string& checksum) {
  if (name.size() < 4 + 17 + 1 || name.compare(name.size() - 4, 4, ".swr") != 0) return false;
  std::string stem = name.substr(0, name.size() - 4);
  std::size_t dash = stem.rfind('-');
  if (dash == std::string::npos || stem.size() - dash - 1 != 16) return false;
  checksum = stem.substr(dash + 1);
  version = stem.substr(0, dash);
  return is_hex(checksum) && !version.empty();
}

}  // namespace

std::string safe_version(const std::string& version) {
  std::string out;
  for (char c : version.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '+' || c == '-';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(0, "v");  // never a hidden file, never empty
  return out;
}

ArtifactStore::~ArtifactStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool ArtifactStore::init(std::string& error) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    error = dir_.string() + ": " + ec.message();
    return false;
  }
  if (lock_fd_ < 0) {
    fs::path lock = dir_ / ".lock";
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (lock_fd_ < 0) {
      error = lock.string() + ": " + std::strerror(errno);
      return false;
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      ::close(lock_fd_);
      lock_fd_ = -1;
      error = e == EWOULDBLOCK ? "the store " + dir_.string() + " is in use by another sipwall-control"
                               : lock.string() + ": " + std::strerror(e);
      return false;
    }
  }
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(kStagingPrefix, 0) == 0 || (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0))
      fs::remove(e.path(), ec);
  }
  return true;
}

fs::path ArtifactStore::staging_path() {
  return dir_ /
         (std::string(kStagingPrefix) + std::to_string(::getpid()) + "-" + std::to_string(++staging_seq_) + ".swr");
}

bool ArtifactStore::commit(const fs::path& staged, const std::string& version, const std::string& checksum,
                           const json& meta, fs::path& final_path, std::string& error) {
  if (!is_hex(checksum) || checksum.size() != 16) {
    error = "bad checksum '" + checksum + "'";
    return false;
  }
  fs::path dest = dir_ / (safe_version(version) + "-" + checksum + ".swr");
  // Meta first: an artifact never exists without its meta file.
  if (!write_atomic(meta_path(dest), meta.dump(2) + "\n", error)) return false;
  if (::rename(staged.c_str(), dest.c_str()) != 0) {
    error = "rename " + staged.string() + " -> " + dest.string() + ": " + std::strerror(errno);
    return false;
  }
  // Make the rename durable before anyone (the data plane) is told about it.
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  touch(dest);
  final_path = dest;
  return true;
}

void ArtifactStore::touch(const fs::path& artifact) {
  ::utimensat(AT_FDCWD, artifact.c_str(), nullptr, 0);
}

std::optional<json> ArtifactStore::meta(const fs::path& artifact) const {
  std::ifstream in(meta_path(artifact));
  if (!in) return std::nullopt;
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::vector<StoredArtifact> ArtifactStore::list() const {
  std::vector<StoredArtifact> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    StoredArtifact a;
    if (!parse_name(name, a.version, a.checksum)) continue;
    a.path = e.path();
    a.mtime_ns = mtime_ns(a.path);
    if (auto m = meta(a.path); m && m->contains("version") && (*m)["version"].is_string())
      a.version = (*m)["version"].get<std::string>();
    out.push_back(std::move(a));
  }
  std::sort(out.begin(), out.end(), [](const StoredArtifact& x, const StoredArtifact& y) {
    return x.mtime_ns != y.mtime_ns ? x.mtime_ns > y.mtime_ns : x.path > y.path;
  });
  return out;
}

std::vector<fs::path> ArtifactStore::prune(unsigned keep, const std::set<fs::path>& protect) {
  std::vector<fs::path> removed;
  std::vector<StoredArtifact> all = list();
  unsigned kept = 0;
  for (const StoredArtifact& a : all) {
    bool prot = protect.count(a.path) > 0;
    if (prot || kept < keep) {
      ++kept;
      continue;
    }
    std::error_code ec;
    fs::remove(a.path, ec);
    fs::remove(meta_path(a.path), ec);
    removed.push_back(a.path);
  }
  return removed;
}

std::optional<StoredArtifact> ArtifactStore::find(const std::string& what, std::string* why) const {
  std::vector<StoredArtifact> all = list();
  std::vector<StoredArtifact> hits;
  std::string name = what;
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".swr") == 0) name.resize(name.size() - 4);
  for (const StoredArtifact& a : all) {
    std::string stem = a.path.filename().string();
    stem.resize(stem.size() - 4);
    if (stem == name || a.path.string() == what) return a;  // exact file: unambiguous
  }
  for (const StoredArtifact& a : all)
    if (a.version == what) hits.push_back(a);
  if (hits.empty() && what.size() >= 4 && is_hex(what))
    for (const StoredArtifact& a : all)
      if (a.checksum.compare(0, what.size(), what) == 0) hits.push_back(a);
  if (hits.size() == 1) return hits[0];
  if (why) {
    if (hits.empty()) {
      *why = "no artifact in " + dir_.string() + " matches '" + what + "'";
      if (!all.empty()) {
        *why += " (stored: ";
        for (std::size_t i = 0; i < all.size() && i < 10; ++i)
          *why += (i ? ", " : "") + all[i].version + " " + all[i].checksum;
        *why += all.size() > 10 ? ", ...)" : ")";
      }
    } else {
      *why = "'" + what + "' matches " + std::to_string(hits.size()) + " artifacts; name one by checksum:";
      for (const auto& h : hits) *why += " " + h.path.filename().string();
    }
  }
  return std::nullopt;
}

bool History::append(const json& entry, std::string& error) {
  if (!lines_) lines_ = read().size();
  std::string line = entry.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = path_.string() + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  if (!ok) error = path_.string() + ": " + std::strerror(errno);
  ::close(fd);
  if (!ok) return false;
  ++*lines_;
  if (*lines_ > max_ + max_ / 10) {
    std::vector<json> keep = read(max_);
    std::string text;
    for (const json& j : keep) text += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (!write_atomic(path_, text, error)) return false;
    lines_ = keep.size();
  }
  return true;
}

std::vector<json> History::read(std::size_t limit) const {
  std::vector<json> out;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  if (limit && out.size() > limit) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  return out;
}

}  // namespace sipwall::control
