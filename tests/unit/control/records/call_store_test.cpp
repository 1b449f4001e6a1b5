// The call store (control/records/call_store.h) and its JSON: what goes in
// comes back by each key, the outcome joins its INVITE, a call without one is
// in progress, time bounds and the limit hold; partitions roll over by time
// window and by rows, survive a reopen, and a query over several (also with
// overlapping spans, and an outcome in a later partition than its call)
// answers as one table would; retention and the size cap drop the oldest
// partitions, which leave queries at once while their tables are dropped in
// the background (writes wait; tables left by a stop mid-drop go at the
// next open); an old-format file is refused untouched; files are 0640, and
// hostile bytes come out as valid JSON.
#include "control/records/call_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "control/records/call_json.h"
#include "rules/model/rule_model.h"
#include "rules/text/json_text.h"

namespace sipwall::control {
namespace {

using protocol::CallRecordKind;
using protocol::CallRecordWire;
using protocol::set_text;

struct TempDb {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("call-store-test-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDb() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "calls.db").string(); }
};

CallRecordWire invite(std::uint64_t hash, std::int64_t time_ms, const char* caller, const char* callee,
                      const char* trunk = "carrier-a", std::uint8_t last_octet = 10) {
  CallRecordWire r;
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::invite);
  r.call_hash = hash;
  r.start_ms = hash * 10;
  r.time_ns = static_cast<std::uint64_t>(time_ms) * 1'000'000;
  r.ip_version = 4;
  r.transport = 17;
  r.src_port = 5060;
  const std::uint8_t src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, last_octet};
  std::memcpy(r.src, src, 16);
  set_text(r.trunk, trunk);
  set_text(r.caller, caller);
  set_text(r.callee, callee);
  set_text(r.caller_raw, caller + 3);
  set_text(r.callee_raw, callee + 3);
  set_text(r.call_id, "id-" + std::to_string(hash));
  set_text(r.rule, "(default)");
  set_text(r.ruleset_version, "v1");
  return r;
}

CallRecordWire outcome_of(const CallRecordWire& inv, std::uint16_t seen, std::uint16_t code, std::uint32_t talk = 0) {
  CallRecordWire r;
  std::memset(&r, 0, sizeof r);
  r.kind = static_cast<std::uint8_t>(CallRecordKind::outcome);
  r.end = static_cast<std::uint8_t>(protocol::CallEnd::expired);
  r.call_hash = inv.call_hash;
  r.start_ms = inv.start_ms;
  r.worker = inv.worker;
  r.time_ns = inv.time_ns + 40'000'000'000ULL;
  r.seen = seen;
  r.final_code = code;
  r.talk_ms = talk;
  return r;
}

std::vector<CallRow> query(CallStore& s, CallQuery::By by, const std::string& value, std::int64_t since = 0,
                           std::int64_t until = INT64_MAX, std::uint32_t limit = 100) {
  CallQuery q;
  q.by = by;
  q.value = value;
  q.since_ms = since;
  q.until_ms = until;
  q.limit = limit;
  std::vector<CallRow> out;
  std::string err;
  EXPECT_TRUE(s.query(q, out, err)) << err;
  return out;
}

TEST(CallStore, EachKeyFindsItsCallsAndTheOutcomeJoins) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 30, 0}, err)) << err;
  const CallRecordWire a = invite(1, 1'000, "+8613800001111", "+8613900002222");
  const CallRecordWire b = invite(2, 2'000, "+8613800001111", "+8613900003333", "pbx", 11);
  CallRecordWire c = invite(3, 3'000, "+8613800004444", "+8613900002222");
  c.action = static_cast<std::uint8_t>(rules::ActionKind::reject);
  c.reject_code = 608;
  using W = CallRecordWire;
  std::vector<CallRecordWire> batch{a, b, c,
                                    outcome_of(a, W::kRinging | W::kAnswered | W::kFinal | W::kBye, 200, 30'000)};
  ASSERT_TRUE(s.insert(batch, err)) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{outcome_of(c, 0, 0)}, err)) << err;

  std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].call_id, "id-2");  // newest first
  EXPECT_FALSE(r[0].has_outcome);
  EXPECT_EQ(outcome_text(r[0]), "in progress");
  EXPECT_EQ(r[1].call_id, "id-1");
  ASSERT_TRUE(r[1].has_outcome);
  EXPECT_EQ(r[1].final_code, 200u);
  EXPECT_EQ(outcome_text(r[1]), "answered, talk 30.0 s");
  r = query(s, CallQuery::By::callee, "+8613900002222");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(outcome_text(r[0]), "rejected 608 by sipwall");
  EXPECT_EQ(query(s, CallQuery::By::trunk, "pbx").size(), 1u);
  EXPECT_EQ(query(s, CallQuery::By::source, "192.0.2.11").size(), 1u);
  EXPECT_EQ(query(s, CallQuery::By::source, "192.0.2.10").size(), 2u);
  // As written, when the value is not E.164.
  EXPECT_EQ(query(s, CallQuery::By::caller, "13800001111").size(), 2u);
  // Time bounds (inclusive) and the limit.
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111", 1'500).size(), 1u);
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111", 0, 1'000).size(), 1u);
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111", 0, INT64_MAX, 1).size(), 1u);
  EXPECT_TRUE(query(s, CallQuery::By::caller, "+8613800009999").empty());
  EXPECT_EQ(s.inserted(), 5u);
}

TEST(CallStore, FilesAre0640) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 30, 0}, err)) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(1, 1, "+8613800001111", "+8613900002222")}, err));
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    ASSERT_EQ(::stat((db.path() + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0640u) << suffix;
  }
}

TEST(CallStore, RetentionDropsThePartitionsOlderThanTheDays) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 1, 0}, err)) << err;
  const std::int64_t day = 86'400'000, now = 10 * day;
  const CallRecordWire old = invite(1, now - 2 * day, "+8613800001111", "+8613900002222");
  const CallRecordWire fresh = invite(2, now - 100'000, "+8613800001111", "+8613900002222");
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{old, outcome_of(old, 0, 486)}, err)) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{fresh, outcome_of(fresh, 0, 486)}, err)) << err;
  ASSERT_EQ(s.partitions(), 2u);
  EXPECT_EQ(s.enforce_retention(now - day - 2 * day, err), 0u) << err;  // nothing old enough yet
  EXPECT_EQ(s.enforce_retention(now, err), 2u) << err;                  // the old call and its outcome
  EXPECT_EQ(s.partitions(), 1u);
  EXPECT_EQ(s.deleted(), 2u);
  const std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].call_id, "id-2");
  EXPECT_TRUE(r[0].has_outcome);
  // The open partition goes too once nothing newer came for the days; the
  // next record opens a new one (once the drop in the background is done).
  s.wait_drops();
  EXPECT_EQ(s.enforce_retention(now + 2 * day, err), 2u) << err;
  EXPECT_EQ(s.partitions(), 0u);
  EXPECT_TRUE(query(s, CallQuery::By::caller, "+8613800001111").empty());
  s.wait_drops();
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(3, now + 2 * day, "+8613800001111", "+8613900002222")}, err))
      << err;
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111").size(), 1u);
}

TEST(CallStore, SizeCapDropsTheOldestPartitionsFirst) {
  TempDb db;
  CallStore s;
  std::string err;
  CallStoreOptions o{db.path(), 0, 1 << 20};  // 1 MiB of pages
  o.partition_max_rows = 1000;
  ASSERT_TRUE(s.open(o, err)) << err;
  for (std::uint64_t b = 0; b < 20; ++b) {
    std::vector<CallRecordWire> batch;
    for (std::uint64_t i = b * 1000 + 1; i <= (b + 1) * 1000; ++i)
      batch.push_back(invite(i, static_cast<std::int64_t>(i), "+8613800001111", "+8613900002222"));
    ASSERT_TRUE(s.insert(batch, err)) << err;
  }
  ASSERT_EQ(s.partitions(), 20u);
  ASSERT_GT(s.bytes_in_use(), 1u << 20);
  // Bounded per call: two partitions at most.
  EXPECT_EQ(s.enforce_retention(1'000'000, err, 2), 2000u) << err;
  EXPECT_EQ(s.partitions(), 18u);
  s.wait_drops();
  EXPECT_GT(s.enforce_retention(1'000'000, err, 100), 0u) << err;
  s.wait_drops();
  EXPECT_LE(s.bytes_in_use(), 1u << 20);
  EXPECT_GE(s.partitions(), 1u);
  const std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111", 0, INT64_MAX, 100'000);
  ASSERT_EQ(r.size(), s.partitions() * 1000);  // whole partitions went
  EXPECT_EQ(r.front().call_id, "id-20000");    // the newest stay, the oldest went
  EXPECT_EQ(r.back().call_id, "id-" + std::to_string(20'000 - r.size() + 1));
  // Never the open one, even when it alone is over the cap.
  CallStoreOptions tiny = o;
  tiny.max_bytes = 4096;
  ASSERT_TRUE(s.open(tiny, err)) << err;
  s.enforce_retention(1'000'000, err, 100);
  EXPECT_EQ(s.partitions(), 1u);
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111").front().call_id, "id-20000");
}

std::vector<std::string> tables_of(const std::string& path) {
  sqlite3* raw = nullptr;
  std::vector<std::string> out;
  EXPECT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(raw, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", -1, &st, nullptr),
      SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return out;
}

// A partition retention drops leaves the catalog at once: no query sees any
// of it from then on. Its tables are dropped on the dropper's thread, which
// needs the write lock: held here by another connection (standing in for a
// slow drop), so the drop is deterministically still running. Meanwhile
// queries answer, writes are refused (the caller keeps its records) and
// retention does nothing more; once the drop is done the tables are gone,
// writes go on, and the next partition gets a new id.
TEST(CallStore, ADroppedPartitionLeavesQueriesAtOnceAndItsTablesGoInTheBackground) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 1, 0}, err)) << err;
  const std::int64_t day = 86'400'000, now = 10 * day;
  const CallRecordWire old = invite(1, now - 2 * day, "+8613800001111", "+8613900002222");
  const CallRecordWire fresh = invite(2, now - 100'000, "+8613800001111", "+8613900002222");
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{old, outcome_of(old, 0, 486)}, err)) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{fresh}, err)) << err;
  ASSERT_EQ(s.partitions(), 2u);

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(s.enforce_retention(now, err), 2u) << err;
  EXPECT_EQ(s.partitions(), 1u);
  EXPECT_TRUE(s.dropping());
  std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(r.size(), 1u) << "the dropped partition's call is not seen, the other one is";
  EXPECT_EQ(r[0].call_id, "id-2");
  const CallRecordWire later = invite(3, now, "+8613800001111", "+8613900002222");
  EXPECT_FALSE(s.insert(std::vector<CallRecordWire>{later}, err));
  EXPECT_NE(err.find("being dropped"), std::string::npos) << err;
  EXPECT_EQ(s.enforce_retention(now + 3 * day, err), 0u) << "nothing more while a drop runs";
  EXPECT_EQ(s.partitions(), 1u);

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  s.wait_drops();
  EXPECT_FALSE(s.dropping());
  const std::vector<std::string> want{"calls_2", "outcomes_2", "partitions"};
  EXPECT_EQ(tables_of(db.path()), want);
  err.clear();
  EXPECT_EQ(s.enforce_retention(now, err), 0u);
  EXPECT_TRUE(err.empty()) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{later, outcome_of(fresh, 0, 200)}, err)) << err;
  r = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].call_id, "id-2");
  EXPECT_TRUE(r[1].has_outcome);
}

// A stop while a drop waits (or runs) rolls it back: the partition is in the
// file at the next open, and retention drops it then.
TEST(CallStore, ADropCutShortByAStopIsDoneAgainAfterTheNextOpen) {
  TempDb db;
  CallStore s;
  std::string err;
  const CallStoreOptions o{db.path(), 1, 0};
  ASSERT_TRUE(s.open(o, err)) << err;
  const std::int64_t day = 86'400'000, now = 10 * day;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(1, now - 2 * day, "+8613800001111", "+8613900002222")}, err))
      << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(2, now, "+8613800001111", "+8613900002222")}, err)) << err;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(s.enforce_retention(now, err), 1u) << err;
  EXPECT_TRUE(s.dropping());
  s.close();  // interrupts the drop waiting for the lock
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  const std::vector<std::string> both{"calls_1", "calls_2", "outcomes_1", "outcomes_2", "partitions"};
  EXPECT_EQ(tables_of(db.path()), both);
  ASSERT_TRUE(s.open(o, err)) << err;
  EXPECT_EQ(s.partitions(), 2u);
  EXPECT_EQ(query(s, CallQuery::By::caller, "+8613800001111").size(), 2u);
  EXPECT_EQ(s.enforce_retention(now, err), 1u) << err;
  s.wait_drops();
  const std::vector<std::string> one{"calls_2", "outcomes_2", "partitions"};
  EXPECT_EQ(tables_of(db.path()), one);
}

TEST(CallStore, PartitionsRollOverByTimeWindowAndByRows) {
  TempDb db;
  CallStore s;
  std::string err;
  CallStoreOptions o{db.path(), 0, 0};
  o.partition_minutes = 10;
  o.partition_max_rows = 3;
  ASSERT_TRUE(s.open(o, err)) << err;
  const std::int64_t t0 = 1'800'000'000'000 / 600'000 * 600'000;  // a window boundary
  const char* a = "+8613800001111";
  const char* b = "+8613900002222";
  // The same window: one partition; the first record of the next window opens one.
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(1, t0, a, b), invite(2, t0 + 599'999, a, b)}, err));
  EXPECT_EQ(s.partitions(), 1u);
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(3, t0 + 600'000, a, b)}, err));
  EXPECT_EQ(s.partitions(), 2u);
  // A late record stays in the open partition, and is found by its time.
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(4, t0 + 300'000, a, b)}, err));
  EXPECT_EQ(s.partitions(), 2u);
  std::vector<CallRow> r = query(s, CallQuery::By::caller, a, t0 + 200'000, t0 + 400'000);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].call_id, "id-4");
  // Rows: the open partition holds 2; one more fills it, the next opens one
  // (in one batch).
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(5, t0 + 600'001, a, b), invite(6, t0 + 600'002, a, b)}, err));
  EXPECT_EQ(s.partitions(), 3u);
  // A reopened store goes on filling its open partition (it holds 1 of 3).
  ASSERT_TRUE(s.open(o, err)) << err;
  EXPECT_EQ(s.partitions(), 3u);
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(7, t0 + 600'003, a, b), invite(8, t0 + 600'004, a, b)}, err));
  EXPECT_EQ(s.partitions(), 3u);
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(9, t0 + 600'005, a, b)}, err));
  EXPECT_EQ(s.partitions(), 4u);
  EXPECT_EQ(query(s, CallQuery::By::caller, a).size(), 9u);
}

TEST(CallStore, AQueryOverPartitionsAnswersAsOneTable) {
  TempDb db;
  CallStore s;
  std::string err;
  CallStoreOptions o{db.path(), 0, 0};
  o.partition_minutes = 0;
  o.partition_max_rows = 2;
  ASSERT_TRUE(s.open(o, err)) << err;
  const char* a = "+8613800001111";
  const char* b = "+8613900002222";
  // Partition 1: times 100, 200; partition 2: 300 and a late 50 (its span
  // overlaps partition 1's); partition 3: the outcome of call 1 and call 5.
  const CallRecordWire c1 = invite(1, 100, a, b);
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{c1, invite(2, 200, a, b)}, err)) << err;
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{invite(3, 300, a, b), invite(4, 50, a, b)}, err)) << err;
  ASSERT_TRUE(s.insert(
      std::vector<CallRecordWire>{outcome_of(c1, CallRecordWire::kFinal, 486), invite(5, 400, a, "+8613900003333")},
      err))
      << err;
  ASSERT_EQ(s.partitions(), 3u);
  auto ids = [](const std::vector<CallRow>& rows) {
    std::string t;
    for (const CallRow& r : rows) t += r.call_id + " ";
    return t;
  };
  // Newest first across partitions, the limit over all of them: the second
  // newest (200) is in the older partition although the newer one holds 50.
  EXPECT_EQ(ids(query(s, CallQuery::By::caller, a, 0, INT64_MAX, 2)), "id-5 id-3 ");
  EXPECT_EQ(ids(query(s, CallQuery::By::caller, a, 0, 350, 2)), "id-3 id-2 ");
  EXPECT_EQ(ids(query(s, CallQuery::By::caller, a)), "id-5 id-3 id-2 id-1 id-4 ");
  // Time bounds across the boundary between partitions 1 and 2.
  EXPECT_EQ(ids(query(s, CallQuery::By::caller, a, 150, 300)), "id-3 id-2 ");
  EXPECT_EQ(ids(query(s, CallQuery::By::callee, b, 40, 100)), "id-1 id-4 ");
  // Call 1's outcome is two partitions later.
  const std::vector<CallRow> one = query(s, CallQuery::By::caller, a, 100, 100);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].has_outcome);
  EXPECT_EQ(one[0].final_code, 486u);
  EXPECT_FALSE(query(s, CallQuery::By::caller, a, 200, 200)[0].has_outcome);
  // As written (no index): read in every partition of the range.
  EXPECT_EQ(query(s, CallQuery::By::caller, "13800001111").size(), 5u);
}

TEST(CallStore, AStoreOfTheFirstFormatIsRefusedUntouched) {
  TempDb db;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE calls(id INTEGER PRIMARY KEY, time_ms INTEGER, caller TEXT);"
                           "INSERT INTO calls(time_ms, caller) VALUES(1, '+8613800001111');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  CallStore s;
  std::string err;
  EXPECT_FALSE(s.open({db.path(), 30, 0}, err));
  EXPECT_NE(err.find(db.path() + ": a call store of the first format"), std::string::npos) << err;
  EXPECT_FALSE(s.is_open());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM sqlite_schema)", -1,
                               &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1);  // its row is still there
  EXPECT_EQ(sqlite3_column_int(st, 1), 1);  // and nothing was added
  sqlite3_finalize(st);
  sqlite3_close(raw);
  // A store of this format opens again.
  const std::string fresh = (db.dir / "new.db").string();
  ASSERT_TRUE(s.open({fresh, 30, 0}, err)) << err;
  s.close();
  EXPECT_TRUE(s.open({fresh, 30, 0}, err)) << err;
}

TEST(CallStore, HostileBytesComeOutAsValidJson) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 30, 0}, err)) << err;
  CallRecordWire r = invite(1, 1, "+8613800001111", "+8613900002222");
  const char evil[] = "a\xff\xfe\"\\\n\x1b[31m\xe2\x80\xae";
  std::memcpy(r.call_id, evil, sizeof evil);
  std::memcpy(r.callee_raw, evil, sizeof evil);
  ASSERT_TRUE(s.insert(std::vector<CallRecordWire>{r}, err)) << err;
  const std::vector<CallRow> rows = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].call_id, std::string(evil));  // stored as it came
  const std::string line = text::dump_json(call_row_json(rows[0]));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json back = nlohmann::json::parse(line);  // throws if not valid JSON
  EXPECT_EQ(back["caller"], "+8613800001111");
  const std::string rec = text::dump_json(record_json(r));
  const nlohmann::json rec_back = nlohmann::json::parse(rec);  // throws if not valid JSON
  EXPECT_EQ(rec_back["kind"], "invite");
}

TEST(CallStore, Addresses) {
  EXPECT_EQ(normalise_address("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(normalise_address("2001:DB8::0:1"), "2001:db8::1");
  EXPECT_EQ(normalise_address("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_FALSE(normalise_address("192.0.2.256"));
  EXPECT_FALSE(normalise_address("host.example"));
}

}  // namespace
}  // namespace sipwall::control
