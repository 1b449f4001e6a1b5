// libFuzzer target for the YAML rule loader (issue 12: an alias cycle
// crashed `rules check`, an alias bomb ate gigabytes): the input is the text
// of a rule file. It is loaded as if it were rules/examples/fuzz.yaml, so the
// example list files (lists/...) resolve; any other path it names is read
// through the same bounded reader as in production (a FIFO or a device is
// refused, sizes are capped). A set that loads is compiled and, if it
// compiles, a fixed INVITE is classified with it.
//
// Every diagnostic must be one line of printable UTF-8 text of bounded size
// with a file:line:col of a real position (rules/text/safe_text.h).
//
// Seeds: tests/fuzz/seeds/rules/ (aliases, anchors, deep nesting, costly
// patterns) and the example rule sets in rules/examples/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dataplane/classify/classify.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"
#include "rules/text/safe_text.h"
#include "tests/fuzz/fuzz_invite.h"

namespace {

using namespace sipwall;

void check(const std::vector<rules::Diagnostic>& ds) {
  for (const rules::Diagnostic& d : ds) {
    const std::string line = rules::format(d);
    if (line.size() > rules::kMaxMessageBytes + 64 || !text::is_printable(line)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::FixedInvite invite;
  static const std::string path = std::string(SIPWALL_SOURCE_DIR) + "/rules/examples/fuzz.yaml";
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rules::LoadResult lr = rules::load_rule_set_from_string(text, path);
  check(lr.diagnostics);
  if (!lr.ok()) return 0;
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  check(cr.diagnostics);
  if (!cr.ok() || !invite.ok) return 0;
  classify::Scratch scratch;
  if (!scratch.prepare(*cr.set)) return 0;
  (void)classify::classify(*cr.set, invite.msg, invite.src, scratch);
  return 0;
}
