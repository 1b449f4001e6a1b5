// The call store (control/records/call_store.h) and its JSON: what goes in
// comes back by each key, the outcome joins its INVITE, a call without one is
// in progress, time bounds and the limit hold, retention and the size cap
// delete the oldest, files are 0640, and hostile bytes come out as valid JSON.
#include "control/records/call_store.h"

#include <gtest/gtest.h>
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

TEST(CallStore, RetentionDeletesWhatIsOlderThanTheDays) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 1, 0}, err)) << err;
  const std::int64_t day = 86'400'000, now = 10 * day;
  const CallRecordWire old = invite(1, now - 2 * day, "+8613800001111", "+8613900002222");
  const CallRecordWire fresh = invite(2, now - 1000, "+8613800001111", "+8613900002222");
  ASSERT_TRUE(
      s.insert(std::vector<CallRecordWire>{old, fresh, outcome_of(old, 0, 486), outcome_of(fresh, 0, 486)}, err));
  EXPECT_EQ(s.enforce_retention(now, err), 2u) << err;  // the old call and its outcome
  const std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].call_id, "id-2");
  EXPECT_TRUE(r[0].has_outcome);
}

TEST(CallStore, SizeCapDeletesTheOldestFirst) {
  TempDb db;
  CallStore s;
  std::string err;
  ASSERT_TRUE(s.open({db.path(), 0, 1 << 20}, err)) << err;  // 1 MiB of pages
  std::vector<CallRecordWire> batch;
  for (std::uint64_t i = 1; i <= 20'000; ++i)
    batch.push_back(invite(i, static_cast<std::int64_t>(i), "+8613800001111", "+8613900002222"));
  ASSERT_TRUE(s.insert(batch, err)) << err;
  ASSERT_GT(s.bytes_in_use(), 1u << 20);
  EXPECT_GT(s.enforce_retention(1'000'000, err, 2'000), 0u) << err;
  EXPECT_LE(s.bytes_in_use(), 1u << 20);
  const std::vector<CallRow> r = query(s, CallQuery::By::caller, "+8613800001111", 0, INT64_MAX, 10'000);
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.front().call_id, "id-20000");  // the newest stay
  EXPECT_LT(r.size(), 20'000u);
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
