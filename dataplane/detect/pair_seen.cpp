#include "dataplane/detect/pair_seen.h"

#include <cstring>
#include <stdexcept>

namespace sipwall::detect {

PairSeen::PairSeen(std::uint32_t capacity) {
  if (capacity == 0 || capacity > 4 * kMaxCapacity) throw std::invalid_argument("PairSeen: capacity");
  const std::uint32_t groups = (capacity + kGroup - 1) / kGroup;
  slots_ = groups * kGroup;
  groups_ = TableArray<Group>(groups);
}

void PairSeen::clear() noexcept {
  std::memset(static_cast<void*>(groups_.get()), 0, sizeof(Group) * (slots_ / kGroup));
  size_ = 0;
}

}  // namespace sipwall::detect
