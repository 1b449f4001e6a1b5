#include "dataplane/app/detect_runtime.h"

#include <rte_cycles.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "dataplane/app/dataplane.h"
#include "dataplane/detect/key_hash.h"

namespace sipwall::dataplane {
namespace {

// Sets replaced but not yet past their grace period. Workers pass a
// quiescent point every poll loop (microseconds), so more than this means a
// worker is stuck: merging pauses rather than piling sets up.
constexpr std::size_t kMaxSetsWaiting = 64;

}  // namespace

DetectRuntime::DetectRuntime(Dataplane& dp) : dp_(dp), tsc_per_ms_(std::max<std::uint64_t>(dp.tsc_hz / 1000, 1)) {}

DetectRuntime::~DetectRuntime() {
  // The workers have stopped (main() waits for them before this runs).
  delete dp_.dynamic.exchange(nullptr);
}

std::uint64_t DetectRuntime::now_ms() const noexcept {
  return rte_rdtsc() / tsc_per_ms_;
}

void DetectRuntime::published(const RuntimeSet* fresh) {
  const std::span<const detect::DetectorSpec> specs =
      fresh != nullptr ? fresh->detector_specs() : std::span<const detect::DetectorSpec>{};
  if (!merger_) {
    if (specs.empty()) return;
    detect::MergerOptions o;
    o.workers = static_cast<std::uint32_t>(dp_.workers.size());
    o.max_entries = dp_.cfg.detection_max_keys;
    merger_ = std::make_unique<detect::Merger>(specs, o);
  } else {
    merger_->set_specs(specs);  // unchanged definitions keep their keys and holds
  }
}

void DetectRuntime::retire(RuntimeSet& old) {
  std::vector<std::unique_ptr<detect::WorkerDetect>> states = old.retire_detect();
  for (unsigned w = 0; w < states.size(); ++w) {
    if (!states[w]) continue;
    if (merger_) reports_taken_ += merger_->take(w, states[w]->reports());
    old_states_.push_back(OldState{w, std::move(states[w])});
  }
  collect();
}

void DetectRuntime::drain() {
  if (!merger_) return;
  RuntimeSet* cur = dp_.current.load(std::memory_order_acquire);
  for (unsigned w = 0; w < dp_.workers.size(); ++w) {
    if (cur != nullptr)
      if (detect::WorkerDetect* d = cur->detect(w)) reports_taken_ += merger_->take(w, d->reports());
  }
  for (OldState& o : old_states_) reports_taken_ += merger_->take(o.worker, o.state->reports());
}

void DetectRuntime::publish(std::unique_ptr<detect::DynamicSet> next) {
  const detect::DynamicSet* old = dp_.dynamic.exchange(next.get(), std::memory_order_acq_rel);
  published_ = next.release();
  // Workers may still read `old` until each has passed a quiescent point.
  if (old != nullptr)
    old_sets_.push_back(OldSet{std::unique_ptr<const detect::DynamicSet>(old), rte_rcu_qsbr_start(dp_.qsbr)});
}

void DetectRuntime::collect() {
  while (!old_sets_.empty() && rte_rcu_qsbr_check(dp_.qsbr, old_sets_.front().token, false) == 1) old_sets_.pop_front();
  // A retired set's state is freed once its worker has moved to another
  // (adopted from it, or to a set without detectors).
  std::erase_if(old_states_, [this](OldState& o) {
    if (dp_.workers[o.worker]->detect_in_use.load(std::memory_order_acquire) == o.state.get()) return false;
    if (merger_) reports_taken_ += merger_->take(o.worker, o.state->reports());
    return true;
  });
}

void DetectRuntime::merge_now() {
  if (!merger_) return;
  collect();
  if (old_sets_.size() >= kMaxSetsWaiting) return;
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t now = now_ms();
  drain();
  publish(merger_->merge(now));
  last_merge_ms_ = now;
  ++merges_;
  last_merge_us_ = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

void DetectRuntime::tick() {
  if (!merger_) {
    collect();
    return;
  }
  if (now_ms() - last_merge_ms_ >= dp_.cfg.detection_merge_ms)
    merge_now();
  else
    collect();
}

bool DetectRuntime::hold(std::uint64_t detector, std::uint64_t key, std::uint64_t a, std::uint64_t b,
                         detect::Level level, std::uint64_t for_ms, std::string note) {
  if (!merger_) return false;
  const std::uint64_t now = now_ms();
  if (!merger_->hold(detector, key, a, b, level, now + for_ms, now)) return false;
  std::erase_if(notes_, [now](const auto& n) { return n.second.until_ms <= now; });
  if (notes_.size() < merger_->tracked() + 1u || notes_.count({detector, key}))
    notes_[{detector, key}] = Note{std::move(note), now + for_ms};
  merge_now();  // the workers act on it from their next poll loop
  return true;
}

const std::string* DetectRuntime::hold_note(std::uint64_t detector, std::uint64_t key) const {
  auto it = notes_.find({detector, key});
  return it == notes_.end() || it->second.text.empty() ? nullptr : &it->second.text;
}

std::size_t DetectRuntime::lift(std::uint64_t part, std::uint32_t kinds, std::optional<std::uint64_t> detector) {
  if (!merger_) return 0;
  const std::uint64_t now = now_ms();
  drain();  // reports counted before the lift are dropped by the merger from here on
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ids;
  auto wanted = [&](std::uint64_t det, detect::DetectKey kind) {
    return (!detector || *detector == det) && (kinds & (1u << static_cast<unsigned>(kind))) != 0;
  };
  const std::span<const detect::DetectorSpec> specs = merger_->specs();
  for (const detect::DetectorSpec& s : specs) {
    // Single-part keys are known without a report: their workers may hold
    // counts below the report minimum, which the lift must reset too.
    if (wanted(s.definition_hash, s.key) && !detect::two_part(s.key))
      ids.emplace_back(s.definition_hash, detect::key_hash(s.key, detect::KeyParts{part, 0, true}));
  }
  merger_->for_each([&](const detect::DynamicEntry& e) {
    for (const detect::DetectorSpec& s : specs)
      if (s.definition_hash == e.detector && wanted(e.detector, s.key) && (e.a == part || e.b == part))
        ids.emplace_back(e.detector, e.key);
  });
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::size_t tracked = 0;
  for (const auto& [det, key] : ids)
    if (merger_->lift(det, key, now)) ++tracked;
  merge_now();  // the lift log reaches the workers with this set
  return tracked;
}

}  // namespace sipwall::dataplane
