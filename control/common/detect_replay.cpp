#include "control/common/detect_replay.h"

#include "dataplane/detect/call_events.h"

namespace sipwall::control {

DetectReplay::DetectReplay(std::span<const detect::DetectorSpec> specs, const DetectReplayOptions& options)
    : options_(options) {
  for (detect::DetectorSpec s : specs) {
    if (s.capacity == 0) s.capacity = options.capacity;
    specs_.push_back(s);
  }
  if (specs_.empty()) return;
  detect::WorkerOptions wo;
  wo.calls.capacity = options.calls;
  worker_ = std::make_unique<detect::WorkerDetect>(specs_, wo);
  merger_ = std::make_unique<detect::Merger>(specs_, detect::MergerOptions{});
}

void DetectReplay::merge() {
  // The data plane sweeps a slice of the call table per poll loop, the
  // whole table within milliseconds. Here: the whole table once a second of
  // capture time (call timeouts are tens of seconds), so a long capture does
  // not pay a full sweep per merge.
  if (now_ms_ - last_sweep_ms_ >= 1000) {
    worker_->expire(now_ms_, worker_->calls().capacity());
    last_sweep_ms_ = now_ms_;
  }
  merger_->take(0, worker_->reports());
  std::unique_ptr<detect::DynamicSet> next = merger_->merge(now_ms_);
  // One thread: the worker switches at once, so the old set can go now.
  worker_->set_dynamic(next.get());
  published_ = std::move(next);
  last_merge_ms_ = now_ms_;
}

void DetectReplay::advance(std::uint64_t now_ms) {
  if (!active()) return;
  if (!started_) {
    started_ = true;
    now_ms_ = last_merge_ms_ = last_sweep_ms_ = now_ms;
    return;
  }
  if (now_ms <= now_ms_) return;
  const std::uint64_t next = last_merge_ms_ + options_.merge_ms;
  if (now_ms >= next) {
    // The data plane merges every merge_ms: what the worker reported since
    // the last merge is merged at the next tick after it, not when the next
    // packet of the capture comes (which may be minutes later, when the
    // reports would be a window old). Ticks with nothing new in between
    // change nothing but expiry, which the merge at `now_ms` covers.
    now_ms_ = next;
    merge();
    now_ms_ = now_ms;
    if (now_ms - next >= options_.merge_ms) merge();
  }
  now_ms_ = now_ms;
}

classify::DetectContext* DetectReplay::context() {
  if (!active()) return nullptr;
  ctx_.worker = worker_.get();
  ctx_.now_ms = now_ms_;
  ctx_.levels.n = 0;
  return &ctx_;
}

void DetectReplay::call_event(const sip::Message& msg) {
  if (active()) detect::feed_call_event(*worker_, msg, now_ms_);
}

}  // namespace sipwall::control
