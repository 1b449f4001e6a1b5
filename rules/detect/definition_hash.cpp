#include "rules/detect/definition_hash.h"

namespace sipwall::detect {

namespace {

constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  // One round of a 64-bit multiply-xorshift per field: enough to make any
  // change of one field change the hash; this is not a defence against an
  // adversary (the artifact's checksum and validate() are).
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return h;
}

}  // namespace

// Not hashed: report_only. Switching a detector from report mode to blocking
// (the way docs/detection.md tells ops to start) keeps its counts and holds,
// so keys already over the threshold are blocked from the first INVITE after
// the reload instead of counting up from zero.
std::uint64_t definition_hash(const DetectorSpec& s) noexcept {
  std::uint64_t h = 0x5349505741444555ULL;  // format tag: change it if the meaning of a field changes
  h = mix(h, static_cast<std::uint64_t>(s.key));
  h = mix(h, static_cast<std::uint64_t>(s.count));
  h = mix(h, s.window_ms);
  h = mix(h, s.warn);
  h = mix(h, s.block);
  h = mix(h, s.within_ms);
  h = mix(h, s.min_attempts);
  h = mix(h, s.block_for_ms);
  h = mix(h, s.capacity);
  return h != 0 ? h : 1;
}

}  // namespace sipwall::detect
