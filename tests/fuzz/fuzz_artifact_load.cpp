// libFuzzer target for the artifact loader (issue 12): bytes from a file the
// data plane is told to load must never crash it, whatever they say.
//
// The header checksum is recomputed over the input before it is loaded, so
// the fuzzer gets past the checksum to the section parser, the Hyperscan
// database checks and validate(), which is what has to hold against a file
// whose checksum is right. When a set loads, a fixed INVITE is classified
// and explained with it, as the workers and `rules explain` would.
//
// Seeds: the compiled demo rule set. Its bytes depend on the Hyperscan
// version and CPU, so they are not in the repository: the ctest fixture
// fuzz.artifact_seed runs this binary with SIPWALL_FUZZ_WRITE_SEED=DIR, which
// compiles rules/examples/demo.yaml into DIR/demo.swr and exits.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dataplane/classify/classify.h"
#include "dataplane/classify/explain.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"
#include "tests/fuzz/fuzz_invite.h"

namespace {

using namespace sipwall;

constexpr std::size_t kHeader = 256;     // rules/compiled/artifact.cpp FileHeader
constexpr std::size_t kChecksumAt = 24;  // its checksum field

void write_seed(const char* dir) {
  const rules::LoadResult lr = rules::load_rule_set(std::string(SIPWALL_SOURCE_DIR) + "/rules/examples/demo.yaml");
  if (!lr.ok()) {
    std::fprintf(stderr, "demo.yaml does not load\n");
    std::exit(1);
  }
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  if (!cr.ok()) {
    std::fprintf(stderr, "demo.yaml does not compile\n");
    std::exit(1);
  }
  const rules::ArtifactSaveResult s = rules::save_artifact(*cr.set, std::string(dir) + "/demo.swr");
  if (!s.ok) {
    std::fprintf(stderr, "%s\n", s.error.c_str());
    std::exit(1);
  }
  std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("SIPWALL_FUZZ_WRITE_SEED")) write_seed(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::FixedInvite invite;
  std::string b(reinterpret_cast<const char*>(data), size);
  if (b.size() >= kHeader) {
    std::string header = b.substr(0, kHeader);
    std::memset(header.data() + kChecksumAt, 0, 8);
    const std::uint64_t sum =
        XXH3_64bits_withSeed(header.data(), kHeader, XXH3_64bits(b.data() + kHeader, b.size() - kHeader));
    std::memcpy(b.data() + kChecksumAt, &sum, 8);
  }
  const rules::ArtifactLoadResult r = rules::load_artifact_bytes(b, "fuzz");
  if (!r.ok()) {
    if (r.message.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  classify::Scratch scratch;
  if (!scratch.prepare(*r.set) || !invite.ok) return 0;
  const classify::Verdict v = classify::classify(*r.set, invite.msg, invite.src, scratch);
  const classify::Explanation x = classify::explain(*r.set, invite.msg, invite.src, scratch);
  const std::string text = classify::to_text(x, *r.set);
  if (v.action != x.verdict.action || text.empty()) std::abort();  // explain decides as classify does
  return 0;
}
