#include "dataplane/net/sip_response.h"

#include <cstring>

#include "dataplane/sip/sip_message.h"

namespace sipwall::net {
namespace {

// Bounded appender: remembers overflow instead of writing past `cap`.
struct Writer {
  char* out;
  std::size_t cap;
  std::size_t len = 0;
  bool overflow = false;

  void put(std::string_view s) noexcept {
    if (overflow || s.size() > cap - len) {
      overflow = true;
      return;
    }
    std::memcpy(out + len, s.data(), s.size());
    len += s.size();
  }
  void put(char c) noexcept {
    if (overflow || len == cap) {
      overflow = true;
      return;
    }
    out[len++] = c;
  }
  // Header values may contain folded line breaks (CRLF + WSP); each CR or LF
  // becomes a space, which keeps the value's meaning (LWS) on one line.
  // Folding is rare: copy, then patch only if memchr (SIMD in libc) finds a
  // LF. One search is enough: the parser refuses a CR that is not followed
  // by LF (bare_cr), and a quoted-pair cannot escape CR or LF, so a value
  // without LF has no CR either.
  void put_unfolded(std::string_view s) noexcept {
    const std::size_t at = len;
    put(s);
    if (overflow || s.empty()) return;
    char* p = out + at;
    if (std::memchr(p, '\n', s.size()) == nullptr) return;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (p[i] == '\r' || p[i] == '\n') p[i] = ' ';
    }
  }
  void put_uint(std::uint32_t v) noexcept {
    char tmp[10];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(tmp[--n]);
  }
};

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_control(unsigned char c) noexcept {
  return (c < 0x20 && c != '\t') || c == 0x7F;
}

bool has_control(std::string_view s) noexcept {
  for (char c : s) {
    if (is_control(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// A bare absolute URI that can sit between < and > (RFC 3261 Call-Info).
bool valid_call_info_uri(std::string_view u) noexcept {
  if (u.empty() || u.size() > 1024) return false;
  std::size_t i = 0;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(u[0])) return false;
  while (i < u.size() && (alpha(u[i]) || (u[i] >= '0' && u[i] <= '9') || u[i] == '+' || u[i] == '-' || u[i] == '.')) {
    ++i;
  }
  if (i == u.size() || u[i] != ':' || i + 1 == u.size()) return false;
  for (char ch : u) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"') return false;
  }
  return true;
}

// Characters an IPv4/IPv6 literal can have (received= value, RFC 3261/5118).
bool valid_address_text(std::string_view a) noexcept {
  if (a.empty() || a.size() > 45) return false;
  for (char c : a) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool inside(std::string_view outer, std::string_view inner) noexcept {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

// Writes the top Via value, adding received= and filling an empty rport.
void put_top_via(Writer& w, const sip::Message& req, std::string_view value, const SipResponseOptions& o) noexcept {
  const sip::Via& via = req.via;
  if (o.received.empty() || !valid_address_text(o.received) || !via.present || !inside(value, via.text) ||
      !inside(via.text, via.params)) {
    w.put_unfolded(value);
    return;
  }
  bool has_received = false;
  bool has_rport = false;
  const char* rport_end = nullptr;  // where "=port" goes for a valueless rport
  std::string_view rest = via.params;
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    std::size_t eq = item.find('=');
    std::string_view name = trim(item.substr(0, eq));
    if (iequals(name, "received")) has_received = true;
    if (iequals(name, "rport")) {
      has_rport = true;
      if (eq == std::string_view::npos) rport_end = name.data() + name.size();
    }
  }
  std::string_view host = via.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const bool add_received = !has_received && (has_rport || !iequals(host, o.received));

  const char* text_end = via.text.data() + via.text.size();
  const char* vbegin = value.data();
  if (rport_end != nullptr && o.rport != 0) {
    w.put_unfolded(std::string_view(vbegin, static_cast<std::size_t>(rport_end - vbegin)));
    w.put('=');
    w.put_uint(o.rport);
    w.put_unfolded(std::string_view(rport_end, static_cast<std::size_t>(text_end - rport_end)));
  } else {
    w.put_unfolded(std::string_view(vbegin, static_cast<std::size_t>(text_end - vbegin)));
  }
  if (add_received) {
    w.put(";received=");
    w.put(o.received);
  }
  w.put_unfolded(std::string_view(text_end, static_cast<std::size_t>(value.data() + value.size() - text_end)));
}

// Reason text= as a quoted-string (RFC 3261 §25.1): escape " and \, drop controls.
void put_quoted(Writer& w, std::string_view s) noexcept {
  w.put('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (is_control(c)) continue;
    if (c == '"' || c == '\\') w.put('\\');
    w.put(ch);
  }
  w.put('"');
}

// Multiply-xorshift over 8-byte words: a few ns for ~100 bytes of Call-ID,
// tag and branch, where byte-wise FNV-1a took ~200 ns. The length goes in too,
// which keeps ("ab","c") and ("a","bc") apart.
inline std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

std::uint64_t hash_field(std::uint64_t h, std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  h = mix(h ^ (n * 0x9E3779B97F4A7C15ull));
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix(h ^ w) * 0x9E3779B97F4A7C15ull;
    p += 8;
    n -= 8;
  }
  // The last 0-7 bytes as memcpy(&w, p, n) would load them, without a
  // variable-length memcpy (a libc call): on little-endian, two overlapping
  // 4-byte loads, or bytes 0, n/2 and n-1 for 1-3 bytes.
  std::uint64_t w = 0;
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      w = a | std::uint64_t{b} << (8 * (n - 4));
    } else if (n != 0) {
      w = std::uint64_t{static_cast<unsigned char>(p[0])} |
          std::uint64_t{static_cast<unsigned char>(p[n / 2])} << (8 * (n / 2)) |
          std::uint64_t{static_cast<unsigned char>(p[n - 1])} << (8 * (n - 1));
    }
  } else {
    std::memcpy(&w, p, n);
  }
  return mix(h ^ w);
}

}  // namespace

std::string_view reason_phrase(std::uint16_t code) noexcept {
  switch (code) {
    case 403:
      return "Forbidden";
    case 480:
      return "Temporarily Unavailable";
    case 486:
      return "Busy Here";
    case 603:
      return "Decline";
    case 607:
      return "Unwanted";
    case 608:
      return "Rejected";
    default:
      return {};
  }
}

const char* check_response_options(const SipResponseOptions& o) noexcept {
  if (reason_phrase(o.code).empty()) return "response code must be one of 403, 480, 486, 603, 607, 608";
  if (has_control(o.reason_text)) return "reason text contains CR, LF or other control characters";
  if (o.reason_text.size() > 256) return "reason text longer than 256 bytes";
  if (!o.call_info_uri.empty()) {
    if (o.code != 608) return "a Call-Info URI is only sent with 608 Rejected (RFC 8688)";
    if (!valid_call_info_uri(o.call_info_uri)) {
      return "Call-Info URI must be an absolute URI without spaces, quotes or angle brackets";
    }
  }
  if (has_control(o.server) || o.server.size() > 256) {
    return "server string contains control characters or is longer than 256 bytes";
  }
  return nullptr;
}

namespace {
struct HexPairs {
  char d[256][2];
};
constexpr HexPairs make_hex_pairs() {
  HexPairs t{};
  constexpr char kHex[] = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) {
    t.d[b][0] = kHex[b >> 4];
    t.d[b][1] = kHex[b & 15];
  }
  return t;
}
constexpr HexPairs kHexPairs = make_hex_pairs();
}  // namespace

void derive_to_tag(const sip::Message& req, std::uint64_t seed, char (&tag)[16]) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull ^ seed;
  h = hash_field(h, req.call_id);
  h = hash_field(h, req.from.tag);
  h = hash_field(h, req.via.branch);
  h = mix(h ^ req.cseq.number);
  // splitmix64 finaliser.
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  // Two hex digits per byte from a table: 8 stores instead of 16 shifts and lookups.
  for (int i = 0; i < 8; ++i) std::memcpy(tag + 2 * i, kHexPairs.d[(h >> (56 - 8 * i)) & 0xFF], 2);
}

namespace {

void put_status_line(Writer& w, std::uint16_t code, std::string_view phrase) noexcept {
  w.put("SIP/2.0 ");
  w.put_uint(code);
  w.put(' ');
  w.put(phrase);
  w.put("\r\n");
}

// Reason, Call-Info, Server, Content-Length and the empty line.
void put_tail(Writer& w, const SipResponseOptions& o, std::string_view phrase) noexcept {
  w.put("Reason: SIP;cause=");
  w.put_uint(o.code);
  w.put(";text=");
  put_quoted(w, o.reason_text.empty() ? phrase : o.reason_text);
  w.put("\r\n");
  if (o.code == 608 && valid_call_info_uri(o.call_info_uri)) {
    w.put("Call-Info: <");
    w.put(o.call_info_uri);
    w.put(">;purpose=jwscard\r\n");
  }
  if (!o.server.empty() && !has_control(o.server)) {
    w.put("Server: ");
    w.put(o.server);
    w.put("\r\n");
  }
  w.put("Content-Length: 0\r\n\r\n");
}

}  // namespace

bool render_response_parts(const SipResponseOptions& o, char* out, std::size_t cap, ResponseParts& parts) noexcept {
  const std::string_view phrase = reason_phrase(o.code);
  if (phrase.empty()) return false;
  Writer w{out, cap};
  put_status_line(w, o.code, phrase);
  const std::size_t split = w.len;
  put_tail(w, o, phrase);
  if (w.overflow) return false;
  parts.status_line = std::string_view(out, split);
  parts.tail = std::string_view(out + split, w.len - split);
  return true;
}

std::size_t build_sip_response(const sip::Message& req, const SipResponseOptions& o, char* out,
                               std::size_t cap) noexcept {
  const std::string_view phrase = reason_phrase(o.code);
  if (phrase.empty()) return 0;
  // The first of each header the response copies, in one pass.
  const sip::Header* from = nullptr;
  const sip::Header* to = nullptr;
  const sip::Header* call_id = nullptr;
  const sip::Header* cseq = nullptr;
  const sip::Header* top_via = nullptr;
  const sip::Header* last_via = nullptr;
  for (std::uint16_t i = 0; i < req.header_count; ++i) {
    const sip::Header& h = req.headers[i];
    const sip::Header** slot;
    switch (h.id) {
      case sip::HeaderId::from:
        slot = &from;
        break;
      case sip::HeaderId::to:
        slot = &to;
        break;
      case sip::HeaderId::call_id:
        slot = &call_id;
        break;
      case sip::HeaderId::cseq:
        slot = &cseq;
        break;
      case sip::HeaderId::via:
        slot = &top_via;
        last_via = &h;
        break;
      default:
        continue;
    }
    if (*slot == nullptr) *slot = &h;
  }
  if (!from || !to || !call_id || !cseq || !top_via) return 0;

  Writer w{out, cap};
  if (o.parts != nullptr) {
    w.put(o.parts->status_line);
  } else {
    put_status_line(w, o.code, phrase);
  }

  // Every Via value, in order (RFC 3261 §8.2.6.2); a line may hold several
  // comma-separated values and is copied whole.
  for (const sip::Header* h = top_via; h <= last_via; ++h) {
    if (h->id != sip::HeaderId::via) continue;
    w.put("Via: ");
    if (h == top_via) {
      put_top_via(w, req, h->value, o);
    } else {
      w.put_unfolded(h->value);
    }
    w.put("\r\n");
  }

  w.put("From: ");
  w.put_unfolded(from->value);
  w.put("\r\nTo: ");
  w.put_unfolded(to->value);
  if (req.to.tag.empty()) {
    char tag[16];
    derive_to_tag(req, o.tag_seed, tag);
    w.put(";tag=");
    w.put(std::string_view(tag, sizeof tag));
  }
  w.put("\r\nCall-ID: ");
  w.put_unfolded(call_id->value);
  w.put("\r\nCSeq: ");
  w.put_unfolded(cseq->value);
  w.put("\r\n");
  if (o.parts != nullptr) {
    w.put(o.parts->tail);
  } else {
    put_tail(w, o, phrase);
  }
  return w.overflow ? 0 : w.len;
}

std::uint16_t via_response_port(const sip::Message& req, std::uint16_t source_port) noexcept {
  std::string_view rest = req.via.params;
  while (!rest.empty()) {
    std::size_t semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (iequals(trim(item.substr(0, item.find('='))), "rport")) return source_port;
  }
  if (req.via.port != 0) return req.via.port;
  return iequals(req.via.transport, "TLS") ? 5061 : 5060;
}

}  // namespace sipwall::net
