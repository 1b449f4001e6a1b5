// The main lcore's half of behavioural detection (docs/detection.md): every
// merge period it drains each worker's hot-key reports into the Merger,
// builds a DynamicSet and publishes it to the workers the way rule sets are
// published (one atomic store; the old set is freed once an RCU grace period
// has passed, checked without blocking). It also keeps the workers'
// detection state of retired rule sets alive until each worker has taken
// over from it (WorkerDetect::adopt), and lifts detections.
//
// Main lcore only; never on the packet path. May allocate (bounded by the
// Merger's max_entries and the number of sets in flight).
#pragma once

#include <rte_rcu_qsbr.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/detect/merger.h"
#include "dataplane/detect/worker_detect.h"

namespace sipwall::dataplane {

struct Dataplane;
class RuntimeSet;

class DetectRuntime {
 public:
  explicit DetectRuntime(Dataplane& dp);
  ~DetectRuntime();
  DetectRuntime(const DetectRuntime&) = delete;
  DetectRuntime& operator=(const DetectRuntime&) = delete;

  // The detection clock, the same as the workers' (TSC in ms).
  std::uint64_t now_ms() const noexcept;

  // `fresh` was just published (before the grace period of the set it
  // replaced): the Merger follows its detectors (keys of unchanged
  // definitions keep their counts and holds).
  void published(const RuntimeSet* fresh);
  // `old` was replaced and its grace period has passed: its workers' state
  // is kept until every worker has adopted from it, then freed.
  void retire(RuntimeSet& old);

  // Called from the main loop: drains, merges and publishes when a merge is
  // due, frees what is no longer used. Cheap otherwise.
  void tick();
  // Drains, merges and publishes now (after a lift; at `detections`).
  void merge_now();

  // Lifts the detections of `part` (a number key, a source, a trunk index:
  // KeyParts a or b) in detectors whose key kind is in `kinds` (bit
  // 1 << DetectKey) and, if given, whose definition hash is `detector`.
  // Returns how many of the lifted keys the merge was tracking; merges at
  // once, so the workers see the lift within one poll loop.
  std::size_t lift(std::uint64_t part, std::uint32_t kinds, std::optional<std::uint64_t> detector);

  // Holds (detector, key) at `level` for `for_ms` from now (Merger::hold),
  // and merges at once. False when the merger has no room or no detector.
  // a, b: the key's parts (b 0 for a single-part key). `note` (who decided
  // it: "fleet block by ops@noc", "fleet detection: a1 4, a2 4") is shown by
  // `detections` next to the entry while it is held.
  bool hold(std::uint64_t detector, std::uint64_t key, std::uint64_t a, std::uint64_t b, detect::Level level,
            std::uint64_t for_ms, std::string note);
  // The note of the last hold of (detector, key), or nullptr.
  const std::string* hold_note(std::uint64_t detector, std::uint64_t key) const;

  const detect::Merger* merger() const noexcept { return merger_.get(); }
  const detect::DynamicSet* published_set() const noexcept { return published_; }
  std::uint64_t merges() const noexcept { return merges_; }
  std::uint64_t last_merge_ms() const noexcept { return last_merge_ms_; }
  double last_merge_us() const noexcept { return last_merge_us_; }
  std::size_t sets_waiting() const noexcept { return old_sets_.size(); }
  std::size_t states_waiting() const noexcept { return old_states_.size(); }
  std::uint64_t reports_taken() const noexcept { return reports_taken_; }

 private:
  struct OldSet {
    std::unique_ptr<const detect::DynamicSet> set;
    std::uint64_t token;  // rte_rcu_qsbr_start() when it was replaced
  };
  struct OldState {
    unsigned worker;
    std::unique_ptr<detect::WorkerDetect> state;
  };
  void drain();
  void publish(std::unique_ptr<detect::DynamicSet> next);
  void collect();

  Dataplane& dp_;
  std::uint64_t tsc_per_ms_;
  std::unique_ptr<detect::Merger> merger_;
  const detect::DynamicSet* published_ = nullptr;  // owned; what dp.dynamic points to
  std::deque<OldSet> old_sets_;
  std::vector<OldState> old_states_;
  std::uint64_t last_merge_ms_ = 0;
  double last_merge_us_ = 0;
  std::uint64_t merges_ = 0;
  std::uint64_t reports_taken_ = 0;
  struct Note {
    std::string text;
    std::uint64_t until_ms;
  };
  // hold(): (detector, key) -> its note, until the hold ends; pruned at the
  // next hold, bounded by the merger's keys.
  std::map<std::pair<std::uint64_t, std::uint64_t>, Note> notes_;
};

}  // namespace sipwall::dataplane
