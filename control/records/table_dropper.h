// Drops tables of the call store on a thread of its own, with its own SQLite
// connection (docs/records.md "The store", docs/performance.md "Call
// records"). A DROP TABLE reads every page of the table to free it: about
// 1.5 s of CPU, and more of waiting for the disk, for a full partition. Run
// on sipwall-control's loop, that held the loop (records socket, control
// socket) for up to 5 s on a busy box; here the loop only hands the job over.
//
// One job at a time, one transaction per job. While a job runs it holds the
// database's write lock (WAL: readers go on), so the store's owner does not
// write until busy() is false. stop() interrupts a running drop (rolled
// back: the partition is still in the file at the next open).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sipwall::control {

class TableDropper {
 public:
  TableDropper() = default;
  TableDropper(const TableDropper&) = delete;
  TableDropper& operator=(const TableDropper&) = delete;
  ~TableDropper() { stop(); }

  // Opens its connection to `path` and starts the thread. False with *error.
  bool start(const std::string& path, std::string& error);
  // Interrupts a running drop, ends the thread, closes the connection.
  void stop();

  // Runs `sql` (statements the caller built, never text from outside) in one
  // write transaction. False if a job is still queued or running.
  bool submit(std::string sql);
  bool busy() const;
  void wait() const;  // until no job is queued or running
  // The last job's error, if it failed ("" if none); cleared when read.
  std::string take_error();
  std::uint64_t jobs_done() const;

 private:
  void run();

  sqlite3* db_ = nullptr;
  std::thread thread_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::string job_;       // guarded by mutex_
  bool has_job_ = false;  // queued or running
  bool stopping_ = false;
  std::atomic<bool> stop_flag_{false};  // read by SQLite's busy and progress handlers
  std::string error_;
  std::uint64_t done_ = 0;
};

}  // namespace sipwall::control
