#include "dataplane/classify/scratch.h"

#include <hs/hs.h>

#include <algorithm>
#include <utility>

#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::classify {

Scratch::~Scratch() {
  if (hs_ != nullptr) hs_free_scratch(hs_);
}

Scratch::Scratch(Scratch&& other) noexcept
    : hs_(std::exchange(other.hs_, nullptr)),
      regex_bits_(std::move(other.regex_bits_)),
      target_epoch_(std::move(other.target_epoch_)),
      target_hit_(std::move(other.target_hit_)),
      epoch_(other.epoch_),
      bits_dirty_(other.bits_dirty_),
      cleared_epoch_(other.cleared_epoch_) {}

Scratch& Scratch::operator=(Scratch&& other) noexcept {
  if (this != &other) {
    if (hs_ != nullptr) hs_free_scratch(hs_);
    hs_ = std::exchange(other.hs_, nullptr);
    regex_bits_ = std::move(other.regex_bits_);
    target_epoch_ = std::move(other.target_epoch_);
    target_hit_ = std::move(other.target_hit_);
    epoch_ = other.epoch_;
    bits_dirty_ = other.bits_dirty_;
    cleared_epoch_ = other.cleared_epoch_;
  }
  return *this;
}

bool Scratch::prepare(const rules::CompiledRuleSet& set, std::string* error) {
  const auto targets = set.scan_targets();
  for (std::size_t t = 0; t < targets.size(); ++t) {
    // Grows the one scratch to fit every database (Hyperscan keeps it if it
    // is already big enough).
    const hs_error_t rc = hs_alloc_scratch(set.database(t), &hs_);
    if (rc != HS_SUCCESS) {
      if (error != nullptr) {
        *error = "hs_alloc_scratch failed (" + std::to_string(rc) + ") for database " + std::to_string(t);
      }
      return false;
    }
  }
  const std::size_t words = (set.regex_slots() + 63) / 64;
  if (regex_bits_.size() < words) regex_bits_.resize(words, 0);
  if (target_epoch_.size() < targets.size()) target_epoch_.resize(targets.size(), 0);
  if (target_hit_.size() < targets.size()) target_hit_.resize(targets.size(), 0);
  // Old marks may name targets of another set: start a fresh epoch range.
  std::fill(target_epoch_.begin(), target_epoch_.end(), 0);
  epoch_ = 0;
  // Bits another set's scans left: cleared at the next message's first scan.
  bits_dirty_ = true;
  cleared_epoch_ = 0;
  return true;
}

bool Scratch::ready_for(const rules::CompiledRuleSet& set) const noexcept {
  const std::size_t targets = set.scan_targets().size();
  if (targets == 0) return true;
  return hs_ != nullptr && regex_bits_.size() * 64 >= set.regex_slots() && target_epoch_.size() >= targets &&
         target_hit_.size() >= targets;
}

}  // namespace sipwall::classify
