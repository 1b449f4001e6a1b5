// The verdict for one INVITE: guard rails, then the rules in precedence
// order (first terminal match wins; `trace` rules record and go on), then the
// default action. See docs/matching.md.
//
// classify() is the packet-path call: it allocates nothing, takes no lock,
// throws nothing, and reads the message and the set only. Only INVITE
// requests are classified: the caller checks the method (and applies the
// set's malformed-SIP policy to messages that did not parse) before calling.
#pragma once

#include <cstddef>

#include "dataplane/classify/packet_source.h"
#include "dataplane/classify/scratch.h"
#include "dataplane/classify/verdict.h"
#include "dataplane/detect/levels.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/sip/sip_message.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::classify {

// The worker's behavioural detection for one INVITE. classify() builds the
// INVITE's detect::InviteKeys after normalising the numbers and finding the
// trunk, calls worker->on_invite(keys, now_ms, levels) (so the INVITE is
// counted whatever the verdict, guard rails included) and the rules'
// detector conditions read `levels`.
struct DetectContext {
  detect::WorkerDetect* worker = nullptr;  // this worker's state for THIS set's detectors (same spec order)
  std::uint64_t now_ms = 0;                // the clock (packet time in a replay)
  detect::Levels levels;                   // out: levels.n == 0 if not evaluated
  // What the start of classify() computed for the detectors (keys hashed,
  // table groups found), so its end need not compute it again; used only
  // by the engine that wrote it (`prepared_by`), for the same `worker`.
  // Several InFlights sharing this context each find theirs gone and
  // prepare again.
  detect::WorkerDetect::Prepared prepared;
  const void* prepared_by = nullptr;
  const detect::WorkerDetect* prepared_for = nullptr;
};

// detect == nullptr, a set without detectors, or a worker whose spec count
// differs from the set's: no detection (detector conditions are false).
Verdict classify(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src, Scratch& scratch,
                 DetectContext* detect = nullptr) noexcept;

// classify() in two halves, for a worker that parses the next message while
// this one's table loads are in flight: start() normalises the numbers and
// starts their exact-table loads; verdict() waits on them, runs the rules and
// returns exactly what classify() would. The set, message, source and
// scratch must stay put from start() to verdict(). Several may be started on
// one Scratch as long as their verdicts are taken one at a time (each has its
// own scan epoch). The worker starts a UDP INVITE, parses the next datagram,
// then takes the verdict, so the table misses arrive during that parse.
class InFlight {
 public:
  InFlight() noexcept = default;
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

  // `detect` (may be null) must stay put until verdict() too. start()
  // only prefetches its tables; the INVITE is counted and the levels filled
  // by verdict(), so several InFlights may share one DetectContext if
  // now_ms is right when each verdict() is taken.
  void start(const rules::CompiledRuleSet& set, const sip::Message& msg, const PacketSource& src, Scratch& scratch,
             DetectContext* detect = nullptr) noexcept;
  Verdict verdict() noexcept;
  // The same into `out` (the worker's, reused: no copy of a returned Verdict).
  void verdict(Verdict& out) noexcept;

  // The engine's size, checked against the real one in classify.cpp.
  static constexpr std::size_t kEngineBytes = 1296;

 private:
  alignas(16) unsigned char engine_[kEngineBytes];
  const rules::CompiledRuleSet* set_ = nullptr;
};

}  // namespace sipwall::classify
