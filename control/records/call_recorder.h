// sipwall-control's call records (docs/records.md): the records socket's
// client end, the SQLite store and the optional JSON-lines file, driven by
// the daemon's loop. Records are stored when 8192 are waiting or 200 ms
// after the first one, whichever comes first, in transactions of at most
// 1024 records and for at most 50 ms a turn (a backlog goes over several
// turns); retention runs every minute, its drops on the store's own thread
// (the records wait meanwhile). Nothing here blocks on the data plane: the
// socket is non-blocking and the data plane drops (and counts) what this
// process is too slow for.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/records/call_store.h"
#include "control/records/jsonl_file.h"
#include "control/records/records_link.h"

namespace sipwall::control {

struct CallRecorderOptions {
  std::string socket;  // the data plane's records.socket
  CallStoreOptions store;
  std::string group;  // of the database files and the JSON-lines file ("" = the process's)
  std::string jsonl;  // "" = none
};

struct CallRecorderCounters {
  std::uint64_t received = 0;      // records that passed the checks
  std::uint64_t bad_frames = 0;    // frames refused (and their records)
  std::uint64_t stored = 0;        // rows written to the store
  std::uint64_t store_errors = 0;  // failed batches (their records are lost)
  std::uint64_t deleted = 0;       // rows deleted by retention and the size cap
  std::uint64_t jsonl_lines = 0;
  std::uint64_t jsonl_errors = 0;
};

class CallRecorder {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CallRecorder(CallRecorderOptions o) : options_(std::move(o)), link_(options_.socket) {}

  // Opens the store (and the JSON-lines file). False with *error.
  bool open(std::string& error);

  // The daemon's poll: the socket's fd (if connected) is added to `fds`;
  // process() reads what is waiting, stores due batches, runs retention.
  void add_pollfd(std::vector<pollfd>& fds);
  void process(Clock::time_point now);
  // When process() must run next even without input (a batch or retention due).
  Clock::time_point wake_at(Clock::time_point now) const;

  // SIGHUP: logrotate moved the JSON-lines file.
  void reopen_jsonl();
  // Stores what is waiting (a query must see every record received), unless
  // a partition is being dropped (then once it is done).
  void flush();

  bool query(const CallQuery& q, std::vector<CallRow>& out, std::string& error);
  nlohmann::json status_json();
  const CallRecorderCounters& counters() const noexcept { return c_; }
  // Records received and not stored yet: a batch filling, or behind a
  // partition drop or the WAL's checkpoint (at most 65,536; beyond, they wait
  // in the data plane's rings, which drop and count).
  std::size_t waiting() const noexcept { return pending_.size(); }
  std::uint64_t bytes_in_use() { return store_.bytes_in_use(); }

 private:
  void store_some(std::size_t n);  // the first n waiting records, one transaction

  CallRecorderOptions options_;
  RecordsLink link_;
  CallStore store_;
  JsonlFile jsonl_;
  std::vector<protocol::CallRecordWire> pending_;
  std::optional<Clock::time_point> flush_due_;
  Clock::time_point retention_due_{};
  CallRecorderCounters c_;
  std::string last_error_;
};

}  // namespace sipwall::control
