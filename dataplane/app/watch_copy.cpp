#include "dataplane/app/watch_copy.h"

#include <rte_branch_prediction.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "dataplane/detect/key_hash.h"
#include "rules/number/normalize.h"

namespace sipwall::dataplane {
namespace {

bool wants(const watch::WatchSet& s, watch::WatchKind k) noexcept {
  for (unsigned i = 0; i < watch::kMaxWatches; ++i)
    if ((s.used >> i & 1u) != 0 && s.filters[i].kind == k) return true;
  return false;
}

// Stamps the copy `cp` and puts it on the worker's watch ring.
void enqueue(WorkerContext& w, rte_mbuf* cp, std::uint16_t in, watch::WatchMark mark) noexcept {
  WorkerCounters& c = *w.counters;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  WatchCopyMeta* meta = watch_meta(cp);
  meta->time_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
  meta->generation = mark.generation;
  meta->mask = mark.mask;
  meta->in_port = static_cast<std::uint8_t>(in);
  meta->pad = 0;
  if (unlikely(rte_ring_sp_enqueue(w.watch_ring, cp) != 0)) {
    c.watch_ring_full++;
    rte_pktmbuf_free(cp);
    return;
  }
  c.watch_copied++;
}

void copy(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t in, watch::WatchMark mark) noexcept {
  rte_mbuf* cp = rte_pktmbuf_copy(m, dp.watch_pool, 0, UINT32_MAX);
  if (unlikely(cp == nullptr)) {
    w.counters->watch_no_mbuf++;
    return;
  }
  enqueue(w, cp, in, mark);
}

}  // namespace

watch::WatchMark watch_mark_invite(Dataplane& dp, WorkerContext& w, const RuntimeSet* rs, const classify::Verdict& v,
                                   const sip::Message& msg) noexcept {
  const watch::WatchSet& s = *w.watch_set;
  if (msg.call_id.empty() || rs == nullptr) return {};
  const rules::CompiledRuleSet& set = rs->set();
  watch::CallView view;
  if (v.trunk != classify::kNoTrunk) view.trunk = set.trunk_name(v.trunk);
  view.rule = !v.rule_id.empty() ? v.rule_id : v.trace_rule_id;
  if (v.detector != classify::kNoDetector) view.detector = set.detector_name(v.detector);
  // The classifier normalises only the numbers its rules read: a watch on a
  // number the rules do not read normalises it here (the From and the
  // Request-URI, by the rule set's dial plan), only while such a watch is on.
  number::Number caller = v.caller, callee = v.callee;
  if (caller.kind == number::NumberKind::absent && msg.from.present && wants(s, watch::WatchKind::caller))
    caller = number::normalize(msg.from.uri.number_text(), msg.from.uri.phone_context(), set.dial_plan());
  if (callee.kind == number::NumberKind::absent && msg.is_request && wants(s, watch::WatchKind::callee))
    callee = number::normalize(msg.request_uri.number_text(), msg.request_uri.phone_context(), set.dial_plan());
  if (caller.kind == number::NumberKind::e164) view.caller = caller.text();
  if (callee.kind == number::NumberKind::e164) view.callee = callee.text();
  const std::uint8_t mask = s.match(view);
  // A re-INVITE or retransmission of a call already watched is copied too.
  if (mask == 0) return watch_lookup(w, msg);
  const std::uint64_t key = detect::call_id_hash(msg.call_id);
  if (w.watch_table->mark(key, mask, s.generation, w.now_ms, w.now_ms + dp.cfg.watch_call_ttl_ms) ==
      watch::WatchTable::MarkResult::evicted)
    w.counters->watch_evicted++;
  w.counters->watch_marked++;
  return watch::WatchMark{s.generation, mask};
}

watch::WatchMark watch_lookup(WorkerContext& w, const sip::Message& msg) noexcept {
  if (msg.call_id.empty()) return {};
  const watch::WatchTable::Entry* e = w.watch_table->find(detect::call_id_hash(msg.call_id), w.now_ms);
  if (e == nullptr) return {};
  return watch::WatchMark{e->generation, w.watch_set->still_valid(e->mask, e->generation)};
}

void watch_copy_frame(Dataplane& dp, WorkerContext& w, const std::uint8_t* frame, std::size_t len, std::uint16_t in,
                      watch::WatchMark mark) noexcept {
  // Bounded: a frame of at most 64 KiB fills at most 33 mbufs of 2 KB.
  rte_mbuf* head = nullptr;
  for (std::size_t done = 0; done < len;) {
    rte_mbuf* seg = rte_pktmbuf_alloc(dp.watch_pool);
    if (unlikely(seg == nullptr)) {
      rte_pktmbuf_free(head);  // null-safe
      w.counters->watch_no_mbuf++;
      return;
    }
    const std::size_t k = std::min<std::size_t>(rte_pktmbuf_tailroom(seg), len - done);
    std::memcpy(rte_pktmbuf_append(seg, static_cast<std::uint16_t>(k)), frame + done, k);
    done += k;
    if (head == nullptr) {
      head = seg;
    } else if (unlikely(rte_pktmbuf_chain(head, seg) != 0)) {
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      w.counters->watch_no_mbuf++;
      return;
    }
  }
  if (head != nullptr) enqueue(w, head, in, mark);
}

void watch_invite(Dataplane& dp, WorkerContext& w, const RuntimeSet* rs, const classify::Verdict& v,
                  const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept {
  const watch::WatchMark mark = watch_mark_invite(dp, w, rs, v, msg);
  if (mark.mask != 0) copy(dp, w, m, in, mark);
}

void watch_message(Dataplane& dp, WorkerContext& w, const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept {
  const watch::WatchMark mark = watch_lookup(w, msg);
  if (mark.mask != 0) copy(dp, w, m, in, mark);
}

}  // namespace sipwall::dataplane
