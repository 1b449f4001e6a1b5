#include "dataplane/app/watch_runtime.h"

#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dataplane/app/watch_copy.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/protocol/base64.h"

namespace sipwall::dataplane {

using nlohmann::json;

WatchRuntime::~WatchRuntime() {
  // The workers have stopped (main() waits for them before this runs).
  delete dp_.watch_set.exchange(nullptr);
}

bool WatchRuntime::start(std::string& error) {
  const DataplaneConfig& c = dp_.cfg;
  if (c.hep_collector.empty()) return true;
  std::string why;
  auto f = watch::parse_watch_filter(c.hep_match, c.hep_value, why);
  if (!f) {
    error = "export.hep: " + why;
    return false;
  }
  if (!hep_.open(c, error)) return false;
  Slot& s = slots_[0];
  s.kind = Slot::Kind::hep;
  s.filter = *f;
  s.active = true;
  publish();
  return true;
}

// A new immutable set from the slots; the workers take it at their next
// loop. The old one is freed after a grace period: no worker holds it then.
void WatchRuntime::publish() {
  dirty_ = false;
  auto* next = new watch::WatchSet;
  next->generation = ++generation_;
  const watch::WatchSet* old = published_;
  for (unsigned i = 0; i < watch::kMaxWatches; ++i) {
    const Slot& s = slots_[i];
    if (!s.active) continue;
    next->used = static_cast<std::uint8_t>(next->used | 1u << i);
    next->filters[i] = s.filter;
    // A filter already in force keeps its generation: its marked calls stay
    // watched; a new one starts at this one.
    const bool same = old != nullptr && (old->used >> i & 1u) != 0 && old->filters[i].kind == s.filter.kind &&
                      old->filters[i].value == s.filter.value && old->since[i] != 0;
    next->since[i] = same ? old->since[i] : next->generation;
  }
  published_ = next->used != 0 ? next : nullptr;
  const watch::WatchSet* previous = dp_.watch_set.exchange(published_, std::memory_order_acq_rel);
  rte_rcu_qsbr_synchronize(dp_.qsbr, RTE_QSBR_THRID_INVALID);
  delete previous;
  if (published_ == nullptr) {
    // Nothing watched: the set's generations still count on (generation_),
    // so a later filter in a slot never takes an old mark for its own.
    delete next;
  }
}

std::optional<std::uint64_t> WatchRuntime::start_capture(const watch::WatchFilter& f, const CaptureBounds& b,
                                                         std::string& error) {
  for (Slot& s : slots_) {
    if (s.kind != Slot::Kind::free) continue;
    s = Slot{};
    s.kind = Slot::Kind::capture;
    s.filter = f;
    s.active = true;
    s.id = next_id_++;
    s.bounds = b;
    s.deadline = Clock::now() + std::chrono::milliseconds(b.for_ms);
    s.last_read = Clock::now();
    publish();
    return s.id;
  }
  error = "no free watch slot: " + std::to_string(watch::kMaxWatches) +
          " watches (captures and the HEP export) are in force; stop one (watch-stop) or wait";
  return std::nullopt;
}

void WatchRuntime::end_capture(Slot& s, const char* reason) {
  if (!s.end_reason.empty()) return;
  s.end_reason = reason;
  s.active = false;
  dirty_ = true;
}

bool WatchRuntime::stop_capture(std::uint64_t id) {
  for (Slot& s : slots_) {
    if (s.kind != Slot::Kind::capture || s.id != id) continue;
    const bool was_active = s.active;
    s = Slot{};
    if (was_active) publish();
    return true;
  }
  return false;
}

std::optional<json> WatchRuntime::read_capture(std::uint64_t id, std::size_t max_packets, std::size_t max_bytes) {
  tick();  // what the workers copied up to now
  for (Slot& s : slots_) {
    if (s.kind != Slot::Kind::capture || s.id != id) continue;
    s.last_read = Clock::now();
    json packets = json::array();
    std::size_t bytes = 0;
    while (!s.buffer.empty() && packets.size() < max_packets && (bytes == 0 || bytes < max_bytes)) {
      Captured& c = s.buffer.front();
      bytes += c.frame.size();
      s.buffered_bytes -= c.frame.size();
      packets.push_back(json{{"time_ns", c.time_ns},
                             {"port", c.port < dp_.ports.size() ? dp_.ports[c.port].cfg.name : std::string("?")},
                             {"frame", protocol::base64_encode(c.frame)}});
      s.buffer.pop_front();
    }
    const bool done = !s.end_reason.empty() && s.buffer.empty();
    json reply{{"ok", true},
               {"v", 1},
               {"id", s.id},
               {"packets", std::move(packets)},
               {"captured_packets", s.packets},
               {"captured_bytes", s.bytes},
               {"dropped", s.dropped},
               {"done", done},
               {"end_reason", s.end_reason.empty() ? json(nullptr) : json(s.end_reason)}};
    if (done) s = Slot{};  // delivered: the slot is free again
    return reply;
  }
  return std::nullopt;
}

void WatchRuntime::capture(Slot& s, const std::uint8_t* frame, std::size_t len, std::uint64_t time_ns,
                           std::uint8_t port) {
  if (!s.end_reason.empty()) {
    stale_++;
    return;
  }
  if (s.packets >= s.bounds.max_packets) {
    end_capture(s, "max_packets");
    stale_++;
    return;
  }
  if (s.bytes + len > s.bounds.max_bytes) {
    end_capture(s, "max_bytes");
    stale_++;
    return;
  }
  if (s.buffered_bytes + len > kCaptureBufferBytes) {
    s.dropped++;  // the client does not read fast enough
    return;
  }
  s.buffer.push_back(Captured{time_ns, port, std::string(reinterpret_cast<const char*>(frame), len)});
  s.buffered_bytes += len;
  s.packets++;
  s.bytes += len;
  if (s.packets >= s.bounds.max_packets) end_capture(s, "max_packets");
}

void WatchRuntime::export_hep(const std::uint8_t* frame, std::size_t len, std::uint64_t time_ns) {
  net::DecodedPacket d;
  if (net::decode_frame(frame, len, d) != net::DecodeResult::ok || d.is_fragment) {
    hep_not_decoded_++;
    return;
  }
  const std::string_view payload = d.payload(frame);
  // A TCP copy is one message rebuilt as one segment (dataplane/tcp/watch_message.h).
  const sip::Transport tr = d.l4_proto == 6 ? sip::Transport::stream : sip::Transport::datagram;
  if (sip::parse_message(payload, msg_, tr) != sip::ParseError::none) {
    hep_not_decoded_++;
    return;
  }
  watch::HepMessage h;
  h.ip_version = d.ip_version;
  h.ip_protocol = d.l4_proto;
  // DecodedPacket keeps IPv4 IPv4-mapped (::ffff:a.b.c.d); HEP wants the 4 bytes.
  const std::size_t at = d.ip_version == 4 ? 12 : 0;
  std::memcpy(h.src.data(), d.src.data() + at, 16 - at);
  std::memcpy(h.dst.data(), d.dst.data() + at, 16 - at);
  h.src_port = d.src_port;
  h.dst_port = d.dst_port;
  h.time_s = static_cast<std::uint32_t>(time_ns / 1000000000ULL);
  h.time_us = static_cast<std::uint32_t>(time_ns % 1000000000ULL / 1000);
  h.agent_id = dp_.cfg.hep_agent_id;
  h.auth_key = dp_.cfg.hep_auth_key;
  h.correlation_id = msg_.call_id;
  h.payload = payload;
  const std::size_t n = watch::encode_hep(h, hep_buf_.data(), hep_buf_.size());
  if (n == 0) {
    hep_too_large_++;
    return;
  }
  hep_.send(hep_buf_.data(), n);
}

void WatchRuntime::take(rte_mbuf* copy) {
  const WatchCopyMeta meta = *watch_meta(copy);
  const std::uint8_t mask = published_ != nullptr ? published_->still_valid(meta.mask, meta.generation) : 0;
  if (mask == 0) {
    stale_++;
    rte_pktmbuf_free(copy);
    return;
  }
  const std::uint32_t len = rte_pktmbuf_pkt_len(copy);
  const auto* frame = static_cast<const std::uint8_t*>(rte_pktmbuf_read(
      copy, 0, std::min<std::uint32_t>(len, static_cast<std::uint32_t>(linear_.size())), linear_.data()));
  const std::size_t n = std::min<std::size_t>(len, linear_.size());
  for (unsigned i = 0; i < watch::kMaxWatches; ++i) {
    if ((mask >> i & 1u) == 0) continue;
    Slot& s = slots_[i];
    if (s.kind == Slot::Kind::hep)
      export_hep(frame, n, meta.time_ns);
    else if (s.kind == Slot::Kind::capture)
      capture(s, frame, n, meta.time_ns, meta.in_port);
  }
  rte_pktmbuf_free(copy);
}

void WatchRuntime::tick() {
  void* batch[64];
  for (auto& w : dp_.workers) {
    std::size_t left = dp_.cfg.watch_drain_per_turn;
    while (left != 0) {
      const unsigned n = rte_ring_sc_dequeue_burst(w->watch_ring, batch,
                                                   static_cast<unsigned>(std::min<std::size_t>(left, 64)), nullptr);
      if (n == 0) break;
      for (unsigned i = 0; i < n; ++i) take(static_cast<rte_mbuf*>(batch[i]));
      left -= n;
    }
  }
  hep_.poll();
  const Clock::time_point now = Clock::now();
  for (Slot& s : slots_) {
    if (s.kind != Slot::Kind::capture) continue;
    if (s.end_reason.empty() && now >= s.deadline) end_capture(s, "time");
    if (now - s.last_read > kCaptureIdle) {
      // Its client went away: nobody will read what is buffered.
      if (s.active) dirty_ = true;
      s = Slot{};
    }
  }
  if (dirty_) publish();
}

json WatchRuntime::status_json() const {
  json watches = json::array();
  for (unsigned i = 0; i < watch::kMaxWatches; ++i) {
    const Slot& s = slots_[i];
    if (s.kind == Slot::Kind::free) continue;
    json j{{"slot", i},
           {"kind", s.kind == Slot::Kind::hep ? "hep" : "capture"},
           {"filter", watch::describe(s.filter)},
           {"active", s.active}};
    if (s.kind == Slot::Kind::capture) {
      j["id"] = s.id;
      j["captured_packets"] = s.packets;
      j["captured_bytes"] = s.bytes;
      j["dropped"] = s.dropped;
      j["buffered_packets"] = s.buffer.size();
    }
    watches.push_back(std::move(j));
  }
  const HepSenderCounters& h = hep_.counters();
  json hep = nullptr;
  if (hep_.enabled()) {
    hep = json{{"collector", dp_.cfg.hep_collector},
               {"transport", dp_.cfg.hep_tcp ? "tcp" : "udp"},
               {"sent", h.sent},
               {"bytes", h.bytes},
               {"dropped", h.dropped},
               {"too_large", hep_too_large_},
               {"not_decoded", hep_not_decoded_}};
    if (dp_.cfg.hep_tcp) {
      hep["connected"] = hep_.connected();
      hep["connects"] = h.connects;
      hep["connect_failures"] = h.connect_failures;
      hep["queued_bytes"] = hep_.queued();
    }
  }
  return json{{"watches", std::move(watches)}, {"stale_copies", stale_}, {"hep", std::move(hep)}};
}

}  // namespace sipwall::dataplane
