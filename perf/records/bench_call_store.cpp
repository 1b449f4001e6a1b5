// bench_call_store: the call store's two figures (docs/performance.md "Call
// records"): sustained ingest on one core, and a query by caller (and by
// callee) over the last 24 h of a 1,000 calls/s appliance.
//
//   bench_call_store --rows N --db FILE [--callers K] [--queries Q]
//                    [--partition-minutes M] [--partition-max-rows R] [--cps C]
//
// Builds FILE with N invite records (and an outcome record for each),
// C calls per second of record time (default 1,000) ending now, callers drawn
// from K numbers (default 2 M: most callers make a few calls a day), in the
// daemon's batches (8192 records per transaction), with the store's
// partitioning (defaults: the daemon's). Ingest is measured as CPU time of
// this thread spent in CallStore::insert (CLOCK_THREAD_CPUTIME_ID: user and
// system, not wall time, which on a shared machine counts other people's
// work): printed for every partition as it closes, every 10 %, and overall.
// Then Q queries by caller and Q by callee over the last 24 h (the daemon's
// query, limit 100) for random numbers, with a fresh connection (cold SQLite
// cache) for the first: median, 99th percentile and worst wall time; then
// what retention's drop of the oldest partition costs the caller's thread
// and how long it takes on the store's dropper thread. --query-only 1
// skips the ingest and queries a store built before. Plain
// program, one thread: the daemon ingests on its one loop thread too.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "control/records/call_store.h"

namespace {

using sipwall::control::CallQuery;
using sipwall::control::CallRow;
using sipwall::control::CallStore;
using sipwall::control::CallStoreOptions;
using sipwall::protocol::CallRecordKind;
using sipwall::protocol::CallRecordWire;
using sipwall::protocol::set_text;
using Clock = std::chrono::steady_clock;

std::string number_of(std::uint64_t k) {
  char b[40];
  std::snprintf(b, sizeof b, "+86138%08llu", static_cast<unsigned long long>(k % 100'000'000));
  return b;
}

void fill(CallRecordWire& r, std::uint64_t i, std::uint64_t caller, std::uint64_t time_ms) {
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::invite);
  r.call_hash = i * 0x9E3779B97F4A7C15ULL | 1;
  r.start_ms = i;
  r.time_ns = time_ms * 1'000'000;
  r.ip_version = 4;
  r.transport = 17;
  r.src_port = 5060;
  std::uint8_t src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, static_cast<std::uint8_t>(i % 200), 1};
  std::memcpy(r.src, src, 16);
  set_text(r.trunk, i % 3 == 0 ? "carrier-a" : i % 3 == 1 ? "carrier-b" : "pbx");
  set_text(r.rule, "(default)");
  set_text(r.ruleset_version, "2026.12.07-1");
  const std::string a = number_of(caller), b = number_of(i % 5'000'000 + 10'000'000);
  set_text(r.caller, a);
  set_text(r.callee, b);
  set_text(r.caller_raw, a.substr(3));
  set_text(r.callee_raw, b.substr(3));
  char id[64];
  std::snprintf(id, sizeof id, "%016llx-%llu@bench.example", static_cast<unsigned long long>(r.call_hash),
                static_cast<unsigned long long>(i));
  set_text(r.call_id, id);
}

void outcome(CallRecordWire& r, const CallRecordWire& inv) {
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::outcome);
  r.end = 1;
  r.call_hash = inv.call_hash;
  r.start_ms = inv.start_ms;
  r.time_ns = inv.time_ns + 40'000'000'000ULL;
  r.final_code = 200;
  r.seen = CallRecordWire::kRinging | CallRecordWire::kAnswered | CallRecordWire::kFinal | CallRecordWire::kBye;
  r.ring_ms = 2000;
  r.answer_ms = 8000;
  r.talk_ms = 30000;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Ingest {
  CallStore& store;
  std::uint64_t written = 0;
  double cpu_s = 0;  // inside CallStore::insert
  // The partition being filled: its first record's place in the totals.
  std::size_t partitions = 0;
  std::uint64_t part_written = 0;
  double part_cpu = 0;

  bool put(std::vector<CallRecordWire>& batch) {
    std::string err;
    store.wait_writable();  // as the daemon's records wait in memory for a drop or a checkpoint
    const double t = thread_cpu_s();
    const bool ok = store.insert(batch, err);
    cpu_s += thread_cpu_s() - t;
    if (!ok) {
      std::fprintf(stderr, "insert: %s\n", err.c_str());
      return false;
    }
    written += batch.size();
    batch.clear();
    if (store.partitions() != partitions) {
      // A partition closed in this batch (give or take the batch's records).
      if (partitions != 0)
        std::printf("partition %3zu closed: %10llu records in %7.1f CPU s: %8.0f records per CPU second\n", partitions,
                    static_cast<unsigned long long>(written - part_written), cpu_s - part_cpu,
                    static_cast<double>(written - part_written) / (cpu_s - part_cpu));
      std::fflush(stdout);
      partitions = store.partitions();
      part_written = written;
      part_cpu = cpu_s;
    }
    return true;
  }
};

struct QueryStats {
  double cold_ms = 0;
  std::vector<double> ms;
  std::uint64_t found = 0, with_outcome = 0;
};

bool run_queries(const CallStoreOptions& o, CallQuery::By by, std::uint64_t queries, std::uint64_t now_ms,
                 const std::function<std::string()>& next_value, QueryStats& st) {
  CallStore store;  // a fresh connection: its page cache starts empty
  std::string err;
  if (!store.open(o, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return false;
  }
  for (std::uint64_t q = 0; q < queries; ++q) {
    CallQuery cq;
    cq.by = by;
    cq.value = next_value();
    cq.since_ms = static_cast<std::int64_t>(now_ms) - 86'400'000;
    cq.limit = 100;
    std::vector<CallRow> out;
    const auto t = Clock::now();
    if (!store.query(cq, out, err)) {
      std::fprintf(stderr, "query: %s\n", err.c_str());
      return false;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    if (q == 0) st.cold_ms = ms;
    st.ms.push_back(ms);
    st.found += out.size();
    for (const CallRow& r : out) st.with_outcome += r.has_outcome ? 1 : 0;
  }
  std::sort(st.ms.begin(), st.ms.end());
  return true;
}

}  // namespace

// Queries by caller and callee over the last 24 h of a store built before
// (--query-only 1, same --rows, --cps and --callers): "now" is its newest record.
int report_queries(const CallStoreOptions& o, std::uint64_t rows, std::uint64_t callers, std::uint64_t queries,
                   std::uint64_t cps, std::uint64_t now_ms);

// Retention's cost: the size cap set just under the pages in use drops the
// oldest partition (its catalog row and one DROP TABLE pair, on the store's
// dropper thread). Measured: what the caller's thread (the daemon's loop)
// spends in enforce_retention, and how long the drop takes to be done.
// 1024 invite records at `time_ms` (into the open partition), keys past
// `first`; wall ms of the one transaction.
double insert_piece(CallStore& store, std::uint64_t first, std::uint64_t time_ms) {
  std::vector<CallRecordWire> batch(1024);
  for (std::size_t k = 0; k < batch.size(); ++k) fill(batch[k], first + k, first + k * 7919, time_ms);
  std::string err;
  store.wait_writable();
  const auto t = Clock::now();
  if (!store.insert(batch, err)) std::fprintf(stderr, "insert: %s\n", err.c_str());
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int measure_drop(CallStoreOptions o, std::uint64_t rows_before, std::uint64_t now_ms) {
  CallStore store;
  std::string err;
  if (!store.open(o, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  const std::uint64_t bytes = store.bytes_in_use();
  const std::size_t parts = store.partitions();
  store.close();
  if (parts < 2) {
    std::printf("retention: one partition only (the open one is never dropped for size)\n");
    return 0;
  }
  o.max_bytes = bytes - 1;
  if (!store.open(o, err)) return 1;
  insert_piece(store, rows_before + 10'000'000, now_ms);  // a fresh connection's cache fills
  const double warm_ms = insert_piece(store, rows_before + 10'001'024, now_ms);
  const double cpu = thread_cpu_s();
  const auto t = Clock::now();
  const std::uint64_t rows = store.enforce_retention(0, err, 1);
  const double turn_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  const double turn_cpu_ms = (thread_cpu_s() - cpu) * 1000.0;
  store.wait_drops();
  const double done_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  const double after_ms = insert_piece(store, rows_before + 10'002'048, now_ms);
  if (!err.empty() || store.partitions() + 1 != parts) {
    std::fprintf(stderr, "drop: %s\n", err.c_str());
    return 1;
  }
  std::printf(
      "retention: dropping the oldest partition (%llu rows, %.1f MB freed): the caller's turn %.1f ms wall, %.1f ms of "
      "CPU; the drop done on the dropper thread after %.0f ms wall\n",
      static_cast<unsigned long long>(rows), static_cast<double>(bytes - store.bytes_in_use()) / 1048576.0, turn_ms,
      turn_cpu_ms, done_ms);
  std::printf(
      "retention: an insert of 1024 records took %.1f ms before the drop, %.1f ms right after it (the drop was "
      "another connection's write: this connection's page cache was emptied)\n",
      warm_ms, after_ms);
  return 0;
}

int queries_on_existing(const CallStoreOptions& o, std::uint64_t rows, std::uint64_t callers, std::uint64_t queries,
                        std::uint64_t cps) {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  std::uint64_t now_ms = 0;
  std::int64_t partitions = 0;
  if (sqlite3_open_v2(o.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT max(max_ms), count(*) FROM partitions", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    now_ms = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
    partitions = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (now_ms == 0) {
    std::fprintf(stderr, "%s: no partitions\n", o.path.c_str());
    return 1;
  }
  std::printf("%s: %lld partitions\n", o.path.c_str(), static_cast<long long>(partitions));
  const int rc = report_queries(o, rows, callers, queries, cps, now_ms);
  return rc != 0 ? rc : measure_drop(o, rows, now_ms);
}

int main(int argc, char** argv) {
  std::uint64_t rows = 1'000'000, callers = 2'000'000, queries = 200, cps = 1000;
  bool query_only = false;
  CallStoreOptions o;
  o.retention_days = 0;
  o.max_bytes = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--rows")
      rows = v;
    else if (k == "--db")
      o.path = argv[i + 1];
    else if (k == "--callers")
      callers = v;
    else if (k == "--queries")
      queries = v;
    else if (k == "--cps")
      cps = v;
    else if (k == "--partition-minutes")
      o.partition_minutes = static_cast<std::uint32_t>(v);
    else if (k == "--partition-max-rows")
      o.partition_max_rows = v;
    else if (k == "--query-only")
      query_only = v != 0;
  }
  if (o.path.empty() || rows == 0 || callers == 0 || cps == 0 || cps > 1000) {
    std::fprintf(stderr,
                 "usage: bench_call_store --rows N --db FILE [--callers K] [--queries Q] [--partition-minutes M] "
                 "[--partition-max-rows R] [--cps C (1..1000)] [--query-only 1]\n");
    return 2;
  }
  if (query_only) return queries_on_existing(o, rows, callers, queries, cps);
  CallStore store;
  std::string err;
  if (!store.open(o, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  std::printf("partitions of %u minutes, at most %llu rows; %llu calls per second of record time\n",
              o.partition_minutes, static_cast<unsigned long long>(o.partition_max_rows),
              static_cast<unsigned long long>(cps));
  const std::uint64_t now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::uint64_t step_ms = 1000 / cps;
  const std::uint64_t t0_ms = now_ms - rows * step_ms;  // the last record is now
  std::mt19937_64 rng(42);
  std::vector<CallRecordWire> batch;
  batch.reserve(16384);
  std::vector<CallRecordWire> waiting;  // invites whose outcome comes in a later batch
  Ingest in{store};
  const auto start = Clock::now();
  double mark_cpu = 0;
  std::uint64_t mark_written = 0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    CallRecordWire r;
    fill(r, i, rng() % callers, t0_ms + i * step_ms);
    batch.push_back(r);
    waiting.push_back(r);
    if (batch.size() >= 8192) {
      // The outcomes of the previous batch's calls arrive with this one.
      for (std::size_t k = 0; k + 4096 < waiting.size(); ++k) {
        CallRecordWire x;
        outcome(x, waiting[k]);
        batch.push_back(x);
      }
      if (waiting.size() > 4096) waiting.erase(waiting.begin(), waiting.end() - 4096);
      if (!in.put(batch)) return 1;
    }
    if (rows >= 10 && (i + 1) % (rows / 10) == 0) {
      std::printf("%3llu%%  %12llu invites  %9.0f records per CPU second (this tenth)  %zu partitions\n",
                  static_cast<unsigned long long>((i + 1) * 100 / rows), static_cast<unsigned long long>(i + 1),
                  static_cast<double>(in.written - mark_written) / (in.cpu_s - mark_cpu), store.partitions());
      std::fflush(stdout);
      mark_cpu = in.cpu_s;
      mark_written = in.written;
    }
  }
  for (const CallRecordWire& w : waiting) {
    CallRecordWire x;
    outcome(x, w);
    batch.push_back(x);
  }
  if (!in.put(batch)) return 1;
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "ingest: %llu records (%llu invites + outcomes) in %.1f CPU s of the inserting thread: %.0f records per CPU "
      "second (%.1f s of wall time)\n",
      static_cast<unsigned long long>(in.written), static_cast<unsigned long long>(rows), in.cpu_s,
      static_cast<double>(in.written) / in.cpu_s, wall_s);
  std::printf("database: %.1f MB in use (%.0f bytes per call), %zu partitions\n", store.bytes_in_use() / 1048576.0,
              static_cast<double>(store.bytes_in_use()) / static_cast<double>(rows), store.partitions());
  store.close();
  const int rc = report_queries(o, rows, callers, queries, cps, now_ms);
  return rc != 0 ? rc : measure_drop(o, rows, now_ms);
}

int report_queries(const CallStoreOptions& o, std::uint64_t rows, std::uint64_t callers, std::uint64_t queries,
                   std::uint64_t cps, std::uint64_t now_ms) {
  std::mt19937_64 rng(7);
  const std::uint64_t calls_in_day = std::min<std::uint64_t>(rows, 86'400 * cps);
  for (const auto by : {CallQuery::By::caller, CallQuery::By::callee}) {
    QueryStats st;
    // Callers: random numbers of the K; callees: the ones of the last day's calls.
    const std::uint64_t first = rows - calls_in_day;
    const std::function<std::string()> next =
        by == CallQuery::By::caller ? std::function<std::string()>([&] { return number_of(rng() % callers); })
                                    : std::function<std::string()>([&] {
                                        return number_of((first + rng() % calls_in_day) % 5'000'000 + 10'000'000);
                                      });
    if (!run_queries(o, by, queries, now_ms, next, st)) return 1;
    if (!st.ms.empty())
      std::printf(
          "query by %s, last 24 h, over %llu calls: first (cold cache) %.3f ms, median %.3f ms, p99 %.3f ms, worst "
          "%.3f ms (%llu queries, %.1f calls found per query, %.0f %% with their outcome)\n",
          by == CallQuery::By::caller ? "caller" : "callee", static_cast<unsigned long long>(rows), st.cold_ms,
          st.ms[st.ms.size() / 2], st.ms[st.ms.size() * 99 / 100], st.ms.back(),
          static_cast<unsigned long long>(queries), static_cast<double>(st.found) / static_cast<double>(queries),
          st.found != 0 ? 100.0 * static_cast<double>(st.with_outcome) / static_cast<double>(st.found) : 0.0);
  }
  return 0;
}
