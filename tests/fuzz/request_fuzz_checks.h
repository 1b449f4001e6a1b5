// What both request-parser fuzz targets check on every input (one line as a
// daemon's line server hands it over): parse_request() returns, never
// throws, and gives either a request that satisfies the command table or an
// error sentence that a strict JSON serialiser takes (valid UTF-8), with no
// control byte and a bounded length. An exception escaping here is a finding
// (libFuzzer reports the abort), as it was for both daemons before.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dataplane/protocol/echo.h"
#include "dataplane/protocol/reply.h"
#include "dataplane/protocol/request.h"

namespace sipwall::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

inline void check_printable(const std::string& s, std::size_t max) {
  CHECK(s.size() <= max);
  for (unsigned char c : s) CHECK(c >= 0x20 && c != 0x7F);
  (void)nlohmann::json(s).dump();  // strict: throws on bad UTF-8
}

inline void check_request_line(std::string_view line, const protocol::ProtocolSpec& spec) {
  using namespace protocol;
  ParsedRequest p = parse_request(line, spec);
  CHECK(p.request.has_value() != !p.error.empty());
  if (!p.request) {
    check_printable(p.error, 1500);
    nlohmann::json back = nlohmann::json::parse(error_line(p.error));
    CHECK(back["error"] == p.error && back["ok"] == false && back["v"] == kVersion);
  } else {
    const Request& r = *p.request;
    const CommandSpec* cmd = nullptr;
    for (const CommandSpec& c : spec.commands)
      if (c.name == r.cmd) cmd = &c;
    CHECK(cmd != nullptr);
    std::size_t declared = 0;
    for (const FieldSpec& f : cmd->fields) {
      bool has_text = r.texts.count(f.name) != 0, has_count = r.counts.count(f.name) != 0;
      CHECK(!(f.type == FieldType::text && has_count) && !(f.type == FieldType::count && has_text));
      if (f.required) CHECK(has_text || has_count);
      if (has_text) {
        const std::string& v = r.texts.find(f.name)->second;
        CHECK(!v.empty() && v.size() <= kMaxTextField && v.find('\0') == std::string::npos);
      }
      declared += has_text + has_count;
    }
    CHECK(declared == r.texts.size() + r.counts.size());
  }
  check_printable(printable(line), 4 * kEchoMax + 32);  // \xNN per byte at worst
}

}  // namespace sipwall::fuzz
