// What following calls costs the worker per non-INVITE message: the parse a
// core-side response now gets (it was forwarded unparsed before detection)
// and the call-event glue into a worker's call table
// (dataplane/detect/call_events.h). docs/performance.md quotes it.
//
//   build/bin/bench_call_events [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "dataplane/detect/call_events.h"
#include "dataplane/detect/worker_detect.h"
#include "dataplane/sip/sip_message.h"

namespace {

using namespace sipwall;

// A 180 Ringing as a carrier core sends it (Via, Record-Route, Contact).
std::string ringing(unsigned n) {
  return "SIP/2.0 180 Ringing\r\n"
         "Via: SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bK" +
         std::to_string(n) +
         "abcdef;rport=5060;received=192.0.2.11\r\n"
         "Record-Route: <sip:10.10.0.10;lr;ftag=fr1x>\r\n"
         "From: <sip:+8613800001111@192.0.2.11;user=phone>;tag=fr1x\r\n"
         "To: <sip:+8613900002222@10.10.0.10;user=phone>;tag=as" +
         std::to_string(n) +
         "\r\n"
         "Call-ID: " +
         std::to_string(1000000 + n) +
         "-a8f3c2d1e0b94f7a@sbc.trunk.example\r\n"
         "CSeq: 1 INVITE\r\n"
         "Contact: <sip:+8613900002222@10.10.0.10:5060;transport=udp>\r\n"
         "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE\r\n"
         "Content-Length: 0\r\n\r\n";
}

constexpr unsigned kMessages = 4096;

void parse_responses(benchmark::State& state, sip::Depth depth) {
  std::vector<std::string> msgs;
  for (unsigned i = 0; i < kMessages; ++i) msgs.push_back(ringing(i));
  auto msg = std::make_unique<sip::Message>();
  unsigned i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sip::parse_message(msgs[i++ % kMessages], *msg, sip::Transport::datagram, depth));
  }
  state.counters["bytes"] = static_cast<double>(msgs[0].size());
}

// Parse only: what every core-side SIP datagram costs with detectors loaded
// (the data plane parses it at sip::Depth::verdict: the call table reads
// Call-ID, CSeq and the status).
void BM_ParseResponse(benchmark::State& state) {
  parse_responses(state, sip::Depth::verdict);
}
BENCHMARK(BM_ParseResponse);

// The same response parsed in full (Depth::full), for comparison.
void BM_ParseResponseFull(benchmark::State& state) {
  parse_responses(state, sip::Depth::full);
}
BENCHMARK(BM_ParseResponseFull);

// Parse + call event into a call table of 64 Ki calls, each message's call in it.
void BM_ParseResponseToCallTable(benchmark::State& state) {
  std::vector<std::string> msgs;
  for (unsigned i = 0; i < kMessages; ++i) msgs.push_back(ringing(i));
  detect::DetectorSpec spec{};
  spec.definition_hash = 1;
  spec.key = detect::DetectKey::caller;
  spec.count = detect::DetectCount::one_ring;
  spec.window_ms = 300'000;
  spec.block = 20;
  spec.within_ms = 3'000;
  spec.capacity = 65536;
  detect::WorkerDetect w({&spec, 1}, detect::WorkerOptions{});
  auto msg = std::make_unique<sip::Message>();
  detect::Levels lv;
  for (unsigned i = 0; i < kMessages; ++i) {
    sip::parse_message(msgs[i], *msg);
    detect::InviteKeys k{};
    k.caller = (std::uint64_t{13} << 50) | (8613800000000ULL + i);
    k.callee = (std::uint64_t{13} << 50) | 8613900002222ULL;
    k.call_id_hash = detect::call_id_hash(msg->call_id);
    k.cseq = 1;
    w.on_invite(k, 1'000'000, lv);
  }
  unsigned i = 0;
  std::uint64_t now = 1'000'100;
  for (auto _ : state) {
    sip::parse_message(msgs[i++ % kMessages], *msg, sip::Transport::datagram, sip::Depth::verdict);
    benchmark::DoNotOptimize(detect::feed_call_event(w, *msg, now++ / 64));
  }
}
BENCHMARK(BM_ParseResponseToCallTable);

}  // namespace

BENCHMARK_MAIN();
