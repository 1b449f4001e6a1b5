// URI parsing for sip:, sips: (RFC 3261 §19.1, §25.1) and tel: (RFC 3966).
// Other schemes are accepted as opaque absoluteURIs (RFC 4475 §3.3.2-3.3.4).
//
// The parser runs forward once and stops at the first byte that cannot
// continue the URI, so a name-addr parser can hand it "<sip:...>;tag=x" and
// find the '>' where it stopped, instead of searching for it first.
#include "dataplane/sip/sip_uri.h"

#include <cstring>

#include "dataplane/sip/sip_chars.h"
#include "dataplane/sip/sip_fields.h"

namespace sipwall::sip {
namespace detail {
namespace {

ParseError parse_port(const char*& p, const char* end, std::uint16_t& port) noexcept {
  const char* d = p;
  std::uint32_t v = 0;
  while (p < end && is(*p, kDigit)) {
    v = v * 10 + static_cast<std::uint32_t>(*p - '0');
    if (v > 65535) return ParseError::bad_uri;
    ++p;
  }
  if (p == d) return ParseError::bad_uri;
  port = static_cast<std::uint16_t>(v);
  return ParseError::none;
}

// A run stopped on '%': a bad escape (the good ones were stepped over).
inline ParseError stop_error(const char* q, const char* end) noexcept {
  return q < end && *q == '%' ? ParseError::bad_escape : ParseError::bad_uri;
}

ParseError parse_sip(const char* p, const char* end, const char* limit, UriCtx ctx, Uri& out,
                     const char*& stop) noexcept {
  // userinfo: the user part may hold ';' '?' '/' ',' (RFC 4475 §3.1.1.2,
  // §3.1.1.9) but never '@' or ':', so scan the user alphabet and look at
  // what stopped it: '@' ends the user, ':' a password (if an '@' follows) or
  // the port of a URI without userinfo.
  const std::uint32_t ucls = ctx == UriCtx::addr_spec ? kUserNoSep : kUser;
  const char* q = skip_escaped(p, end, limit, ucls);
  const char* at = nullptr;
  if (q < end) {
    if (*q == '@') {
      at = q;
      out.user = view(p, q);
    } else if (*q == ':') {
      const char* r = skip_escaped(q + 1, end, limit, kPassword);
      if (r < end && *r == '@') {
        at = r;
        out.user = view(p, q);
        out.password = view(q + 1, r);
      } else if (r < end && *r == '%') {
        return ParseError::bad_escape;
      }
    } else if (*q == '%') {
      return ParseError::bad_escape;
    }
  }
  if (at != nullptr) {
    if (out.user.empty()) return ParseError::bad_uri;
    p = at + 1;
  }
  if (p == end) return ParseError::bad_uri;
  const char* host = p;
  if (*p == '[') {
    // IPv6reference. Only its alphabet is checked: RFC 5118 §4.10 asks
    // receivers to tolerate the "three colons" form.
    p = skip_run(p + 1, end, limit, kIpv6);
    if (p == host + 1 || p == end || *p != ']') return ParseError::bad_uri;
    ++p;
  } else {
    p = skip_run(p, end, limit, kHost);
    if (p == host) return ParseError::bad_uri;
  }
  out.host = view(host, p);
  if (p < end && *p == ':') {
    ++p;
    if (ParseError e = parse_port(p, end, out.port); e != ParseError::none) return e;
  }
  if (ctx == UriCtx::addr_spec) {
    // No uri-parameters or headers here: ';' starts header parameters, and
    // a '?' would make the value ambiguous (RFC 3261 §20, RFC 4475 §3.1.2.13).
    if (p < end && *p == '?') return ParseError::bad_uri;
    stop = p;
    return ParseError::none;
  }
  if (p < end && *p == ';') {
    const char* ps = ++p;
    // Empty parameters (";;") are tolerated; Uri::param() skips them.
    p = skip_escaped(p, end, limit, kParamRun);
    if (p < end && *p == '%') return ParseError::bad_escape;
    out.params = view(ps, p);
  }
  if (p < end && *p == '?') {
    const char* hs = ++p;
    p = skip_escaped(p, end, limit, kUriHeaderRun);
    if (p < end && *p == '%') return ParseError::bad_escape;
    out.headers = view(hs, p);
  }
  stop = p;
  return ParseError::none;
}

ParseError parse_tel(const char* p, const char* end, const char* limit, UriCtx ctx, Uri& out,
                     const char*& stop) noexcept {
  const char* num = p;
  p = skip_escaped(p, end, limit, kTel);
  if (p == num) return stop_error(p, end);
  if (p < end && *p == '%') return ParseError::bad_escape;
  out.user = view(num, p);
  if (ctx != UriCtx::addr_spec && p < end && *p == ';') {
    const char* ps = ++p;
    p = skip_escaped(p, end, limit, kParamRun);
    if (p < end && *p == '%') return ParseError::bad_escape;
    out.params = view(ps, p);
  }
  stop = p;
  return ParseError::none;
}

}  // namespace

ParseError parse_uri_at(const char* p, const char* end, const char* limit, UriCtx ctx, Uri& out,
                        const char*& stop) noexcept {
  const char* const start = p;
  stop = p;
  // Fast path for the schemes that matter ("sip:", "SIP:", "tel:"...); any
  // other spelling goes through the general scheme grammar.
  const char* rest;
  if (end - p >= 4 && scheme4(p) == lit4("sip:")) {
    out.scheme = UriScheme::sip;
    rest = p + 4;
  } else if (end - p >= 4 && scheme4(p) == lit4("tel:")) {
    out.scheme = UriScheme::tel;
    rest = p + 4;
  } else {
    if (p == end || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
      return ParseError::bad_uri;
    }
    const char* s = skip_class(p + 1, end, kScheme);
    if (s == end || *s != ':') return ParseError::bad_uri;
    const std::string_view name = view(p, s);
    if (iequals_lower(name, "sips")) {
      out.scheme = UriScheme::sips;
    } else if (iequals_lower(name, "sip")) {
      out.scheme = UriScheme::sip;
    } else if (iequals_lower(name, "tel")) {
      out.scheme = UriScheme::tel;
    } else {
      out.scheme = UriScheme::other;
    }
    rest = s + 1;
  }
  out.scheme_name = view(p, rest - 1);
  ParseError e = ParseError::none;
  switch (out.scheme) {
    case UriScheme::sip:
    case UriScheme::sips:
      e = parse_sip(rest, end, limit, ctx, out, stop);
      break;
    case UriScheme::tel:
      e = parse_tel(rest, end, limit, ctx, out, stop);
      break;
    default: {
      const char* r = skip_run(rest, end, limit, ctx == UriCtx::addr_spec ? kOpaqueNoSep : kOpaque);
      if (r == rest) return ParseError::bad_uri;
      stop = r;
      break;
    }
  }
  if (e != ParseError::none) return e;
  out.text = view(start, stop);
  return ParseError::none;
}

}  // namespace detail

using namespace detail;

namespace {

// Finds ;name[=value] in a ';'-separated list (without the leading ';').
bool find_param(std::string_view list, std::string_view name, std::string_view& value) noexcept {
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t semi = list.find(';', i);
    if (semi == std::string_view::npos) semi = list.size();
    const std::string_view item = list.substr(i, semi - i);
    const std::size_t eq = item.find('=');
    const std::string_view pname = item.substr(0, eq);
    if (!pname.empty() && iequals(pname, name)) {
      value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      return true;
    }
    i = semi + 1;
  }
  return false;
}

}  // namespace

ParseError parse_uri(std::string_view text, Uri& out) noexcept {
  const char* p = text.data();
  const char* end = p + text.size();
  const char* stop = p;
  out = Uri{};
  ParseError e = parse_uri_at(p, end, end, UriCtx::whole, out, stop);
  if (e == ParseError::none && stop != end) e = ParseError::bad_uri;
  out.text = text;
  return e;
}

bool Uri::param(std::string_view name, std::string_view& value) const noexcept {
  if (params.empty()) return false;
  return find_param(params, name, value);
}

std::string_view detail::find_phone_context(std::string_view params) noexcept {
  std::string_view v;
  return find_param(params, "phone-context", v) ? v : std::string_view();
}

bool Uri::user_is_phone() const noexcept {
  if (scheme != UriScheme::sip && scheme != UriScheme::sips) return false;
  std::string_view v;
  return param("user", v) && iequals_lower(v, "phone");
}

}  // namespace sipwall::sip
