#include "control/records/call_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

namespace sipwall::control {

namespace {

// The format this code writes (PRAGMA user_version). 0 with a `calls` table
// is the first format (one table, no partitions): refused.
constexpr int kFormat = 2;

constexpr const char* kCatalog = R"SQL(
CREATE TABLE IF NOT EXISTS partitions(
  id INTEGER PRIMARY KEY,
  window_ms INTEGER NOT NULL,
  min_ms INTEGER NOT NULL,
  max_ms INTEGER NOT NULL,
  rows INTEGER NOT NULL);
)SQL";

// One partition's tables. The outcomes' index leads with the worker's clock
// at the INVITE, not the Call-ID hash: outcomes arrive roughly in the order
// their calls started, so its new entries land near its end (few pages
// written per batch) where a hash would scatter them over the whole index.
// The four search keys are stored twice: as text
// (what the query compares, so a collision never returns a wrong call) and
// as a 64-bit hash of the text (what the index holds: 8 bytes whatever the
// text, so more of each index stays in the page cache).
std::string partition_schema(std::int64_t id) {
  const std::string n = std::to_string(id);
  const std::string c = "calls_" + n, o = "outcomes_" + n;
  return "CREATE TABLE " + c +
         "(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, worker INTEGER NOT NULL, call_hash INTEGER NOT NULL, "
         "start_ms INTEGER NOT NULL, in_port INTEGER NOT NULL, trunk TEXT NOT NULL, source TEXT NOT NULL, "
         "src_port INTEGER NOT NULL, transport INTEGER NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL, "
         "caller_raw TEXT NOT NULL, callee_raw TEXT NOT NULL, call_id TEXT NOT NULL, action INTEGER NOT NULL, "
         "reject_code INTEGER NOT NULL, rule TEXT NOT NULL, detector TEXT NOT NULL, detector_level INTEGER NOT NULL, "
         "ruleset_version TEXT NOT NULL, caller_key INTEGER NOT NULL, callee_key INTEGER NOT NULL, "
         "trunk_key INTEGER NOT NULL, source_key INTEGER NOT NULL);"
         "CREATE INDEX " +
         c + "_caller ON " + c +
         "(caller_key, time_ms);"
         "CREATE INDEX " +
         c + "_callee ON " + c +
         "(callee_key, time_ms);"
         "CREATE INDEX " +
         c + "_trunk ON " + c +
         "(trunk_key, time_ms);"
         "CREATE INDEX " +
         c + "_source ON " + c +
         "(source_key, time_ms);"
         "CREATE TABLE " +
         o +
         "(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, worker INTEGER NOT NULL, call_hash INTEGER NOT NULL, "
         "start_ms INTEGER NOT NULL, end_kind INTEGER NOT NULL, final_code INTEGER NOT NULL, seen INTEGER NOT NULL, "
         "ring_ms INTEGER NOT NULL, answer_ms INTEGER NOT NULL, talk_ms INTEGER NOT NULL, "
         "duration_ms INTEGER NOT NULL);"
         "CREATE INDEX " +
         o + "_call ON " + o + "(start_ms, worker, call_hash);";
}

// An outcome is written when the call leaves the data plane's call table: at
// most detection.answered_timeout_ms (24 h at most) plus the ringing timeout
// and the linger after the INVITE. A call's outcome is looked for in the
// partitions that start before its INVITE's time plus this.
constexpr std::int64_t kOutcomeWithinMs = 26 * 3'600'000LL;

// The hash is an unsigned 64-bit value; SQLite integers are signed: stored
// as the same 64 bits.
std::int64_t as_signed(std::uint64_t v) {
  std::int64_t s;
  std::memcpy(&s, &v, sizeof s);
  return s;
}

// FNV-1a, 64 bits: the index key of a search text (stable across versions:
// it is stored).
std::int64_t key_of(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char ch : text) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  return as_signed(h);
}

// The record lives until the statement has run: no copy (SQLITE_STATIC).
void bind_view(sqlite3_stmt* st, int i, std::string_view v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
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
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(st); }
};

// A call found, with where it was found (its outcome is there or later).
struct Found {
  CallRow row;
  std::size_t partition = 0;  // index into partitions_
  std::uint64_t call_hash = 0, start_ms = 0;
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

void CallStore::finalize_inserts() {
  sqlite3_finalize(insert_call_);
  sqlite3_finalize(insert_outcome_);
  insert_call_ = insert_outcome_ = nullptr;
}

void CallStore::close() {
  dropper_.stop();  // a drop in progress is rolled back: its tables are found again at the next open
  if (db_ != nullptr) WalCheckpointer::detach(db_);
  checkpointer_.stop();
  finalize_inserts();
  partitions_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

bool CallStore::exec(const std::string& sql, std::string& error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) == SQLITE_OK) return true;
  error = msg != nullptr ? msg : sqlite3_errmsg(db_);
  sqlite3_free(msg);
  return false;
}

std::int64_t CallStore::single_int(const char* sql) {
  Statement s;
  if (sqlite3_prepare_v2(db_, sql, -1, &s.st, nullptr) != SQLITE_OK) return 0;
  return sqlite3_step(s.st) == SQLITE_ROW ? sqlite3_column_int64(s.st, 0) : 0;
}

std::int64_t CallStore::window_of(std::int64_t time_ms) const noexcept {
  const std::int64_t len = static_cast<std::int64_t>(options_.partition_minutes) * 60'000;
  if (len == 0) return 0;
  return time_ms >= 0 ? time_ms / len * len : -1;
}

bool CallStore::load_partitions(std::string& error) {
  partitions_.clear();
  Statement s;
  if (sqlite3_prepare_v2(db_, "SELECT id, window_ms, min_ms, max_ms, rows FROM partitions ORDER BY id", -1, &s.st,
                         nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  int rc;
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW)
    partitions_.push_back({sqlite3_column_int64(s.st, 0), sqlite3_column_int64(s.st, 1), sqlite3_column_int64(s.st, 2),
                           sqlite3_column_int64(s.st, 3), static_cast<std::uint64_t>(sqlite3_column_int64(s.st, 4))});
  if (rc != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  return prepare_inserts(error);
}

bool CallStore::prepare_inserts(std::string& error) {
  finalize_inserts();
  if (partitions_.empty()) return true;
  const std::string n = std::to_string(partitions_.back().id);
  const std::string call = "INSERT INTO calls_" + n +
                           "(time_ms, worker, call_hash, start_ms, in_port, trunk, source, src_port, transport, "
                           "caller, callee, caller_raw, callee_raw, call_id, action, reject_code, rule, detector, "
                           "detector_level, ruleset_version, caller_key, callee_key, trunk_key, source_key) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  const std::string outcome = "INSERT INTO outcomes_" + n +
                              "(time_ms, worker, call_hash, start_ms, end_kind, final_code, seen, ring_ms, "
                              "answer_ms, talk_ms, duration_ms) VALUES(?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v3(db_, call.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &insert_call_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v3(db_, outcome.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &insert_outcome_, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    finalize_inserts();
    return false;
  }
  return true;
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
  auto fail = [&](const std::string& why) {
    error = options.path + ": " + why;
    close();
    return false;
  };
  // WAL: readers (queries) do not wait for the writer; NORMAL: a power cut
  // may lose the last transactions, never corrupt the file. A 1 GiB page
  // cache holds the open partition's indexes (random keys); a checkpoint
  // every 64 MiB of WAL writes them back in fewer, larger runs. Not in this
  // connection: checkpointer_ runs them on its thread (attached below), and
  // holds this connection's writes once the WAL holds twice the mark until
  // it has copied it all, which bounds the -wal file. No journal_size_limit:
  // cutting the file back is an ftruncate on this thread (142 ms seen).
  if (!exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1048576; "
            "PRAGMA wal_autocheckpoint=0; PRAGMA temp_store=MEMORY;",
            error))
    return fail(error);
  const std::int64_t format = single_int("PRAGMA user_version");
  const bool has_old_calls = single_int("SELECT count(*) FROM sqlite_schema WHERE name = 'calls'") != 0;
  if (format == 0 && has_old_calls)
    return fail(
        "a call store of the first format (one `calls` table, before partitions); sipwall-control no longer "
        "reads it: move it away (and its -wal and -shm) or delete it, or set records.database to a new file");
  if (format != 0 && format != kFormat)
    return fail("a call store of format " + std::to_string(format) + ", this sipwall-control writes format " +
                std::to_string(kFormat));
  // A new file gets the catalog; one of this format is only read.
  if ((format == 0 &&
       !exec(std::string("BEGIN;") + kCatalog + "PRAGMA user_version=" + std::to_string(kFormat) + "; COMMIT;",
             error)) ||
      !load_partitions(error)) {
    std::string ignored;
    exec("ROLLBACK", ignored);
    return fail(error);
  }
  if (!dropper_.start(options.path, error) || !checkpointer_.start(options.path, options.wal_checkpoint_pages, error))
    return fail(error);
  checkpointer_.attach(db_);
  return true;
}

bool CallStore::open_partition(std::int64_t window, std::int64_t time_ms, std::string& error) {
  Statement s;
  if (sqlite3_prepare_v2(db_, "INSERT INTO partitions(window_ms, min_ms, max_ms, rows) VALUES(?1, ?2, ?2, 0)", -1,
                         &s.st, nullptr) != SQLITE_OK) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  sqlite3_bind_int64(s.st, 1, window);
  sqlite3_bind_int64(s.st, 2, time_ms);
  if (sqlite3_step(s.st) != SQLITE_DONE) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  if (!exec(partition_schema(id), error)) return false;
  partitions_.push_back({id, window, time_ms, time_ms, 0});
  return prepare_inserts(error);
}

bool CallStore::insert(std::span<const protocol::CallRecordWire> records, std::string& error) {
  if (db_ == nullptr) {
    error = "the call store is not open";
    return false;
  }
  if (records.empty()) return true;
  if (dropping()) {
    error = "a partition's tables are being dropped: the records wait";
    return false;
  }
  if (checkpointer_.writer_must_wait()) {
    error = "the WAL waits for its checkpoint: the records wait";
    return false;
  }
  if (!exec("BEGIN", error)) return false;
  // What this batch touched: the open partition and any it opened.
  const std::size_t first_touched = partitions_.empty() ? 0 : partitions_.size() - 1;
  auto fail = [&]() {
    std::string ignored;
    exec("ROLLBACK", ignored);
    // The rollback removed the partitions this batch opened: read back what is.
    if (!load_partitions(ignored)) partitions_.clear();
    return false;
  };
  for (const protocol::CallRecordWire& r : records) {
    const std::int64_t time_ms = static_cast<std::int64_t>(r.time_ns / 1'000'000);
    const std::int64_t window = window_of(time_ms);
    // A record late for its window stays in the open partition (its span
    // grows to include it); one in a later window, or a full partition, opens one.
    if (partitions_.empty() || window > partitions_.back().window ||
        (options_.partition_max_rows != 0 && partitions_.back().rows >= options_.partition_max_rows)) {
      const std::int64_t w = partitions_.empty() ? window : std::max(window, partitions_.back().window);
      if (!open_partition(w, time_ms, error)) return fail();
    }
    sqlite3_stmt* st;
    std::string src;
    if (r.kind == static_cast<std::uint8_t>(protocol::CallRecordKind::invite)) {
      st = insert_call_;
      const std::string_view trunk = protocol::get_text(r.trunk), caller = protocol::get_text(r.caller),
                             callee = protocol::get_text(r.callee);
      src = address_text(r.src);
      sqlite3_bind_int64(st, 1, time_ms);
      sqlite3_bind_int64(st, 2, r.worker);
      sqlite3_bind_int64(st, 3, as_signed(r.call_hash));
      sqlite3_bind_int64(st, 4, as_signed(r.start_ms));
      sqlite3_bind_int64(st, 5, r.in_port);
      bind_view(st, 6, trunk);
      bind_view(st, 7, src);
      sqlite3_bind_int64(st, 8, r.src_port);
      sqlite3_bind_int64(st, 9, r.transport);
      bind_view(st, 10, caller);
      bind_view(st, 11, callee);
      bind_view(st, 12, protocol::get_text(r.caller_raw));
      bind_view(st, 13, protocol::get_text(r.callee_raw));
      bind_view(st, 14, protocol::get_text(r.call_id));
      sqlite3_bind_int64(st, 15, r.action);
      sqlite3_bind_int64(st, 16, r.reject_code);
      bind_view(st, 17, protocol::get_text(r.rule));
      bind_view(st, 18, protocol::get_text(r.detector));
      sqlite3_bind_int64(st, 19, r.detector_level);
      bind_view(st, 20, protocol::get_text(r.ruleset_version));
      sqlite3_bind_int64(st, 21, key_of(caller));
      sqlite3_bind_int64(st, 22, key_of(callee));
      sqlite3_bind_int64(st, 23, key_of(trunk));
      sqlite3_bind_int64(st, 24, key_of(src));
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
      return fail();
    }
    Partition& p = partitions_.back();
    p.min_ms = std::min(p.min_ms, time_ms);
    p.max_ms = std::max(p.max_ms, time_ms);
    p.rows++;
  }
  {
    Statement s;
    if (sqlite3_prepare_v2(db_, "UPDATE partitions SET min_ms = ?2, max_ms = ?3, rows = ?4 WHERE id = ?1", -1, &s.st,
                           nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      return fail();
    }
    for (std::size_t i = first_touched; i < partitions_.size(); ++i) {
      const Partition& p = partitions_[i];
      sqlite3_bind_int64(s.st, 1, p.id);
      sqlite3_bind_int64(s.st, 2, p.min_ms);
      sqlite3_bind_int64(s.st, 3, p.max_ms);
      sqlite3_bind_int64(s.st, 4, static_cast<std::int64_t>(p.rows));
      const int rc = sqlite3_step(s.st);
      sqlite3_reset(s.st);
      if (rc != SQLITE_DONE) {
        error = sqlite3_errmsg(db_);
        return fail();
      }
    }
  }
  if (!exec("COMMIT", error)) return fail();
  inserted_ += records.size();
  return true;
}

bool CallStore::query(const CallQuery& q, std::vector<CallRow>& out, std::string& error) {
  if (db_ == nullptr) {
    error = "the call store is not open";
    return false;
  }
  // Each column name comes from this list, never from the request.
  const char* column = "caller";
  const char* key = "caller_key";
  switch (q.by) {
    case CallQuery::By::caller:
      column = q.value.starts_with('+') ? "caller" : "caller_raw";
      break;
    case CallQuery::By::callee:
      column = q.value.starts_with('+') ? "callee" : "callee_raw";
      key = "callee_key";
      break;
    case CallQuery::By::trunk:
      column = "trunk";
      key = "trunk_key";
      break;
    case CallQuery::By::source:
      column = "source";
      key = "source_key";
      break;
  }
  // A number as written has no index (the dial plan's E.164 form does): that
  // search reads the partitions in the time range whole.
  const bool by_raw = std::string_view(column).ends_with("_raw");
  if (q.limit == 0) return true;

  // Newest partitions first; stop once `limit` calls are found that are all
  // newer than anything the next partition holds.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < partitions_.size(); ++i)
    if (partitions_[i].max_ms >= q.since_ms && partitions_[i].min_ms <= q.until_ms) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return partitions_[a].max_ms > partitions_[b].max_ms; });

  std::vector<Found> found;
  std::vector<std::int64_t> times;
  const std::int64_t value_key = key_of(q.value);
  for (const std::size_t pi : order) {
    if (found.size() >= q.limit) {
      times.clear();
      for (const Found& f : found) times.push_back(f.row.time_ms);
      std::nth_element(times.begin(), times.begin() + (q.limit - 1), times.end(), std::greater<>());
      if (partitions_[pi].max_ms < times[q.limit - 1]) break;
    }
    const std::string n = std::to_string(partitions_[pi].id);
    const std::string sql =
        "SELECT time_ms, worker, in_port, trunk, source, src_port, transport, caller, callee, caller_raw, "
        "callee_raw, call_id, action, reject_code, rule, detector, detector_level, ruleset_version, call_hash, "
        "start_ms FROM calls_" +
        n + " WHERE " + (by_raw ? std::string() : std::string(key) + " = ?5 AND ") + column +
        " = ?1 AND time_ms >= ?2 AND time_ms <= ?3 ORDER BY time_ms DESC LIMIT ?4";
    Statement s;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(db_);
      return false;
    }
    sqlite3_bind_text(s.st, 1, q.value.data(), static_cast<int>(q.value.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.st, 2, q.since_ms);
    sqlite3_bind_int64(s.st, 3, q.until_ms);
    sqlite3_bind_int64(s.st, 4, q.limit);
    if (!by_raw) sqlite3_bind_int64(s.st, 5, value_key);
    int rc;
    while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) {
      Found f;
      CallRow& r = f.row;
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
      f.call_hash = static_cast<std::uint64_t>(sqlite3_column_int64(s.st, 18));
      f.start_ms = static_cast<std::uint64_t>(sqlite3_column_int64(s.st, 19));
      f.partition = pi;
      found.push_back(std::move(f));
    }
    if (rc != SQLITE_DONE) {
      error = sqlite3_errmsg(db_);
      return false;
    }
  }
  // Newest first; among equal times, the later partition first.
  std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.row.time_ms != b.row.time_ms ? a.row.time_ms > b.row.time_ms : a.partition > b.partition;
  });
  if (found.size() > q.limit) found.resize(q.limit);

  // Each call's outcome: in its partition or a later one, first match wins.
  std::vector<std::unique_ptr<Statement>> outcome_of(partitions_.size());
  for (Found& f : found) {
    for (std::size_t pi = f.partition; pi < partitions_.size(); ++pi) {
      if (partitions_[pi].min_ms > f.row.time_ms + kOutcomeWithinMs) break;
      if (!outcome_of[pi]) {
        outcome_of[pi] = std::make_unique<Statement>();
        const std::string sql =
            "SELECT time_ms, end_kind, final_code, seen, ring_ms, answer_ms, talk_ms, duration_ms FROM outcomes_" +
            std::to_string(partitions_[pi].id) + " WHERE start_ms = ?3 AND worker = ?2 AND call_hash = ?1 LIMIT 1";
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &outcome_of[pi]->st, nullptr) != SQLITE_OK) {
          error = sqlite3_errmsg(db_);
          return false;
        }
      }
      sqlite3_stmt* st = outcome_of[pi]->st;
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, as_signed(f.call_hash));
      sqlite3_bind_int64(st, 2, f.row.worker);
      sqlite3_bind_int64(st, 3, as_signed(f.start_ms));
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        CallRow& r = f.row;
        r.has_outcome = true;
        r.ended_ms = sqlite3_column_int64(st, 0);
        r.end = column_u32(st, 1);
        r.final_code = column_u32(st, 2);
        r.seen = column_u32(st, 3);
        r.ring_ms = column_u32(st, 4);
        r.answer_ms = column_u32(st, 5);
        r.talk_ms = column_u32(st, 6);
        r.duration_ms = column_u32(st, 7);
        break;
      }
      if (rc != SQLITE_DONE) {
        error = sqlite3_errmsg(db_);
        return false;
      }
    }
  }
  for (Found& f : found) out.push_back(std::move(f.row));
  return true;
}

std::uint64_t CallStore::bytes_in_use() {
  if (db_ == nullptr) return 0;
  const std::int64_t pages = single_int("PRAGMA page_count") - single_int("PRAGMA freelist_count");
  return static_cast<std::uint64_t>(pages > 0 ? pages : 0) * static_cast<std::uint64_t>(single_int("PRAGMA page_size"));
}

// Out of the in-memory catalog at once: from then on no query reads the
// partition (queries go by partitions_). Its catalog row and its tables go
// in one transaction on the dropper's thread: if the process stops before
// it commits, the partition is still there at the next open, and dropped
// then. No write of this connection runs meanwhile (insert() refuses).
bool CallStore::drop_partition(std::string& error) {
  const Partition p = partitions_.front();
  const std::string n = std::to_string(p.id);
  if (!dropper_.submit("DELETE FROM partitions WHERE id = " + n + "; DROP TABLE IF EXISTS calls_" + n +
                       "; DROP TABLE IF EXISTS outcomes_" + n + ";")) {
    error = "a partition is still being dropped";
    return false;
  }
  partitions_.erase(partitions_.begin());
  if (partitions_.empty()) finalize_inserts();  // the open one went: the next insert opens one
  deleted_ += p.rows;
  dropping_rows_ = p.rows;
  return true;
}

std::uint64_t CallStore::enforce_retention(std::int64_t now_ms, std::string& error, std::uint32_t max_partitions) {
  if (db_ == nullptr) return 0;
  if (dropping()) return 0;  // the last drop still runs: next time
  if (const std::string e = dropper_.take_error(); !e.empty()) {
    // Rolled back: the partition is still in the catalog. Read it back, to
    // be dropped again.
    error = "dropping a partition: " + e;
    deleted_ -= dropping_rows_;
    std::string ignored;
    if (!load_partitions(ignored)) partitions_.clear();
  }
  if (const std::string e = checkpointer_.take_error(); !e.empty())
    error += (error.empty() ? "" : "; ") + std::string("checkpointing the WAL: ") + e;
  const std::uint64_t before = deleted_;
  std::uint32_t dropped = 0;
  // Retention: a partition goes when its newest record is older than the
  // days (the open one too: nothing newer came for that long).
  const std::int64_t cutoff = now_ms - static_cast<std::int64_t>(options_.retention_days) * 86'400'000;
  while (options_.retention_days != 0 && dropped < max_partitions && !partitions_.empty() &&
         partitions_.front().max_ms < cutoff) {
    wait_drops();
    if (!drop_partition(error)) return deleted_ - before;
    ++dropped;
  }
  // Size cap: the oldest while the pages in use exceed it, never the open
  // one. The pages of a partition are free once its drop is done.
  while (options_.max_bytes != 0 && dropped < max_partitions && partitions_.size() > 1) {
    wait_drops();
    if (bytes_in_use() <= options_.max_bytes || !drop_partition(error)) break;
    ++dropped;
  }
  return deleted_ - before;
}

}  // namespace sipwall::control
