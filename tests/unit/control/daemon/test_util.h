// Helpers for the control tests: a temporary directory removed at the end,
// reading and writing whole files, where the sources are.
#pragma once

#include <filesystem>
#include <string>

namespace sipwall::control::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
std::filesystem::path source_dir();  // SIPWALL_SOURCE_DIR, else the build-time default

}  // namespace sipwall::control::test
