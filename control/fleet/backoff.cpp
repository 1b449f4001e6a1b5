#include "control/fleet/backoff.h"

#include <algorithm>

namespace sipwall::fleet {

Backoff::Backoff(std::int64_t first_ms, std::int64_t max_ms) noexcept
    : first_ms_(std::max<std::int64_t>(1, first_ms)), max_ms_(std::max(first_ms_, max_ms)), delay_ms_(first_ms_) {}

void Backoff::failed(std::int64_t now_ms) noexcept {
  next_ms_ = now_ms + delay_ms_;
  delay_ms_ = std::min(max_ms_, delay_ms_ * 2);
  failures_++;
}

void Backoff::succeeded() noexcept {
  delay_ms_ = first_ms_;
  next_ms_ = 0;
  failures_ = 0;
}

}  // namespace sipwall::fleet
