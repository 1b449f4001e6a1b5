#include "control/daemon/file_watcher.h"

#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

namespace sipwall::control {
namespace fs = std::filesystem;

namespace {
// Every way a file in a directory can change: written (each write: IN_MODIFY,
// so the debounce restarts while a big list file is being written), closed
// after writing, renamed in or out, created, deleted, touched (IN_ATTRIB:
// `touch rules.yaml` is how ops force a reload).
constexpr std::uint32_t kDirMask = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                   IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
}  // namespace

FileWatcher::~FileWatcher() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileWatcher::init(std::string& error) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void FileWatcher::watch(const std::vector<fs::path>& files, std::vector<std::string>& problems) {
  std::map<fs::path, std::set<std::string>> want;
  files_.clear();
  for (const fs::path& f : files) {
    std::error_code ec;
    fs::path abs = fs::absolute(f, ec).lexically_normal();
    if (ec) continue;
    files_.insert(abs);
    want[abs.parent_path()].insert(abs.filename().string());
    // A symlinked rule file (rules.yaml -> releases/42/rules.yaml): a change
    // of the target counts too.
    if (fs::is_symlink(abs, ec)) {
      fs::path target = fs::canonical(abs, ec);
      if (!ec) want[target.parent_path()].insert(target.filename().string());
    }
  }
  // Drop watches on directories no longer needed.
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (!want.count(it->second)) {
      ::inotify_rm_watch(fd_, it->first);
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  std::set<fs::path> watched;
  for (const auto& [wd, dir] : dirs_) watched.insert(dir);
  for (const auto& [dir, names] : want) {
    if (watched.count(dir)) continue;
    int wd = ::inotify_add_watch(fd_, dir.c_str(), kDirMask);
    if (wd < 0) {
      problems.push_back("cannot watch " + dir.string() + ": " + std::strerror(errno));
      continue;
    }
    dirs_[wd] = dir;
  }
  names_ = std::move(want);
}

bool FileWatcher::read_events(std::vector<std::string>& changed) {
  bool relevant = false;
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;
        changed.push_back("(inotify queue overflow)");
        continue;
      }
      auto d = dirs_.find(ev->wd);
      if (d == dirs_.end()) continue;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        // The directory itself went away: the next watch() adds it again if it is back.
        relevant = true;
        changed.push_back(d->second.string() + "/");
        if (ev->mask & IN_IGNORED) dirs_.erase(d);
        continue;
      }
      if (ev->len == 0) continue;
      std::string name(ev->name);
      auto names = names_.find(d->second);
      if (names != names_.end() && names->second.count(name)) {
        relevant = true;
        changed.push_back((d->second / name).string());
      }
    }
  }
  return relevant;
}

}  // namespace sipwall::control
