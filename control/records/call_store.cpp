#include "control/records/call_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace sipwall::control {

namespace {

constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS calls(
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  worker INTEGER NOT NULL,
  call_hash INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  in_port INTEGER NOT NULL,
  trunk TEXT NOT NULL,
  source TEXT NOT NULL,
  src_port INTEGER NOT NULL,
  transport INTEGER NOT NULL,
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  caller_raw TEXT NOT NULL,
  callee_raw TEXT NOT NULL,
  call_id TEXT NOT NULL,
  action INTEGER NOT NULL,
  reject_code INTEGER NOT NULL,
  rule TEXT NOT NULL,
  detector TEXT NOT NULL,
  detector_level INTEGER NOT NULL,
  ruleset_version TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS calls_caller ON calls(caller, time_ms);
CREATE INDEX IF NOT EXISTS calls_callee ON calls(callee, time_ms);
CREATE INDEX IF NOT EXISTS calls_trunk ON calls(trunk, time_ms);
CREATE INDEX IF NOT EXISTS calls_source ON calls(source, time_ms);
CREATE TABLE IF NOT EXISTS outcomes(
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  worker INTEGER NOT NULL,
  call_hash INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  end_kind INTEGER NOT NULL,
  final_code INTEGER NOT NULL,
  seen INTEGER NOT NULL,
  ring_ms INTEGER NOT NULL,
  answer_ms INTEGER NOT NULL,
  talk_ms INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outcomes_call ON outcomes(call_hash);
)SQL";

constexpr const char* kInsertCall =
    "INSERT INTO calls(time_ms, worker, call_hash, start_ms, in_port, trunk, source, src_port, transport, caller, "
    "callee, caller_raw, callee_raw, call_id, action, reject_code, rule, detector, detector_level, ruleset_version) "
    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertOutcome =
    "INSERT INTO outcomes(time_ms, worker, call_hash, start_ms, end_kind, final_code, seen, ring_ms, answer_ms, "
    "talk_ms, duration_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)";

// The hash is an unsigned 64-bit value; SQLite integers are signed: stored
// as the same 64 bits.
std::int64_t as_signed(std::uint64_t v) {
  std::int64_t s;
  std::memcpy(&s, &v, sizeof s);
  return s;
}

template <std::size_t N>
void bind_field(sqlite3_stmt* st, int i, const char (&f)[N]) {
  const std::string_view v = protocol::get_text(f);
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
  const int n = sqlite3_column_bytes(st, i);
  return p != nullptr ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::uint32_t column_u32(sqlite3_stmt* st, int i) {
  return static_cast<std::uint32_t>(sqlite3_column_int64(st, i));
}

struct Statement {
  sqlite3_stmt* st = nullptr;
  ~Statement() { sqlite3_finalize(st); }
};

}  // namespace

std::string address_text(const std::uint8_t (&a)[16]) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  char buf[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(a, kMapped, 12) == 0) {
    if (::inet_ntop(AF_INET, a + 12, buf, sizeof buf) == nullptr) return {};
  } else if (::inet_ntop(AF_INET6, a, buf, sizeof buf) == nullptr) {
    return {};
  }
  return buf;
}

std::optional<std::string> normalise_address(const std::string& text) {
  std::uint8_t a[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (::inet_pton(AF_INET, text.c_str(), a + 12) == 1) return address_text(a);
  if (::inet_pton(AF_INET6, text.c_str(), a) == 1) return address_text(a);
  return std::nullopt;
}

CallStore::~CallStore() {
  close();
}

void CallStore::close() {
  sqlite3_finalize(insert_call_);
  sqlite3_finalize(insert_outcome_);
  insert_call_ = insert_outcome_ = nullptr;
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

bool CallStore::exec(const char* sql, std::string& error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
  error = msg != nullptr ? msg : sqlite3_errmsg(db_);
  sqlite3_free(msg);
  return false;
}

std::int64_t CallStore::single_int(const char* sql) {
  Statement s;
  if (sqlite3_prepare_v2(db_, sql, -1, &s.st, nullptr) != SQLITE_OK) return 0;
  return sqlite3_step(s.st) == SQLITE_ROW ? sqlite3_column_int64(s.st, 0) : 0;
}

bool CallStore::open(const CallStoreOptions& options, std::string& error) {
  close();
  options_ = options;
  // Created 0640 before SQLite sees it: the records hold numbers (docs/records.md).
  const int fd = ::open(options.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = options.path + ": " + std::strerror(errno);
    return false;
  }
  ::close(fd);
  if (sqlite3_open_v2(options.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    error = options.path + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open");
    close();
    return false;
  }
  // WAL: readers (queries) do not wait for the writer; NORMAL: a power cut
  // may lose the last transactions, never corrupt the file.
  // A 1 GiB page cache keeps the index pages new rows land on in memory
  // (the caller and callee indexes take random keys); a checkpoint every
  // 64 MiB of WAL writes them back in fewer, larger runs.
  if (!exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1048576; "
            "PRAGMA wal_autocheckpoint=16384; PRAGMA temp_store=MEMORY;",
            error) ||
      !exec(kSchema, error) ||
      sqlite3_prepare_v3(db_, kInsertCall, -1, SQLITE_PREPARE_PERSISTENT, &insert_call_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v3(db_, kInsertOutcome, -1, SQLITE_PREPARE_PERSISTENT, &insert_outcome_, nullptr) != SQLITE_OK) {
    if (error.empty()) error = sqlite3_errmsg(db_);
    error = options.path + ": " + error;
    close();
    return false;
  }
  return true;
}

bool CallStore::insert(std::span<const protocol::CallRecordWire> records, std::string& error) {
  if (db_ == nullptr) {
    error = "the call store is not open";
    return false;
  }
  if (records.empty()) return true;
  if (!exec("BEGIN", error)) return false;
  for (const protocol::CallRecordWire& r : records) {
    const std::int64_t time_ms = static_cast<std::int64_t>(r.time_ns / 1'000'000);
    sqlite3_stmt* st;
    if (r.kind == static_cast<std::uint8_t>(protocol::CallRecordKind::invite)) {
      st = insert_call_;
      sqlite3_bind_int64(st, 1, time_ms);
      sqlite3_bind_int64(st, 2, r.worker);
      sqlite3_bind_int64(st, 3, as_signed(r.call_hash));
      sqlite3_bind_int64(st, 4, as_signed(r.start_ms));
      sqlite3_bind_int64(st, 5, r.in_port);
      bind_field(st, 6, r.trunk);
      const std::string src = address_text(r.src);
      sqlite3_bind_text(st, 7, src.data(), static_cast<int>(src.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 8, r.src_port);
      sqlite3_bind_int64(st, 9, r.transport);
      bind_field(st, 10, r.caller);
      bind_field(st, 11, r.callee);
      bind_field(st, 12, r.caller_raw);
      bind_field(st, 13, r.callee_raw);
      bind_field(st, 14, r.call_id);
      sqlite3_bind_int64(st, 15, r.action);
      sqlite3_bind_int64(st, 16, r.reject_code);
      bind_field(st, 17, r.rule);
      bind_field(st, 18, r.detector);
      sqlite3_bind_int64(st, 19, r.detector_level);
      bind_field(st, 20, r.ruleset_version);
    } else {
      st = insert_outcome_;
      sqlite3_bind_int64(st, 1, time_ms);
      sqlite3_bind_int64(st, 2, r.worker);
      sqlite3_bind_int64(st, 3, as_signed(r.call_hash));
      sqlite3_bind_int64(st, 4, as_signed(r.start_ms));
      sqlite3_bind_int64(st, 5, r.end);
      sqlite3_bind_int64(st, 6, r.final_code);
      sqlite3_bind_int64(st, 7, r.seen);
      sqlite3_bind_int64(st, 8, r.ring_ms);
      sqlite3_bind_int64(st, 9, r.answer_ms);
      sqlite3_bind_int64(st, 10, r.talk_ms);
      sqlite3_bind_int64(st, 11, r.duration_ms);
    }
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      std::string ignored;
      exec("ROLLBACK", ignored);
      return false;
    }
  }
  if (!exec("COMMIT", error)) {
    std::string ignored;
    exec("ROLLBACK", ignored);
    return false;
  }
  inserted_ += records.size();
  return true;
}

bool CallStore::query(const CallQuery& q, std::vector<CallRow>& out, std::string& error) {
  if (db_ == nullptr) {
    error = "the call store is not open";
    return false;
  }
  const char* column = "caller";
  switch (q.by) {
    case CallQuery::By::caller:
      column = q.value.starts_with('+') ? "caller" : "caller_raw";
      break;
    case CallQuery::By::callee:
      column = q.value.starts_with('+') ? "callee" : "callee_raw";
      break;
    case CallQuery::By::trunk:
      column = "trunk";
      break;
    case CallQuery::By::source:
      column = "source";
      break;
  }
  // The column name comes from the list above, never from the request.
  const std::string sql =
      std::string(
          "SELECT c.time_ms, c.worker, c.in_port, c.trunk, c.source, c.src_port, c.transport, c.caller, c.callee, "
          "c.caller_raw, c.callee_raw, c.call_id, c.action, c.reject_code, c.rule, c.detector, c.detector_level, "
          "c.ruleset_version, o.time_ms, o.end_kind, o.final_code, o.seen, o.ring_ms, o.answer_ms, o.talk_ms, "
          "o.duration_ms FROM calls c LEFT JOIN outcomes o ON o.call_hash = c.call_hash AND o.worker = c.worker AND "
          "o.start_ms = c.start_ms WHERE c.") +
      column + " = ?1 AND c.time_ms >= ?2 AND c.time_ms <= ?3 ORDER BY c.time_ms DESC LIMIT ?4";
  Statement s;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  sqlite3_bind_text(s.st, 1, q.value.data(), static_cast<int>(q.value.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.st, 2, q.since_ms);
  sqlite3_bind_int64(s.st, 3, q.until_ms);
  sqlite3_bind_int64(s.st, 4, q.limit);
  int rc;
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) {
    CallRow r;
    r.time_ms = sqlite3_column_int64(s.st, 0);
    r.worker = column_u32(s.st, 1);
    r.in_port = column_u32(s.st, 2);
    r.trunk = column_text(s.st, 3);
    r.source = column_text(s.st, 4);
    r.src_port = column_u32(s.st, 5);
    r.transport = column_u32(s.st, 6);
    r.caller = column_text(s.st, 7);
    r.callee = column_text(s.st, 8);
    r.caller_raw = column_text(s.st, 9);
    r.callee_raw = column_text(s.st, 10);
    r.call_id = column_text(s.st, 11);
    r.action = column_u32(s.st, 12);
    r.reject_code = column_u32(s.st, 13);
    r.rule = column_text(s.st, 14);
    r.detector = column_text(s.st, 15);
    r.detector_level = column_u32(s.st, 16);
    r.ruleset_version = column_text(s.st, 17);
    r.has_outcome = sqlite3_column_type(s.st, 18) != SQLITE_NULL;
    if (r.has_outcome) {
      r.ended_ms = sqlite3_column_int64(s.st, 18);
      r.end = column_u32(s.st, 19);
      r.final_code = column_u32(s.st, 20);
      r.seen = column_u32(s.st, 21);
      r.ring_ms = column_u32(s.st, 22);
      r.answer_ms = column_u32(s.st, 23);
      r.talk_ms = column_u32(s.st, 24);
      r.duration_ms = column_u32(s.st, 25);
    }
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

std::uint64_t CallStore::bytes_in_use() {
  if (db_ == nullptr) return 0;
  const std::int64_t pages = single_int("PRAGMA page_count") - single_int("PRAGMA freelist_count");
  return static_cast<std::uint64_t>(pages > 0 ? pages : 0) * static_cast<std::uint64_t>(single_int("PRAGMA page_size"));
}

std::uint64_t CallStore::enforce_retention(std::int64_t now_ms, std::string& error, std::uint32_t step) {
  if (db_ == nullptr) return 0;
  std::uint64_t gone = 0;
  auto run = [&](const std::string& sql, std::int64_t a) -> bool {
    Statement s;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      return false;
    }
    sqlite3_bind_int64(s.st, 1, a);
    sqlite3_bind_int64(s.st, 2, step);
    if (sqlite3_step(s.st) != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      return false;
    }
    gone += static_cast<std::uint64_t>(sqlite3_changes(db_));
    return true;
  };
  // Oldest first, by rowid (insertion order, which is time order), a step at a time.
  const std::string calls_before =
      "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE time_ms < ?1 ORDER BY id LIMIT ?2)";
  const std::string outcomes_before =
      "DELETE FROM outcomes WHERE id IN (SELECT id FROM outcomes WHERE time_ms < ?1 ORDER BY id LIMIT ?2)";
  const std::int64_t cutoff = now_ms - static_cast<std::int64_t>(options_.retention_days) * 86'400'000;
  if (options_.retention_days != 0) {
    if (!run(calls_before, cutoff) || !run(outcomes_before, cutoff)) return gone;
  }
  // Size cap: the oldest `step` calls (and the outcomes older than what is
  // left) until the pages in use fit, bounded to 16 steps per call.
  for (int i = 0; options_.max_bytes != 0 && i < 16 && bytes_in_use() > options_.max_bytes; ++i) {
    const std::int64_t oldest_kept = single_int("SELECT time_ms FROM calls ORDER BY id LIMIT 1 OFFSET 0");
    const std::uint64_t before = gone;
    if (!run("DELETE FROM calls WHERE id IN (SELECT id FROM calls ORDER BY id LIMIT ?2) AND ?1 = ?1", 0)) break;
    const std::int64_t next_oldest = single_int("SELECT time_ms FROM calls ORDER BY id LIMIT 1");
    if (!run(outcomes_before, next_oldest != 0 ? next_oldest : oldest_kept + 1)) break;
    if (gone == before) break;  // nothing left to delete
  }
  deleted_ += gone;
  return gone;
}

}  // namespace sipwall::control
