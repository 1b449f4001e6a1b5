#include "control/records/call_recorder.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "control/client/time_util.h"
#include "control/records/call_json.h"
#include "rules/text/json_text.h"

namespace sipwall::control {

namespace {
constexpr std::size_t kBatch = 8192;
constexpr auto kFlushAfter = std::chrono::milliseconds(200);
constexpr auto kRetentionEvery = std::chrono::seconds(60);
// While a partition's tables are dropped (seconds), or the WAL waits for
// its checkpoint (CallStore::must_wait()), the records wait here; beyond this many they wait in the data plane's
// rings (which drop and count what does not fit): 26 MB, 16 s at 2,000
// calls/s.
constexpr std::size_t kMaxPending = 65536;
constexpr std::size_t kPiece = 1024;
constexpr auto kTurnBudget = std::chrono::milliseconds(50);
}  // namespace

bool CallRecorder::open(std::string& error) {
  if (!store_.open(options_.store, error)) return false;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::string why;
    const std::string f = options_.store.path + suffix;
    if (::access(f.c_str(), F_OK) == 0 && !set_file_group(f, options_.group, why)) spdlog::warn("call store: {}", why);
  }
  if (!options_.jsonl.empty()) {
    if (!jsonl_.open(options_.jsonl, options_.group, error)) return false;
    if (!error.empty()) {
      spdlog::warn("records.jsonl: {}", error);
      error.clear();
    }
  }
  retention_due_ = Clock::now();
  return true;
}

void CallRecorder::add_pollfd(std::vector<pollfd>& fds) {
  // Not while the records wait at their bound: the socket would wake the loop for nothing.
  if (link_.connected() && pending_.size() < kMaxPending) fds.push_back({link_.fd(), POLLIN, 0});
}

CallRecorder::Clock::time_point CallRecorder::wake_at(Clock::time_point now) const {
  Clock::time_point w = std::min(retention_due_, now + std::chrono::seconds(1));  // reconnects
  if (flush_due_) w = std::min(w, *flush_due_);
  return w;
}

void CallRecorder::process(Clock::time_point now) {
  const std::uint64_t connects0 = link_.connects();
  if (link_.ensure_connected(now) && link_.connects() != connects0)
    spdlog::info("call records: connected to {}", options_.socket);
  const std::uint64_t bad0 = link_.bad_frames();
  const std::size_t before = pending_.size();
  // Bounded per turn (1024 frames = 65536 records), so the loop stays responsive.
  if (pending_.size() < kMaxPending) link_.read(pending_, 1024);
  c_.received += pending_.size() - before;
  if (link_.bad_frames() != bad0) {
    c_.bad_frames += link_.bad_frames() - bad0;
    spdlog::warn("call records: {} frame(s) refused: {}", link_.bad_frames() - bad0, link_.last_problem());
  }
  if (!pending_.empty() && !flush_due_) flush_due_ = now + kFlushAfter;
  // A backlog (records that waited behind a partition drop, or a burst) is
  // stored over several turns, so no turn holds the loop long: pieces of
  // kPiece records while the turn has spent less than kTurnBudget. After a
  // drop the first inserts are slow: the drop was another connection's
  // write, so SQLite dropped this connection's page cache, and the open
  // partition's index pages are read again.
  if (pending_.size() >= kBatch || (flush_due_ && now >= *flush_due_)) {
    const auto start = Clock::now();
    do {
      store_some(kPiece);
    } while (!pending_.empty() && !store_.must_wait() && Clock::now() - start < kTurnBudget);
  }
  if (now >= retention_due_) {
    retention_due_ = now + kRetentionEvery;
    std::string err;
    const std::uint64_t gone = store_.enforce_retention(now_ns() / 1'000'000, err);
    c_.deleted += gone;
    if (!err.empty()) spdlog::error("call store retention: {}", err);
  }
}

void CallRecorder::flush() {
  while (!pending_.empty() && !store_.must_wait()) store_some(pending_.size());
  if (!pending_.empty()) flush_due_ = Clock::now() + kFlushAfter;  // behind a drop or a checkpoint: stored after
}

void CallRecorder::store_some(std::size_t n) {
  flush_due_.reset();
  if (pending_.empty()) return;
  if (store_.must_wait()) {  // behind a drop (its write lock) or a checkpoint: stored once it is done
    flush_due_ = Clock::now() + kFlushAfter;
    return;
  }
  n = std::min(n, pending_.size());
  const std::span<const protocol::CallRecordWire> batch(pending_.data(), n);
  std::string err;
  if (store_.insert(batch, err)) {
    c_.stored += n;
  } else {
    c_.store_errors++;
    last_error_ = err;
    spdlog::error("call store: {} ({} records lost)", err, n);
  }
  if (jsonl_.is_open()) {
    std::vector<std::string> lines;
    lines.reserve(n);
    for (const protocol::CallRecordWire& r : batch) lines.push_back(text::dump_json(record_json(r)));
    if (jsonl_.write(lines, err))
      c_.jsonl_lines += lines.size();
    else {
      c_.jsonl_errors++;
      spdlog::error("records.jsonl: {}", err);
    }
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
  if (!pending_.empty()) flush_due_ = Clock::now();  // the rest at the next turn
}

void CallRecorder::reopen_jsonl() {
  if (options_.jsonl.empty()) return;
  flush();
  std::string err;
  if (!jsonl_.reopen(err)) {
    c_.jsonl_errors++;
    spdlog::error("records.jsonl: {}", err);
  } else if (!err.empty()) {
    spdlog::warn("records.jsonl: {}", err);
  }
}

bool CallRecorder::query(const CallQuery& q, std::vector<CallRow>& out, std::string& error) {
  flush();
  return store_.query(q, out, error);
}

nlohmann::json CallRecorder::status_json() {
  return nlohmann::json{{"socket", options_.socket},
                        {"connected", link_.connected()},
                        {"database", options_.store.path},
                        {"retention_days", options_.store.retention_days},
                        {"max_bytes", options_.store.max_bytes},
                        {"bytes_in_use", store_.bytes_in_use()},
                        {"received", c_.received},
                        {"waiting", pending_.size()},
                        {"bad_frames", c_.bad_frames},
                        {"stored", c_.stored},
                        {"store_errors", c_.store_errors},
                        {"deleted", c_.deleted},
                        {"jsonl", options_.jsonl},
                        {"jsonl_lines", c_.jsonl_lines}};
}

}  // namespace sipwall::control
