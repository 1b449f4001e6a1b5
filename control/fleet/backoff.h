// When to try Redis again after a failure: the delay doubles from `first_ms`
// up to `max_ms`, and goes back to `first_ms` after a success. Pure (time is
// a parameter), so it is unit-tested without a clock or a Redis.
#pragma once

#include <cstdint>

namespace sipwall::fleet {

class Backoff {
 public:
  Backoff(std::int64_t first_ms, std::int64_t max_ms) noexcept;

  // May a connection attempt be made at `now_ms`?
  bool due(std::int64_t now_ms) const noexcept { return now_ms >= next_ms_; }
  // An attempt failed at `now_ms`: the next one waits the current delay, which then doubles.
  void failed(std::int64_t now_ms) noexcept;
  // An attempt succeeded: the next failure waits `first_ms` again.
  void succeeded() noexcept;

  std::int64_t next_ms() const noexcept { return next_ms_; }
  std::int64_t delay_ms() const noexcept { return delay_ms_; }
  std::uint64_t failures() const noexcept { return failures_; }  // in a row

 private:
  std::int64_t first_ms_, max_ms_;
  std::int64_t delay_ms_;
  std::int64_t next_ms_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace sipwall::fleet
