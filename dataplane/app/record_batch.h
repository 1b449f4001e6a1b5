// Call records packed during one turn of a worker's loop, published to its
// record ring in one enqueue at the end of the turn (docs/records.md "How
// records travel").
//
// Why not one enqueue per record: the ring's indexes are shared with the
// main lcore, which drains it all the time. Each enqueue reads the
// consumer's tail and writes the producer's, two cache lines the other core
// keeps taking, so each costs two cross-core transfers: measured at 400-1,000
// cycles per record on the 2-vCPU VM (bench_pipeline, rdtsc around the
// record writes), more than packing the record. Batched, that cost is paid
// once per turn (up to 32 packets). Records wait here at most one turn.
// Plain C++ (no DPDK): the unit tests fill it and walk it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/app/record_pack.h"

namespace sipwall::dataplane {

class RecordBatch {
 public:
  // Room for a full burst of new calls that each push one out (32 x (6 + 1)
  // units), so a turn of 32 packets never publishes twice.
  static constexpr unsigned kUnits = 256;

  bool fits(unsigned units) const noexcept { return used_ + units <= kUnits; }
  // The next `units` units (fits(units) must hold), counted as one record.
  std::uint8_t* take(unsigned units) noexcept {
    std::uint8_t* p = bytes_ + std::size_t{used_} * kRecordUnit;
    used_ += units;
    ++records_;
    return p;
  }
  bool empty() const noexcept { return used_ == 0; }
  unsigned units() const noexcept { return used_; }
  unsigned records() const noexcept { return records_; }
  const std::uint8_t* data() const noexcept { return bytes_; }
  void clear() noexcept { used_ = records_ = 0; }

 private:
  alignas(64) std::uint8_t bytes_[kUnits * kRecordUnit];
  unsigned used_ = 0;
  unsigned records_ = 0;
};

static_assert(RecordBatch::kUnits >= 32 * (kMaxRecordUnits + 1), "a burst of 32 fits");

}  // namespace sipwall::dataplane
