#include "control/records/table_dropper.h"

#include <chrono>
#include <exception>

#include "control/records/store_connection.h"

namespace sipwall::control {

bool TableDropper::start(const std::string& path, std::string& error) {
  stop();
  db_ = open_store_connection(path, error);
  if (db_ == nullptr) return false;
  // The owner's write transactions (a batch of records) last well under a
  // second; a drop waits for the one in progress (up to 10 s) rather than
  // failing. Both handlers give up at once when stop() is called, so a stop
  // never waits for a drop: it is rolled back.
  sqlite3_busy_handler(
      db_,
      [](void* self, int tries) -> int {
        if (static_cast<TableDropper*>(self)->stop_flag_.load()) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return tries < 1000 ? 1 : 0;
      },
      this);
  sqlite3_progress_handler(
      db_, 1000, [](void* self) -> int { return static_cast<TableDropper*>(self)->stop_flag_.load() ? 1 : 0; }, this);
  // It only walks pages to free them. It keeps SQLite's automatic
  // checkpoint: a full partition's drop writes about 240 MB of WAL, copied
  // into the database here, on this thread, right after the drop's commit
  // and before the owner writes again (busy() until then). Left to the
  // WalCheckpointer, the owner's first inserts after a drop ran behind a WAL
  // of 58,000 frames and the loop was seen held for up to 1 s.
  sqlite3_exec(db_, "PRAGMA cache_size=-16384;", nullptr, nullptr, nullptr);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    has_job_ = false;
    error_.clear();
  }
  stop_flag_ = false;
  thread_ = std::thread([this] { run(); });
  return true;
}

void TableDropper::stop() {
  if (thread_.joinable()) {
    stop_flag_ = true;  // a drop in progress or waiting for the lock gives up: rolled back
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      cv_.notify_all();  // under the lock: valgrind's thread checkers read it so
    }
    thread_.join();
  }
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

bool TableDropper::submit(std::string sql) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (has_job_ || !thread_.joinable()) return false;
    job_ = std::move(sql);
    has_job_ = true;
    cv_.notify_all();
  }
  return true;
}

bool TableDropper::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_job_;
}

void TableDropper::wait() const {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !has_job_ || stopping_; });
}

std::string TableDropper::take_error() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string e;
  e.swap(error_);
  return e;
}

std::uint64_t TableDropper::jobs_done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void TableDropper::run() {
  for (;;) {
    std::string job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return has_job_ || stopping_; });
      if (stopping_) return;
      job = job_;
    }
    std::string error;
    // Nothing may leave this thread as an exception (std::terminate): a
    // failure is reported through take_error().
    try {
      const std::string sql = "BEGIN IMMEDIATE; " + job + " COMMIT;";
      char* msg = nullptr;
      if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
        error = msg != nullptr ? msg : sqlite3_errmsg(db_);
        sqlite3_free(msg);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      has_job_ = false;
      ++done_;
      if (!error.empty()) error_ = error;
      cv_.notify_all();
    }
  }
}

}  // namespace sipwall::control
