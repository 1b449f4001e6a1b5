// Filling a verdict trace record (trace_record.h) on the worker. Plain C++
// (no DPDK), so the unit tests run it on a slot full of poison; packet path:
// no allocation, no exceptions, no clock read (the stamp is a TSC value the
// caller took).
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/app/trace_record.h"
#include "dataplane/app/verdict_names.h"
#include "dataplane/classify/verdict.h"
#include "dataplane/net/packet_decode.h"

namespace sipwall::dataplane {

// Writes every field trace_json() reads, and nothing else: `r` may hold any
// bytes before (trace_record.h).
void fill_trace_record(TraceRecord& r, const classify::Verdict& v, const VerdictNames& names, std::string_view call_id,
                       const net::DecodedPacket& d, std::uint16_t in_port, std::uint64_t tsc) noexcept;

}  // namespace sipwall::dataplane
