// A loaded rule set as the workers use it: the immutable CompiledRuleSet, one
// prepared classify::Scratch per worker (Hyperscan scratch can't be grown
// while a worker scans with it, so each set brings fresh ones), and per-worker
// hit counters indexed by this set's rule and trunk numbers.
//
// Lifetime (docs/architecture.md, "A rule file's path"): the main lcore builds a RuntimeSet off
// the packet path, publishes it with one atomic store, waits for an RCU grace
// period (every worker has passed a quiescent point, so none still reads the
// old one), folds the old set's counters into totals kept by rule id and
// trunk name, and only then frees it. Counters therefore survive reloads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/classify/scratch.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/net/sip_response.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::dataplane {

// The response options of a reject action that do not depend on the request:
// code, reason text, Call-Info URI and Server. The worker adds the request's
// source (received/rport) and the parts RuntimeSet rendered from these.
net::SipResponseOptions reject_options(const rules::CompiledRuleSet& set, const rules::ActionInfo& a) noexcept;

// What the data-plane config says about detection state (config.h
// detection.*): the defaults a rule set's detectors get, and the per-worker
// call table and report queue.
struct DetectOptions {
  std::uint32_t capacity = 65536;  // keys per detector per worker when the spec gives 0
  detect::WorkerOptions worker;    // worker_index / workers are filled per worker
  // [worker]: the call table each worker owns for the process lifetime
  // (WorkerContext::calls), lent to that worker's WorkerDetect. Empty (tests,
  // tools): each WorkerDetect owns a table of worker.calls.
  std::vector<detect::CallTable*> call_tables;
};

class RuntimeSet {
 public:
  // Loads and verifies `artifact`, prepares `workers` scratches and, if the
  // set has detectors, one WorkerDetect per worker (all detection memory is
  // allocated here, off the packet path). On failure returns null and sets
  // `error` ("path: checksum mismatch ...").
  static std::unique_ptr<RuntimeSet> load(const std::string& artifact, unsigned workers, std::string& error,
                                          const DetectOptions& detect = {});

  const rules::CompiledRuleSet& set() const noexcept { return *set_; }
  classify::Scratch& scratch(unsigned worker) noexcept { return scratch_[worker]; }

  // Hit counters, written by worker `w` only. Rows are padded to a cache line.
  std::uint64_t* rule_hits(unsigned w) noexcept { return &rule_hits_[w * rule_stride_]; }
  std::uint64_t* trunk_calls(unsigned w) noexcept { return &trunk_calls_[w * trunk_stride_]; }
  // Frames dropped by deny_sources entry i (the worker's first stage).
  std::uint64_t* deny_hits(unsigned w) noexcept { return &deny_hits_[w * deny_stride_]; }
  std::uint64_t deny_hits_total(std::size_t entry) const noexcept;
  // Sums over workers (main lcore).
  std::uint64_t rule_hits_total(std::size_t rule) const noexcept;
  std::uint64_t trunk_calls_total(std::size_t trunk) const noexcept;
  std::uint64_t no_trunk_calls_total() const noexcept;  // calls from no known trunk
  // INVITEs the workers have classified with this set (every one is counted
  // in exactly one trunk slot, "no trunk" included).
  std::uint64_t invites_total() const noexcept;

  // The status line and tail of the 603/608 that action `rule` sends
  // (rule_count(): the default action), rendered from reject_options() when
  // the set is loaded; null if that action is not a reject.
  const net::ResponseParts* reply_parts(std::size_t rule) const noexcept {
    return rule < reply_parts_.size() && !reply_parts_[rule].status_line.empty() ? &reply_parts_[rule] : nullptr;
  }

  // Behavioural detection (docs/detection.md). The specs as the workers run
  // them (capacity 0 replaced by the config default), in the set's order.
  std::span<const detect::DetectorSpec> detector_specs() const noexcept { return specs_; }
  bool has_detectors() const noexcept { return !specs_.empty(); }
  // 1, 2, 3, ... per load in this process: unlike the set's address, never
  // the same for two sets (a worker compares it to know it switched sets).
  std::uint64_t generation() const noexcept { return generation_; }
  // Worker w's detection state for this set; null if the set has none, or
  // once retire_detect() took it.
  detect::WorkerDetect* detect(unsigned w) noexcept { return w < detect_.size() ? detect_[w].get() : nullptr; }
  const detect::WorkerDetect* detect(unsigned w) const noexcept {
    return w < detect_.size() ? detect_[w].get() : nullptr;
  }
  // Hands the workers' detection state over when the set is retired: a
  // worker may still adopt() from it after the grace period (DetectRuntime).
  std::vector<std::unique_ptr<detect::WorkerDetect>> retire_detect() noexcept { return std::move(detect_); }
  // INVITEs a detector decided, by detector index: enforced, and in report
  // mode (the call passed; counted and traced).
  std::uint64_t* detector_hits(unsigned w) noexcept { return &detector_hits_[w * detector_stride_]; }
  std::uint64_t* detector_report_hits(unsigned w) noexcept { return &detector_report_hits_[w * detector_stride_]; }
  std::uint64_t detector_hits_total(std::size_t d) const noexcept;
  // The action the rules last took on an INVITE detector d decided at
  // `level` (what `detections` shows beside a held key): any worker writes
  // it (one relaxed byte), the main lcore reads it. 0: none seen yet; else
  // ActionKind + 1, bit 7 set in report mode (the call passed).
  static constexpr std::uint8_t kReportBit = 0x80;
  void note_detector_action(std::size_t d, detect::Level level, rules::ActionKind action, bool report) noexcept {
    if (d < specs_.size())
      detector_action_[d * 3 + static_cast<unsigned>(level)].store(
          static_cast<std::uint8_t>((static_cast<unsigned>(action) + 1) | (report ? kReportBit : 0)),
          std::memory_order_relaxed);
  }
  std::uint8_t detector_action(std::size_t d, detect::Level level) const noexcept {
    return d < specs_.size() ? detector_action_[d * 3 + static_cast<unsigned>(level)].load(std::memory_order_relaxed)
                             : 0;
  }
  std::uint64_t detector_report_hits_total(std::size_t d) const noexcept;

  const std::string& artifact_path() const noexcept { return artifact_; }
  std::chrono::system_clock::time_point loaded_at() const noexcept { return loaded_at_; }
  double load_ms() const noexcept { return load_ms_; }

 private:
  RuntimeSet() = default;
  std::unique_ptr<rules::CompiledRuleSet> set_;
  std::vector<classify::Scratch> scratch_;
  std::vector<std::uint64_t> rule_hits_;
  std::vector<std::uint64_t> trunk_calls_;  // [trunks] = calls from no trunk
  std::vector<std::uint64_t> deny_hits_;
  std::vector<detect::DetectorSpec> specs_;
  std::vector<std::unique_ptr<detect::WorkerDetect>> detect_;
  std::vector<std::uint64_t> detector_hits_;
  std::vector<std::uint64_t> detector_report_hits_;
  std::size_t detector_stride_ = 0;
  std::uint64_t generation_ = 0;
  std::unique_ptr<std::atomic<std::uint8_t>[]> detector_action_;  // [detector * 3 + level]
  std::vector<char> reply_text_;                                  // what reply_parts_ point into
  std::vector<net::ResponseParts> reply_parts_;                   // [rules] = default action
  std::size_t deny_stride_ = 0;
  std::size_t rule_stride_ = 0;
  std::size_t trunk_stride_ = 0;
  unsigned workers_ = 0;
  std::string artifact_;
  std::chrono::system_clock::time_point loaded_at_;
  double load_ms_ = 0;
};

// Counts of rule sets that were replaced, kept by name so they outlive them.
struct RetiredCounters {
  std::map<std::string, std::uint64_t> rule_hits;             // by rule id
  std::map<std::string, std::uint64_t> trunk_calls;           // by trunk name ("" = no trunk)
  std::map<std::string, std::uint64_t> deny_hits;             // software drops by deny_sources id
  std::map<std::string, std::uint64_t> detector_hits;         // by detector name
  std::map<std::string, std::uint64_t> detector_report_hits;  // by detector name
  void absorb(const RuntimeSet& old);
};

}  // namespace sipwall::dataplane
