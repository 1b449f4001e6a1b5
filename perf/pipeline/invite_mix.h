// The packet mix of the whole-pipeline benchmark: realistic carrier INVITEs
// (~1 KB with SDP) as complete Ethernet frames, built in C++ at start-up
// (nothing binary is committed). Plain C++, no DPDK.
//
// Each template marks where the caller's and the callee's 11 national digits
// sit (in every header that carries them: From, P-Asserted-Identity, Contact;
// Request-URI and To), so the generator can write a fresh number into every
// packet it sends. That keeps the number tables' cache behaviour honest: the
// classifier sees a different caller per INVITE, not the same few thousand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sipwall::perf {

enum class MixKind : std::uint8_t {
  clean,       // matches nothing in the full rule set
  caller_hit,  // caller drawn from the rule set's number list (reject 608)
  prefix_hit,  // callee inside one of the premium prefixes (drop)
  agent_hit,   // User-Agent matches a pattern (drop)
  name_hit,    // caller display name matches a pattern (tag)
};
inline constexpr unsigned kMixKinds = 5;
const char* to_string(MixKind k) noexcept;

using National = std::array<char, 11>;  // a China mobile, national form: 1[3-9]xxxxxxxxx

struct InviteTemplate {
  std::vector<std::uint8_t> frame;
  std::vector<std::uint16_t> caller_digits;  // frame offsets, 11 per occurrence
  std::vector<std::uint16_t> callee_digits;  // empty for prefix_hit (fixed callee)
  MixKind kind = MixKind::clean;
  bool ipv6 = false;
  std::uint16_t l3_offset = 0;       // IPv6: to recompute the UDP checksum after patching
  std::uint32_t flow_hash = 0;       // stands in for RSS: which worker queue gets it
  std::uint16_t call_id_offset = 0;  // frame offset of the Call-ID's first of 24 hex digits
};

struct MixSpec {
  unsigned templates = 2048;
  // Shares of the mix (the rest is clean).
  double caller_hit = 0.10;
  double prefix_hit = 0.03;
  double agent_hit = 0.01;
  double name_hit = 0.01;
  // Encapsulation and headers.
  double ipv6 = 0.10;
  double vlan = 0.10;  // of the IPv4 frames: 802.1Q VLAN 100
  double pai = 0.40;   // P-Asserted-Identity present
  double compact = 0.05;
  // SIP message size aim in bytes (0: natural, ~1 KB with SDP). Smaller than
  // natural: optional headers and then the SDP body are left out; larger: an
  // X-Pad header fills up to it. MixSummary::avg_sip says what came out.
  unsigned sip_bytes = 0;
  std::uint64_t seed = 1;
  // What hits (from the rule-set generator); empty: the kind renders as clean text.
  std::vector<std::string> hit_callees;  // E.164 "+86..." inside premium prefixes
  std::vector<std::string> hit_agents;   // User-Agent strings matching a pattern
  std::vector<std::string> hit_names;    // display names matching a pattern
};

struct MixSummary {
  std::size_t frames = 0;
  std::size_t min_len = 0, max_len = 0;
  double avg_len = 0;
  double avg_sip = 0;  // SIP message bytes (UDP payload)
  std::size_t by_kind[kMixKinds] = {};
  std::size_t ipv6 = 0, vlan = 0, pai = 0, compact = 0;
  std::size_t caller_formats[7] = {};  // see kCallerFormatNames
  std::size_t ruri_tel = 0;
};
extern const char* const kCallerFormatNames[7];

// Non-empty, non-comment lines of a text file (CR stripped); empty if unreadable.
std::vector<std::string> read_lines(const std::string& path);

// The hit files gen_ruleset.py writes into DIR (hit-callers/-callees/-agents/
// -names.txt): callees, agents and names go into `spec`, the listed callers
// (national form) into `callers`. False if any of them is missing or empty.
bool load_hits(const std::string& dir, MixSpec& spec, std::vector<National>& callers);

// Builds the templates in a shuffled kind order (the generator cycles through
// them). Deterministic for a given spec.
std::vector<InviteTemplate> build_mix(const MixSpec& spec, MixSummary& summary);

// A random China mobile in national form, last digit odd (gen_ruleset.py
// lists only numbers ending in an even digit).
National random_mobile(std::uint64_t& rng) noexcept;
// National form of an E.164 China mobile ("+8613800138000" -> "13800138000");
// false if it is not one.
bool national_of(const std::string& e164, National& out) noexcept;

// Writes `n` into every occurrence listed in `positions`.
inline void put_number(std::uint8_t* frame, const std::vector<std::uint16_t>& positions, const National& n) noexcept {
  for (std::size_t i = 0; i < positions.size(); ++i) frame[positions[i]] = static_cast<std::uint8_t>(n[i % 11]);
}

// Recomputes the UDP checksum of an IPv6 template-made frame in place.
void fix_ipv6_udp_checksum(std::uint8_t* frame, std::uint16_t l3_offset) noexcept;

inline std::uint64_t xorshift(std::uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

}  // namespace sipwall::perf
