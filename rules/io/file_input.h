// Reading a whole file that came from outside: rule files, number-list files,
// rule-set artifacts, configuration files. Every reader of such a file goes
// through here, so each gets the same guarantees:
//
//  * regular files only. A FIFO would block the reader until someone writes
//    (the data plane's `load` runs on the main lcore); /dev/zero or a tty
//    never ends. The file is opened with O_NONBLOCK|O_NOCTTY, so opening a
//    FIFO returns at once, and then refused.
//  * the type and size are checked on the opened descriptor (fstat), not on
//    the path, so nothing can be swapped in between the check and the read.
//  * a size limit per kind of file, checked before anything is read, and
//    reads that never go past it even if the file grows meanwhile.
//  * errors say why, with the OS error ("No such file or directory",
//    "Permission denied", "a FIFO, not a regular file", "3.0 GiB, more than
//    the 2 GiB limit for artifacts").
//
// Symbolic links are followed: the deploy points current.swr at the
// artifact to run, and rule files may be links into a checkout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sipwall::io {

struct FileKind {
  std::string_view name;  // "rule file", for messages
  std::uint64_t max_bytes;
};

// The limits (docs/rules.md "Limits", docs/operations.md). A YAML rule file
// is small even with tens of thousands of rules (20,000 rules: ~3 MB); big
// number lists belong in list files, which may hold tens of millions of
// numbers (1 GiB is ~60 million of them); an artifact of such lists is of the
// same order. Configuration files are a page or two.
inline constexpr FileKind kRuleFile{"rule file", std::uint64_t{16} << 20};
inline constexpr FileKind kListFile{"list file", std::uint64_t{1} << 30};
inline constexpr FileKind kArtifactFile{"artifact", std::uint64_t{2} << 30};
inline constexpr FileKind kConfigFile{"configuration file", std::uint64_t{1} << 20};

// "16 MiB", "3.0 GiB", "512 bytes".
std::string size_text(std::uint64_t bytes);

// An opened regular file of at most kind.max_bytes.
class InputFile {
 public:
  InputFile() = default;
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // False (and `error` set: the reason, without the path) if the file cannot
  // be opened, is not a regular file, or is larger than the kind allows.
  bool open(const std::string& path, const FileKind& kind, std::string& error);
  // Size when opened.
  std::uint64_t size() const noexcept { return size_; }
  // Reads up to n bytes from the current position; stops early only at the
  // end of the file. Returns the count, or -1 with `error` set.
  std::int64_t read(char* buf, std::uint64_t n, std::string& error);
  // Reads the rest of the file onto the end of `out`; false with `error`
  // set on a read error or if the file grew past the kind's limit.
  bool read_rest(std::string& out, std::string& error);

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
  FileKind kind_{};
};

// Reads the whole of `path` into `out` (replacing it). On failure returns
// false and sets `error` to "PATH: cannot read the KIND: REASON".
bool read_whole_file(const std::string& path, const FileKind& kind, std::string& out, std::string& error);

}  // namespace sipwall::io
