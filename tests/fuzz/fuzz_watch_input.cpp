// libFuzzer target for what a watch takes from outside (docs/export.md):
// the filter of `watch-start` and `export.hep` (watch::parse_watch_filter),
// the base64 of `watch-read` as sipwallctl capture decodes it, and the HEPv3
// encoder given any addresses, ports, key, Call-ID and payload.
//
// Input: "KIND\nVALUE\nREST": KIND and VALUE go to parse_watch_filter; REST
// is decoded as base64 and, whole, as the fields of a HEP message.
// Checks: a filter accepted is one its rules allow (known kind, printable
// ASCII, E.164 for numbers) and matches a call made of its own value; a
// refused one gives a reason; base64 decoding is total and re-encodes to the
// same text; the HEP packet is exactly hep_size() bytes, its length field
// says so, and its chunks walk to its end, each within it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/protocol/base64.h"
#include "dataplane/watch/hep.h"
#include "dataplane/watch/watch_filter.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_filter(std::string_view kind, std::string_view value) {
  using namespace sipwall::watch;
  std::string why;
  const auto f = parse_watch_filter(kind, value, why);
  if (!f) {
    check(!why.empty());
    return;
  }
  check(why.empty());
  check(to_string(f->kind) == kind);
  check(f->value == value);
  check(f->value.size() <= kMaxFilterValue);
  for (char c : f->value) check(c > 0x20 && c < 0x7F);
  if (f->kind == WatchKind::caller || f->kind == WatchKind::callee) check(!f->value.empty() && f->value[0] == '+');
  CallView own;
  own.trunk = own.rule = own.detector = own.caller = own.callee = f->value;
  check(matches(*f, own));
  WatchSet s;
  s.used = 1;
  s.filters[0] = *f;
  check(s.match(own) == 1);
}

void check_base64(std::string_view text) {
  const auto bytes = sipwall::protocol::base64_decode(text);
  if (bytes) check(sipwall::protocol::base64_encode(*bytes) == text);
}

void check_hep(std::string_view rest) {
  using namespace sipwall::watch;
  HepMessage m;
  std::size_t at = 0;
  auto byte = [&]() -> std::uint8_t { return at < rest.size() ? static_cast<std::uint8_t>(rest[at++]) : 0; };
  m.ip_version = (byte() & 1) ? 6 : 4;
  m.ip_protocol = byte();
  for (auto& b : m.src) b = byte();
  for (auto& b : m.dst) b = byte();
  m.src_port = static_cast<std::uint16_t>(byte() << 8 | byte());
  m.dst_port = static_cast<std::uint16_t>(byte() << 8 | byte());
  m.time_s = byte();
  m.time_us = byte();
  m.agent_id = byte();
  const std::size_t key = byte() % 32, cid = byte();
  std::string_view tail = rest.substr(std::min(at, rest.size()));
  m.auth_key = tail.substr(0, std::min(key, tail.size()));
  tail.remove_prefix(m.auth_key.size());
  m.correlation_id = tail.substr(0, std::min(cid, tail.size()));
  tail.remove_prefix(m.correlation_id.size());
  m.payload = tail;
  const std::size_t n = hep_size(m);
  std::vector<std::uint8_t> out(n + 16);
  const std::size_t w = encode_hep(m, out.data(), out.size());
  check(w == n);
  if (n == 0) return;
  check(n <= kHepMax);
  check(std::string_view(reinterpret_cast<const char*>(out.data()), 4) == "HEP3");
  check(static_cast<std::size_t>(out[4] << 8 | out[5]) == n);
  std::size_t off = 6;
  while (off < n) {
    check(off + 6 <= n);
    const std::size_t len = static_cast<std::size_t>(out[off + 4] << 8 | out[off + 5]);
    check(len >= 6 && off + len <= n);
    off += len;
  }
  check(off == n);
  check(encode_hep(m, out.data(), n - 1) == 0);  // one byte short: refused, never written past
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);  // sized exactly, for ASan
  const std::string_view in(input);
  const std::size_t a = in.find('\n');
  const std::string_view kind = in.substr(0, a);
  const std::string_view after = a == std::string_view::npos ? std::string_view() : in.substr(a + 1);
  const std::size_t b = after.find('\n');
  const std::string_view value = after.substr(0, b);
  const std::string_view rest = b == std::string_view::npos ? std::string_view() : after.substr(b + 1);
  check_filter(kind, value);
  check_base64(rest);
  check_hep(rest);
  return 0;
}
