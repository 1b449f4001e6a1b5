// Merger: runs on the main lcore. Every merge period (<= 100 ms) the app
// drains each worker's hot-key reports into it (take) and asks for a new
// DynamicSet (merge), which it publishes to the workers with RCU.
//
// Per (detector, key) it keeps each worker's last report, sums them (a
// report older than the detector's window counts 0), and keeps the penalty
// box: when the sum (or a worker's own estimate) is over a threshold the key
// is held at that level until max(fire time + block_for, the last merge at
// which it was over + over_grace_ms). lift() ends a hold early and makes
// every worker forget the key's counts (lift log in each DynamicSet).
//
// May allocate (main lcore), but bounded: at most max_entries keys are
// tracked; reports for more are dropped and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "dataplane/detect/dynamic_set.h"
#include "dataplane/detect/hot_key_report.h"
#include "dataplane/detect/spsc_queue.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct MergerOptions {
  std::uint32_t workers = 1;
  std::uint32_t max_entries = 65536;  // (detector, key) pairs tracked
  // A key over its threshold at a merge stays held at least this long after
  // that merge, so the hold outlives a late merge; the workers' own
  // estimates keep it held for as long as it really is over.
  std::uint32_t over_grace_ms = 1000;
  std::uint32_t lift_log = 256;        // lifts each DynamicSet carries, at most ...
  std::uint32_t lift_log_ms = 10'000;  // ... and none older than this
};

struct DetectorMergeStats {
  std::uint64_t fires = 0;   // holds begun or raised to a higher level
  std::uint32_t active = 0;  // keys held at the last merge
  std::uint32_t hot = 0;     // keys tracked at the last merge
};

class Merger {
 public:
  // Throws std::invalid_argument on bad options or specs (as WorkerDetect).
  Merger(std::span<const DetectorSpec> specs, const MergerOptions& options);

  // A new rule set: keys of detectors whose definition_hash is still there
  // are kept (with their holds); the others are dropped.
  void set_specs(std::span<const DetectorSpec> specs);

  // Drains up to queue.capacity() reports of `worker`. Returns how many.
  std::size_t take(std::uint32_t worker, SpscQueue<HotKeyReport>& queue);
  // Applies one report (take() calls this; tests and replays may too).
  void apply(std::uint32_t worker, const HotKeyReport& report);

  // Sums, updates the penalty box, forgets cold keys, and builds the set.
  std::unique_ptr<DynamicSet> merge(std::uint64_t now_ms);

  // Lifts (detector, key): drops its hold and counts, here and (through the
  // next set's lift log) on every worker. Logged even if the key is not
  // tracked here (its workers may hold counts below the report minimum).
  // Returns true if the key was tracked.
  bool lift(std::uint64_t detector, std::uint64_t key, std::uint64_t now_ms);
  // Holds (detector, key) at `level` until `until_ms` whatever its counts: a
  // block decided outside this data plane (an operator, the fleet). The
  // workers act on it as on any held key (the rules' `detector:` conditions);
  // lift() ends it early. a, b: the key's parts, for display. False if the
  // detector is not in the rule set or no slot is free.
  bool hold(std::uint64_t detector, std::uint64_t key, std::uint64_t a, std::uint64_t b, Level level,
            std::uint64_t until_ms, std::uint64_t now_ms);
  // Lifts every tracked key of any detector with `part` (KeyParts a or b:
  // a number, a source hash, a trunk id) among its parts. Returns how many.
  std::size_t lift_part(std::uint64_t part, std::uint64_t now_ms);

  // The keys held or hot at the last merge, as published in its set.
  template <class F>
  void for_each(F&& f) const {
    for (const DynamicEntry& e : last_) f(e);
  }

  std::span<const DetectorSpec> specs() const noexcept { return specs_; }
  const DetectorMergeStats& stats(std::uint32_t detector) const noexcept { return stats_[detector]; }
  std::uint32_t tracked() const noexcept { return static_cast<std::uint32_t>(index_.size()); }
  std::uint64_t reports() const noexcept { return reports_; }
  std::uint64_t dropped_full() const noexcept { return dropped_full_; }        // no room for a new key
  std::uint64_t dropped_lifted() const noexcept { return dropped_lifted_; }    // counted before a lift
  std::uint64_t dropped_unknown() const noexcept { return dropped_unknown_; }  // unknown detector / worker
  std::uint64_t lift_seq() const noexcept { return lift_seq_; }
  std::uint64_t sequence() const noexcept { return sequence_; }
  // What the merger holds now (the slots and per-worker views are sized for
  // max_entries at construction; the index and the last set's copy grow with
  // the keys tracked, up to max_entries). Sets it built are the app's.
  std::size_t memory_bytes() const noexcept;

 private:
  struct View {
    std::uint64_t time_ms = 0;
    std::uint32_t count = 0, count2 = 0;
    Level level = Level::none;
    bool fresh = false;  // reported since the last merge
  };
  struct Slot {
    std::uint64_t detector = 0, key = 0, a = 0, b = 0;
    std::uint64_t first_seen_ms = 0, last_seen_ms = 0;
    std::uint64_t fired_ms = 0, hold_until_ms = 0, expiry_ms = 0;
    std::uint64_t lift_seq = 0, lifted_until_ms = 0;
    std::uint64_t external_until_ms = 0;  // hold(): held at external_level until then
    std::uint32_t spec = 0;
    Level held = Level::none;
    Level external_level = Level::none;
  };
  struct Id {
    std::uint64_t detector, key;
    bool operator==(const Id&) const = default;
  };
  struct IdHash {
    std::size_t operator()(const Id& id) const noexcept;
  };
  struct LoggedLift {
    LiftRecord lift;
    std::uint64_t time_ms;
  };

  std::uint32_t spec_index(std::uint64_t detector) const noexcept;  // or UINT32_MAX
  std::uint32_t slot_for(std::uint64_t detector, std::uint64_t key,
                         std::uint32_t spec);  // or UINT32_MAX
  void release(std::uint32_t slot);
  std::uint64_t stale_ms(const DetectorSpec& s) const noexcept;
  View* views(std::uint32_t slot) noexcept { return &views_[std::size_t{slot} * options_.workers]; }

  std::vector<DetectorSpec> specs_;
  std::vector<DetectorMergeStats> stats_;
  MergerOptions options_;
  std::vector<Slot> slots_;
  std::vector<View> views_;
  std::vector<std::uint32_t> free_;
  std::unordered_map<Id, std::uint32_t, IdHash> index_;
  std::deque<LoggedLift> lifts_;
  std::vector<DynamicEntry> last_;
  std::uint64_t sequence_ = 0;
  std::uint64_t lift_seq_ = 0;
  std::uint64_t reports_ = 0;
  std::uint64_t dropped_full_ = 0;
  std::uint64_t dropped_lifted_ = 0;
  std::uint64_t dropped_unknown_ = 0;
};

}  // namespace sipwall::detect
