// DynamicSet: the merged, immutable view of every hot or held key, built by
// the Merger (main lcore) every merge and read by all workers (the app
// publishes the pointer with RCU, like rule sets). Keyed by (detector
// definition hash, key hash): the definition hash, not a detector's index,
// so a set built before a reload reads right after it.
//
// Workers use it for two things: the penalty box (`level` while now <
// expiry_ms), and the estimate of a key spread over workers:
//   estimate = local count + (count at merge - this worker's count at merge).
// Lifts are replayed from lifts(): each worker resets its local count of a
// lifted key once (WorkerDetect::set_dynamic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/detect/key_hash.h"
#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

struct DynamicEntry {
  std::uint64_t detector;         // DetectorSpec::definition_hash
  std::uint64_t key;              // key_hash()
  std::uint64_t a, b;             // KeyParts, for display
  std::uint64_t first_seen_ms;    // first report of the key
  std::uint64_t last_seen_ms;     // latest report
  std::uint64_t fired_ms;         // when the current hold began (level != none)
  std::uint64_t expiry_ms;        // the hold lasts while now < expiry_ms
  std::uint64_t lift_generation;  // sequence number of the key's last lift (0: never lifted)
  std::uint32_t count;            // sum of the workers' counts at merge (asr: attempts)
  std::uint32_t count2;           // asr: answered
  Level level;                    // penalty-box level (none: hot, not held)
  // Held from outside (`detections-hold`: an operator's or the fleet's block,
  // docs/fleet.md) until its expiry, whatever the counts.
  bool external = false;
};

struct WorkerCount {
  std::uint32_t count = 0;  // what the worker had reported at merge
  std::uint32_t count2 = 0;
};

struct LiftRecord {
  std::uint64_t detector;  // DetectorSpec::definition_hash
  std::uint64_t key;       // key_hash()
  std::uint64_t seq;       // 1, 2, 3, ... across the merger's life
};

class DynamicSet {
 public:
  // per_worker: entries.size() * workers counts, entry-major. lifts: the
  // recent lifts, ascending seq; lift_seq: the newest lift's seq (0: none).
  DynamicSet(std::uint64_t sequence, std::uint32_t workers, std::vector<DynamicEntry> entries,
             std::vector<WorkerCount> per_worker, std::vector<LiftRecord> lifts, std::uint64_t lift_seq);

  const DynamicEntry* find(std::uint64_t detector, std::uint64_t key) const noexcept {
    if (entries_.empty()) return nullptr;
    std::size_t i = slot_hash(detector, key) & mask_;
    for (;;) {
      const std::uint32_t idx = index_[i];
      if (idx == kEmpty) return nullptr;
      const DynamicEntry& e = entries_[idx];
      if (e.key == key && e.detector == detector) return &e;
      i = (i + 1) & mask_;
    }
  }

  // The worker's count at merge for an entry of this set.
  WorkerCount own(const DynamicEntry& e, std::uint32_t worker) const noexcept {
    if (worker >= workers_) return {};
    const std::size_t idx = static_cast<std::size_t>(&e - entries_.data());
    return per_worker_[idx * workers_ + worker];
  }

  std::span<const DynamicEntry> entries() const noexcept { return entries_; }
  std::span<const LiftRecord> lifts() const noexcept { return lifts_; }
  std::uint64_t sequence() const noexcept { return sequence_; }
  std::uint64_t lift_seq() const noexcept { return lift_seq_; }
  std::uint32_t workers() const noexcept { return workers_; }
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  static std::size_t slot_hash(std::uint64_t detector, std::uint64_t key) noexcept {
    return static_cast<std::size_t>(mix64(key ^ (detector * 0x9E3779B97F4A7C15ULL)));
  }

  std::uint64_t sequence_;
  std::uint32_t workers_;
  std::vector<DynamicEntry> entries_;
  std::vector<WorkerCount> per_worker_;
  std::vector<LiftRecord> lifts_;
  std::uint64_t lift_seq_;
  std::vector<std::uint32_t> index_;  // open addressing, linear probing, load <= 1/2
  std::size_t mask_ = 0;
};

}  // namespace sipwall::detect
