// The call store's WAL checkpoints (control/records/wal_checkpointer.h): the
// thread that inserts (sipwall-control's loop) never syncs the database file
// (a checkpoint's second fdatasync; SQLite's automatic checkpoint ran there
// and held the loop), and the WAL is still checkpointed, by another thread,
// and started again, so the -wal file stays bounded however much is written.
// A reader that holds a snapshot keeps the WAL from starting again: then the
// writer waits (its inserts are refused, the caller keeps the records) and
// the WAL stays bounded; once the reader is done, writes go on. Which thread syncs which file is
// seen through a VFS that wraps the default one (its own test binary: the
// default VFS is process-wide).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/records/call_store.h"

namespace sipwall::control {
namespace {

using protocol::CallRecordKind;
using protocol::CallRecordWire;
using protocol::set_text;

// Every xSync: which thread, which file (the main database or its WAL).
struct Sync {
  std::thread::id thread;
  bool main_db = false;
};
std::mutex g_mutex;
std::vector<Sync> g_syncs;

sqlite3_vfs* g_real = nullptr;

struct SpyFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  bool main_db;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
SpyFile* spy(sqlite3_file* f) {
  return reinterpret_cast<SpyFile*>(f);
}

int x_close(sqlite3_file* f) {
  return spy(f)->real()->pMethods->xClose(spy(f)->real());
}
int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return spy(f)->real()->pMethods->xRead(spy(f)->real(), b, n, o);
}
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return spy(f)->real()->pMethods->xWrite(spy(f)->real(), b, n, o);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 n) {
  return spy(f)->real()->pMethods->xTruncate(spy(f)->real(), n);
}
int x_sync(sqlite3_file* f, int flags) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_syncs.push_back({std::this_thread::get_id(), spy(f)->main_db});
  }
  return spy(f)->real()->pMethods->xSync(spy(f)->real(), flags);
}
int x_size(sqlite3_file* f, sqlite3_int64* n) {
  return spy(f)->real()->pMethods->xFileSize(spy(f)->real(), n);
}
int x_lock(sqlite3_file* f, int l) {
  return spy(f)->real()->pMethods->xLock(spy(f)->real(), l);
}
int x_unlock(sqlite3_file* f, int l) {
  return spy(f)->real()->pMethods->xUnlock(spy(f)->real(), l);
}
int x_reserved(sqlite3_file* f, int* r) {
  return spy(f)->real()->pMethods->xCheckReservedLock(spy(f)->real(), r);
}
int x_control(sqlite3_file* f, int op, void* a) {
  return spy(f)->real()->pMethods->xFileControl(spy(f)->real(), op, a);
}
int x_sector(sqlite3_file* f) {
  return spy(f)->real()->pMethods->xSectorSize(spy(f)->real());
}
int x_device(sqlite3_file* f) {
  return spy(f)->real()->pMethods->xDeviceCharacteristics(spy(f)->real());
}
int x_shm_map(sqlite3_file* f, int i, int sz, int ext, void volatile** p) {
  return spy(f)->real()->pMethods->xShmMap(spy(f)->real(), i, sz, ext, p);
}
int x_shm_lock(sqlite3_file* f, int o, int n, int fl) {
  return spy(f)->real()->pMethods->xShmLock(spy(f)->real(), o, n, fl);
}
void x_shm_barrier(sqlite3_file* f) {
  spy(f)->real()->pMethods->xShmBarrier(spy(f)->real());
}
int x_shm_unmap(sqlite3_file* f, int d) {
  return spy(f)->real()->pMethods->xShmUnmap(spy(f)->real(), d);
}
// No memory-mapped pages through the spy: SQLite reads with xRead.
int x_fetch(sqlite3_file*, sqlite3_int64, int, void** p) {
  *p = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file*, sqlite3_int64, void*) {
  return SQLITE_OK;
}

const sqlite3_io_methods kSpyMethods = {
    3,         x_close,  x_read,   x_write,   x_truncate, x_sync,        x_size,      x_lock,  x_unlock, x_reserved,
    x_control, x_sector, x_device, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, x_fetch, x_unfetch};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  SpyFile* s = spy(f);
  s->base.pMethods = nullptr;
  s->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  const int rc = g_real->xOpen(g_real, name, s->real(), flags, out_flags);
  if (rc == SQLITE_OK && s->real()->pMethods != nullptr) s->base.pMethods = &kSpyMethods;
  return rc;
}

sqlite3_vfs g_spy;

void install_spy() {
  if (g_real != nullptr) return;
  g_real = sqlite3_vfs_find(nullptr);
  g_spy = *g_real;
  g_spy.zName = "sync-spy";
  g_spy.szOsFile = static_cast<int>(sizeof(SpyFile)) + g_real->szOsFile;
  g_spy.xOpen = x_open;
  g_spy.pAppData = nullptr;
  ASSERT_EQ(sqlite3_vfs_register(&g_spy, 1), SQLITE_OK);
}

struct Counts {
  int db_here = 0, db_elsewhere = 0, wal_here = 0, wal_elsewhere = 0;
};
Counts counts(std::thread::id here) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Counts c;
  for (const Sync& s : g_syncs) {
    const bool mine = s.thread == here;
    (s.main_db ? (mine ? c.db_here : c.db_elsewhere) : (mine ? c.wal_here : c.wal_elsewhere))++;
  }
  return c;
}
void forget_syncs() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_syncs.clear();
}

struct TempDb {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("call-store-ckpt-test-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDb() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "calls.db").string(); }
  std::uintmax_t wal_bytes() const {
    std::error_code ec;
    const auto n = std::filesystem::file_size(dir / "calls.db-wal", ec);
    return ec ? 0 : n;
  }
};

std::vector<CallRecordWire> batch(std::uint64_t first, std::size_t n, std::int64_t time_ms) {
  std::vector<CallRecordWire> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    CallRecordWire& r = out[i];
    std::memset(&r, 0, sizeof r);
    const std::uint64_t k = first + i;
    r.kind = static_cast<std::uint8_t>(CallRecordKind::invite);
    r.call_hash = k * 0x9E3779B97F4A7C15ULL;
    r.start_ms = k;
    r.time_ns = static_cast<std::uint64_t>(time_ms) * 1'000'000;
    r.ip_version = 4;
    const std::uint8_t src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 10};
    std::memcpy(r.src, src, 16);
    set_text(r.trunk, "carrier-a");
    set_text(r.caller, "+8613" + std::to_string(100000000 + (k * 7919) % 800000000));
    set_text(r.callee, "+8614" + std::to_string(100000000 + (k * 104729) % 800000000));
    set_text(r.call_id, "ckpt-" + std::to_string(k));
    set_text(r.rule, "(default)");
    set_text(r.ruleset_version, "v1");
  }
  return out;
}

constexpr std::uint32_t kMarkPages = 256;  // 1 MiB of WAL; a batch of 512 records writes about 0.9 MiB
constexpr std::uint64_t kWalBound = 2ull * kMarkPages * (4096 + 24);

CallStoreOptions options_for(const TempDb& t) {
  CallStoreOptions o;
  o.path = t.path();
  o.max_bytes = 0;
  o.wal_checkpoint_pages = kMarkPages;
  return o;
}

// Waits (bounded) until `done` holds.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(CallStoreCheckpoint, TheInsertingThreadNeverSyncsTheDatabaseAndTheWalStaysBounded) {
  install_spy();
  TempDb t;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open(options_for(t), err)) << err;
  forget_syncs();  // creating the file may sync: only what inserts cause counts
  const std::int64_t now = 1'780'000'000'000;
  std::uint64_t next = 0;
  std::uintmax_t largest_wal = 0;
  // About 40 times the mark, in batches as the daemon writes them, a little
  // apart (the checkpointer runs meanwhile).
  for (int b = 0; b < 60; ++b) {
    const auto records = batch(next, 512, now + b);
    s.wait_writable();  // as the daemon's records wait in memory
    ASSERT_TRUE(s.insert(records, err)) << err;
    next += records.size();
    largest_wal = std::max(largest_wal, t.wal_bytes());
  }
  const std::thread::id here = std::this_thread::get_id();
  // Checkpoints happened, on another thread: the database file was synced there.
  EXPECT_TRUE(eventually([&] { return counts(here).db_elsewhere > 0; }));
  const Counts c = counts(here);
  EXPECT_EQ(c.db_here, 0) << "a checkpoint ran on the inserting thread (the daemon's loop)";
  // The WAL started again: its file never held all that was written.
  EXPECT_GT(largest_wal, 0u);
  EXPECT_LT(largest_wal, 3 * kWalBound) << "the WAL grew with the records: never checkpointed";
  // Every record is there.
  EXPECT_EQ(s.inserted(), next);
  std::vector<CallRow> rows;
  CallQuery q;
  q.value = "+8613" + std::to_string(100000000 + (7 * 7919) % 800000000);
  q.since_ms = 0;
  ASSERT_TRUE(s.query(q, rows, err)) << err;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].call_id, "ckpt-7");
}

TEST(CallStoreCheckpoint, AReaderHoldingTheWalHoldsTheWriterNotTheWal) {
  install_spy();
  TempDb t;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open(options_for(t), err)) << err;
  const std::int64_t now = 1'780'000'000'000;
  std::uint64_t next = 0;
  auto write_one = [&] {
    const auto records = batch(next, 512, now);
    if (!s.insert(records, err)) return false;
    next += records.size();
    return true;
  };
  ASSERT_TRUE(write_one()) << err;
  // A reader (as `sqlite3 -readonly` would) holds its snapshot: the frames
  // after it cannot be copied, so the WAL cannot start again.
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(t.path().c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM partitions;", nullptr, nullptr, nullptr), SQLITE_OK);
  // The writer goes on until the WAL holds twice the mark, then must wait;
  // an insert then is refused whole (the caller keeps the records).
  int refused = 0;
  for (int i = 0; i < 100 && refused == 0; ++i)
    if (!write_one()) ++refused;
  ASSERT_EQ(refused, 1) << "the writer was never held: the WAL grows while the reader holds it";
  EXPECT_TRUE(s.must_wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(s.must_wait()) << "the checkpoint cannot have copied the frames the reader holds";
  EXPECT_LT(t.wal_bytes(), 3 * kWalBound);
  EXPECT_EQ(s.inserted(), next);
  // The reader is done: the next checkpoint copies every frame, the writer
  // writes again and the WAL starts again.
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(reader);
  EXPECT_TRUE(eventually([&] { return !s.must_wait(); }));
  for (int i = 0; i < 10; ++i) {
    s.wait_writable();
    ASSERT_TRUE(write_one()) << err;
  }
  EXPECT_LT(t.wal_bytes(), 3 * kWalBound);
  EXPECT_EQ(s.inserted(), next);
}

}  // namespace
}  // namespace sipwall::control
