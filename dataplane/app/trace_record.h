// One verdict trace record: what the control plane writes to the trace log so
// that a blocked call can be traced back to its trunk and rule. Fixed size,
// no pointers: it is copied by value through a per-worker ring (worker =
// single producer, main lcore = single consumer), so a rule set that is
// replaced later can't leave a record pointing at freed strings.
//
// The worker fills a record in place in its ring slot (fill_trace_record,
// trace_fill.h) and writes only what is read: every scalar, and each text
// field up to its NUL. The bytes after a NUL, the detector figures of a
// record without a detector, and time_ns until the main lcore sets it are
// left as the slot had them (an older record's bytes): nothing reads them,
// and trace_json() (trace_json.h), the only way out, stops at the NULs.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "rules/text/safe_text.h"

namespace sipwall::dataplane {

struct TraceRecord {
  std::uint64_t tsc;       // rte_rdtsc() when the worker decided
  std::uint64_t time_ns;   // that in CLOCK_REALTIME ns: set by the main lcore (tsc_clock.h) when it drains
  std::uint8_t action;     // rules::ActionKind
  std::uint8_t in_port;    // port index the INVITE arrived on
  std::uint8_t transport;  // 17 UDP, 6 TCP
  std::uint16_t src_port;
  std::uint16_t dst_port;
  std::uint16_t reject_code;  // 603/608, 0 otherwise
  std::uint16_t vlan;         // 0xFFFF = none
  std::uint8_t src[16];       // IPv4 mapped into IPv6
  std::uint8_t dst[16];
  char trunk[32];
  char rule_id[64];
  char ruleset_version[32];
  char call_id[96];
  char caller[20];  // E.164 with '+', or the raw user part cut to size
  char callee[20];
  // Behavioural detection (docs/detection.md): the detector whose condition
  // decided (empty: none), its count in the window at this INVITE, its
  // level, and whether it runs in report mode (the call passed;
  // report_action is what the rule would have done). Evidence in the trace.
  char detector[32];
  std::uint32_t detector_count;
  std::uint8_t detector_level;  // detect::Level
  std::uint8_t detector_report;
  std::uint8_t report_action;  // rules::ActionKind
};
static_assert(sizeof(TraceRecord) % 8 == 0, "ring elements must be a multiple of 4 bytes");

// Copies `s` into a fixed field, cutting it to fit (never inside a UTF-8
// sequence, so a valid Call-ID stays valid), always NUL-terminated. The bytes
// are copied as they are: whatever is not UTF-8 is replaced when the record
// is serialised (commands.cpp, text::dump_json), on the main lcore.
template <std::size_t N>
inline void copy_field(char (&dst)[N], std::string_view s) noexcept {
  const std::size_t n = text::utf8_cut(s, N - 1);
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

}  // namespace sipwall::dataplane
