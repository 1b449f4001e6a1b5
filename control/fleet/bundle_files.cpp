#include "control/fleet/bundle_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "rules/io/file_input.h"

namespace sipwall::fleet {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCreatedList = "created.txt";  // in the backup folder: files the install created
constexpr const char* kSavedDir = "saved";           // in the backup folder: files it replaced

bool fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool write_file_atomically(const fs::path& path, std::string_view content, std::string& error) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    error = path.parent_path().string() + ": " + ec.message();
    return false;
  }
  const fs::path tmp = path.string() + ".fleet-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    error = tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = tmp.string() + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = tmp.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path.string() + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  fsync_dir(path.parent_path());
  return true;
}

bool read_local_bundle(const fs::path& rule_file, const std::vector<std::string>& list_files, LocalBundle& out,
                       std::string& error) {
  out = LocalBundle{};
  const fs::path dir = fs::weakly_canonical(fs::absolute(rule_file)).parent_path();
  auto add = [&](const fs::path& file, const std::string& rel, const io::FileKind& kind) {
    std::string content;
    if (!io::read_whole_file(file.string(), kind, content, error)) return false;
    BundleFile f;
    f.path = rel;
    f.bytes = content.size();
    f.xxh64 = content_hash(content);
    out.manifest.files.push_back(std::move(f));
    out.contents.push_back(std::move(content));
    return true;
  };
  if (!add(rule_file, rule_file.filename().string(), io::kRuleFile)) return false;
  for (const std::string& l : list_files) {
    const fs::path abs = fs::weakly_canonical(fs::absolute(l));
    const fs::path rel = abs.lexically_relative(dir);
    const std::string r = rel.generic_string();
    if (auto why = path_problem(r, false); why || r.rfind("../", 0) == 0) {
      error = l + ": a published list file must lie under the rule file's folder " + dir.string();
      return false;
    }
    if (!add(abs, r, io::kListFile)) return false;
  }
  if (out.manifest.files.size() > kMaxBundleFiles) {
    error = "more than " + std::to_string(kMaxBundleFiles) + " files in the rule set";
    return false;
  }
  return true;
}

bool install_files(const fs::path& rules_dir, const std::string& rule_file_name, const Manifest& m,
                   const std::vector<std::string>& contents, const fs::path& backup_dir, std::string& error) {
  std::error_code ec;
  fs::remove_all(backup_dir, ec);
  fs::create_directories(backup_dir / kSavedDir, ec);
  if (ec) {
    error = backup_dir.string() + ": " + ec.message();
    return false;
  }
  // The targets, rule file last: a reader that sees the new rule file sees its new lists.
  std::vector<std::pair<std::string, std::size_t>> order;  // relative path, index in the bundle
  for (std::size_t i = 1; i < m.files.size(); ++i) order.emplace_back(m.files[i].path, i);
  order.emplace_back(rule_file_name, 0);

  std::string created;
  for (const auto& [rel, i] : order) {
    const fs::path target = rules_dir / rel;
    if (fs::is_regular_file(target, ec)) {
      std::string old;
      if (!io::read_whole_file(target.string(), i == 0 ? io::kRuleFile : io::kListFile, old, error)) return false;
      if (!write_file_atomically(backup_dir / kSavedDir / rel, old, error)) return false;
    } else {
      created += rel + "\n";
    }
  }
  if (!write_file_atomically(backup_dir / kCreatedList, created, error)) return false;
  for (const auto& [rel, i] : order)
    if (!write_file_atomically(rules_dir / rel, contents[i], error)) return false;
  return true;
}

bool restore_files(const fs::path& rules_dir, const fs::path& backup_dir, std::string& error) {
  std::error_code ec;
  const fs::path saved = backup_dir / kSavedDir;
  // The files replaced: list files first, then the rule file (the only one at the top without a folder of lists is
  // fine either way: a reload reads them all).
  for (auto it = fs::recursive_directory_iterator(saved, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const fs::path rel = it->path().lexically_relative(saved);
    std::string content;
    if (!io::read_whole_file(it->path().string(), io::kListFile, content, error)) return false;
    if (!write_file_atomically(rules_dir / rel, content, error)) return false;
  }
  std::string created;
  if (io::read_whole_file((backup_dir / kCreatedList).string(), io::kRuleFile, created, error)) {
    std::size_t start = 0;
    while (start < created.size()) {
      std::size_t end = created.find('\n', start);
      if (end == std::string::npos) end = created.size();
      const std::string rel = created.substr(start, end - start);
      if (!rel.empty() && !path_problem(rel, false)) fs::remove(rules_dir / rel, ec);
      start = end + 1;
    }
  }
  return true;
}

}  // namespace sipwall::fleet
