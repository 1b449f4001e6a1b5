#include "dataplane/net/tag_insert.h"

#include <cstring>

#include "dataplane/net/splice.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::net {
namespace {

bool is_token_char(unsigned char c) noexcept {
  // RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

constexpr std::size_t kMaxLine = 1024;  // a tag line is short; bounds the stack copy

}  // namespace

std::string_view to_string(TagResult r) noexcept {
  switch (r) {
#define SIPWALL_X(name, text) \
  case TagResult::name:       \
    return #name;
    SIPWALL_TAG_RESULTS(SIPWALL_X)
#undef SIPWALL_X
    case TagResult::count_:
      break;
  }
  return "unknown";
}

bool valid_header_line(std::string_view line) noexcept {
  if (line.empty() || line.size() > kMaxLine) return false;
  std::size_t i = 0;
  while (i < line.size() && is_token_char(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i >= line.size() || line[i] != ':') return false;
  for (char ch : line) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  }
  return true;
}

TagResult insert_header_line(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                             std::size_t headers_end, std::string_view line, std::size_t mtu) noexcept {
  if (pkt.l4_proto == 6) return TagResult::tcp;
  if (pkt.l4_proto != 17 || pkt.ip_version == 0) return TagResult::not_udp;
  if (pkt.is_fragment) return TagResult::fragment;
  if (pkt.has_ah) return TagResult::authenticated;
  if (!valid_header_line(line)) return TagResult::bad_line;

  // headers_end must be the empty line: preceded by the LF of the last header.
  const std::uint8_t* payload = frame + pkt.payload_offset;
  if (headers_end == 0 || headers_end >= pkt.payload_length) return TagResult::bad_offset;
  const std::uint8_t first = payload[headers_end];
  if (payload[headers_end - 1] != '\n') return TagResult::bad_offset;
  bool crlf;
  if (first == '\r' && headers_end + 1 < pkt.payload_length && payload[headers_end + 1] == '\n') {
    crlf = true;
  } else if (first == '\n') {
    crlf = false;
  } else {
    return TagResult::bad_offset;
  }

  // Assemble line + terminator in a small stack buffer (insert must not alias the frame).
  char buf[kMaxLine + 2];
  std::memcpy(buf, line.data(), line.size());
  std::size_t n = line.size();
  if (crlf) buf[n++] = '\r';
  buf[n++] = '\n';

  if (mtu != 0 && detail::splice_fits(pkt, static_cast<std::size_t>(-1), 0, n, mtu) == 0) {
    return TagResult::exceeds_mtu;
  }
  if (detail::splice_fits(pkt, frame_cap, 0, n, 0) == 0) return TagResult::no_tailroom;

  detail::splice_l4_payload(frame, frame_len, pkt, pkt.payload_offset + headers_end, 0, std::string_view(buf, n));
  return TagResult::ok;
}

TagResult insert_header_line(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                             const sip::Message& msg, std::string_view line, std::size_t mtu) noexcept {
  return insert_header_line(frame, frame_len, frame_cap, pkt, msg.headers_end, line, mtu);
}

TagResult insert_tag(std::uint8_t* frame, std::size_t& frame_len, std::size_t frame_cap, DecodedPacket& pkt,
                     const sip::Message& msg, const TagSpec& spec, std::size_t mtu, TagPlan* plan_out) noexcept {
  if (pkt.l4_proto == 6) return TagResult::tcp;
  if (pkt.l4_proto != 17 || pkt.ip_version == 0) return TagResult::not_udp;
  if (pkt.is_fragment) return TagResult::fragment;
  if (pkt.has_ah) return TagResult::authenticated;
  if (!valid_header_line(spec.line) || (!spec.label.empty() && !valid_mark_label(spec.label)) ||
      (!spec.verstat.empty() && !valid_mark_verstat(spec.verstat))) {
    return TagResult::bad_line;
  }
  TagPlan plan;
  const std::string_view payload(reinterpret_cast<const char*>(frame + pkt.payload_offset), pkt.payload_length);
  if (!plan_tag(msg, payload, spec, plan)) return TagResult::bad_offset;

  const auto peak = static_cast<std::size_t>(plan.peak_growth(spec));
  if (mtu != 0 && detail::splice_fits(pkt, static_cast<std::size_t>(-1), 0, peak, mtu) == 0) {
    return TagResult::exceeds_mtu;
  }
  if (detail::splice_fits(pkt, frame_cap, 0, peak, 0) == 0) return TagResult::no_tailroom;
  // The final length must fit the MTU too (peak >= final, so it does).

  static_assert(kMaxMarkLine == kMaxLine && kMaxMarkLabel + 4 <= kMaxLine && kMaxMarkVerstat + 10 <= kMaxLine);
  char buf[kMaxLine + 2];  // the largest mark: the header line and its terminator
  for (unsigned i = plan.n; i-- > 0;) {
    const Mark& m = plan.marks[i];
    const std::size_t n = write_mark(m, spec, buf);
    detail::splice_l4_payload(frame, frame_len, pkt, pkt.payload_offset + m.at, m.remove, std::string_view(buf, n));
  }
  if (plan_out != nullptr) *plan_out = plan;
  return TagResult::ok;
}

}  // namespace sipwall::net
