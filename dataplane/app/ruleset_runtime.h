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

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/classify/scratch.h"
#include "dataplane/net/sip_response.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::dataplane {

// The response options of a reject action that do not depend on the request:
// code, reason text, Call-Info URI and Server. The worker adds the request's
// source (received/rport) and the parts RuntimeSet rendered from these.
net::SipResponseOptions reject_options(const rules::CompiledRuleSet& set, const rules::ActionInfo& a) noexcept;

class RuntimeSet {
 public:
  // Loads and verifies `artifact`, prepares `workers` scratches. On failure
  // returns null and sets `error` ("path: checksum mismatch ...").
  static std::unique_ptr<RuntimeSet> load(const std::string& artifact, unsigned workers, std::string& error);

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
  std::vector<char> reply_text_;                 // what reply_parts_ point into
  std::vector<net::ResponseParts> reply_parts_;  // [rules] = default action
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
  std::map<std::string, std::uint64_t> rule_hits;    // by rule id
  std::map<std::string, std::uint64_t> trunk_calls;  // by trunk name ("" = no trunk)
  std::map<std::string, std::uint64_t> deny_hits;    // software drops by deny_sources id
  void absorb(const RuntimeSet& old);
};

}  // namespace sipwall::dataplane
