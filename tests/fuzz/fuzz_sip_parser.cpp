// libFuzzer target for the SIP parser. Parses the input as a datagram and as a
// stream (looping over back-to-back messages), reads every byte of every view
// the parser returned (so ASan reports a view that points outside the input),
// and checks the invariants the data plane relies on, including that the two
// parse depths agree (test::check_depths).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/sip/depth_check.h"

namespace {

using namespace sipwall::sip;

struct Ctx {
  const char* begin;
  const char* end;
  std::uint64_t sum = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

// Every non-empty view must lie inside the input; its bytes are summed so the
// compiler cannot drop the reads.
void touch(Ctx& c, std::string_view v) {
  if (v.empty()) return;
  check(v.data() >= c.begin && v.data() + v.size() <= c.end);
  for (char ch : v) c.sum += static_cast<unsigned char>(ch);
}

void touch_uri(Ctx& c, const Uri& u) {
  touch(c, u.text);
  touch(c, u.scheme_name);
  touch(c, u.user);
  touch(c, u.password);
  touch(c, u.host);
  touch(c, u.params);
  touch(c, u.headers);
  // The helpers return sub-views of the same buffer.
  touch(c, u.number_text());
  touch(c, u.phone_context());
  std::string_view v;
  if (u.param("user", v)) touch(c, v);
  c.sum += u.user_is_phone();
  c.sum += u.port;
  // Components of a parsed URI lie inside its text.
  if (!u.user.empty()) check(u.user.data() >= u.text.data());
  if (!u.host.empty()) check(u.host.data() + u.host.size() <= u.text.data() + u.text.size());
}

void touch_na(Ctx& c, const NameAddr& n) {
  touch(c, n.display_name);
  touch(c, n.uri_text);
  touch(c, n.params);
  touch(c, n.tag);
  touch_uri(c, n.uri);
}

void touch_message(Ctx& c, const Message& m, std::size_t size) {
  check(m.length <= size);
  check(m.header_count <= kMaxHeaders);
  check(m.pai_count <= kMaxIdentities);
  check(m.diversion_count <= kMaxDiversions);
  check(m.headers_end < m.body_offset && m.body_offset <= m.length);
  check(m.body.size() == m.length - m.body_offset);
  if (m.has_content_length) check(m.body.size() == m.content_length);
  check(m.length - static_cast<std::size_t>(m.start_line.data() - c.begin) <= kMaxMessageSize);
  touch(c, m.method_text);
  touch(c, m.request_uri_text);
  touch_uri(c, m.request_uri);
  touch(c, m.reason_phrase);
  touch(c, m.start_line);
  for (std::uint16_t i = 0; i < m.header_count; ++i) {
    touch(c, m.headers[i].name);
    touch(c, m.headers[i].value);
    // Lookup by the name as written finds a header with the same id.
    const std::string_view first = m.header(m.headers[i].name);
    touch(c, first);
  }
  touch_na(c, m.from);
  touch_na(c, m.to);
  touch_na(c, m.contact);
  touch_na(c, m.remote_party_id);
  for (std::uint8_t i = 0; i < m.pai_count; ++i) touch_na(c, m.pai[i]);
  for (std::uint8_t i = 0; i < m.diversion_count; ++i) touch_na(c, m.diversion[i]);
  touch(c, m.call_id);
  touch(c, m.cseq.method);
  touch(c, m.via.transport);
  touch(c, m.via.host);
  touch(c, m.via.branch);
  touch(c, m.via.params);
  touch(c, m.via.text);
  touch(c, m.user_agent);
  touch(c, m.identity);
  touch(c, m.content_type);
  touch(c, m.body);
  check(m.from.present && m.to.present && m.cseq.present && m.via.present && !m.call_id.empty());
  if (m.is_request) check(m.cseq.method == m.method_text);
}

void check_error(ParseError e) {
  check(static_cast<int>(e) < static_cast<int>(ParseError::count_));
  check(!to_string(e).empty() && !describe(e).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size heap copy: one byte past the end is a heap overflow for ASan.
  std::unique_ptr<char[]> buf(new char[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const std::string_view in(buf.get(), size);
  static Message m;  // several KB: not on the fuzzer's stack
  Ctx c{buf.get(), buf.get() + size};

  // Datagram.
  ParseError e = parse_message(in, m, Transport::datagram);
  check_error(e);
  check(m.error_offset <= size);
  if (e == ParseError::none) touch_message(c, m, size);

  // Stream: loop over back-to-back messages using `length`, as a TCP reader.
  std::size_t off = 0;
  for (int i = 0; i < 64 && off < size; ++i) {
    const std::string_view rest = in.substr(off);
    Ctx sc{rest.data(), rest.data() + rest.size()};
    e = parse_message(rest, m, Transport::stream);
    check_error(e);
    check(m.error_offset <= rest.size());
    if (e == ParseError::none) {
      touch_message(sc, m, rest.size());
      check(m.length > 0);
      off += m.length;
    } else if (e == ParseError::empty) {
      check(m.length == rest.size());
      off += m.length;
    } else {
      break;
    }
    c.sum += sc.sum;
  }

  // The data plane's verdict depth against the full parse, both framings.
  check(sipwall::sip::test::check_depths(in, Transport::datagram).empty());
  check(sipwall::sip::test::check_depths(in, Transport::stream).empty());

  // The URI parser on its own, over the whole input.
  Uri u;
  if (parse_uri(in, u) == ParseError::none) touch_uri(c, u);
  NameAddr na;
  if (parse_name_addr(in, na) == ParseError::none) touch_na(c, na);

  // Keep the sum observable.
  if (c.sum == 0x5eed5eed5eedull) std::abort();
  return 0;
}
