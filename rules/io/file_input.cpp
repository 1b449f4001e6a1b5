#include "rules/io/file_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sipwall::io {

namespace {

std::string_view type_name(mode_t m) noexcept {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// "a rule file", "an artifact".
std::string with_article(std::string_view name) {
  const bool vowel = !name.empty() && std::string_view("aeiou").find(name[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(name);
}

}  // namespace

std::string size_text(std::uint64_t bytes) {
  char b[48];
  constexpr std::uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;
  auto unit = [&](std::uint64_t u, const char* name) {
    if (bytes % u == 0) {
      std::snprintf(b, sizeof b, "%llu %s", static_cast<unsigned long long>(bytes / u), name);
    } else {
      std::snprintf(b, sizeof b, "%.1f %s", static_cast<double>(bytes) / static_cast<double>(u), name);
    }
  };
  if (bytes >= kGiB) {
    unit(kGiB, "GiB");
  } else if (bytes >= kMiB) {
    unit(kMiB, "MiB");
  } else if (bytes >= kKiB) {
    unit(kKiB, "KiB");
  } else {
    std::snprintf(b, sizeof b, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return b;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool InputFile::open(const std::string& path, const FileKind& kind, std::string& error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = pos_ = 0;
  kind_ = kind;
  if (path.empty()) {
    error = "no file name given";
    return false;
  }
  // O_NONBLOCK: opening a FIFO with no writer returns at once instead of
  // waiting for one; the type check below then refuses it. On a regular file
  // the flag changes nothing.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = std::string(type_name(st.st_mode)) + ", not a regular file";
    ::close(fd);
    return false;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kind.max_bytes) {
    error =
        size_text(size) + ", more than the " + size_text(kind.max_bytes) + " " + with_article(kind.name) + " may have";
    ::close(fd);
    return false;
  }
  fd_ = fd;
  size_ = size;
  return true;
}

std::int64_t InputFile::read(char* buf, std::uint64_t n, std::string& error) {
  std::uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd_, buf + got, static_cast<std::size_t>(n - got));
    if (r < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return -1;
    }
    if (r == 0) break;
    got += static_cast<std::uint64_t>(r);
  }
  pos_ += got;
  return static_cast<std::int64_t>(got);
}

bool InputFile::read_rest(std::string& out, std::string& error) {
  // What fstat said, then in chunks while the file still grows, never past
  // the limit (one byte more tells that it went past).
  const std::uint64_t start = out.size();
  std::uint64_t want = size_ > pos_ ? size_ - pos_ : 0;
  for (;;) {
    // pos_ <= max_bytes here; one byte past the limit tells it went past.
    std::uint64_t room = kind_.max_bytes - pos_;
    if (room != ~std::uint64_t{0}) ++room;
    if (want > room) want = room;
    if (want == 0) want = room < 65536 ? room : 65536;
    if (want == 0) break;
    const std::uint64_t at = out.size();
    out.resize(at + want);
    const std::int64_t got = read(out.data() + at, want, error);
    if (got < 0) {
      out.resize(start);
      return false;
    }
    out.resize(at + static_cast<std::uint64_t>(got));
    if (pos_ > kind_.max_bytes) {
      out.resize(start);
      error = "grew past the " + size_text(kind_.max_bytes) + " " + with_article(kind_.name) +
              " may have while it was read";
      return false;
    }
    if (static_cast<std::uint64_t>(got) < want) break;  // end of file
    want = 0;                                           // it was longer than when opened: read on in chunks
  }
  return true;
}

bool read_whole_file(const std::string& path, const FileKind& kind, std::string& out, std::string& error) {
  out.clear();
  InputFile f;
  std::string why;
  if (!f.open(path, kind, why) || !f.read_rest(out, why)) {
    out.clear();
    error = path + ": cannot read the " + std::string(kind.name) + ": " + why;
    return false;
  }
  return true;
}

}  // namespace sipwall::io
