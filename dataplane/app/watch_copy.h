// The workers' side of watched calls (docs/export.md): a watch filter is
// decided at the INVITE and marks its Call-ID in the worker's watch table;
// every SIP message of a marked Call-ID (both directions) is copied into an
// mbuf of the watch pool and put on the worker's watch ring, which the main
// lcore drains (watch_runtime.h). A full ring or an empty pool loses the
// copy (counted), never the packet. Called only while a watch set is in
// force (WorkerContext::watch_set not null): otherwise the packet path pays
// one branch.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/app/dataplane.h"

namespace sipwall::dataplane {

// What a copy carries besides the frame: the private area of every watch
// pool mbuf (setup.cpp creates the pool with this much room).
struct WatchCopyMeta {
  std::uint64_t time_ns = 0;     // CLOCK_REALTIME when the worker copied it
  std::uint32_t generation = 0;  // the watch set generation the call was marked in
  std::uint8_t mask = 0;         // the watch slots it was marked for
  std::uint8_t in_port = 0;      // index into Dataplane::ports it arrived on (a 603/608: leaves by)
  std::uint16_t pad = 0;
};
inline constexpr std::uint16_t kWatchPrivSize = sizeof(WatchCopyMeta);
static_assert(kWatchPrivSize % RTE_MBUF_PRIV_ALIGN == 0);

inline WatchCopyMeta* watch_meta(rte_mbuf* m) {
  return static_cast<WatchCopyMeta*>(rte_mbuf_to_priv(m));
}

// An INVITE with its verdict `v` (taken with `rs`): marks its Call-ID for
// the filters it matches and copies it. Before the verdict is applied (a
// drop or a reject frees `m`).
void watch_invite(Dataplane& dp, WorkerContext& w, const RuntimeSet* rs, const classify::Verdict& v,
                  const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept;

// Any other SIP message (parsed), from either side: copied if its Call-ID
// is watched. Also the 603/608 a reject verdict sends (`msg` the INVITE it
// answers, `m` the reply, `in` the port it leaves by).
void watch_message(Dataplane& dp, WorkerContext& w, const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept;

// The same for SIP over TCP (dataplane/tcp/watch_message.h), where a copy is
// not the frame but the message rebuilt as one segment: the decision and the
// copy are apart, so that nothing is built for a message no watch wants.
// watch_mark_invite marks an INVITE with its verdict like watch_invite (a
// re-INVITE of a watched call gets the call's mark); watch_lookup is the mark
// of any other message's Call-ID. mask 0: not to be copied.
watch::WatchMark watch_mark_invite(Dataplane& dp, WorkerContext& w, const RuntimeSet* rs, const classify::Verdict& v,
                                   const sip::Message& msg) noexcept;
watch::WatchMark watch_lookup(WorkerContext& w, const sip::Message& msg) noexcept;
// Copies frame[0, len) (any length up to 64 KiB: a chain of watch pool
// mbufs) onto the worker's watch ring with `mark`, as arrived on port `in`.
void watch_copy_frame(Dataplane& dp, WorkerContext& w, const std::uint8_t* frame, std::size_t len, std::uint16_t in,
                      watch::WatchMark mark) noexcept;

}  // namespace sipwall::dataplane
