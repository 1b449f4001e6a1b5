// Checkpoints the call store's WAL on a thread of its own, with its own
// SQLite connection (docs/records.md "The store", docs/performance.md
// "Retention while records flow"). SQLite's automatic checkpoint runs in the
// connection whose commit takes the WAL past its mark, on that connection's
// thread: on sipwall-control's loop its two fdatasyncs (the WAL, then the
// database) held the loop 0.1-1.1 s about every 15 s at 4,000 records/s.
//
// So the writer's connection has no automatic checkpoint. attach() gives it
// a commit hook (sqlite3_wal_hook: after each commit, on the writer's
// thread) that only passes on how many frames the WAL holds; once they reach
// the mark, this thread runs PASSIVE checkpoints. A passive checkpoint never
// takes the write lock and never waits: the writer neither waits for it nor
// fails because of it. It copies into the database the frames no reader
// still needs; the writer's next commit starts the WAL again from its
// beginning once every frame was copied and no reader uses the WAL. Frames
// committed while a checkpoint runs are left over: this thread checkpoints
// again, a few milliseconds apart, until none is (bounded rounds; then again
// at the next commit's hook or a second later).
//
// That chase can be lost: each round syncs the database (0.1-1 s on a busy
// disk) while the writer commits more, so no round may ever find every frame
// copied, and the WAL (which starts again only then) would grow without end.
// So once the WAL holds twice the mark the writer must not commit
// (writer_must_wait()) until a checkpoint has copied every frame: the next
// one does (nothing new arrives), and the writer's next commit starts the
// WAL again. The WAL thus stays under twice the mark plus one transaction,
// unless a reader keeps a snapshot from before the last frames (a reader of
// another process, e.g. `sqlite3`): then the writer waits for that reader.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sipwall::control {

class WalCheckpointer {
 public:
  WalCheckpointer() = default;
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  ~WalCheckpointer() { stop(); }

  // Opens its connection to `path` (a WAL database) and starts the thread;
  // checkpoints once the WAL holds `mark_pages` frames (at least 1). False
  // with *error.
  bool start(const std::string& path, std::uint32_t mark_pages, std::string& error);
  // Ends the thread (after the checkpoint in progress, if any) and closes the
  // connection. detach() the writer first.
  void stop();

  // Turns off the writer connection's automatic checkpoint and gives it the
  // commit hook (sqlite3_wal_hook replaces SQLite's own). Call on the
  // writer's thread, with no statement running.
  void attach(sqlite3* writer);
  static void detach(sqlite3* writer);

  // The WAL holds twice the mark and no checkpoint has copied it all yet:
  // the writer should not commit (see above). On any thread.
  bool writer_must_wait() const noexcept { return frames_.load() >= 2 * static_cast<int>(mark_); }
  // Until !writer_must_wait() or stop() (for a benchmark or a test; the
  // daemon's loop never waits).
  void wait_for_writer() const;

  // Checkpoints that left no frame behind (every frame in the database).
  std::uint64_t completed() const noexcept { return completed_.load(); }
  // The last checkpoint's error ("" if none); cleared when read.
  std::string take_error();

 private:
  static int on_commit(void* self, sqlite3* db, const char* name, int frames) noexcept;
  void run();
  void checkpoint();

  sqlite3* db_ = nullptr;
  std::uint32_t mark_ = 1;
  std::thread thread_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool requested_ = false;      // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  std::string error_;           // guarded by mutex_
  std::atomic<int> frames_{0};  // in the WAL after the writer's last commit
  std::atomic<std::uint64_t> completed_{0};
};

}  // namespace sipwall::control
