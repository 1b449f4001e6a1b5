// Filling call records (dataplane/protocol/call_record.h) from what the
// worker has at hand: the verdict, the parsed INVITE, its decoded frame and
// its entry in the call table. Plain C++ (no DPDK), so the unit tests run it;
// packet path: no allocation, no exceptions.
#pragma once

#include <cstdint>

#include "dataplane/classify/verdict.h"
#include "dataplane/detect/call_table.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/protocol/call_record.h"
#include "dataplane/sip/sip_message.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::dataplane {

// The call-table keys of a classified INVITE, as the classifier builds them
// for detection (E.164 caller and callee, source, trunk, Call-ID, CSeq): the
// worker feeds its call table with these when no detector did.
detect::InviteKeys record_keys(const classify::Verdict& v, const sip::Message& msg,
                               const net::DecodedPacket& d) noexcept;

// The caller and callee as written: the user part of the first
// P-Asserted-Identity (else From), and of the Request-URI (else To).
std::string_view caller_as_written(const sip::Message& msg) noexcept;
std::string_view callee_as_written(const sip::Message& msg) noexcept;

// The record of an INVITE that started `call` (a new call in the table).
void fill_invite_record(protocol::CallRecordWire& r, const classify::Verdict& v, const rules::CompiledRuleSet& set,
                        const sip::Message& msg, const net::DecodedPacket& d, std::uint16_t in_port, unsigned worker,
                        const detect::CallRecord& call, std::uint64_t time_ns) noexcept;

// The record of `call` leaving the table.
void fill_outcome_record(protocol::CallRecordWire& r, const detect::CallRecord& call, protocol::CallEnd end,
                         unsigned worker, std::uint64_t time_ns) noexcept;

}  // namespace sipwall::dataplane
