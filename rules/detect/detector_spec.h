// The detector definitions the rule compiler produces and the keys the data
// plane extracts from one INVITE: the contract between the rule compiler
// (rules/), the data plane (dataplane/app) and this library. Plain structs so
// they can be written into the compiled artifact as they are.
#pragma once

#include <cstdint>

namespace sipwall::detect {

// What a detector's counts are kept per.
enum class DetectKey : std::uint8_t { caller, callee, caller_callee, source, source_callee, trunk };

// What a detector counts in its window.
enum class DetectCount : std::uint8_t {
  invites,           // new INVITEs (not retransmissions, not re-INVITEs)
  distinct_callees,  // distinct callees per key (fan-out, mass calling)
  distinct_callers,  // distinct callers per key
  one_ring,          // calls cancelled within within_ms of their first 18x
  short_calls,       // calls answered and ended by BYE within within_ms of the answer
  unanswered,        // calls with a final response >= 300, cancelled before an answer, or timed out
  asr                // answered calls per attempt, in permille
};

enum class Level : std::uint8_t { none = 0, warn = 1, block = 2 };

constexpr Level max_level(Level a, Level b) noexcept {
  return a < b ? b : a;
}

struct DetectorSpec {
  std::uint64_t definition_hash;  // over every field below but the name and report_only: state kept across
                                  // reloads iff equal
  DetectKey key;
  DetectCount count;
  bool report_only;            // report mode
  std::uint32_t window_ms;     // 1 s .. 24 h
  std::uint32_t warn;          // 0 = no warn level; fires when count > warn
  std::uint32_t block;         // 0 = no block level; fires when count > block
                               // (asr: permille, fires when answered*1000/attempts < threshold,
                               //  evaluated once attempts >= min_attempts)
  std::uint32_t within_ms;     // one_ring: cancel within N of 18x; short_calls: BYE within N of answer
  std::uint32_t min_attempts;  // asr: evaluated once attempts >= this
  std::uint32_t block_for_ms;  // penalty box hold after firing (0 = only while over threshold)
  std::uint32_t capacity;      // keys tracked per worker; 0: the data plane's detection.capacity
};

// The keys of one INVITE, computed by the data plane from the parsed, normalised message.
struct InviteKeys {
  std::uint64_t caller, callee;  // E.164 keys (0 = absent)
  std::uint64_t source;          // hash of source IP (and nothing else); 0 = absent
  std::uint32_t trunk;           // trunk id, kNoTrunk = none
  std::uint64_t call_id_hash;
  std::uint32_t cseq;  // CSeq number: same Call-ID and CSeq = a retransmission (not a new call)
  bool in_dialog;      // To has a tag: same Call-ID, another CSeq = a re-INVITE (not a new call);
                       // without one, another CSeq is a new call unless the last one was asked to
                       // retry (401/407, 3xx, 422, 491): see CallTable::on_invite
};

inline constexpr std::uint32_t kNoTrunk = 0xFFFFFFFFu;

// Detectors per rule set (and per WorkerDetect): a rule set with more is
// refused by the compiler and the artifact loader.
inline constexpr std::uint32_t kMaxDetectors = 32;

// Bounds validate() enforces.
inline constexpr std::uint32_t kMinWindowMs = 1'000;
inline constexpr std::uint32_t kMaxWindowMs = 86'400'000;
inline constexpr std::uint32_t kMinCapacity = 4;
inline constexpr std::uint32_t kMaxCapacity = 1u << 26;  // 64 Mi keys: ~5 GB of counters, past any sane config

// nullptr if `spec` is usable, else why not (a static string). The rule
// compiler reports its own errors with file:line:col; this guards the
// library against a spec from a damaged or hostile artifact.
const char* validate(const DetectorSpec& spec) noexcept;

// The level a count (asr: attempts) and count2 (asr: answered) stands at.
// A count equal to a threshold is not over it. Inline: per detector per INVITE.
inline Level level_for(const DetectorSpec& s, std::uint32_t count, std::uint32_t count2) noexcept {
  if (s.count == DetectCount::asr) {
    if (count == 0 || count < s.min_attempts) return Level::none;
    // 64-bit product: answered may exceed attempts (an answer after a CANCEL
    // already counted the attempt), and 1000 * 2^32 does not fit 32 bits.
    const std::uint64_t permille = std::uint64_t{count2} * 1000 / count;
    if (s.block != 0 && permille < s.block) return Level::block;
    if (s.warn != 0 && permille < s.warn) return Level::warn;
    return Level::none;
  }
  if (s.block != 0 && count > s.block) return Level::block;
  if (s.warn != 0 && count > s.warn) return Level::warn;
  return Level::none;
}

// The lowest count at which a key can reach a level: the smaller non-zero
// threshold (asr: min_attempts). 0 if the detector has no level at all.
std::uint32_t lowest_threshold(const DetectorSpec& spec) noexcept;

// True for the counts an INVITE adds to (invites, distinct_*); the others
// are added to by call outcomes and only read on an INVITE.
constexpr bool counted_on_invite(DetectCount c) noexcept {
  return c == DetectCount::invites || c == DetectCount::distinct_callees || c == DetectCount::distinct_callers;
}

const char* to_string(DetectKey k) noexcept;
const char* to_string(DetectCount c) noexcept;
const char* to_string(Level l) noexcept;

}  // namespace sipwall::detect
