// Fast paths of the field parsers (see sip_fast.h). Each function mirrors its
// reference in sip_fields.cpp / sip_uri.cpp step by step; the comments name
// the step. Where the reference would report an error, or meets a form that
// is rare in practice, the fast path returns false instead.
#include "dataplane/sip/sip_fast.h"

#include <cstring>

#include "dataplane/sip/sip_chars.h"
#include "dataplane/sip/sip_window.h"

namespace sipwall::sip::detail {
namespace {

// The helpers are forced inline: a name-addr is one function with no calls,
// which matters more here than code size (a call costs as much as a step).
#define SIPWALL_INLINE inline __attribute__((always_inline))

// A port: 1+ digits, at most 65535 (parse_port()); p ends after the digits.
SIPWALL_INLINE bool port_digits(const char*& p, const char* end, std::uint16_t& port) noexcept {
  const char* d = p;
  std::uint32_t v = 0;
  while (p < end && is(*p, kDigit)) {
    v = v * 10 + static_cast<std::uint32_t>(*p - '0');
    if (v > 65535) return false;
    ++p;
  }
  if (p == d) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

// skip_quoted(): p at the opening quote; on success p is past the closing one.
SIPWALL_INLINE bool quoted(const Window& w, const char*& p, const char* end) noexcept {
  const char* q = p + 1;
  for (;;) {
    q = w.run<kQText>(q, end);
    if (q == end) return false;
    if (*q == '"') {
      p = q + 1;
      return true;
    }
    if (end - q < 2) return false;  // '\' as the last byte
    q += 2;                         // quoted-pair
  }
}

// parse_generic_params() from a ';'.
SIPWALL_INLINE bool generic_params(const Window& w, const char*& p, const char* end, bool list, std::string_view* tag,
                                   std::string_view* branch, const char*& params_end) noexcept {
  while (p < end && *p == ';') {
    p = skip_lws(p + 1, end);
    const char* name = p;
    p = w.run<kToken>(p, end);
    if (p == name) return false;
    const std::size_t nlen = static_cast<std::size_t>(p - name);
    const char* after_name = p;
    p = skip_lws(p, end);
    std::string_view value;
    if (p < end && *p == '=') {
      p = skip_lws(p + 1, end);
      const char* v = p;
      if (p < end && *p == '"') {
        if (!quoted(w, p, end)) return false;
        value = view(v + 1, p - 1);
      } else {
        p = w.run<kGenValue>(p, end);
        if (p == v) return false;
        value = view(v, p);
      }
      params_end = p;
    } else {
      params_end = after_name;
    }
    if (tag != nullptr && nlen == 3 && (name[0] | 0x20) == 't' && (name[1] | 0x20) == 'a' && (name[2] | 0x20) == 'g') {
      *tag = value;
    }
    if (branch != nullptr && nlen == 6 && iequals_lower(view(name, name + 6), "branch")) {
      *branch = value;
    }
    p = skip_lws(p, end);
  }
  return p == end || (list && *p == ',');
}

// parse_sip(), UriCtx::angle.
SIPWALL_INLINE bool sip_rest(const Window& w, const char* p, const char* end, Uri& out, const char*& stop) noexcept {
  // userinfo: the user alphabet runs to '@' (user), ':' (password or port)
  // or anything else (no userinfo).
  const char* q = w.run_escaped<kUser>(p, end);
  const char* at = nullptr;
  if (q < end) {
    if (*q == '@') {
      at = q;
    } else if (*q == ':') {
      const char* r = w.run_escaped<kPassword>(q + 1, end);
      if (r < end && (*r == '@' || *r == '%')) return false;  // password, or a bad escape
    } else if (*q == '%') {
      return false;  // bad escape
    }
  }
  if (at != nullptr) {
    if (at == p) return false;
    out.user = view(p, at);
    p = at + 1;
  } else {
    out.user = {};
  }
  out.password = {};
  if (p == end) return false;
  const char* host = p;
  if (*p == '[') {
    // IPv6reference: only its alphabet is checked (as parse_sip()).
    ++p;
    while (p < end && is(*p, kIpv6)) ++p;
    if (p == host + 1 || p == end || *p != ']') return false;
    ++p;
  } else {
    p = w.run<0>(p, end);  // kHost is exactly the host characters
    if (p == host) return false;
  }
  out.host = view(host, p);
  out.port = 0;
  if (p < end && *p == ':') {
    ++p;
    if (!port_digits(p, end, out.port)) return false;
  }
  out.params = {};
  if (p < end && *p == ';') {
    const char* ps = ++p;
    p = w.run_escaped<kParamRun>(p, end);
    if (p < end && *p == '%') return false;
    out.params = view(ps, p);
  }
  if (p < end && *p == '?') return false;  // URI headers: reference parser
  out.headers = {};
  stop = p;
  return true;
}

// parse_tel(), UriCtx::angle. kTel lacks most letters, so it is scanned
// byte by byte (tel numbers are short).
SIPWALL_INLINE bool tel_rest(const Window& w, const char* p, const char* end, Uri& out, const char*& stop) noexcept {
  const char* num = p;
  while (p < end) {
    if (is(*p, kTel)) {
      ++p;
    } else if (*p == '%' && escape_ok(p, end)) {
      p += 3;
    } else {
      break;
    }
  }
  if (p == num || (p < end && *p == '%')) return false;
  out.user = view(num, p);
  out.password = {};
  out.host = {};
  out.port = 0;
  out.params = {};
  out.headers = {};
  if (p < end && *p == ';') {
    const char* ps = ++p;
    p = w.run_escaped<kParamRun>(p, end);
    if (p < end && *p == '%') return false;
    out.params = view(ps, p);
  }
  stop = p;
  return true;
}

SIPWALL_INLINE bool uri_core(const Window& w, const char* p, const char* end, Uri& out, const char*& stop) noexcept {
  if (end - p < 4) return false;
  const std::uint32_t s = scheme4(p);
  bool ok;
  if (s == lit4("sip:")) {
    out.scheme = UriScheme::sip;
    out.scheme_name = view(p, p + 3);
    ok = sip_rest(w, p + 4, end, out, stop);
  } else if (s == lit4("tel:")) {
    out.scheme = UriScheme::tel;
    out.scheme_name = view(p, p + 3);
    ok = tel_rest(w, p + 4, end, out, stop);
  } else if (end - p >= 5 && (s | 0x20202020u) == lit4("sips") && p[4] == ':') {
    out.scheme = UriScheme::sips;
    out.scheme_name = view(p, p + 4);
    ok = sip_rest(w, p + 5, end, out, stop);
  } else {
    return false;  // other schemes: reference parser
  }
  if (!ok) return false;
  out.text = view(p, stop);
  return true;
}

}  // namespace

bool fast_uri(const Window& w, const char* p, const char* end, Uri& out, const char*& stop) noexcept {
  return uri_core(w, p, end, out, stop);
}

bool fast_name_addr(const Window& w, const char* p, const char* end, bool list, NameAddr& out,
                    const char*& next) noexcept {
  p = skip_lws(p, end);
  if (p == end) return false;
  const char* laquot;
  out.display_quoted = false;
  if (*p == '<') {
    out.display_name = view(p, p);
    laquot = p;
  } else if (*p == '"') {
    const char* q = p;
    if (!quoted(w, q, end)) return false;
    out.display_name = view(p + 1, q - 1);
    out.display_quoted = true;
    p = skip_lws(q, end);
    if (p == end || *p != '<') return false;
    laquot = p;
  } else {
    const char* q = list ? w.run<kDisplayList>(p, end) : w.run<kDisplay>(p, end);
    if (q == end || *q != '<') return false;  // addr-spec or an error: reference parser
    out.display_name = view(p, trim_lws_back(p, q));
    laquot = q;
  }
  const char* u = skip_lws(laquot + 1, end);
  const char* stop = u;
  if (!uri_core(w, u, end, out.uri, stop)) return false;
  out.uri_text = view(u, stop);
  const char* r = skip_lws(stop, end);
  if (r == end || *r != '>') return false;
  p = skip_lws(r + 1, end);
  out.tag = {};
  out.params = {};
  if (p < end && *p == ';') {
    const char* ps = skip_lws(p + 1, end);
    const char* pe = ps;
    if (!generic_params(w, p, end, list, &out.tag, nullptr, pe)) return false;
    out.params = view(ps, pe);
  } else if (p < end && !(list && *p == ',')) {
    return false;
  }
  out.present = true;
  next = p;
  return true;
}

bool fast_via(const Window& w, const char* p, const char* end, Via& out) noexcept {
  p = skip_lws(p, end);
  const char* start = p;
  // "SIP/2.0/" as one 8-byte compare, letters case-folded (as parse_via()).
  if (end - p < 8) return false;
  std::uint64_t v8;
  std::memcpy(&v8, p, 8);
  if ((v8 | 0x0000000000202020ull) != 0x2f302e322f706973ull) return false;
  const char* t = p + 8;
  p = w.run<kToken>(t, end);
  if (p == t) return false;
  out.transport = view(t, p);
  const char* ws = p;
  p = skip_lws(p, end);
  if (p == ws || p == end) return false;
  const char* host = p;
  if (*p == '[') {
    ++p;
    while (p < end && is(*p, kIpv6)) ++p;
    if (p == host + 1 || p == end || *p != ']') return false;
    ++p;
  } else {
    p = w.run<0>(p, end);
    if (p == host) return false;
  }
  out.host = view(host, p);
  out.port = 0;
  out.branch = {};
  out.params = {};
  const char* text_end = p;
  const char* q = skip_lws(p, end);
  if (q < end && *q == ':') {
    q = skip_lws(q + 1, end);
    if (!port_digits(q, end, out.port)) return false;
    text_end = q;
    p = skip_lws(q, end);
  } else {
    p = q;
  }
  if (p < end && *p == ';') {
    const char* ps = skip_lws(p + 1, end);
    const char* pe = ps;
    if (!generic_params(w, p, end, true, nullptr, &out.branch, pe)) return false;
    out.params = view(ps, pe);
    text_end = pe;
  } else if (p < end && *p != ',') {
    return false;
  }
  out.text = view(start, text_end);
  out.present = true;
  return true;
}

}  // namespace sipwall::sip::detail

#undef SIPWALL_INLINE
