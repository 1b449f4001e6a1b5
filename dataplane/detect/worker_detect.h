// WorkerDetect: one worker's detection state for one list of detector specs:
// a WindowCounter (and for distinct counts a PairSeen) per detector, the
// queue of hot-key reports to the Merger, and a pointer to the worker's
// CallTable. The data plane's worker owns its CallTable for the process
// lifetime (call records need it with or without detectors) and passes it
// in; a WorkerDetect built without one (tests, `rules explain`'s replay,
// benchmarks) owns its own.
//
// Per INVITE (on_invite): the call table says whether the Call-ID is a new
// call; a new call adds to every INVITE-counted detector (invites,
// distinct_*); every detector then gets its level from the estimate
//   local count + (merged count - this worker's count at that merge)
// and from the penalty box of the merged DynamicSet. Responses, CANCEL,
// ACK, BYE and expiry complete call outcomes, which add to the
// outcome-counted detectors (one_ring, short_calls, unanswered, asr); an
// INVITE reads those.
//
// Threading: one worker thread calls everything but reports() consumption,
// which is the main lcore's (SpscQueue). No allocation, exceptions, locks or
// virtual calls after construction. Time is always a parameter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/detect/call_table.h"
#include "dataplane/detect/dynamic_set.h"
#include "dataplane/detect/hot_key_report.h"
#include "dataplane/detect/levels.h"
#include "dataplane/detect/pair_seen.h"
#include "dataplane/detect/recent_keys.h"
#include "dataplane/detect/spsc_queue.h"
#include "dataplane/detect/window_counter.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct WorkerOptions {
  std::uint32_t worker_index = 0;  // 0 .. workers-1: this worker's column in DynamicSet
  std::uint32_t workers = 1;
  std::uint32_t report_queue = 8192;  // hot-key reports buffered between merges
  // A key is reported once its local count reaches
  //   max(report_min_floor, lowest threshold * report_percent / (100 * workers)):
  // a key spread evenly over the workers is reported before its sum can
  // reach report_percent of the threshold (50: half of it; a fleet that
  // sums appliances' counts wants less, docs/fleet.md); the floor keeps keys
  // seen once per window (most callers) out of the queue.
  std::uint32_t report_min_floor = 2;
  std::uint32_t report_percent = 50;  // 1 .. 100
  std::uint32_t pair_factor = 4;      // distinct counts: PairSeen slots per counted key slot
  // Keys per detector for a spec with capacity 0 (the rule file has no
  // `capacity:`): the data plane's detection.capacity.
  std::uint32_t default_capacity = 65536;
  // Outcome-counted detectors keep a RecentKeys filter so an INVITE skips
  // their table for callers with no recent outcome. Off only to compare
  // against the plain lookups (tests).
  bool outcome_filter = true;
  CallTableOptions calls;
};

class WorkerDetect {
 public:
  // Throws std::invalid_argument if validate() would refuse the arguments.
  // `calls`: the worker's call table, which must outlive this object
  // (options.calls is then not used); nullptr: a table of options.calls,
  // owned.
  WorkerDetect(std::span<const DetectorSpec> specs, const WorkerOptions& options, CallTable* calls = nullptr);
  WorkerDetect(const WorkerDetect&) = delete;
  WorkerDetect& operator=(const WorkerDetect&) = delete;

  // nullptr if the specs and options are usable, else why not.
  static const char* validate(std::span<const DetectorSpec> specs, const WorkerOptions& options) noexcept;

  // An INVITE: counts it if its Call-ID is new and fills `out` (one entry per
  // spec, in order).
  void on_invite(const InviteKeys& keys, std::uint64_t now_ms, Levels& out) noexcept;
  // Starts loading every line on_invite(keys) will read (call table group,
  // each detector's header, mark and pair lines). A worker that calls this
  // for every INVITE of a burst before handling the burst overlaps all their
  // cache misses (bench_detect: BM_Burst32). Optional; reads nothing.
  void prefetch(const InviteKeys& keys) const noexcept;

  // One detector's work on one INVITE, carried between the stages of
  // on_invite() so the cache misses of all tables overlap.
  // Trivial (no member initialisers): an array of 32 is not cleared per INVITE.
  struct Pending {
    std::uint64_t key;         // 0: a key part is missing, detector skipped
    std::uint64_t a, b;        // KeyParts
    std::uint64_t pair;        // distinct counts: pair_hash(key, value); 0 = no value
    std::uint32_t group;       // counter.group(key)
    std::uint32_t pair_group;  // pairs->group(pair)
    std::uint32_t slot;
    bool look;  // the key may be in the table (false: RecentKeys says it is not)
    bool add;   // add one to the slot
    bool move;  // distinct value seen again: move its unit (PairSeen::Touch)
    std::uint32_t prev_epoch;
  };
  // Every detector's Pending for one INVITE: what prefetch(keys, out)
  // computed (keys, hashes, table groups), handed to on_invite(keys, out,
  // ...) so the keys are hashed once per INVITE, not once per stage.
  // Valid only for this WorkerDetect and these keys.
  struct Prepared {
    Prepared() noexcept {}  // user-provided: `DetectContext dc{}` leaves the 1.8 KB uncleared
    Pending d[kMaxDetectors];
  };
  // prefetch(keys), keeping what it computed in `out`.
  void prefetch(const InviteKeys& keys, Prepared& out) const noexcept;
  // on_invite(keys, now_ms, levels) for keys this object prefetch()ed into
  // `p` (p is consumed: its entries are reused as the stages' state).
  void on_invite(const InviteKeys& keys, Prepared& p, std::uint64_t now_ms, Levels& out) noexcept;
  // The levels an INVITE with these keys would see now; counts nothing.
  void levels(const InviteKeys& keys, std::uint64_t now_ms, Levels& out) noexcept;

  // Call events (see CallTable); their outcomes feed the outcome detectors.
  EventResult on_response(std::uint64_t call_id_hash, unsigned code, bool to_invite, std::uint64_t now_ms) noexcept;
  EventResult on_cancel(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;
  EventResult on_ack(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;
  EventResult on_bye(std::uint64_t call_id_hash, std::uint64_t now_ms) noexcept;
  // Sweeps up to max_visits call-table slots (CallTable::expire), feeding
  // ringing timeouts to the outcome detectors. Returns the calls dropped.
  std::size_t expire(std::uint64_t now_ms, std::uint32_t max_visits) noexcept;
  // For an owner that sweeps the call table itself (the data plane's worker,
  // which also writes a call record for each call that leaves): the outcome
  // a departing call completed, as expire() would have fed it.
  void on_expired(const CallRecord& call, const Outcome& o, std::uint64_t now_ms) noexcept {
    if (o.events != 0) feed_outcome(call, o, now_ms);
  }

  // The merged set the worker reads from now on (nullptr: none). Not owned;
  // the app keeps it alive (RCU). A new set's lifts reset the lifted keys'
  // local counts, once; if lifts were missed (the set's log no longer
  // reaches back to the last one applied) every count is reset.
  void set_dynamic(const DynamicSet* set) noexcept;
  const DynamicSet* dynamic() const noexcept { return dyn_; }

  // Takes over `old`'s state (called on the worker thread when it switches
  // to a new rule set): the tables of every detector whose definition_hash
  // is unchanged (each old table once), the DynamicSet and the lift
  // position. The call table is not moved when it is the worker's (both
  // point at it already); two owned tables are swapped if the capacity and
  // timeouts are the same (they come from the data-plane config, not the
  // rule set). Other
  // detectors start empty; `old` keeps empty tables. The report queue is
  // not moved: the main lcore may be draining old's queue right now.
  void adopt(WorkerDetect& old) noexcept;

  // The main lcore drains this (Merger::take).
  SpscQueue<HotKeyReport>& reports() noexcept { return *reports_; }

  std::span<const DetectorSpec> specs() const noexcept { return specs_; }
  const CallTable& calls() const noexcept { return *calls_; }
  const WindowCounter& counter(std::uint32_t detector) const noexcept { return tables_[detector].counter; }
  const PairSeen* pairs(std::uint32_t detector) const noexcept { return tables_[detector].pairs.get(); }
  std::uint32_t report_min(std::uint32_t detector) const noexcept { return tables_[detector].report_min; }
  const WorkerOptions& options() const noexcept { return options_; }
  std::uint64_t reports_pushed() const noexcept { return reports_pushed_; }
  std::uint64_t reports_dropped() const noexcept { return reports_dropped_; }  // queue full
  std::uint64_t lift_resets() const noexcept { return lift_resets_; }          // local keys reset by lifts
  std::uint64_t lift_gaps() const noexcept { return lift_gaps_; }              // full resets for missed lifts
  std::uint64_t adopted() const noexcept { return adopted_; }                  // tables taken over by adopt()
  // INVITE lookups of outcome-counted detectors that RecentKeys skipped.
  std::uint64_t outcome_lookups_skipped() const noexcept { return outcome_skips_; }
  // Everything allocated at construction (tables, owned call table, queue).
  std::size_t memory_bytes() const noexcept;

 private:
  struct Table {
    WindowCounter counter;
    std::unique_ptr<PairSeen> pairs;  // distinct counts only
    std::uint32_t report_min;         // UINT32_MAX: no thresholds, never reported
    RecentKeys recent;                // outcome-counted detectors only (empty otherwise)
  };
  struct Estimate {
    std::uint32_t count, count2;
    Level level, held;
  };

  void prepare(const InviteKeys& keys, Pending* p) const noexcept;
  void finish(std::uint64_t now_ms, bool count, Pending* p, Levels& out) noexcept;
  void feed_outcome(const CallRecord& call, const Outcome& o, std::uint64_t now_ms) noexcept;
  Estimate estimate(const DetectorSpec& s, std::uint64_t key, std::uint32_t local, std::uint32_t local2,
                    std::uint64_t now_ms) const noexcept;
  void maybe_report(std::uint32_t i, std::uint32_t slot, std::uint64_t key, const KeyParts& parts, std::uint32_t local,
                    std::uint32_t local2, Level level, std::uint64_t now_ms) noexcept;

  std::vector<DetectorSpec> specs_;
  std::vector<Table> tables_;
  std::unique_ptr<CallTable> own_calls_;  // null when the worker's table is used
  CallTable* calls_;                      // the worker's, or own_calls_
  std::unique_ptr<SpscQueue<HotKeyReport>> reports_;
  WorkerOptions options_;
  const DynamicSet* dyn_ = nullptr;
  std::uint64_t lift_seen_ = 0;
  std::uint64_t reports_pushed_ = 0;
  std::uint64_t reports_dropped_ = 0;
  std::uint64_t lift_resets_ = 0;
  std::uint64_t lift_gaps_ = 0;
  std::uint64_t adopted_ = 0;
  std::uint64_t outcome_skips_ = 0;
};

}  // namespace sipwall::detect
