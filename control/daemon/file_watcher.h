// Watches the rule file and the list files it references for changes.
//
// inotify watches the DIRECTORIES, not the files: editors and deploy tools
// save by writing a new file and renaming it over the old one (the old
// inode, and a watch on it, goes away), and a list file named in the YAML
// may not exist yet. Events are filtered by file name; the caller debounces.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sipwall::control {

class FileWatcher {
 public:
  FileWatcher() = default;
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  bool init(std::string& error);
  int fd() const noexcept { return fd_; }

  // Watch exactly these files from now on (a symlink: the link and its
  // target). Directories that cannot be watched are reported in `problems`.
  void watch(const std::vector<std::filesystem::path>& files, std::vector<std::string>& problems);
  const std::set<std::filesystem::path>& files() const noexcept { return files_; }

  // Reads every pending event. True if one concerned a watched file (its
  // path is added to `changed`), a watched directory went away, or events
  // were lost (queue overflow): in all three cases a reload is due.
  bool read_events(std::vector<std::string>& changed);

 private:
  int fd_ = -1;
  std::map<int, std::filesystem::path> dirs_;                     // watch descriptor -> directory
  std::map<std::filesystem::path, std::set<std::string>> names_;  // directory -> file names
  std::set<std::filesystem::path> files_;
};

}  // namespace sipwall::control
