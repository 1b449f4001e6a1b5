// Instruction counts of the parser and its floors on the same INVITEs, for
// callgrind (perf/parser/profile_parse.sh runs it): each mode runs N passes
// over the INVITEs of a pcap inside a function of its own, run_<mode>(), so
// `valgrind --tool=callgrind --toggle-collect=run_<mode>` counts that work
// and nothing of the loading. Instruction counts do not depend on the load
// of a shared machine, unlike bench_parse's times.
//
//   parse_profile MODE PASSES PCAP
//   MODE: memchr | avx2 | avx512 | parse | parse_full | reply | norm (parse + normalise_all.h)
//   parse and norm parse as the data plane does under fail_open
//   (sip::Depth::verdict); parse_full parses every value (Depth::full);
//   reply is what an INVITE that gets a 603/608 costs there: the verdict
//   parse, then parse_top_via() for the response.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "control/common/sip_input.h"
#include "dataplane/sip/sip_message.h"
#include "perf/parser/normalise_all.h"
#include "perf/parser/simd_floor.h"

namespace {

std::vector<std::string> g_messages;
sipwall::sip::Message g_msg;

// Keeps the compiler from dropping or merging the work of a pass.
inline void consume() {
  asm volatile("" ::: "memory");
}

}  // namespace

extern "C" [[gnu::noinline]] std::uint64_t run_memchr(int passes) {
  std::uint64_t lines = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      lines += sipwall::perf::memchr_pass(m);
      consume();
    }
  }
  return lines;
}

#if defined(__x86_64__)
sipwall::perf::FloorIndex g_index;

extern "C" [[gnu::noinline]] __attribute__((target("avx2"))) std::uint64_t run_avx2(int passes) {
  std::uint64_t lines = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      lines += sipwall::perf::avx2_pass(m, g_index);
      consume();
    }
  }
  return lines;
}

extern "C" [[gnu::noinline]] __attribute__((target("avx512f,avx512bw"))) std::uint64_t run_avx512(int passes) {
  std::uint64_t lines = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      lines += sipwall::perf::avx512_pass(m, g_index);
      consume();
    }
  }
  return lines;
}
#endif

std::uint64_t parse_passes(int passes, sipwall::sip::Depth depth) {
  std::uint64_t ok = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      ok += sipwall::sip::parse_message(m, g_msg, sipwall::sip::Transport::datagram, depth) ==
            sipwall::sip::ParseError::none;
      consume();
    }
  }
  return ok;
}

extern "C" [[gnu::noinline]] std::uint64_t run_parse(int passes) {
  return parse_passes(passes, sipwall::sip::Depth::verdict);
}

extern "C" [[gnu::noinline]] std::uint64_t run_parse_full(int passes) {
  return parse_passes(passes, sipwall::sip::Depth::full);
}

extern "C" [[gnu::noinline]] std::uint64_t run_reply(int passes) {
  std::uint64_t ok = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      ok += sipwall::sip::parse_message(m, g_msg, sipwall::sip::Transport::datagram, sipwall::sip::Depth::verdict) ==
                sipwall::sip::ParseError::none &&
            sipwall::sip::parse_top_via(m, g_msg) == sipwall::sip::ParseError::none;
      consume();
    }
  }
  return ok;
}

extern "C" [[gnu::noinline]] std::uint64_t run_norm(int passes) {
  static const sipwall::number::DialPlan plan = sipwall::number::DialPlan::china();
  std::uint64_t acc = 0;
  for (int i = 0; i < passes; ++i) {
    for (const std::string& m : g_messages) {
      if (sipwall::sip::parse_message(m, g_msg, sipwall::sip::Transport::datagram, sipwall::sip::Depth::verdict) ==
          sipwall::sip::ParseError::none) {
        acc += sipwall::perf::normalise_all(g_msg, plan);
      }
      consume();
    }
  }
  return acc;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: parse_profile memchr|avx2|avx512|parse|parse_full|reply|norm PASSES PCAP\n");
    return 2;
  }
  const std::string mode = argv[1];
  const int passes = std::atoi(argv[2]);
  if (passes < 1 || passes > 100000) {
    std::fprintf(stderr, "parse_profile: PASSES must be 1..100000\n");
    return 2;
  }
  sipwall::control::InputStats stats;
  std::string err;
  sipwall::control::read_sip_input(
      argv[3], {}, stats,
      [&](const sipwall::control::SipPayload& p) {
        if (p.not_inspected == sipwall::control::NotInspected::no && p.bytes.rfind("INVITE ", 0) == 0) {
          g_messages.push_back(p.bytes);
        }
      },
      err);
  if (!err.empty() || g_messages.empty()) {
    std::fprintf(stderr, "parse_profile: no INVITEs in %s %s\n", argv[3], err.c_str());
    return 2;
  }
  std::uint64_t r = 0;
  if (mode == "memchr") {
    r = run_memchr(passes);
#if defined(__x86_64__)
  } else if (mode == "avx2" && sipwall::perf::cpu_has_avx2()) {
    r = run_avx2(passes);
  } else if (mode == "avx512" && sipwall::perf::cpu_has_avx512bw()) {
    r = run_avx512(passes);
#endif
  } else if (mode == "parse") {
    r = run_parse(passes);
  } else if (mode == "parse_full") {
    r = run_parse_full(passes);
  } else if (mode == "reply") {
    r = run_reply(passes);
  } else if (mode == "norm") {
    r = run_norm(passes);
  } else {
    std::fprintf(stderr, "parse_profile: mode %s unknown or not supported by this CPU\n", mode.c_str());
    return 3;
  }
  // The INVITE count is what a per-INVITE figure divides by.
  std::printf("invites=%zu passes=%d result=%llu\n", g_messages.size(), passes, static_cast<unsigned long long>(r));
  return 0;
}
