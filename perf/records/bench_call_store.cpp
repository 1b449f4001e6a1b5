// bench_call_store: the call store's two figures (docs/performance.md "Call
// records"): sustained ingest on one core, and a query by caller over the
// last 24 h of a 1,000 calls/s appliance (86.4 M records).
//
//   bench_call_store --rows N --db FILE [--callers K] [--queries Q]
//
// Builds FILE with N invite records (and an outcome record for each),
// 1,000 calls per second of record time ending now, callers drawn from K
// numbers (default 2 M: most callers make a few calls a day), in the
// daemon's batches (8192 records per transaction), and prints the ingest
// rate every 10 % and overall. Then runs Q queries by caller over the last
// 24 h for random callers (the daemon's query, limit 100) and prints the
// median, 99th percentile and worst time. Plain program, one thread: the
// daemon ingests on its one loop thread too.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

void fill(CallRecordWire& r, std::uint64_t i, std::uint64_t caller, std::uint64_t t0_ms) {
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::invite);
  r.call_hash = i * 0x9E3779B97F4A7C15ULL | 1;
  r.start_ms = i;
  r.time_ns = (t0_ms + i) * 1'000'000;  // 1,000 calls per second
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

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t rows = 1'000'000, callers = 2'000'000, queries = 200;
  std::string db;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--rows")
      rows = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--db")
      db = argv[i + 1];
    else if (k == "--callers")
      callers = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--queries")
      queries = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (db.empty() || rows == 0 || callers == 0) {
    std::fprintf(stderr, "usage: bench_call_store --rows N --db FILE [--callers K] [--queries Q]\n");
    return 2;
  }
  CallStore store;
  CallStoreOptions o;
  o.path = db;
  o.retention_days = 0;
  o.max_bytes = 0;
  std::string err;
  if (!store.open(o, err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  const std::uint64_t now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::uint64_t t0_ms = now_ms - rows;  // the last record is now
  std::mt19937_64 rng(42);
  std::vector<CallRecordWire> batch;
  batch.reserve(8192);
  std::vector<CallRecordWire> waiting;  // invites whose outcome comes in a later batch
  std::uint64_t written = 0;
  const auto start = Clock::now();
  auto mark = start;
  std::uint64_t mark_written = 0;
  for (std::uint64_t i = 0; i < rows; ++i) {
    CallRecordWire r;
    fill(r, i, rng() % callers, t0_ms);
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
      if (!store.insert(batch, err)) {
        std::fprintf(stderr, "insert: %s\n", err.c_str());
        return 1;
      }
      written += batch.size();
      batch.clear();
    }
    if (rows >= 10 && (i + 1) % (rows / 10) == 0) {
      const auto t = Clock::now();
      const double s = std::chrono::duration<double>(t - mark).count();
      std::printf("%3llu%%  %12llu invites  %9.0f records/s (this tenth)\n",
                  static_cast<unsigned long long>((i + 1) * 100 / rows), static_cast<unsigned long long>(i + 1),
                  (written - mark_written) / s);
      std::fflush(stdout);
      mark = t;
      mark_written = written;
    }
  }
  for (const CallRecordWire& w : waiting) {
    CallRecordWire x;
    outcome(x, w);
    batch.push_back(x);
  }
  if (!store.insert(batch, err)) {
    std::fprintf(stderr, "insert: %s\n", err.c_str());
    return 1;
  }
  written += batch.size();
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("ingest: %llu records (%llu invites + outcomes) in %.1f s: %.0f records/s on one core\n",
              static_cast<unsigned long long>(written), static_cast<unsigned long long>(rows), total_s,
              written / total_s);
  std::printf("database: %.1f MB in use (%.0f bytes per call)\n", store.bytes_in_use() / 1048576.0,
              static_cast<double>(store.bytes_in_use()) / static_cast<double>(rows));

  std::vector<double> ms;
  std::uint64_t found = 0;
  for (std::uint64_t q = 0; q < queries; ++q) {
    CallQuery cq;
    cq.by = CallQuery::By::caller;
    cq.value = number_of(rng() % callers);
    cq.since_ms = static_cast<std::int64_t>(now_ms) - 86'400'000;
    cq.limit = 100;
    std::vector<CallRow> out;
    const auto t = Clock::now();
    if (!store.query(cq, out, err)) {
      std::fprintf(stderr, "query: %s\n", err.c_str());
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    found += out.size();
  }
  std::sort(ms.begin(), ms.end());
  if (!ms.empty())
    std::printf(
        "query by caller, last 24 h, over %llu calls: median %.3f ms, p99 %.3f ms, worst %.3f ms "
        "(%llu queries, %.1f calls found per query)\n",
        static_cast<unsigned long long>(rows), ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(),
        static_cast<unsigned long long>(queries), static_cast<double>(found) / static_cast<double>(queries));
  return 0;
}
