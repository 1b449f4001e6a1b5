#include "control/records/wal_checkpointer.h"

#include <chrono>
#include <exception>

#include "control/records/store_connection.h"

namespace sipwall::control {

namespace {

// While frames are left over (the writer committed during the checkpoint),
// checkpoint again this much later, at most this many times in a row; then
// the next commit's hook or the second's wake-up starts again.
constexpr auto kRoundGap = std::chrono::milliseconds(5);
constexpr int kRounds = 200;
// Woken at least this often (the hook's request is the usual wake-up).
constexpr auto kWakeEvery = std::chrono::seconds(1);

}  // namespace

bool WalCheckpointer::start(const std::string& path, std::uint32_t mark_pages, std::string& error) {
  stop();
  db_ = open_store_connection(path, error);
  if (db_ == nullptr) return false;
  // It never writes; its checkpoints are the explicit ones. A connection
  // opens the WAL when it first reads: before that, SQLite's checkpoint call
  // does nothing (and says the WAL holds -1 frames).
  if (sqlite3_exec(db_, "PRAGMA wal_autocheckpoint=0; SELECT count(*) FROM sqlite_schema;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    error = path + ": " + sqlite3_errmsg(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    return false;
  }
  mark_ = mark_pages > 0 ? mark_pages : 1;
  frames_ = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requested_ = false;
    stopping_ = false;
    error_.clear();
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

void WalCheckpointer::stop() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

void WalCheckpointer::attach(sqlite3* writer) {
  sqlite3_wal_autocheckpoint(writer, 0);
  sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this);
}

void WalCheckpointer::detach(sqlite3* writer) {
  sqlite3_wal_hook(writer, nullptr, nullptr);
}

void WalCheckpointer::wait_for_writer() const {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !writer_must_wait() || stopping_; });
}

std::string WalCheckpointer::take_error() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string e;
  e.swap(error_);
  return e;
}

// On the writer's thread, after each commit: no I/O, no wait beyond the
// mutex this thread holds only to read its flags.
int WalCheckpointer::on_commit(void* self, sqlite3*, const char*, int frames) noexcept {
  auto* c = static_cast<WalCheckpointer*>(self);
  c->frames_ = frames;
  if (frames >= static_cast<int>(c->mark_)) {
    try {
      std::lock_guard<std::mutex> lock(c->mutex_);
      c->requested_ = true;
      c->cv_.notify_all();
    } catch (const std::exception&) {
      // Could not take the lock: the thread's own wake-up (a second) finds the WAL past the mark.
    }
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, kWakeEvery, [this] { return requested_ || stopping_; });
      if (stopping_) return;
      requested_ = false;
    }
    if (frames_.load() >= static_cast<int>(mark_)) checkpoint();
  }
}

void WalCheckpointer::checkpoint() {
  int seen = frames_.load();
  for (int round = 0; round < kRounds; ++round) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    int log = -1, copied = -1;
    const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc == SQLITE_BUSY) return;  // another connection checkpoints (one closing): next time
    if (rc != SQLITE_OK) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = sqlite3_errmsg(db_);
      return;
    }
    if (log < 0) {  // not (or no longer) in WAL mode
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = "the database is not in WAL mode";
      return;
    }
    if (copied >= log) {
      // Every frame is in the database: the writer's next commit starts the
      // WAL again. Until it commits, nothing is left to do.
      completed_++;
      frames_.compare_exchange_strong(seen, 0);
      std::lock_guard<std::mutex> lock(mutex_);
      cv_.notify_all();  // a writer in wait_for_writer()
      return;
    }
    std::this_thread::sleep_for(kRoundGap);
    seen = frames_.load();
  }
}

}  // namespace sipwall::control
