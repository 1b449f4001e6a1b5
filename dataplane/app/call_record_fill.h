// Filling call records from what the worker has at hand: the verdict, the
// parsed INVITE, its decoded frame and its entry in the call table, packed
// into the units of the worker's record ring (record_pack.h). Plain C++ (no
// DPDK), so the unit tests run it; packet path: no allocation, no exceptions.
#pragma once

#include <cstdint>

#include "dataplane/app/record_pack.h"
#include "dataplane/app/verdict_names.h"
#include "dataplane/classify/verdict.h"
#include "dataplane/detect/call_table.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/protocol/call_record.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::dataplane {

// The call-table keys of a classified INVITE, as the classifier builds them
// for detection (E.164 caller and callee, source, trunk, Call-ID, CSeq): the
// worker feeds its call table with these when no detector did.
// `call_id_hash`: detect::call_id_hash(msg.call_id) if the caller took it
// already, else 0.
detect::InviteKeys record_keys(const classify::Verdict& v, const sip::Message& msg, const net::DecodedPacket& d,
                               std::uint64_t call_id_hash = 0) noexcept;

// The caller and callee as written: the user part of the first
// P-Asserted-Identity (else From), and of the Request-URI (else To).
std::string_view caller_as_written(const sip::Message& msg) noexcept;
std::string_view callee_as_written(const sip::Message& msg) noexcept;

// The texts of the record of an INVITE (cut to fit): measured first, so the
// worker asks its ring for t.units() units.
InviteTexts invite_texts(const classify::Verdict& v, const VerdictNames& names, const sip::Message& msg) noexcept;

// Writes the record of an INVITE that started `call` (a new call in the
// table) at `record`: t.units() units, stamped with `tsc`.
void pack_invite_record(std::uint8_t* record, const InviteTexts& t, const classify::Verdict& v,
                        const net::DecodedPacket& d, std::uint16_t in_port, unsigned worker,
                        const detect::CallRecord& call, std::uint64_t tsc) noexcept;

// Writes the record of `call` leaving the table at `record`: one unit.
void pack_outcome_record(std::uint8_t* record, const detect::CallRecord& call, protocol::CallEnd end, unsigned worker,
                         std::uint64_t tsc) noexcept;

}  // namespace sipwall::dataplane
