#include "dataplane/detect/dynamic_set.h"

#include <stdexcept>
#include <utility>

namespace sipwall::detect {

DynamicSet::DynamicSet(std::uint64_t sequence, std::uint32_t workers, std::vector<DynamicEntry> entries,
                       std::vector<WorkerCount> per_worker, std::vector<LiftRecord> lifts, std::uint64_t lift_seq)
    : sequence_(sequence),
      workers_(workers),
      entries_(std::move(entries)),
      per_worker_(std::move(per_worker)),
      lifts_(std::move(lifts)),
      lift_seq_(lift_seq) {
  if (per_worker_.size() != entries_.size() * workers_)
    throw std::invalid_argument("DynamicSet: per-worker counts do not match entries x workers");
  if (entries_.size() >= kEmpty / 2) throw std::invalid_argument("DynamicSet: too many entries");
  std::size_t n = 8;
  while (n < entries_.size() * 2) n <<= 1;
  index_.assign(n, kEmpty);
  mask_ = n - 1;
  for (std::uint32_t idx = 0; idx < entries_.size(); ++idx) {
    const DynamicEntry& e = entries_[idx];
    std::size_t i = slot_hash(e.detector, e.key) & mask_;
    bool duplicate = false;
    while (index_[i] != kEmpty) {
      const DynamicEntry& o = entries_[index_[i]];
      if (o.key == e.key && o.detector == e.detector) {
        duplicate = true;
        break;
      }
      i = (i + 1) & mask_;
    }
    if (duplicate) throw std::invalid_argument("DynamicSet: a (detector, key) twice");
    index_[i] = idx;
  }
}

std::size_t DynamicSet::memory_bytes() const noexcept {
  return sizeof(*this) + entries_.capacity() * sizeof(DynamicEntry) + per_worker_.capacity() * sizeof(WorkerCount) +
         lifts_.capacity() * sizeof(LiftRecord) + index_.capacity() * sizeof(std::uint32_t);
}

}  // namespace sipwall::detect
