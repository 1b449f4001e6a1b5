// last-good.swr: the set the data plane falls back to at start when the
// configured artifact is missing or damaged. It must be a set that has run:
// one that loads and then takes the workers down on its first INVITE would
// otherwise be loaded again by every restart (issue 12). So a loaded set is
// only recorded as pending (load_ruleset), and promoted here, from the main
// lcore loop, once
//   * it is still the current set,
//   * the workers have classified at least one INVITE with it, and
//   * it has been current for ruleset.last_good_after_ms (5 s by default):
//     long enough for a set that crashes on traffic to have done so, short
//     enough that a good set is remembered within seconds of the first call.
// The artifact is read again and checked to be the set that was loaded (the
// file may have been replaced since), then written beside last-good.swr,
// synced, and renamed over it: a reader sees the old file or the new one.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "app/main_state.h"
#include "rules/compiled/artifact.h"
#include "rules/io/file_input.h"

namespace sipwall::dataplane {

namespace {

void log(const std::string& msg) { std::fprintf(stderr, "sipwall-dataplane: %s\n", msg.c_str()); }

// Writes `bytes` to `path` through a temporary file in the same directory.
bool write_atomically(const std::string& path, std::string_view bytes, std::string& why) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    why = tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    why = tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    why = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

void promote_last_good(MainState& st) {
  MainState::PendingLastGood& p = st.pending_last_good;
  if (!p.active) return;
  const RuntimeSet* current = st.dp.current.load(std::memory_order_acquire);
  if (current != p.set) {  // replaced meanwhile (the next load records its own)
    p.active = false;
    return;
  }
  if (std::chrono::steady_clock::now() - p.since < std::chrono::milliseconds(st.dp.cfg.last_good_after_ms)) return;
  if (current->invites_total() == 0) return;  // not run yet: keep waiting
  p.active = false;

  const std::string last = st.last_good_path();
  std::error_code ec;
  if (std::filesystem::equivalent(p.artifact, last, ec)) return;  // running last-good itself
  std::string bytes, why;
  if (!io::read_whole_file(p.artifact, io::kArtifactFile, bytes, why)) {
    log("not remembered as last good: " + why);
    return;
  }
  const rules::ArtifactLoadResult r = rules::check_artifact_bytes(bytes, p.artifact);
  if (r.error != rules::ArtifactError::none || r.info.content_checksum != p.content_checksum) {
    log("not remembered as last good: " + p.artifact + " is no longer the set that was loaded");
    return;
  }
  std::filesystem::create_directories(st.dp.cfg.state_dir, ec);
  if (!write_atomically(last, bytes, why)) {
    log("cannot remember " + p.artifact + " as last good: " + why);
    return;
  }
  log("rule set " + std::string(current->set().version()) + " has run; remembered as last good (" + last + ")");
}

}  // namespace sipwall::dataplane
