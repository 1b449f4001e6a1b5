// The data plane's counter list: what both processes agree a counter is
// (its name in the stats reply, its Prometheus name sipwall_<name>_total, its
// help text). The data plane's WorkerCounters (dataplane/app/counters.h) is
// generated from it; sipwall-control's /metrics renders it
// (control/daemon/metrics_render.cpp) without reaching into the data plane's
// application. Plain preprocessor list, no DPDK; docs/operations.md has a row
// for each (tests/docs/check_docs.py checks).
#pragma once

// Every received frame ends in exactly one of: forwarded, dropped, rejected
// (answered with a SIP response instead of forwarded) or absorbed (an IP
// fragment taken into reassembly; the datagram it belongs to is then counted
// in reassembled_* below) -- or is, at this instant, held: a TCP segment
// waiting for the rest of a SIP message (`held` is a gauge; the segment is
// counted in one of the four when it leaves the hold). So, at any moment:
//   rx = forwarded + dropped + rejected + absorbed + held.
// A received TCP segment cut into several (tcp_split counts the extra ones)
// is counted once, by the fate of its first piece; the extra pieces and the
// frames we make ourselves (responses, ACKs, RSTs) are in the port TX counters.
#define SIPWALL_DATAPLANE_COUNTERS(X)                                                                                 \
  X(forwarded, "frames forwarded to the paired port (unchanged or tagged)")                                           \
  X(dropped, "frames freed (drop verdicts, fail-closed malformed SIP, no paired port)")                               \
  X(source_denied, "frames from a deny_sources entry dropped before SIP parsing (also in dropped)")                   \
  X(rejected, "INVITE frames answered with 603/608 instead of being forwarded")                                       \
  X(absorbed, "IP fragments taken into reassembly")                                                                   \
  X(held, "TCP segments held right now for the rest of a SIP message (a gauge, not a total)")                         \
  X(non_sip, "frames forwarded untouched: not IP/UDP/TCP, or not on a SIP port")                                      \
  X(multiseg_linearised, "frames received in several mbufs, copied into one jumbo mbuf and inspected like any other") \
  X(multiseg_too_large,                                                                                               \
    "frames in several mbufs too large for one mbuf (> 65407 bytes): malformed policy, not inspected")                \
  X(multiseg_no_mbuf, "frames in several mbufs with no jumbo mbuf free: malformed policy, not inspected")             \
  X(from_core, "frames entering a core-facing port (forwarded untouched)")                                            \
  X(sip_udp, "SIP datagrams inspected")                                                                               \
  X(sip_tcp, "TCP segments with payload on a SIP port inspected")                                                     \
  X(sip_requests, "SIP requests parsed")                                                                              \
  X(sip_responses, "SIP responses parsed (forwarded untouched)")                                                      \
  X(invites, "INVITE requests classified")                                                                            \
  X(non_invite, "SIP requests other than INVITE (forwarded untouched)")                                               \
  X(call_events, "responses, CANCELs, ACKs and BYEs that found their call in a worker's call table (detection)")      \
  X(core_sip_parsed, "SIP messages from the core side parsed for the call table (detection on; forwarded untouched)") \
  X(core_fragments_followed,                                                                                          \
    "IP fragments from the core side copied into reassembly for the call table and watches (they leave at once)")     \
  X(core_tcp_tails_joined,                                                                                            \
    "core-side TCP messages cut across segments, completed for the call table and watch copies")                      \
  X(core_tcp_tails_lost, "core-side TCP message ends not followed: too long, a gap, or another flow took the slot")   \
  X(core_fragments_uncopied,                                                                                          \
    "IP fragments from the core side not followed: no mbuf for the copy (forwarded all the same)")                    \
  X(malformed,                                                                                                        \
    "SIP messages the parser rejected (see parse_errors), and frames that could not be inspected "                    \
    "(multiseg_too_large/_no_mbuf, IPv6 fragments DPDK cannot reassemble)")                                           \
  X(malformed_forwarded, "malformed SIP forwarded (fail-open)")                                                       \
  X(malformed_dropped, "malformed SIP dropped (fail-closed)")                                                         \
  X(keepalives, "CRLF keep-alives (RFC 5626) and empty payloads on SIP ports, forwarded untouched")                   \
  X(guard_rail, "INVITEs passed by a guard rail (emergency number or allow list)")                                    \
  X(default_verdict, "INVITEs that matched no rule (default action applied)")                                         \
  X(no_ruleset, "INVITEs forwarded while no rule set was loaded")                                                     \
  X(replies_sent, "603/608 responses sent back out of the ingress port")                                              \
  X(reply_failed, "reject verdicts that could not build a response (mbuf or size); INVITE dropped")                   \
  X(reply_malformed,                                                                                                  \
    "reject verdicts whose INVITE has a malformed top Via (under fail_open it is parsed for the response only); "     \
    "no response, INVITE dropped")                                                                                    \
  X(tagged, "INVITEs forwarded with the risk header inserted")                                                        \
  X(tag_skipped_mtu, "tag verdicts forwarded untagged: the header would exceed the port MTU")                         \
  X(tag_skipped_fragmented, "tag verdicts forwarded untagged: the INVITE came in IP fragments")                       \
  X(tag_skipped_tcp, "tag verdicts forwarded untagged: TCP stream could not be adjusted")                             \
  X(tag_failed, "tag verdicts forwarded untagged: the header line or the message layout was refused")                 \
  X(tag_partial, "TCP tag verdicts whose From/P-Asserted-Identity lay in an earlier segment: those left unmarked")    \
  X(traced, "trace records produced")                                                                                 \
  X(trace_ring_full, "trace records lost because the worker's trace ring was full")                                   \
  X(watch_marked, "calls marked at their INVITE by a watch filter (HEP export, capture; docs/export.md)")             \
  X(watch_evicted, "watched calls pushed out of a full watch table by newer ones (their later packets not copied)")   \
  X(watch_copied, "SIP packets of watched calls copied to the worker's watch ring")                                   \
  X(watch_ring_full, "copies lost because the worker's watch ring was full (the packets were forwarded)")             \
  X(watch_no_mbuf, "copies lost because the watch pool was empty (the packets were forwarded)")                       \
  X(call_records, "call records written into the worker's record ring (records.enabled: docs/records.md)")            \
  X(call_records_dropped, "call records lost because the worker's record ring was full (the consumer fell behind)")   \
  X(fragments_in, "IP fragments received")                                                                            \
  X(reassembled, "datagrams reassembled from fragments")                                                              \
  X(reassembled_forwarded, "reassembled datagrams forwarded (re-fragmented at the port MTU)")                         \
  X(reassembled_dropped, "reassembled datagrams dropped or rejected")                                                 \
  X(reassembly_failed, "fragments freed by the reassembler (timeout, overlap, table full, too many)")                 \
  X(refragment_failed, "reassembled datagrams that could not be re-fragmented (dropped)")                             \
  X(oversize_refragmented,                                                                                            \
    "whole IPv4 datagrams over an af_packet port's MTU (reassembled by the kernel) forwarded in fragments")           \
  X(tcp_multi_message, "TCP segments that carried more than one SIP message")                                         \
  X(tcp_partial, "TCP segments forwarded uninspected: they continue a message whose start was not seen")              \
  X(tcp_held, "TCP segments put on hold until the rest of their SIP message arrives")                                 \
  X(tcp_reassembled_messages, "SIP messages put together from more than one TCP segment")                             \
  X(tcp_reassembly_released_unchanged,                                                                                \
    "held TCP segments released uninspected (fail-open: timeout, overflow, FIN/RST)")                                 \
  X(tcp_reassembly_timeout, "flows whose held segments waited longer than tcp.reassembly_timeout_ms")                 \
  X(tcp_reassembly_overflow, "flows over tcp.reassembly_bytes / _segments / _mbufs")                                  \
  X(tcp_reassembly_table_full, "TCP messages not held because tcp.reassembly_flows flows hold already")               \
  X(tcp_out_of_order_dropped, "TCP segments after a gap in a holding flow (dropped; the client resends)")             \
  X(tcp_retransmit_dropped, "TCP retransmissions of bytes being held (dropped; the originals are held)")              \
  X(tcp_reset_fail_closed, "TCP flows reset both ways (fail-closed: a message that could not be inspected)")          \
  X(tcp_split, "extra TCP segments made by cutting one at a SIP message boundary")                                    \
  X(tcp_adjusted, "TCP segments whose sequence/ack numbers were rewritten")                                           \
  X(tcp_flow_table_full, "TCP verdicts not applied because the flow table was full (forwarded)")                      \
  X(tcp_verdict_not_applied, "TCP drop/reject verdicts not applied for another reason (forwarded, see docs)")         \
  X(tx_dropped, "frames the TX queue refused (freed)")                                                                \
  X(link_down, "times a port lost link (read by the main lcore; a port taken down by link_follow is not counted)")    \
  X(link_partner_taken_down, "ports taken down because their partner lost link (pairs: link_follow)")                 \
  X(link_partner_brought_up, "ports brought back up because their partner's link returned (link_follow)")             \
  X(link_partner_down_failed, "partners that could not be taken down when a port lost link (driver cannot)")
