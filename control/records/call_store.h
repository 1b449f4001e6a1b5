// sipwall-control's store of call records (docs/records.md): an SQLite
// database on the appliance, written in batches (one transaction per batch,
// WAL journal), read by `sipwallctl calls` through the control socket.
//
// Partitioned by time: records are appended to the open partition, a pair of
// tables `calls_<id>` (one row per INVITE record, indexed by caller, callee,
// trunk and source, each with the time) and `outcomes_<id>` (one row per
// outcome record, indexed by the worker's clock at the INVITE and the Call-ID
// hash). A new partition opens when a record's time enters the next
// `partition_minutes` window or the open one holds `partition_max_rows` rows. So the indexes being written stay small
// (in the page cache) and ingest does not slow down as the store grows; the
// catalog table `partitions` keeps each one's time span and row count.
//
// A query runs over the partitions whose span meets its time range, newest
// first, and joins each call to its outcome, which is in the call's partition
// or a later one (records arrive in order). Retention and the size cap drop
// whole partitions, oldest first: no row-by-row DELETE; their pages are
// reused, so the file stops growing near the cap. A partition leaves the
// queries at once and is dropped (its catalog row and tables, one
// transaction) on a thread of its own (TableDropper): a DROP TABLE reads
// every page of the table, seconds for a full partition, which the owner's
// thread does not wait for; the owner does not write meanwhile (dropping()).
// WAL checkpoints do not run in the owner's connection either (their
// fdatasyncs held the daemon's loop): a WalCheckpointer runs them on its
// own thread once the WAL passes wal_checkpoint_pages. Files are created 0640
// (the daemon sets the group). A file of the first format (one `calls`
// table) is refused with a clear error. Not thread-safe: one owner (the
// daemon's loop, or a benchmark).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/records/table_dropper.h"
#include "control/records/wal_checkpointer.h"
#include "dataplane/protocol/call_record.h"

namespace sipwall::control {

struct CallStoreOptions {
  std::string path;  // the database file (its -wal and -shm beside it)
  std::uint32_t retention_days = 30;
  std::uint64_t max_bytes = 20ull << 30;  // pages in use; 0 = no cap
  // A partition spans at most this many minutes of record time (aligned
  // windows; 0 = no time bound) and at most this many rows (calls and
  // outcomes; 0 = no bound). Measured choice: docs/performance.md "Call records".
  std::uint32_t partition_minutes = 10;
  std::uint64_t partition_max_rows = 1'500'000;
  // A checkpoint (on the checkpointer's thread) once the WAL holds this many
  // pages: 64 MiB of 4 KiB pages, written back in few large runs. Writes
  // wait (must_wait()) while the WAL holds twice this: the -wal file stays
  // under twice this plus one transaction.
  std::uint32_t wal_checkpoint_pages = 16384;
};

// What `sipwallctl calls` asks. Exactly one of the four keys is set.
struct CallQuery {
  enum class By { caller, callee, trunk, source } by = By::caller;
  std::string value;  // E.164 "+86..." for caller/callee (else matched as written), trunk name, address text
  std::int64_t since_ms = 0;
  std::int64_t until_ms = INT64_MAX;
  std::uint32_t limit = 100;
};

// One call as the store gives it back: its INVITE record's fields and, if it
// arrived, its outcome's (has_outcome). Text as stored (bytes from outside:
// escape before showing, text::dump_json).
struct CallRow {
  std::int64_t time_ms = 0;
  std::uint32_t worker = 0;
  std::uint32_t in_port = 0;
  std::string trunk, source;
  std::uint32_t src_port = 0;
  std::uint32_t transport = 0;
  std::string caller, callee, caller_raw, callee_raw, call_id;
  std::uint32_t action = 0;  // rules::ActionKind
  std::uint32_t reject_code = 0;
  std::string rule, detector, ruleset_version;
  std::uint32_t detector_level = 0;
  bool has_outcome = false;
  std::int64_t ended_ms = 0;  // when the call left the data plane's table
  std::uint32_t end = 0;      // protocol::CallEnd
  std::uint32_t final_code = 0, seen = 0, ring_ms = 0, answer_ms = 0, talk_ms = 0, duration_ms = 0;
};

// The source address as the store keeps it and `--source` matches it: an
// IPv4-mapped address as dotted quad, anything else as RFC 5952 IPv6 text.
std::string address_text(const std::uint8_t (&a)[16]);
// An address an operator typed, in that form; nullopt if it is not one.
std::optional<std::string> normalise_address(const std::string& text);

class CallStore {
 public:
  CallStore() = default;
  CallStore(const CallStore&) = delete;
  CallStore& operator=(const CallStore&) = delete;
  ~CallStore();

  // Opens (creating 0640 if needed) and prepares the schema. False with *error.
  bool open(const CallStoreOptions& options, std::string& error);
  void close();
  bool is_open() const noexcept { return db_ != nullptr; }

  // One transaction for the lot. Records must have passed
  // protocol::record_problem(). False with *error (the batch is rolled back),
  // and at once while must_wait(): keep the records and try again later.
  bool insert(std::span<const protocol::CallRecordWire> records, std::string& error);

  // Newest first, at most q.limit.
  bool query(const CallQuery& q, std::vector<CallRow>& out, std::string& error);

  // Drops the partitions retention and the size cap say must go: those whose
  // newest record is older than retention_days, then the oldest while the
  // pages in use exceed max_bytes (never the open one). At most
  // `max_partitions` per call. Each leaves the queries here (none sees any
  // of it from then on) and is dropped in the background (about 1.5 s of
  // CPU for a full one, docs/performance.md); the next one is considered
  // once that drop is done (the pages in use change only then), so only the
  // last is left running when this returns. Does nothing while an earlier
  // drop still runs. Returns the rows of the partitions dropped; a failed
  // background drop is reported in *error by the next call, and its
  // partition is back (to be dropped again).
  std::uint64_t enforce_retention(std::int64_t now_ms, std::string& error, std::uint32_t max_partitions = 1);
  // A partition's tables are being dropped: insert() refuses until done.
  bool dropping() const { return dropper_.busy(); }
  void wait_drops() const { dropper_.wait(); }
  // insert() refuses: a drop runs, or the WAL holds twice
  // wal_checkpoint_pages and waits for the checkpointer to copy it all
  // (WalCheckpointer: what bounds the WAL). The records wait with the caller.
  bool must_wait() const { return dropping() || checkpointer_.writer_must_wait(); }
  // Until must_wait() is false (a benchmark, a test; never the daemon's loop).
  void wait_writable() const {
    dropper_.wait();
    checkpointer_.wait_for_writer();
  }

  std::uint64_t bytes_in_use();  // (page_count - freelist_count) * page_size
  std::uint64_t inserted() const noexcept { return inserted_; }
  std::size_t partitions() const noexcept { return partitions_.size(); }
  std::uint64_t deleted() const noexcept { return deleted_; }
  const CallStoreOptions& options() const noexcept { return options_; }

 private:
  struct Partition {
    std::int64_t id = 0;
    std::int64_t window = 0;  // start (ms) of the time window it opened in; 0 without windows
    std::int64_t min_ms = 0, max_ms = 0;
    std::uint64_t rows = 0;
  };

  bool exec(const std::string& sql, std::string& error);
  std::int64_t single_int(const char* sql);
  bool load_partitions(std::string& error);
  bool open_partition(std::int64_t window, std::int64_t time_ms, std::string& error);
  bool prepare_inserts(std::string& error);
  bool drop_partition(std::string& error);  // the oldest: out of partitions_ now, out of the file by the dropper
  std::int64_t window_of(std::int64_t time_ms) const noexcept;
  void finalize_inserts();

  CallStoreOptions options_;
  sqlite3* db_ = nullptr;
  std::vector<Partition> partitions_;    // ascending id; the last is the open one
  sqlite3_stmt* insert_call_ = nullptr;  // into the open partition
  sqlite3_stmt* insert_outcome_ = nullptr;
  std::uint64_t inserted_ = 0;
  std::uint64_t deleted_ = 0;
  TableDropper dropper_;
  WalCheckpointer checkpointer_;
  std::uint64_t dropping_rows_ = 0;  // of the partition handed to the dropper last
};

}  // namespace sipwall::control
