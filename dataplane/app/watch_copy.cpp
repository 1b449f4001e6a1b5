#include "dataplane/app/watch_copy.h"

#include <rte_branch_prediction.h>

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

void copy(Dataplane& dp, WorkerContext& w, rte_mbuf* m, std::uint16_t in, std::uint8_t mask,
          std::uint32_t generation) noexcept {
  WorkerCounters& c = *w.counters;
  rte_mbuf* cp = rte_pktmbuf_copy(m, dp.watch_pool, 0, UINT32_MAX);
  if (unlikely(cp == nullptr)) {
    c.watch_no_mbuf++;
    return;
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  WatchCopyMeta* meta = watch_meta(cp);
  meta->time_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
  meta->generation = generation;
  meta->mask = mask;
  meta->in_port = static_cast<std::uint8_t>(in);
  meta->pad = 0;
  if (unlikely(rte_ring_sp_enqueue(w.watch_ring, cp) != 0)) {
    c.watch_ring_full++;
    rte_pktmbuf_free(cp);
    return;
  }
  c.watch_copied++;
}

}  // namespace

void watch_invite(Dataplane& dp, WorkerContext& w, const RuntimeSet* rs, const classify::Verdict& v,
                  const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept {
  const watch::WatchSet& s = *w.watch_set;
  if (msg.call_id.empty() || rs == nullptr) return;
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
  if (mask == 0) {
    // A re-INVITE or retransmission of a call already watched is copied too.
    watch_message(dp, w, msg, m, in);
    return;
  }
  const std::uint64_t key = detect::call_id_hash(msg.call_id);
  if (w.watch_table->mark(key, mask, s.generation, w.now_ms, w.now_ms + dp.cfg.watch_call_ttl_ms) ==
      watch::WatchTable::MarkResult::evicted)
    w.counters->watch_evicted++;
  w.counters->watch_marked++;
  copy(dp, w, m, in, mask, s.generation);
}

void watch_message(Dataplane& dp, WorkerContext& w, const sip::Message& msg, rte_mbuf* m, std::uint16_t in) noexcept {
  if (msg.call_id.empty()) return;
  const watch::WatchTable::Entry* e = w.watch_table->find(detect::call_id_hash(msg.call_id), w.now_ms);
  if (e == nullptr) return;
  const std::uint8_t mask = w.watch_set->still_valid(e->mask, e->generation);
  if (mask != 0) copy(dp, w, m, in, mask, e->generation);
}

void watch_core_side(Dataplane& dp, WorkerContext& w, std::string_view payload, rte_mbuf* m,
                     std::uint16_t in) noexcept {
  if (sip::parse_message(payload, w.msg, sip::Transport::datagram) != sip::ParseError::none) return;
  watch_message(dp, w, w.msg, m, in);
}

}  // namespace sipwall::dataplane
