// libFuzzer target for the call-outcome table and per-worker detection.
//
// The input is a stream of events decoded from bytes: INVITEs, responses
// (any code, to INVITE or not), CANCEL, ACK, BYE for Call-IDs from a small
// space (so calls collide, repeat and get evicted), time steps (forwards,
// and sometimes backwards), expiry sweeps, merges, lifts and reloads. The same
// events go to a standalone CallTable and to a WorkerDetect (whose own call
// table must stay identical to it), and a Merger merges the worker's reports.
//
// Checked after every event:
//  * both call tables pass check() (tags, groups, size, counters add up,
//    outcome bits only after what was seen, cached expiry) and hold the same
//    record for the event's Call-ID; size <= capacity;
//  * per call, from its INVITE on, each outcome event is returned at most
//    once (attempt, answered, unanswered, one-ring, ended), talk and ring
//    times equal the recorded times;
//  * every detector's WindowCounter passes check() and is within capacity;
//  * Levels: one entry per spec, report mode as the spec says, the level is
//    the estimate's level or the held level, the estimate >= the local count;
//  * memory_bytes() never changes; the merger tracks at most max_entries keys.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "dataplane/detect/call_table.h"
#include "dataplane/detect/key_hash.h"
#include "dataplane/detect/merger.h"
#include "dataplane/detect/worker_detect.h"

namespace {

using namespace sipwall::detect;

[[noreturn]] void fail(const char* what, int line) {
  std::fprintf(stderr, "invariant broken (line %d): %s\n", line, what);
  std::abort();
}
#define CHECK(cond)                     \
  do {                                  \
    if (!(cond)) fail(#cond, __LINE__); \
  } while (0)

struct Bytes {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
};

// Small tables so every eviction path runs; every count kind and key kind.
std::vector<DetectorSpec> make_specs(std::uint8_t variant) {
  auto spec = [](std::uint64_t hash, DetectKey key, DetectCount count, std::uint32_t window, std::uint32_t warn,
                 std::uint32_t block, std::uint32_t capacity) {
    DetectorSpec s{};
    s.definition_hash = hash;
    s.key = key;
    s.count = count;
    s.window_ms = window;
    s.warn = warn;
    s.block = block;
    s.capacity = capacity;
    s.within_ms = 3'000;
    s.min_attempts = 3;
    s.block_for_ms = 20'000;
    return s;
  };
  std::vector<DetectorSpec> v{
      spec(1, DetectKey::caller_callee, DetectCount::invites, 10'000, 2, 4, 8),
      spec(2, DetectKey::caller, DetectCount::distinct_callees, 5'000, 2, 3, 4),
      spec(3, DetectKey::callee, DetectCount::distinct_callers, 60'000, 0, 2, 8),
      spec(4, DetectKey::caller, DetectCount::one_ring, 30'000, 1, 2, 4),
      spec(5, DetectKey::source, DetectCount::short_calls, 1'000, 0, 1, 4),
      spec(6, DetectKey::trunk, DetectCount::unanswered, 86'400'000, 3, 5, 4),
      spec(7, DetectKey::caller, DetectCount::asr, 20'000, 500, 200, 4),
      spec(8, DetectKey::source_callee, DetectCount::invites, 1'000, 1, 0, 4),
  };
  v[1].report_only = (variant & 1) != 0;
  v[6].min_attempts = 1 + (variant % 5);
  if (variant & 2) {  // a reload that changes two definitions
    v[0].block = 5;
    v[0].definition_hash = 11;
    v[4].within_ms = 500;
    v[4].definition_hash = 15;
  }
  return v;
}

struct Seen {
  std::uint8_t events = 0;  // Outcome bits returned since the call's INVITE
};

class Harness {
 public:
  explicit Harness(std::uint8_t config)
      : table_options_(call_options(config)), table_(table_options_), specs_(make_specs(0)) {
    worker_options_.calls = table_options_;
    worker_options_.report_queue = 16;
    worker_ = std::make_unique<WorkerDetect>(specs_, worker_options_);
    MergerOptions mo;
    mo.max_entries = 32;
    mo.lift_log = 4;
    merger_ = std::make_unique<Merger>(specs_, mo);
    memory_ = worker_->memory_bytes();
    table_memory_ = table_.memory_bytes();
  }

  void run(Bytes& in) {
    while (in.n > 0) step(in);
  }

 private:
  static CallTableOptions call_options(std::uint8_t config) {
    CallTableOptions o;
    o.capacity = 8u << (config % 4);  // 8 .. 64
    o.ringing_timeout_ms = 1'000u + 1'000u * (config >> 4);
    o.answered_timeout_ms = 60'000;
    o.linger_ms = 500u * (1 + ((config >> 2) & 3));
    return o;
  }

  std::uint64_t call_id(std::uint8_t b) const { return b % 48 == 0 ? 0 : mix64(b % 48); }
  static std::uint64_t number(std::uint8_t b) { return (std::uint64_t{11} << 50) | (8613800000000ULL + b % 12); }

  void step(Bytes& in) {
    const std::uint8_t op = in.u8();
    switch (op % 10) {
      case 0:
      case 1:
        invite(in);
        break;
      case 2:
      case 3:
        response(in);
        break;
      case 4: {
        const std::uint64_t h = call_id(in.u8());
        compare_event(h, table_.on_cancel(h, now_), worker_->on_cancel(h, now_));
        break;
      }
      case 5: {
        const std::uint64_t h = call_id(in.u8());
        compare_event(h, table_.on_ack(h, now_), worker_->on_ack(h, now_));
        break;
      }
      case 6: {
        const std::uint64_t h = call_id(in.u8());
        compare_event(h, table_.on_bye(h, now_), worker_->on_bye(h, now_));
        break;
      }
      case 7: {
        const std::uint16_t d = in.u16();
        if ((op & 0xF0) == 0xF0 && now_ >= d)
          now_ -= d;  // sometimes backwards
        else
          now_ += std::uint64_t{d} * ((op >> 4) + 1);
        break;
      }
      case 8:
        sweep(in.u8());
        break;
      case 9:
        control(op, in);
        break;
    }
    invariants();
  }

  void invite(Bytes& in) {
    InviteKeys k{};
    const std::uint8_t a = in.u8(), b = in.u8(), c = in.u8();
    k.call_id_hash = call_id(a);
    k.caller = (c & 1) ? 0 : number(b);
    k.callee = (c & 2) ? 0 : number(b >> 4);
    k.source = (c & 4) ? 0 : 0x1000 + (c >> 6);
    k.trunk = (c & 8) ? kNoTrunk : (c >> 4) % 3;
    k.cseq = 1 + ((c >> 5) & 1);
    k.in_dialog = (c & 0x80) != 0;
    const InviteResult r = table_.on_invite(k, now_);
    CHECK(r.call != nullptr);
    CHECK(r.call->keys.call_id_hash == k.call_id_hash);
    CHECK(!(r.evicted_live && r.victim != nullptr));
    if (r.victim != nullptr) {
      // Another call dropped to make room, or this Call-ID's last call
      // replaced by a new one (reused Call-ID: never a retransmission or an
      // in-dialog re-INVITE).
      CHECK(r.victim->keys.call_id_hash != k.call_id_hash ||
            (r.kind == InviteKind::new_call && !k.in_dialog && r.victim->keys.cseq != k.cseq));
      note(r.victim->keys.call_id_hash, r.victim_outcome, r.victim);
    }
    if (r.kind == InviteKind::new_call) {
      seen_[k.call_id_hash] = Seen{};
      CHECK(r.call->invite_ms == now_ && r.call->seen == 0 && r.call->emitted == 0);
    }
    Levels out;
    worker_->on_invite(k, now_, out);
    CHECK(out.call == r.kind);
    check_levels(k, out);
    check_same(k.call_id_hash);
  }

  void response(Bytes& in) {
    const std::uint64_t h = call_id(in.u8());
    const std::uint8_t sel = in.u8();
    static constexpr unsigned kCodes[] = {100, 180, 183, 181, 200, 202, 401, 407, 486, 487, 603, 302, 408, 500};
    unsigned code = kCodes[sel % (sizeof kCodes / sizeof kCodes[0])];
    if (sel >= 0xF0) code = in.u16() % 800;  // anything, including invalid codes
    const bool to_invite = (sel & 0x40) == 0;
    compare_event(h, table_.on_response(h, code, to_invite, now_), worker_->on_response(h, code, to_invite, now_));
  }

  void sweep(std::uint8_t budget) {
    const std::uint32_t visits = budget % 2 ? table_.capacity() : budget % 17;
    std::size_t reported = 0;
    const std::size_t dropped = table_.expire(now_, visits, [&](const CallRecord& r, const Outcome& o) {
      CHECK(now_ >= table_.expiry_ms(r));
      note(r.keys.call_id_hash, o, &r);
      ++reported;
    });
    CHECK(dropped == reported);
    CHECK(worker_->expire(now_, visits) == dropped);
  }

  void control(std::uint8_t op, Bytes& in) {
    const std::uint8_t x = in.u8();
    switch ((op >> 4) % 4) {
      case 0:
      case 1: {
        merger_->take(0, worker_->reports());
        sets_.push_back(merger_->merge(now_));
        worker_->set_dynamic(sets_.back().get());
        if (sets_.size() > 2) sets_.erase(sets_.begin());  // the worker only holds the newest
        const DynamicSet& s = *sets_.back();
        for (const DynamicEntry& e : s.entries()) {
          CHECK(s.find(e.detector, e.key) == &e);
          CHECK(e.level == Level::none || now_ < e.expiry_ms);
        }
        CHECK(merger_->tracked() <= 32);
        break;
      }
      case 2: {
        const DetectorSpec& spec = specs_[x % specs_.size()];
        const KeyParts parts{number(x >> 3), 0, true};
        merger_->lift(spec.definition_hash, key_hash(spec.key, parts), now_);
        if (x & 1) merger_->lift_part(number(x >> 4), now_);
        break;
      }
      case 3: {
        // Reload: a new worker adopts the old one's state.
        const std::vector<DetectorSpec> next = make_specs(x);
        auto w = std::make_unique<WorkerDetect>(next, worker_options_);
        const std::size_t calls = worker_->calls().size();
        w->adopt(*worker_);
        CHECK(w->calls().size() == calls);
        CHECK(worker_->calls().size() == 0);
        merger_->take(0, worker_->reports());  // drain the old queue, as the app must
        merger_->set_specs(next);
        worker_ = std::move(w);
        specs_ = next;
        memory_ = worker_->memory_bytes();
        break;
      }
    }
  }

  // Records the outcome events a call produced; each at most once per call.
  void note(std::uint64_t h, const Outcome& o, const CallRecord* r) {
    if (o.events == 0) return;
    Seen& s = seen_[h];
    CHECK((s.events & o.events) == 0);
    s.events |= o.events;
    if (o.has(Outcome::kAnswered) || o.has(Outcome::kUnanswered)) CHECK(s.events & Outcome::kAttempt);
    if (r == nullptr) return;
    if (o.has(Outcome::kEnded)) {
      CHECK(r->has(CallRecord::kAnswered) && r->has(CallRecord::kBye));
      CHECK(o.talk_ms ==
            (r->bye_ms > r->answer_ms ? std::min<std::uint64_t>(r->bye_ms - r->answer_ms, 0xFFFFFFFFu) : 0));
    }
    if (o.has(Outcome::kCancelledRinging)) {
      CHECK(r->has(CallRecord::kRinging) && r->has(CallRecord::kCancelled));
      CHECK(o.ring_to_cancel_ms ==
            (r->cancel_ms > r->ring_ms ? std::min<std::uint64_t>(r->cancel_ms - r->ring_ms, 0xFFFFFFFFu) : 0));
    }
    if (o.has(Outcome::kAnswered)) CHECK(r->has(CallRecord::kAnswered) && r->final_code >= 200 && r->final_code < 300);
  }

  void compare_event(std::uint64_t h, const EventResult& a, const EventResult& b) {
    CHECK((a.call == nullptr) == (b.call == nullptr));
    CHECK(a.outcome.events == b.outcome.events);
    CHECK(a.outcome.talk_ms == b.outcome.talk_ms && a.outcome.ring_to_cancel_ms == b.outcome.ring_to_cancel_ms);
    if (a.call != nullptr) CHECK(a.call->keys.call_id_hash == h);
    note(h, a.outcome, a.call);
    check_same(h);
  }

  // The worker's call table got the same events: the same record.
  void check_same(std::uint64_t h) {
    const CallRecord* a = table_.find(h);
    const CallRecord* b = worker_->calls().find(h);
    CHECK((a == nullptr) == (b == nullptr));
    if (a != nullptr) CHECK(std::memcmp(a, b, sizeof(CallRecord)) == 0);
    CHECK(table_.size() == worker_->calls().size());
  }

  void check_levels(const InviteKeys& k, const Levels& out) {
    CHECK(out.n == specs_.size());
    for (std::uint32_t i = 0; i < out.n; ++i) {
      const DetectorSpec& s = specs_[i];
      const DetectorLevel& d = out.d[i];
      CHECK(d.report_only == s.report_only);
      const KeyParts parts = key_parts(s.key, k);
      if (!parts.present) {
        CHECK(d.key == 0 && d.count == 0 && d.local == 0 && d.level == Level::none);
        continue;
      }
      CHECK(d.key == key_hash(s.key, parts));
      CHECK(d.count >= d.local && d.count2 >= d.local2);
      CHECK(d.level == max_level(level_for(s, d.count, d.count2), d.held));
      if (s.count != DetectCount::asr) CHECK(d.local2 == 0 && d.count2 == 0);
    }
  }

  void invariants() {
    CHECK(table_.check());
    CHECK(worker_->calls().check());
    CHECK(table_.size() <= table_.capacity());
    CHECK(table_.memory_bytes() == table_memory_);
    CHECK(worker_->memory_bytes() == memory_);
    for (std::uint32_t i = 0; i < specs_.size(); ++i) {
      const WindowCounter& c = worker_->counter(i);
      CHECK(c.check());
      CHECK(c.size() <= c.capacity());
      if (const PairSeen* p = worker_->pairs(i)) CHECK(p->size() <= p->capacity());
    }
  }

  CallTableOptions table_options_;
  CallTable table_;
  std::vector<DetectorSpec> specs_;
  WorkerOptions worker_options_;
  std::unique_ptr<WorkerDetect> worker_;
  std::unique_ptr<Merger> merger_;
  std::vector<std::unique_ptr<DynamicSet>> sets_;
  std::map<std::uint64_t, Seen> seen_;
  std::uint64_t now_ = 1'000'000;
  std::size_t memory_ = 0;
  std::size_t table_memory_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Bytes in{data + 1, size - 1};
  Harness h(data[0]);
  h.run(in);
  return 0;
}
