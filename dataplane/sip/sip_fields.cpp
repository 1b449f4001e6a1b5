// name-addr / addr-spec, generic parameters, Via, CSeq and numbers
// (RFC 3261 §20, §25.1). The grammar is followed, with the liberal readings
// listed in docs/sip-parser.md ("Accepted liberally").
#include "dataplane/sip/sip_fields.h"

#include <cstring>

#include "dataplane/sip/sip_chars.h"

namespace sipwall::sip::detail {
namespace {

// quoted-string starting at the opening '"'. On success `p` is past the
// closing quote. quoted-pair escapes are skipped, not interpreted.
ParseError skip_quoted(const char*& p, const char* end, const char* limit) noexcept {
  const char* q = p + 1;  // past the opening quote
  for (;;) {
    q = skip_run(q, end, limit, kQText);
    if (q == end) return ParseError::unterminated_quote;
    if (*q == '"') {
      p = q + 1;
      return ParseError::none;
    }
    // '\': a quoted-pair
    if (end - q < 2) return ParseError::unterminated_quote;
    q += 2;
  }
}

// *( SEMI generic-param ) starting at a ';'. generic-param = token [ EQUAL
// gen-value ], gen-value = token / host / quoted-string. Stops at `end` or,
// in a list, at a top-level ','. Records `tag` / `branch` when asked.
// On success `p` is at the stop position and `params_end` after the last
// parameter (trailing LWS excluded).
ParseError parse_generic_params(const char*& p, const char* end, const char* limit, bool list, ParseError bad,
                                std::string_view* tag, std::string_view* branch, const char*& params_end) noexcept {
  while (p < end && *p == ';') {
    p = skip_lws(p + 1, end);
    const char* name = p;
    p = skip_run(p, end, limit, kToken);
    if (p == name) return bad;  // ";;" or ";=" or ";<garbage>" (RFC 4475 §3.1.2.1)
    const std::size_t nlen = static_cast<std::size_t>(p - name);
    const char* after_name = p;
    p = skip_lws(p, end);
    std::string_view value;
    if (p < end && *p == '=') {
      p = skip_lws(p + 1, end);
      const char* v = p;
      if (p < end && *p == '"') {
        if (ParseError e = skip_quoted(p, end, limit); e != ParseError::none) return e;
        value = view(v + 1, p - 1);
      } else {
        p = skip_run(p, end, limit, kGenValue);
        if (p == v) return bad;
        value = view(v, p);
      }
      params_end = p;
    } else {
      params_end = after_name;
    }
    // `c | 0x20` maps only 'A'-'Z'/'a'-'z' onto a lower-case letter among
    // token bytes, so these compares are exact and case-insensitive.
    if (tag != nullptr && nlen == 3 && (name[0] | 0x20) == 't' && (name[1] | 0x20) == 'a' && (name[2] | 0x20) == 'g') {
      *tag = value;
    }
    if (branch != nullptr && nlen == 6 && iequals_lower(view(name, name + 6), "branch")) {
      *branch = value;
    }
    p = skip_lws(p, end);
  }
  if (p == end || (list && *p == ',')) return ParseError::none;
  return bad;
}

inline ParseError uri_error(ParseError e, ParseError bad) noexcept {
  return e == ParseError::bad_escape ? e : bad;
}

}  // namespace

ParseError parse_name_addr(const char* p, const char* end, const char* limit, bool list, ParseError bad, NameAddr& out,
                           const char*& next) noexcept {
  p = skip_lws(p, end);
  if (p == end || (list && *p == ',')) return bad;  // empty value or empty list element
  const char* laquot = nullptr;
  if (*p == '"') {
    const char* q = p;
    if (ParseError e = skip_quoted(q, end, limit); e != ParseError::none) return e;
    out.display_name = view(p + 1, q - 1);
    out.display_quoted = true;
    p = skip_lws(q, end);
    // RFC 4475 §3.1.1.6: no LWS is needed between the display name and '<'.
    if (p == end || *p != '<') return bad;
    laquot = p;
  } else {
    // display-name = *(token LWS); liberal: also ',' outside lists (RFC 4475
    // §3.1.2.15, "Bell, Alexander") and UTF-8 bytes, which UAs send unquoted.
    // If the run does not end at '<' this was an addr-spec. Most values
    // start with '<' right away: no scan then.
    const char* q = *p == '<' ? p : skip_run(p, end, limit, list ? kDisplayList : kDisplay);
    if (q < end && *q == '<') {
      out.display_name = view(p, trim_lws_back(p, q));
      laquot = q;
    } else if (q < end && *q == '"') {
      return bad;  // token and quoted-string mixed
    } else if (q < end && *q == '>') {
      return ParseError::unbalanced_angle;
    } else {
      // addr-spec: a URI holding ',', '?' or ';' must be in <> (RFC 3261 §20);
      // its ';' start header params here.
      const char* stop = p;
      if (ParseError e = parse_uri_at(p, end, limit, UriCtx::addr_spec, out.uri, stop); e != ParseError::none) {
        return uri_error(e, bad);
      }
      out.uri_text = view(p, stop);
      p = skip_lws(stop, end);
    }
  }
  if (laquot != nullptr) {
    // Liberal: LWS just inside the brackets is dropped (RFC 4475 §3.1.2.14).
    const char* u = skip_lws(laquot + 1, end);
    const char* stop = u;
    if (ParseError e = parse_uri_at(u, end, limit, UriCtx::angle, out.uri, stop); e != ParseError::none) {
      if (std::memchr(u, '>', static_cast<std::size_t>(end - u)) == nullptr) {
        return ParseError::unbalanced_angle;
      }
      return uri_error(e, bad);
    }
    out.uri_text = view(u, stop);
    const char* r = skip_lws(stop, end);
    if (r == end || *r != '>') {
      const bool closed = r < end && std::memchr(r, '>', static_cast<std::size_t>(end - r));
      return closed ? bad : ParseError::unbalanced_angle;
    }
    p = skip_lws(r + 1, end);
  }
  if (p < end && *p == ';') {
    const char* ps = skip_lws(p + 1, end);
    const char* pe = ps;
    if (ParseError e = parse_generic_params(p, end, limit, list, bad, &out.tag, nullptr, pe); e != ParseError::none) {
      return e;
    }
    out.params = view(ps, pe);
  } else if (p < end && !(list && *p == ',')) {
    return *p == '<' || *p == '>' ? ParseError::unbalanced_angle : bad;
  }
  out.present = true;
  next = p;
  return ParseError::none;
}

ParseError parse_via(const char* p, const char* end, const char* limit, Via& out) noexcept {
  constexpr ParseError bad = ParseError::bad_via;
  p = skip_lws(p, end);
  const char* start = p;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, where
  // SLASH = SWS "/" SWS (RFC 4475 §3.1.1.1 folds inside it). Nearly every
  // Via starts "SIP/2.0/": one 8-byte compare (letters case-folded).
  std::uint64_t w = 0;
  if (end - p >= 8) std::memcpy(&w, p, 8);
  if ((w | 0x0000000000202020ull) == 0x2f302e322f706973ull) {  // "sip/2.0/" little-endian
    const char* t = p + 8;
    p = skip_run(t, end, limit, kToken);
    if (p == t) return bad;
    out.transport = view(t, p);
  } else {
    for (int part = 0; part < 3; ++part) {
      const char* t = p;
      p = skip_run(p, end, limit, kToken);
      if (p == t) return bad;
      if (part == 2) {
        out.transport = view(t, p);
        break;
      }
      p = skip_lws(p, end);
      if (p == end || *p != '/') return bad;
      p = skip_lws(p + 1, end);
    }
  }
  const char* ws = p;
  p = skip_lws(p, end);
  if (p == ws) return bad;  // LWS is required between sent-protocol and sent-by
  const char* host = p;
  if (p < end && *p == '[') {
    p = skip_run(p + 1, end, limit, kIpv6);
    if (p == host + 1 || p == end || *p != ']') return bad;
    ++p;
  } else {
    p = skip_run(p, end, limit, kHost);
    if (p == host) return bad;
  }
  out.host = view(host, p);
  const char* text_end = p;
  const char* q = skip_lws(p, end);
  if (q < end && *q == ':') {
    q = skip_lws(q + 1, end);
    std::uint32_t port = 0;
    const char* d = q;
    q = skip_class(q, end, kDigit);
    if (!parse_decimal(d, q, 65535, port)) return bad;
    out.port = static_cast<std::uint16_t>(port);
    text_end = q;
    p = skip_lws(q, end);
  } else {
    p = q;
  }
  if (p < end && *p == ';') {
    const char* ps = skip_lws(p + 1, end);
    const char* pe = ps;
    if (ParseError e = parse_generic_params(p, end, limit, true, bad, nullptr, &out.branch, pe);
        e != ParseError::none) {
      return e;
    }
    out.params = view(ps, pe);
    text_end = pe;
  } else if (p < end && *p != ',') {
    return bad;
  }
  out.text = view(start, text_end);
  out.present = true;
  return ParseError::none;
}

bool parse_decimal(const char* p, const char* end, std::uint32_t max, std::uint32_t& out) noexcept {
  if (p == end) return false;
  std::uint64_t v = 0;
  for (; p < end; ++p) {
    if (!is(*p, kDigit)) return false;
    v = v * 10 + static_cast<std::uint64_t>(*p - '0');
    if (v > max) return false;  // also stops before any overflow of v
  }
  out = static_cast<std::uint32_t>(v);
  return true;
}

ParseError parse_cseq(const char* p, const char* end, const char* limit, CSeq& out) noexcept {
  p = skip_lws(p, end);
  const char* d = p;
  p = skip_class(p, end, kDigit);
  if (!parse_decimal(d, p, 0x7fffffffu, out.number)) return ParseError::bad_cseq;
  const char* m = skip_lws(p, end);
  if (m == p) return ParseError::bad_cseq;
  p = skip_run(m, end, limit, kToken);
  if (p == m || skip_lws(p, end) != end) return ParseError::bad_cseq;
  out.method = view(m, p);
  out.present = true;
  return ParseError::none;
}

}  // namespace sipwall::sip::detail
