// parse_message(): framing, start line and the header loop. One forward pass:
// find_ctl() walks the header section once (line ends and control bytes in
// the same SIMD scan), each header name is dispatched by length and first
// byte, and only the fields the filter needs are parsed further. The body is
// never scanned: Content-Length (or the end of the datagram) frames it.
#include "dataplane/sip/sip_message.h"

#include <cstring>

#include "dataplane/sip/sip_chars.h"
#include "dataplane/sip/sip_fast.h"
#include "dataplane/sip/sip_fields.h"
#include "dataplane/sip/sip_header_hash.h"
#include "dataplane/sip/sip_window.h"

namespace sipwall::sip {
namespace {

using namespace detail;

// The scalars and views every parse starts from, whether it then clears the
// parsed structs (reset) or only their `present` flags (begin).
inline void reset_scalars(Message& m) noexcept {
  m.is_request = false;
  m.method = Method::unknown;
  m.method_text = {};
  m.request_uri_text = {};
  m.status_code = 0;
  m.reason_phrase = {};
  m.start_line = {};
  m.header_count = 0;
  m.pai_count = 0;
  m.diversion_count = 0;
  m.call_id = {};
  m.user_agent = {};
  m.identity = {};
  m.content_type = {};
  m.rpid_screen = {};
  m.rpid_privacy = {};
  m.max_forwards = 0;
  m.has_max_forwards = false;
  m.deferred = false;
  m.via_masks.base = nullptr;
  m.content_length = 0;
  m.has_content_length = false;
  m.pai_overflow = false;
  m.diversion_overflow = false;
  m.diversion_from_history_info = false;
  m.headers_end = 0;
  m.body_offset = 0;
  m.body = {};
  m.length = 0;
  m.error_offset = 0;
}

// Resets what a previous parse may have left, without touching the big
// arrays: headers[], pai[] and diversion[] are valid only below their counts.
// Used when a parse fails; a parse that succeeds resets less (begin()).
void reset(Message& m) noexcept {
  reset_scalars(m);
  m.request_uri = Uri{};
  m.from = NameAddr{};
  m.to = NameAddr{};
  m.contact = NameAddr{};
  m.remote_party_id = NameAddr{};
  m.cseq = CSeq{};
  m.via = Via{};
}

// NameAddr{} field by field: the compiler turns `x = NameAddr{}` into a
// byte-wise `rep stosb` of 200 bytes, slower than these stores.
inline void clear(Uri& u) noexcept {
  u.scheme = UriScheme::none;
  u.text = {};
  u.scheme_name = {};
  u.user = {};
  u.password = {};
  u.host = {};
  u.port = 0;
  u.params = {};
  u.headers = {};
}
inline void clear(NameAddr& n) noexcept {
  n.display_name = {};
  n.display_quoted = false;
  n.uri_text = {};
  clear(n.uri);
  n.params = {};
  n.tag = {};
  n.present = false;
}

// What a parse must clear before it starts: the scalars, and the `present`
// flags that steer it. The parsed structs are written whole when their header
// is parsed (the fast paths write every field, the reference parsers start
// from a cleared struct), and the end of parse_message() clears the ones that
// stayed absent, so a message does not pay for clearing six structs that are
// usually overwritten anyway.
inline void begin(Message& m) noexcept {
  reset_scalars(m);
  m.from.present = false;
  m.to.present = false;
  m.contact.present = false;
  m.remote_party_id.present = false;
  m.cseq.present = false;
  m.via.present = false;
}

// A control byte other than HT/CR/LF is legal in a header only as a
// quoted-pair inside a quoted-string (RFC 3261 §25.1: quoted-pair = "\"
// (%x00-09 / %x0B-0C / %x0E-7F); RFC 4475 §3.1.1.2 has NUL, BEL and DEL in
// a display name). Rare, so this re-walks the header from its start.
bool is_quoted_pair(const char* header_start, const char* ctl) noexcept {
  bool in_quote = false;
  for (const char* p = header_start; p < ctl; ++p) {
    if (in_quote) {
      if (*p == '\\') {
        if (p + 1 == ctl) return true;
        ++p;
      } else if (*p == '"') {
        in_quote = false;
      }
    } else if (*p == '"') {
      in_quote = true;
    }
  }
  return false;
}

// Finds the end of the physical line that starts at p: `eol` is its CR (or
// bare LF), `next` the first byte of the following line. `header_start` is
// null for the start line (no quoted-pairs there).
ParseError scan_line(const char* p, const char* limit, const char* header_start, const char*& eol, const char*& next,
                     const char*& bad) noexcept {
  for (;;) {
    const char* q = find_ctl(p, limit);
    if (q == limit) return ParseError::headers_unterminated;
    const char c = *q;
    if (c == '\n') {  // bare LF: accepted as a line end (docs/sip-parser.md)
      eol = q;
      next = q + 1;
      return ParseError::none;
    }
    if (c == '\r') {
      if (q + 1 == limit) return ParseError::headers_unterminated;
      if (q[1] == '\n') {
        eol = q;
        next = q + 2;
        return ParseError::none;
      }
      bad = q;
      return ParseError::bare_cr;
    }
    if (c == '\t' || (header_start != nullptr && is_quoted_pair(header_start, q))) {
      p = q + 1;
      continue;
    }
    bad = q;
    return ParseError::control_character;
  }
}

struct LineScan {
  ParseError err = ParseError::none;
  const char* bad = nullptr;    // where the error was found
  const char* eol = nullptr;    // CR (or bare LF) ending the logical line
  const char* next = nullptr;   // first byte of the next line
  const char* ne = nullptr;     // end of the header name
  const char* colon = nullptr;  // the ':' after it
};

// The careful path for one header line: HT, bare LF, folding, quoted-pair
// controls, and the exact reason when the line is bad. Kept out of line so
// the fast path in parse_message() stays small.
[[gnu::noinline]] LineScan slow_line(const char* ls, const char* limit) noexcept {
  LineScan r;
  r.bad = ls;
  const char* eol = nullptr;
  const char* next = nullptr;
  const char* bad = ls;
  // The logical line: physical lines joined while the next one starts with
  // SP/HT (folding, RFC 3261 §7.3.1).
  ParseError e = scan_line(ls, limit, ls, eol, next, bad);
  while (e == ParseError::none && next < limit && is_wsp(*next)) {
    e = scan_line(next, limit, ls, eol, next, bad);
  }
  if (e != ParseError::none) {
    r.err = e;
    r.bad = e == ParseError::headers_unterminated ? ls : bad;
    return r;
  }
  r.eol = eol;
  r.next = next;
  if (static_cast<std::size_t>(eol - ls) > kMaxLineLength) {
    r.err = ParseError::line_too_long;
    return r;
  }
  // header-name *(SP/HT) ":" value
  const char* ne = skip_run(ls, eol, limit, kToken);
  if (ne == ls) {
    r.err = ParseError::bad_header_name;
    return r;
  }
  const char* c = ne;
  while (c < eol && is_wsp(*c)) ++c;
  if (c == eol || *c != ':') {
    r.err = (c == ne && c < eol) ? ParseError::bad_header_name : ParseError::missing_colon;
    return r;
  }
  r.ne = ne;
  r.colon = c;
  return r;
}

// "SIP/" 1*DIGIT "." 1*DIGIT; ABNF literals are case-insensitive.
ParseError check_version(std::string_view v) noexcept {
  if (v.size() < 7 || !iequals_lower(v.substr(0, 4), "sip/")) return ParseError::bad_version;
  std::size_t i = 4;
  const std::size_t major = i;
  while (i < v.size() && is(v[i], kDigit)) ++i;
  if (i == major || i == v.size() || v[i] != '.') return ParseError::bad_version;
  const std::size_t minor = ++i;
  while (i < v.size() && is(v[i], kDigit)) ++i;
  if (i == minor || i != v.size()) return ParseError::bad_version;
  return v.substr(4) == "2.0" ? ParseError::none : ParseError::unsupported_version;
}

// "SIP/2.0" (case-insensitive letters): the version nearly every message has.
inline bool is_sip20(const char* v) noexcept {
  std::uint32_t w;
  std::memcpy(&w, v, 4);
  return (w | 0x00202020u) == 0x2f706973u && v[4] == '2' && v[5] == '.' && v[6] == '0';
}

// Request-Line / Status-Line over [b, e). Sets `bad` to the offending byte.
// `w` holds the special bytes of the line when it is short enough (else
// w.base is null).
ParseError parse_start_line(const char* b, const char* e, const char* limit, const Window& w, Message& m,
                            const char*& bad) noexcept {
  m.start_line = view(b, e);
  bad = b;
  if (e - b >= 4 && iequals_lower(view(b, b + 4), "sip/")) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const char* v = b;
    const char* p = b;
    while (p < e && *p != ' ') ++p;
    if (ParseError err = check_version(view(v, p)); err != ParseError::none) return err;
    while (p < e && *p == ' ') ++p;  // liberal: several SP
    bad = p;
    const char* d = p;
    std::uint32_t code = 0;
    p = skip_class(p, e, kDigit);
    if (p - d != 3 || (p < e && *p != ' ') || !parse_decimal(d, p, 699, code) || code < 100) {
      return ParseError::bad_status_code;
    }
    m.status_code = static_cast<std::uint16_t>(code);
    while (p < e && *p == ' ') ++p;
    const char* re = e;
    while (re > p && is_wsp(re[-1])) --re;
    m.reason_phrase = view(p, re);
    m.is_request = false;
    m.request_uri = Uri{};
    return ParseError::none;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version
  const bool win = w.covers(e);
  const char* p = win ? w.run<kToken>(b, e) : skip_class(b, e, kToken);
  if (p == b || (p < e && *p != ' ')) return ParseError::bad_method;
  if (p == e) return ParseError::bad_start_line;
  m.method_text = view(b, p);
  m.method = method_from_text(m.method_text);
  m.is_request = true;
  // Liberal (RFC 4475 §3.1.2.9, §3.1.2.10): several SP between the elements
  // and trailing SP are tolerated; the version is what follows the last SP.
  const char* us = p;
  while (us < e && *us == ' ') ++us;
  const char* le = e;
  while (le > us && le[-1] == ' ') --le;
  const char* vs;
  if (le - us >= 8 && le[-8] == ' ' && is_sip20(le - 7)) {
    vs = le - 7;  // " SIP/2.0" ends the line: what the general steps below find
  } else {
    vs = le;
    while (vs > us && vs[-1] != ' ') --vs;
    if (vs == us) {
      bad = us;
      return ParseError::bad_start_line;  // fewer than three elements
    }
    bad = vs;
    if (ParseError err = check_version(view(vs, le)); err != ParseError::none) return err;
  }
  const char* ue = vs;
  while (ue > us && ue[-1] == ' ') --ue;
  bad = us;
  m.request_uri_text = view(us, ue);
  // Embedded SP (RFC 4475 §3.1.2.8) is left in the URI text and rejected
  // like any other byte outside the URI alphabet; so is "<uri>".
  const char* stop = us;
  if (win && fast_uri(w, us, ue, m.request_uri, stop) && stop == ue) return ParseError::none;
  m.request_uri = Uri{};  // the fast path may have written part of it
  stop = us;
  ParseError err = parse_uri_at(us, ue, limit, UriCtx::angle, m.request_uri, stop);
  if (err == ParseError::none && stop != ue) err = ParseError::bad_request_uri;
  if (err != ParseError::none) {
    bad = err == ParseError::bad_escape ? stop : us;
    return err == ParseError::bad_escape ? err : ParseError::bad_request_uri;
  }
  return ParseError::none;
}

// The reference parser on a cleared `out`: what name_addr() falls back to.
[[gnu::noinline]] ParseError name_addr_slow(const char* p, const char* e, const char* limit, bool list, ParseError bad,
                                            NameAddr& out, const char*& next) noexcept {
  out = NameAddr{};
  return parse_name_addr(p, e, limit, list, bad, out, next);
}

// One name-addr: the fast path when the value is in the window, else (or
// when the fast path gives up) the reference parser. Forced inline, with the
// fallback out of line: as a function of its own it cost a second call and
// a frame big enough for the clearing of a NameAddr on every From/To/Contact.
inline __attribute__((always_inline)) ParseError name_addr(const Window& w, const char* p, const char* e,
                                                           const char* limit, bool list, ParseError bad, NameAddr& out,
                                                           const char*& next) noexcept {
  if (w.covers(e) && fast_name_addr(w, p, e, list, out, next)) return ParseError::none;
  return name_addr_slow(p, e, limit, list, bad, out, next);
}

// Appends the name-addr list in [p, e) to `arr`, keeping at most `max`.
ParseError parse_list(const Window& w, const char* p, const char* e, const char* limit, NameAddr* arr, std::size_t max,
                      std::uint8_t& count, bool& overflow, const char*& bad) noexcept {
  for (;;) {
    const char* next = e;
    bad = p;
    ParseError err;
    if (count < max) {
      err = name_addr(w, p, e, limit, true, ParseError::bad_identity_header, arr[count], next);
      if (err == ParseError::none) ++count;
    } else {
      // Values past the limit are still validated (and the overflow flagged),
      // but not kept.
      NameAddr scratch;
      err = name_addr(w, p, e, limit, true, ParseError::bad_identity_header, scratch, next);
      overflow = true;
    }
    if (err != ParseError::none) return err;
    if (next == e) return ParseError::none;
    p = next + 1;  // past ','
  }
}

// Remote-Party-ID values in [p, e): each is validated; the first one for
// the calling party (party=calling or no party) is kept (Message::remote_party_id).
ParseError parse_rpid(const Window& w, const char* p, const char* e, const char* limit, Message& m,
                      const char*& bad) noexcept {
  for (;;) {
    const char* next = e;
    bad = p;
    NameAddr scratch;
    NameAddr& into = m.remote_party_id.present ? scratch : m.remote_party_id;
    ParseError err = name_addr(w, p, e, limit, true, ParseError::bad_identity_header, into, next);
    if (err != ParseError::none) return err;
    if (&into == &m.remote_party_id) {
      bool found = false;
      const std::string_view party = header_param(into.params, "party", found);
      if (found && !iequals_lower(party, "calling")) {
        into.present = false;  // the called party's: not the caller
      } else {
        m.rpid_screen = header_param(into.params, "screen", found);
        m.rpid_privacy = header_param(into.params, "privacy", found);
      }
    }
    if (next == e) return ParseError::none;
    p = next + 1;  // past ','
  }
}

// Headers whose values are parsed through a Window (sip_window.h), taken
// from the message masks.
constexpr std::uint64_t kWindowed =
    1ull << static_cast<unsigned>(HeaderId::via) | 1ull << static_cast<unsigned>(HeaderId::from) |
    1ull << static_cast<unsigned>(HeaderId::to) | 1ull << static_cast<unsigned>(HeaderId::call_id) |
    1ull << static_cast<unsigned>(HeaderId::contact) | 1ull << static_cast<unsigned>(HeaderId::p_asserted_identity) |
    1ull << static_cast<unsigned>(HeaderId::remote_party_id) | 1ull << static_cast<unsigned>(HeaderId::diversion) |
    1ull << static_cast<unsigned>(HeaderId::history_info);
static_assert(static_cast<unsigned>(HeaderId::count_) <= 64);

// The headers whose values Depth::verdict leaves to parse_deferred().
constexpr std::uint64_t kDeferred = 1ull << static_cast<unsigned>(HeaderId::via) |
                                    1ull << static_cast<unsigned>(HeaderId::contact) |
                                    1ull << static_cast<unsigned>(HeaderId::max_forwards);

struct State {
  bool seen_from = false, seen_to = false, seen_call_id = false, seen_cseq = false;
  // Depth::verdict: Via, Contact and Max-Forwards values are left to
  // parse_deferred(); saw_via keeps "a request without Via is refused".
  bool defer = false;
  bool saw_via = false;
  // Values parsed through a Window here: at Depth::verdict not the Contact
  // (parse_deferred() gives it to the reference parser).
  std::uint64_t windowed = kWindowed;
};

static_assert(kMaxHeaders <= 255);

// What parse_top_via() needs to rebuild the top Via's Window.
inline void keep(Message::ValueMasks& k, const Window& w) noexcept {
  k.base = w.base;
  k.bits[0] = w.m[0];
  k.bits[1] = w.m[1];
}

// parse_decimal() inline: 1*DIGIT <= max.
inline bool decimal(const char* p, const char* end, std::uint32_t max, std::uint32_t& out) noexcept {
  if (p == end) return false;
  std::uint64_t v = 0;
  do {
    const unsigned d = static_cast<unsigned char>(*p) - static_cast<unsigned>('0');
    if (d > 9) return false;
    v = v * 10 + d;
    if (v > max) return false;
  } while (++p < end);
  out = static_cast<std::uint32_t>(v);
  return true;
}

// Parses the value of a header the filter needs. [v, ve) is the trimmed value;
// w holds its special bytes if w.covers(ve).
// Inlined into the fast line path (the dispatch is then one jump in the
// loop); the general path calls the out-of-line copy below.
inline __attribute__((always_inline)) ParseError on_header(Message& m, State& st, HeaderId id, const char* v,
                                                           const char* ve, const char* limit, const Window& w,
                                                           const char*& bad) noexcept {
  bad = v;
  const char* next = ve;
  switch (id) {
    case HeaderId::via:
      if (st.defer) {
        if (!st.saw_via) {
          keep(m.via_masks, w);
          m.top_via_line = static_cast<std::uint8_t>(m.header_count - 1);  // the entry just made
        }
        st.saw_via = true;
        return ParseError::none;
      }
      if (m.via.present) return ParseError::none;  // only the top-most value is parsed
      if (w.covers(ve) && fast_via(w, v, ve, m.via)) return ParseError::none;
      m.via = Via{};
      return parse_via(v, ve, limit, m.via);
    case HeaderId::from:
      if (st.seen_from) return ParseError::duplicate_single_header;
      st.seen_from = true;
      return name_addr(w, v, ve, limit, false, ParseError::bad_from, m.from, next);
    case HeaderId::to:
      if (st.seen_to) return ParseError::duplicate_single_header;
      st.seen_to = true;
      return name_addr(w, v, ve, limit, false, ParseError::bad_to, m.to, next);
    case HeaderId::call_id: {
      if (st.seen_call_id) return ParseError::duplicate_single_header;
      st.seen_call_id = true;
      // callid = word [ "@" word ]; liberal: any run of word characters and
      // '@' (bytes >= 0x80 too), but no LWS, control or empty value.
      const char* q = w.covers(ve) ? w.run<kCallId>(v, ve) : skip_run(v, ve, limit, kCallId);
      if (q != ve || v == ve) {
        bad = q;
        return ParseError::bad_call_id;
      }
      m.call_id = view(v, ve);
      return ParseError::none;
    }
    case HeaderId::cseq:
      if (st.seen_cseq) return ParseError::duplicate_single_header;
      st.seen_cseq = true;
      if (m.is_request) {
        // The usual "number SP method" with the request's own method: the
        // method bytes are then a token already (parse_cseq() would accept
        // them) and the end-of-parse method check passes.
        const char* d = v;
        std::uint64_t n = 0;
        while (d < ve && d - v < 10 && static_cast<unsigned char>(*d - '0') <= 9) {
          n = n * 10 + static_cast<unsigned>(*d - '0');
          ++d;
        }
        const std::size_t ml = m.method_text.size();
        if (d != v && n <= 0x7fffffffu && d < ve && *d == ' ' && static_cast<std::size_t>(ve - d - 1) == ml &&
            std::memcmp(d + 1, m.method_text.data(), ml) == 0) {
          m.cseq.number = static_cast<std::uint32_t>(n);
          m.cseq.method = view(d + 1, ve);
          m.cseq.present = true;
          return ParseError::none;
        }
      }
      m.cseq = CSeq{};
      return parse_cseq(v, ve, limit, m.cseq);
    case HeaderId::max_forwards:
      if (st.defer) return ParseError::none;
      if (m.has_max_forwards) return ParseError::duplicate_single_header;
      // RFC 3261 §20.22: 0-255; leading zeros are fine (RFC 4475 §3.1.1.1).
      if (!decimal(v, ve, 255, m.max_forwards)) return ParseError::bad_max_forwards;
      m.has_max_forwards = true;
      return ParseError::none;
    case HeaderId::content_length:
      if (m.has_content_length) return ParseError::duplicate_single_header;
      if (!decimal(v, ve, 0xffffffffu, m.content_length)) {
        return ParseError::bad_content_length;
      }
      m.has_content_length = true;
      return ParseError::none;
    case HeaderId::contact: {
      if (st.defer) return ParseError::none;
      if (m.contact.present) return ParseError::none;  // first value only
      const char* q = skip_lws(v, ve);
      if (q < ve && *q == '*') {
        const char* r = skip_lws(q + 1, ve);
        if (r == ve) {
          m.contact = NameAddr{};
          m.contact.uri_text = view(q, q + 1);
          m.contact.present = true;
          return ParseError::none;
        }
      }
      return name_addr(w, v, ve, limit, true, ParseError::bad_contact, m.contact, next);
    }
    case HeaderId::p_asserted_identity:
      return parse_list(w, v, ve, limit, m.pai, kMaxIdentities, m.pai_count, m.pai_overflow, bad);
    case HeaderId::remote_party_id:
      return parse_rpid(w, v, ve, limit, m, bad);
    case HeaderId::diversion:
      // Diversion wins over History-Info wherever the two appear.
      if (m.diversion_from_history_info) {
        m.diversion_count = 0;
        m.diversion_overflow = false;
        m.diversion_from_history_info = false;
      }
      return parse_list(w, v, ve, limit, m.diversion, kMaxDiversions, m.diversion_count, m.diversion_overflow, bad);
    case HeaderId::history_info:
      if (m.diversion_count != 0 && !m.diversion_from_history_info) return ParseError::none;
      m.diversion_from_history_info = true;
      return parse_list(w, v, ve, limit, m.diversion, kMaxDiversions, m.diversion_count, m.diversion_overflow, bad);
    case HeaderId::user_agent:
      if (m.user_agent.empty()) m.user_agent = view(v, ve);
      return ParseError::none;
    case HeaderId::identity:
      if (m.identity.empty()) m.identity = view(v, ve);
      return ParseError::none;
    case HeaderId::content_type:
      if (m.content_type.empty()) m.content_type = view(v, ve);
      return ParseError::none;
    default:
      return ParseError::none;
  }
}

[[gnu::noinline]] ParseError on_header_general(Message& m, State& st, HeaderId id, const char* v, const char* ve,
                                               const char* limit, const Window& w, const char*& bad) noexcept {
  return on_header(m, st, id, v, ve, limit, w, bad);
}

// On failure nothing but error_offset (and length, where set) is meaningful;
// everything else is cleared so no view of an earlier buffer survives.
[[gnu::noinline]] ParseError fail(Message& m, ParseError e, const char* base, const char* where) noexcept {
  const std::size_t length = m.length;
  reset(m);
  m.length = length;
  m.error_offset = static_cast<std::size_t>(where - base);
  return e;
}

// --- parse_message() phase by phase -------------------------------------------------
// Each phase is forced inline: parse_message() compiles to the one function
// it was before it was split (the header loop is the parser's hot loop).

// Where the message lies in the buffer.
struct Cursor {
  const char* b = nullptr;      // the buffer (error offsets count from here)
  const char* end = nullptr;    // its end
  const char* msg = nullptr;    // the start line (after leading CRLFs)
  const char* limit = nullptr;  // nothing at or past it is scanned (kMaxMessageSize from msg)
  ParseError unterminated = ParseError::headers_unterminated;  // what running into `limit` means
};

// Framing: the empty buffer, the datagram size limit, leading CRLFs.
inline __attribute__((always_inline)) ParseError find_message(std::string_view buf, Transport transport, Message& m,
                                                              Cursor& c) noexcept {
  c.b = buf.data();
  const std::size_t n = buf.size();
  c.end = c.b + n;
  if (n == 0) return fail(m, ParseError::empty, c.b, c.b);
  if (transport == Transport::datagram && n > kMaxMessageSize) {
    return fail(m, ParseError::message_too_large, c.b, c.b);
  }
  // RFC 3261 §7.5: CRLFs before the start line are ignored (stream keep-alives).
  const char* msg = c.b;
  while (msg < c.end && (*msg == '\r' || *msg == '\n')) ++msg;
  if (msg == c.end) {
    m.length = n;
    return fail(m, ParseError::empty, c.b, c.b);
  }
  // Nothing beyond the size limit is ever scanned.
  const bool capped = static_cast<std::size_t>(c.end - msg) > kMaxMessageSize;
  c.msg = msg;
  c.limit = capped ? msg + kMaxMessageSize : c.end;
  c.unterminated = capped ? ParseError::message_too_large : ParseError::headers_unterminated;
  return ParseError::none;
}

// The start line; `next` is the first byte after it.
inline __attribute__((always_inline)) ParseError parse_first_line(const Cursor& c, MessageMasks& mm, Message& m,
                                                                  const char*& next) noexcept {
  const char* const msg = c.msg;
  const char* sl_end = nullptr;
  const char* bad = msg;
  // The usual start line ends in CRLF within 128 bytes with no control
  // byte before it; its special bytes are kept for the Request-URI.
  // Anything else: scan_line().
  Window w;
  mm.need(MessageMasks::kLookahead);
  const std::uint64_t c0 = mm.ctl64(0);
  const std::uint64_t c1 = mm.ctl64(64);
  const char* q = c0 != 0 ? msg + __builtin_ctzll(c0) : c1 != 0 ? msg + 64 + __builtin_ctzll(c1) : c.limit;
  if (c.limit - q >= 2 && q[0] == '\r' && q[1] == '\n') {
    sl_end = q;
    next = q + 2;
    mm.window(0, w);
  } else if (ParseError e = scan_line(msg, c.limit, nullptr, sl_end, next, bad); e != ParseError::none) {
    return e == ParseError::headers_unterminated ? fail(m, c.unterminated, c.b, msg) : fail(m, e, c.b, bad);
  }
  if (static_cast<std::size_t>(sl_end - msg) > kMaxLineLength) {
    return fail(m, ParseError::line_too_long, c.b, msg);
  }
  if (sl_end == msg) return fail(m, ParseError::bad_start_line, c.b, msg);
  if (ParseError e = parse_start_line(msg, sl_end, c.end, w, m, bad); e != ParseError::none) {
    return fail(m, e, c.b, bad);
  }
  return ParseError::none;
}

// The usual line, "Name: value CRLF" with a name of 1-19 host characters
// right before the colon and no HT, control byte or folding, in one
// straight pass over the message masks: the name ends at the first special
// byte, its id is one hash probe, the line ends at the first control byte,
// and the value's Window is two shifts. True if it took the line at `p`
// (`p` then starts the next one, or `err` is set); false sends the line
// through the general steps, which redo it from its start and find every
// error (the empty line included).
inline __attribute__((always_inline)) bool fast_header_line(const Cursor& c, MessageMasks& mm, Message& m, State& st,
                                                            const char*& p, ParseError& err) noexcept {
  const char* const ls = p;
  if (c.limit - ls < 32 || m.header_count >= kMaxHeaders) return false;
  const std::size_t off = static_cast<std::size_t>(ls - c.msg);
  // special64/ctl64 at `off` read blocks off/64 and off/64 + 1; a
  // value's Window and the long-line case read up to off/64 + 3.
  mm.need((off >> 6) + 1);
  const std::size_t nl = static_cast<std::size_t>(__builtin_ctzll(mm.special64(off) | 1ull << 63));
  const char* ne = ls + nl;
  if (nl - 1 >= 19 || *ne != ':') return false;
  const HeaderId id = nl == 1 ? header_id(std::string_view(ls, 1)) : header_id_hashed(ls, nl);
  // The line end: the first control byte from the line start (the name
  // and the colon hold none). Computed from `ls` rather than from the
  // colon so that the chain from one line start to the next is short:
  // the name, its id and the value hang off it and run in parallel.
  const std::size_t voff = off + nl + 1;
  const std::uint64_t c0 = mm.ctl64(off);
  const char* q;
  // Only a line that runs past its first 64 bytes can be too long, so
  // the usual line skips that test.
  bool short_enough = true;
  if (__builtin_expect(c0 != 0, 1)) {
    q = ls + __builtin_ctzll(c0);
  } else {
    mm.need((off >> 6) + 2);
    const std::uint64_t c1 = mm.ctl64(off + 64);
    q = c1 != 0 ? ls + 64 + __builtin_ctzll(c1) : find_ctl(ls + 128, c.limit);
    short_enough = static_cast<std::size_t>(q - ls) <= kMaxLineLength;
  }
  static_assert(kMaxLineLength >= 64);
  if (!short_enough || c.limit - q <= 2 || std::memcmp(q, "\r\n", 2) != 0 || is_wsp(q[2])) return false;
  const char* v = ne + 1;
  if (*v == ' ') ++v;  // v <= q: q is a control byte
  if (is_lws(*v)) v = skip_lws(v, q);
  const char* ve = q;
  if (is_lws(ve[-1])) ve = trim_lws_back(v, q);
  Header& h = m.headers[m.header_count++];
  h.name = view(ls, ne);
  h.value = view(v, ve);
  h.id = id;
  p = q + 2;
  if (id != HeaderId::other) {
    Window w;
    if ((st.windowed >> static_cast<unsigned>(id)) & 1) {
      mm.need((voff >> 6) + 2);
      mm.window(voff, w);
    }
    const char* bad = v;
    if (ParseError e = on_header(m, st, id, v, ve, c.end, w, bad); e != ParseError::none) err = fail(m, e, c.b, bad);
  }
  return true;
}

// The line at `p` when it cannot be a header line: the empty line that ends
// the header section (`body` set), or an error (`err` set). True in both
// cases; false for a line to parse as a header.
inline __attribute__((always_inline)) bool header_section_end(const Cursor& c, Message& m, const char* p,
                                                              const char*& body, ParseError& err) noexcept {
  if (p >= c.limit) {
    err = fail(m, c.unterminated, c.b, p);
    return true;
  }
  // One compare keeps ordinary lines off the rare paths below.
  if (static_cast<unsigned char>(*p) <= ' ') {
    if (*p == '\n' || *p == '\r') {  // empty line ends the headers
      if (*p == '\n') {
        body = p + 1;
      } else if (p + 1 == c.limit) {
        err = fail(m, c.unterminated, c.b, p);
        return true;
      } else if (p[1] == '\n') {
        body = p + 2;
      } else {
        err = fail(m, ParseError::bare_cr, c.b, p);
        return true;
      }
      m.headers_end = static_cast<std::size_t>(p - c.b);
      return true;
    }
    // Continuation lines are absorbed below, so a line that starts with
    // whitespace here has no header to continue.
    if (is_wsp(*p)) {
      err = fail(m, ParseError::fold_without_header, c.b, p);
      return true;
    }
  }
  if (m.header_count == kMaxHeaders) {
    err = fail(m, ParseError::too_many_headers, c.b, p);
    return true;
  }
  return false;
}

// The general steps for one header line at `p`. A line without HT,
// control byte or folding is scanned once: the name as a token, the value
// for its line end. Anything else is redone by slow_line(), which also
// finds the exact error. `p` moves to the next line.
inline __attribute__((always_inline)) ParseError general_header_line(const Cursor& c, Message& m, State& st,
                                                                     const char*& p) noexcept {
  const char* const ls = p;
  const char* const limit = c.limit;
  const char* ne = skip_run(ls, limit, limit, kToken);
  const char* colon = ne;
  while (colon < limit && *colon == ' ') ++colon;
  const char* eol = nullptr;
  const char* next = nullptr;
  if (ne != ls && colon < limit && *colon == ':') {
    const char* q = find_ctl(colon + 1, limit);
    if (limit - q > 2 && q[0] == '\r' && q[1] == '\n' && !is_wsp(q[2])) {
      eol = q;
      next = q + 2;
    }
  }
  if (eol == nullptr) {
    const LineScan r = slow_line(ls, limit);
    if (r.err != ParseError::none) {
      return fail(m, r.err == ParseError::headers_unterminated ? c.unterminated : r.err, c.b, r.bad);
    }
    eol = r.eol;
    next = r.next;
    ne = r.ne;
    colon = r.colon;
  }
  p = next;
  if (static_cast<std::size_t>(eol - ls) > kMaxLineLength) return fail(m, ParseError::line_too_long, c.b, ls);
  const char* v = colon + 1;
  if (v < eol && *v == ' ') ++v;  // the usual single SP after the colon
  v = skip_lws(v, eol);
  const char* ve = trim_lws_back(v, eol);
  Header& h = m.headers[m.header_count++];
  h.name = view(ls, ne);
  h.value = view(v, ve);
  const HeaderId id = header_id_token(ls, static_cast<std::size_t>(ne - ls), c.end);
  h.id = id;
  if (id != HeaderId::other) {
    // No Window here: these values go to the reference parsers.
    const char* bad = v;
    if (ParseError e = on_header_general(m, st, id, v, ve, c.end, Window{}, bad); e != ParseError::none) {
      return fail(m, e, c.b, bad);
    }
  }
  return ParseError::none;
}

// The header lines from `p` up to the empty line; `body` is the byte after it.
inline __attribute__((always_inline)) ParseError parse_headers(const Cursor& c, MessageMasks& mm, Message& m, State& st,
                                                               const char* p, const char*& body) noexcept {
  for (;;) {
    ParseError err = ParseError::none;
    if (fast_header_line(c, mm, m, st, p, err)) {
      if (err != ParseError::none) return err;
      continue;
    }
    if (header_section_end(c, m, p, body, err)) {
      if (err != ParseError::none) return err;
      break;
    }
    if (ParseError e = general_header_line(c, m, st, p); e != ParseError::none) return e;
  }
  m.body_offset = static_cast<std::size_t>(body - c.b);
  return ParseError::none;
}

// The body: Content-Length (or, on a datagram without it, the end of the
// datagram) says where the message ends.
inline __attribute__((always_inline)) ParseError frame_body(const Cursor& c, Message& m, const char* body,
                                                            Transport transport) noexcept {
  const char* msg_end;
  if (m.has_content_length) {
    const std::size_t cl = m.content_length;
    const bool too_large = static_cast<std::size_t>(body - c.msg) + cl > kMaxMessageSize;
    if (static_cast<std::size_t>(c.end - body) < cl) {
      // On a stream a message that can never fit is refused now rather than
      // waited for; otherwise the data is simply short.
      return fail(
          m, transport == Transport::stream && too_large ? ParseError::message_too_large : ParseError::body_truncated,
          c.b, body);
    }
    if (too_large) return fail(m, ParseError::message_too_large, c.b, body);
    msg_end = body + cl;  // datagram: trailing bytes are ignored (RFC 3261 §18.3)
  } else if (transport == Transport::datagram) {
    msg_end = c.end;  // no Content-Length on UDP: the body runs to the end of the datagram
  } else {
    return fail(m, ParseError::missing_content_length, c.b, body);
  }
  m.body = view(body, msg_end);
  m.length = static_cast<std::size_t>(msg_end - c.b);
  return ParseError::none;
}

// What every message must carry (RFC 3261 §8.1.1; responses copy them).
inline __attribute__((always_inline)) ParseError check_required(const Cursor& c, const State& st, Message& m) noexcept {
  if (!m.from.present) return fail(m, ParseError::missing_from, c.b, c.msg);
  if (!m.to.present) return fail(m, ParseError::missing_to, c.b, c.msg);
  if (m.call_id.empty()) return fail(m, ParseError::missing_call_id, c.b, c.msg);
  if (!m.cseq.present) return fail(m, ParseError::missing_cseq, c.b, c.msg);
  if (!m.via.present && !st.saw_via) return fail(m, ParseError::missing_via, c.b, c.msg);
  // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method.
  if (m.is_request && m.cseq.method != m.method_text) {
    return fail(m, ParseError::cseq_method_mismatch, c.b, c.msg);
  }
  // begin() left these to be written by their parsers; clear the absent ones.
  if (!m.contact.present) clear(m.contact);
  if (!m.remote_party_id.present) clear(m.remote_party_id);
  return ParseError::none;
}

}  // namespace

ParseError parse_message(std::string_view buf, Message& m, Transport transport, Depth depth) noexcept {
  begin(m);
  Cursor c;
  if (ParseError e = find_message(buf, transport, m, c); e != ParseError::none) return e;
  MessageMasks mm(c.msg, c.limit);
  const char* p = nullptr;
  if (ParseError e = parse_first_line(c, mm, m, p); e != ParseError::none) return e;
  const char* body = nullptr;
  State st;
  st.defer = depth == Depth::verdict;
  if (st.defer) st.windowed = kWindowed & ~(1ull << static_cast<unsigned>(HeaderId::contact));
  if (ParseError e = parse_headers(c, mm, m, st, p, body); e != ParseError::none) return e;
  if (ParseError e = frame_body(c, m, body, transport); e != ParseError::none) return e;
  if (ParseError e = check_required(c, st, m); e != ParseError::none) return e;
  m.deferred = st.defer;
  return ParseError::none;
}

namespace {

// One line noted by the verdict parse, parsed as the full parse does: the
// top Via with the masks the line loop had for it (the same fast path or
// reference parser), Contact and Max-Forwards through the reference steps
// (the fast paths give the same result: tests/unit/dataplane/sip/fast_path_test.cpp).
ParseError deferred_line(const char* b, const char* end, Message& m, State& st, const Header& h) noexcept {
  const char* v = h.value.data();
  const char* ve = v + h.value.size();
  Window w;
  if (&h == &m.headers[m.top_via_line] && h.id == HeaderId::via && m.via_masks.base != nullptr) {
    w.base = m.via_masks.base;
    w.m[0] = m.via_masks.bits[0];
    w.m[1] = m.via_masks.bits[1];
  }
  const char* bad = v;
  if (ParseError e = on_header_general(m, st, h.id, v, ve, end, w, bad); e != ParseError::none) {
    return fail(m, e, b, bad);
  }
  return ParseError::none;
}

}  // namespace

ParseError parse_deferred(std::string_view buf, Message& m) noexcept {
  if (!m.deferred) return ParseError::none;
  m.deferred = false;
  const char* const b = buf.data();
  const char* const end = b + buf.size();
  State st;  // defer = false: parse them now
  // In line order, as the full parse meets them, so the first error is the
  // one it would report. (A top Via parse_top_via() took is skipped by
  // on_header: only the top value is parsed; so are the Contact values
  // after the first.)
  for (std::uint16_t i = 0; i < m.header_count; ++i) {
    const Header& h = m.headers[i];
    if (((kDeferred >> static_cast<unsigned>(h.id)) & 1) == 0) continue;
    if (ParseError e = deferred_line(b, end, m, st, h); e != ParseError::none) return e;
  }
  if (!m.contact.present) clear(m.contact);
  return ParseError::none;
}

ParseError parse_top_via(std::string_view buf, Message& m) noexcept {
  if (!m.deferred || m.via.present) return ParseError::none;
  State st;
  return deferred_line(buf.data(), buf.data() + buf.size(), m, st, m.headers[m.top_via_line]);
}

const Header* Message::find(HeaderId id) const noexcept {
  for (std::uint16_t i = 0; i < header_count; ++i) {
    if (headers[i].id == id) return &headers[i];
  }
  return nullptr;
}

const Header* Message::find_next(HeaderId id, const Header* after) const noexcept {
  if (after < headers || after >= headers + header_count) return nullptr;
  for (const Header* h = after + 1; h < headers + header_count; ++h) {
    if (h->id == id) return h;
  }
  return nullptr;
}

std::string_view Message::header(std::string_view name) const noexcept {
  const HeaderId id = header_id(name);
  if (id != HeaderId::other) {
    const Header* h = find(id);
    return h ? h->value : std::string_view();
  }
  for (std::uint16_t i = 0; i < header_count; ++i) {
    if (headers[i].id == HeaderId::other && iequals(headers[i].name, name)) {
      return headers[i].value;
    }
  }
  return {};
}

ParseError parse_name_addr(std::string_view value, NameAddr& out) noexcept {
  const char* next = nullptr;
  const char* p = value.data();
  out = NameAddr{};
  return detail::parse_name_addr(p, p + value.size(), p + value.size(), false, ParseError::bad_uri, out, next);
}

}  // namespace sipwall::sip
