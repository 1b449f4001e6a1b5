// A detector's definition hash: what decides whether its counts survive a
// rule-set reload (WorkerDetect::adopt keeps the tables of detectors whose
// hash is unchanged). Computed over every field of the spec but the hash
// itself; the detector's name is not in the spec, so a rename keeps state
// and a changed window, threshold, key, count, mode or capacity does not.
#pragma once

#include <cstdint>

#include "rules/detect/detector_spec.h"

namespace sipwall::detect {

// Never 0. Stable across builds and machines (it is stored in artifacts and
// compared across reloads), so it hashes field values, not struct bytes.
std::uint64_t definition_hash(const DetectorSpec& spec) noexcept;

}  // namespace sipwall::detect
