#include "control/records/jsonl_file.h"

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipwall::control {

bool set_file_group(const std::string& path, const std::string& group, std::string& error) {
  if (group.empty()) return true;
  struct group* g = ::getgrnam(group.c_str());
  if (g == nullptr) {
    error = "group '" + group + "' does not exist";
    return false;
  }
  if (::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
    error = "chgrp " + group + " " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void JsonlFile::close() {
  if (f_ != nullptr) std::fclose(f_);
  f_ = nullptr;
}

bool JsonlFile::open(const std::string& path, const std::string& group, std::string& error) {
  close();
  path_ = path;
  group_ = group;
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  f_ = ::fdopen(fd, "a");
  if (f_ == nullptr) {
    error = path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::string why;
  if (!set_file_group(path, group, why)) error = why;  // written anyway, 0640 to the owner's group
  return true;
}

bool JsonlFile::write(const std::vector<std::string>& lines, std::string& error) {
  if (f_ == nullptr) return true;
  for (const std::string& l : lines) {
    std::fwrite(l.data(), 1, l.size(), f_);
    std::fputc('\n', f_);
  }
  if (std::fflush(f_) != 0 || std::ferror(f_)) {
    error = path_ + ": " + std::strerror(errno);
    std::clearerr(f_);
    return false;
  }
  lines_ += lines.size();
  return true;
}

}  // namespace sipwall::control
