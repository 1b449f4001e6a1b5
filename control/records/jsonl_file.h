// The optional JSON-lines file of call records for a SIEM (records.jsonl in
// control.yaml; docs/records.md): one object per record, appended, created
// 0640; reopen() after logrotate moved it (the daemon calls it on SIGHUP).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace sipwall::control {

class JsonlFile {
 public:
  JsonlFile() = default;
  JsonlFile(const JsonlFile&) = delete;
  JsonlFile& operator=(const JsonlFile&) = delete;
  ~JsonlFile() { close(); }

  // Opens (creating 0640, owned by `group` if not empty) for appending.
  bool open(const std::string& path, const std::string& group, std::string& error);
  bool reopen(std::string& error) { return open(path_, group_, error); }
  void close();
  bool is_open() const noexcept { return f_ != nullptr; }
  // Each string one line (no newline inside: text::dump_json makes none).
  bool write(const std::vector<std::string>& lines, std::string& error);
  std::uint64_t lines_written() const noexcept { return lines_; }

 private:
  std::string path_, group_;
  std::FILE* f_ = nullptr;
  std::uint64_t lines_ = 0;
};

// chgrp `path` to `group` (nothing if empty). False with *error.
bool set_file_group(const std::string& path, const std::string& group, std::string& error);

}  // namespace sipwall::control
