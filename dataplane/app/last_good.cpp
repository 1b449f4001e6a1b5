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
//
// The configured artifact (often store.current_link, pointing at the set
// published last) is tried before last-good at start. A set that kills the
// process would come back through it on every restart, so a set is marked
// "on trial" (<state_dir>/on-trial) from its load until it is promoted or the
// process stops cleanly. A marker still there at start names the set that was
// running when the process died: it is skipped at start and `load` refuses it
// for the life of this process (its reply says why), so neither a restart
// nor sipwall-control's resync brings it back.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "dataplane/app/main_state.h"
#include "dataplane/log/log.h"
#include "rules/compiled/artifact.h"
#include "rules/io/file_input.h"

namespace sipwall::dataplane {

namespace {

void log(const std::string& msg) {
  dplog::warning(msg);
}

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

char hex_digit(unsigned v) {
  return "0123456789abcdef"[v & 15];
}

std::string hex16(std::uint64_t v) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = hex_digit(static_cast<unsigned>(v));
  return out;
}

}  // namespace

void mark_on_trial(MainState& st, std::uint64_t checksum, const std::string& artifact) {
  std::error_code ec;
  std::filesystem::create_directories(st.dp.cfg.state_dir, ec);
  std::string why;
  if (!write_atomically(st.on_trial_path(), hex16(checksum) + " " + artifact + "\n", why))
    log("cannot mark the new rule set as on trial: " + why);
}

void clear_on_trial(MainState& st, std::uint64_t checksum) {
  if (read_on_trial(st) == checksum) ::unlink(st.on_trial_path().c_str());
}

std::uint64_t read_on_trial(const MainState& st) {
  std::string text, why;
  if (!io::read_whole_file(st.on_trial_path(), io::FileKind{"on-trial marker", 4096}, text, why)) return 0;
  if (text.size() < 16) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = text[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    v = (v << 4) | static_cast<unsigned>(d);
  }
  return v;
}

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
  if (std::filesystem::equivalent(p.artifact, last, ec)) {  // running last-good itself
    clear_on_trial(st, p.content_checksum);
    return;
  }
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
  clear_on_trial(st, p.content_checksum);
  dplog::info("rule set " + std::string(current->set().version()) + " has run; remembered as last good (" + last + ")");
}

}  // namespace sipwall::dataplane
