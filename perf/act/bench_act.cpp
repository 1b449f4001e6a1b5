// The "act" piece of the worker, on the pipeline benchmark's INVITE mix
// (perf/pipeline/invite_mix.cpp): what each action costs once the verdict is
// known, calling the product's dataplane/net functions the worker calls.
//
//   BM_ActPass       pass: the frame leaves as it came; this loop only picks
//                    the next INVITE (the floor of the loops below)
//   BM_ActReject603  reject: begin_udp_reply + build_sip_response (603 Decline)
//                    + finish_reply into a fresh 2 KB buffer, as reject_udp()
//   BM_ActReject608  the same with 608 Rejected, Reason text and Call-Info
//   BM_FrameRestore  memcpy of the frame into the work buffer (part of BM_ActTag,
//                    which must start from the untagged frame every time)
//   BM_ActTag        restore + insert_header_line (tag action: one header line,
//                    IP/UDP lengths and checksums fixed)
//
//   build/bin/bench_act [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"
#include "dataplane/net/sip_response.h"
#include "dataplane/net/tag_insert.h"
#include "dataplane/sip/sip_message.h"
#include "perf/pipeline/invite_mix.h"

namespace {

using namespace sipwall;

struct Parsed {
  std::vector<std::uint8_t> frame;
  net::DecodedPacket pkt;
  sip::Message msg;
};

// Built once; Message views point into `frame`, so the vector is never resized after.
std::vector<Parsed>& mix() {
  static std::vector<Parsed> v = [] {
    perf::MixSpec spec;
    perf::MixSummary sum;
    std::vector<perf::InviteTemplate> t = perf::build_mix(spec, sum);
    std::vector<Parsed> out(t.size());
    std::size_t n = 0;
    for (auto& tp : t) {
      Parsed& p = out[n];
      p.frame = std::move(tp.frame);
      if (net::decode_frame(p.frame.data(), p.frame.size(), p.pkt) != net::DecodeResult::ok) continue;
      if (sip::parse_message(p.pkt.payload(p.frame.data()), p.msg) != sip::ParseError::none) continue;
      ++n;
    }
    out.resize(n);
    if (n != t.size())
      std::fprintf(stderr, "bench_act: %zu of %zu templates did not decode/parse\n", t.size() - n, t.size());
    return out;
  }();
  return v;
}

void BM_ActPass(benchmark::State& st) {
  auto& m = mix();
  std::size_t i = 0;
  for (auto _ : st) {
    const Parsed& p = m[i];
    if (++i == m.size()) i = 0;
    benchmark::DoNotOptimize(p.pkt.payload_length);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}

void reject(benchmark::State& st, std::uint16_t code, std::string_view reason, std::string_view call_info) {
  auto& m = mix();
  alignas(64) static std::uint8_t out[2048];
  net::ReplyOptions ro;
  ro.mtu = 1500;
  net::SipResponseOptions so;
  so.code = code;
  so.reason_text = reason;
  so.call_info_uri = call_info;
  so.tag_seed = 42;
  std::size_t i = 0, bytes = 0;
  for (auto _ : st) {
    const Parsed& p = m[i];
    if (++i == m.size()) i = 0;
    ro.ip_id++;
    net::ReplyLayout lay = net::begin_udp_reply(p.frame.data(), p.pkt, out, sizeof out, ro);
    std::size_t n = net::build_sip_response(p.msg, so, reinterpret_cast<char*>(out) + lay.payload_offset,
                                            sizeof out - lay.payload_offset);
    lay = net::finish_reply(out, lay, n, sizeof out, ro);
    if (lay.result != net::ReplyResult::ok || n == 0) {
      st.SkipWithError("reply not built");
      break;
    }
    bytes += lay.length;
    benchmark::DoNotOptimize(out[0]);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
  st.counters["reply_bytes"] = st.iterations() ? static_cast<double>(bytes) / static_cast<double>(st.iterations()) : 0;
}
void BM_ActReject603(benchmark::State& st) {
  reject(st, 603, "", "");
}
void BM_ActReject608(benchmark::State& st) {
  reject(st, 608, "listed caller (complaints feed)", "https://carrier.example/jws/complaints");
}

template <bool Tag>
void tag(benchmark::State& st) {
  auto& m = mix();
  alignas(64) static std::uint8_t buf[2048];
  const std::string_view line = "X-Sipwall-Risk: score=70;rule=display-name-pattern";
  std::size_t i = 0;
  for (auto _ : st) {
    const Parsed& p = m[i];
    if (++i == m.size()) i = 0;
    std::memcpy(buf, p.frame.data(), p.frame.size());
    if constexpr (Tag) {
      std::size_t len = p.frame.size();
      net::DecodedPacket d = p.pkt;
      if (net::insert_header_line(buf, len, sizeof buf, d, p.msg, line, 1500) != net::TagResult::ok) {
        st.SkipWithError("tag not inserted");
        break;
      }
    }
    benchmark::DoNotOptimize(buf[0]);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
void BM_FrameRestore(benchmark::State& st) {
  tag<false>(st);
}
void BM_ActTag(benchmark::State& st) {
  tag<true>(st);
}

BENCHMARK(BM_ActPass);
BENCHMARK(BM_ActReject603);
BENCHMARK(BM_ActReject608);
BENCHMARK(BM_FrameRestore);
BENCHMARK(BM_ActTag);

}  // namespace

BENCHMARK_MAIN();
