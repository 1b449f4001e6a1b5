// Header-name and method dispatch. Called once per header line and once per
// request, so it switches on length, then on the first (lower-cased) byte, and
// only then compares the rest: most names are decided by two branches and one
// short compare.
#include <array>
#include <cstdint>
#include <cstring>

#include "sip/sip_chars.h"
#include "sip/sip_fields.h"
#include "sip/sip_message.h"

namespace sipwall::sip {
namespace {

using detail::lower;

// Case-insensitive compare of name[1..] against a lower-case literal (the
// first byte was already matched by the switch).
inline bool eq_rest(std::string_view name, const char* lit) noexcept {
  for (std::size_t i = 1; i < name.size(); ++i) {
    if (lower(name[i]) != lit[i]) return false;
  }
  return true;
}

// --- word-at-a-time lookup for names already validated as tokens ---------
// A token byte ORed with 0x20 equals a lower-case letter only if it was that
// letter in either case, and equals '-' only if it was '-' (0x0D is no token
// byte), so `word | 0x2020...` compares a token case-insensitively against
// the lower-case literals below in one instruction per 8 bytes.
inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v | 0x2020202020202020ull;
}
constexpr std::uint64_t key8(const char* s, std::size_t off, std::size_t len) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < len; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[off + i]) | 0x20u) << (8 * i);
  }
  return v;
}
// A header-name literal as a template argument, so that its word keys are
// computed at compile time.
template <std::size_t N>
struct Lit {
  char s[N];
  constexpr Lit(const char (&a)[N]) {  // NOLINT: implicit on purpose
    for (std::size_t i = 0; i < N; ++i) s[i] = a[i];
  }
};
// Name of length L <= 8 vs literal: the first L bytes of an 8-byte load.
template <Lit L>
inline bool eq_short(std::uint64_t w) noexcept {
  constexpr std::size_t len = sizeof(L.s) - 1;
  constexpr std::uint64_t mask = len >= 8 ? ~0ull : ((1ull << (8 * len)) - 1);
  constexpr std::uint64_t key = key8(L.s, 0, len);
  return (w & mask) == key;
}
// Name of length 8 < L <= 16: first and last 8 bytes.
template <Lit L>
inline bool eq_mid(std::uint64_t w0, std::uint64_t w1) noexcept {
  constexpr std::size_t len = sizeof(L.s) - 1;
  constexpr std::uint64_t k0 = key8(L.s, 0, 8);
  constexpr std::uint64_t k1 = key8(L.s, len - 8, 8);
  return w0 == k0 && w1 == k1;
}
// Name of length 19: bytes 0-7, 8-15 and 11-18.
template <Lit L>
inline bool eq_19(std::uint64_t w0, std::uint64_t wm, std::uint64_t w1) noexcept {
  constexpr std::uint64_t k0 = key8(L.s, 0, 8);
  constexpr std::uint64_t km = key8(L.s, 8, 8);
  constexpr std::uint64_t k1 = key8(L.s, 11, 8);
  return w0 == k0 && wm == km && w1 == k1;
}

constexpr std::array<std::string_view, static_cast<std::size_t>(HeaderId::count_)> kHeaderNames = {
    "",
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Content-Encoding",
    "Subject",
    "Supported",
    "Event",
    "Refer-To",
    "Allow-Events",
    "Referred-By",
    "Session-Expires",
    "Identity",
    "Accept-Contact",
    "Reject-Contact",
    "Request-Disposition",
    "P-Asserted-Identity",
    "Remote-Party-ID",
    "Diversion",
    "History-Info",
    "User-Agent",
    "Route",
    "Record-Route",
    "Require",
    "Proxy-Require",
    "Expires",
};

constexpr std::array<std::string_view, 15> kMethodNames = {
    "",          "INVITE", "ACK",     "BYE",  "CANCEL", "OPTIONS", "REGISTER", "PRACK",
    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER",  "MESSAGE", "UPDATE",
};

HeaderId compact(char c) noexcept {
  switch (c) {
    case 'a':
      return HeaderId::accept_contact;  // RFC 3841
    case 'b':
      return HeaderId::referred_by;  // RFC 3892
    case 'c':
      return HeaderId::content_type;
    case 'd':
      return HeaderId::request_disposition;  // RFC 3841
    case 'e':
      return HeaderId::content_encoding;
    case 'f':
      return HeaderId::from;
    case 'i':
      return HeaderId::call_id;
    case 'j':
      return HeaderId::reject_contact;  // RFC 3841
    case 'k':
      return HeaderId::supported;
    case 'l':
      return HeaderId::content_length;
    case 'm':
      return HeaderId::contact;
    case 'o':
      return HeaderId::event;  // RFC 6665
    case 'r':
      return HeaderId::refer_to;  // RFC 3515
    case 's':
      return HeaderId::subject;
    case 't':
      return HeaderId::to;
    case 'u':
      return HeaderId::allow_events;  // RFC 6665
    case 'v':
      return HeaderId::via;
    case 'x':
      return HeaderId::session_expires;  // RFC 4028
    case 'y':
      return HeaderId::identity;  // RFC 8224
    default:
      return HeaderId::other;
  }
}

}  // namespace

HeaderId header_id(std::string_view n) noexcept {
  if (n.empty()) return HeaderId::other;
  const char c = lower(n[0]);
  switch (n.size()) {
    case 1:
      return compact(c);
    case 2:
      if (c == 't' && eq_rest(n, "to")) return HeaderId::to;
      break;
    case 3:
      if (c == 'v' && eq_rest(n, "via")) return HeaderId::via;
      break;
    case 4:
      if (c == 'f' && eq_rest(n, "from")) return HeaderId::from;
      if (c == 'c' && eq_rest(n, "cseq")) return HeaderId::cseq;
      break;
    case 5:
      if (c == 'r' && eq_rest(n, "route")) return HeaderId::route;
      if (c == 'e' && eq_rest(n, "event")) return HeaderId::event;
      break;
    case 7:
      switch (c) {
        case 'c':
          if (eq_rest(n, "call-id")) return HeaderId::call_id;
          if (eq_rest(n, "contact")) return HeaderId::contact;
          break;
        case 's':
          if (eq_rest(n, "subject")) return HeaderId::subject;
          break;
        case 'r':
          if (eq_rest(n, "require")) return HeaderId::require;
          break;
        case 'e':
          if (eq_rest(n, "expires")) return HeaderId::expires;
          break;
        default:
          break;
      }
      break;
    case 8:
      if (c == 'r' && eq_rest(n, "refer-to")) return HeaderId::refer_to;
      if (c == 'i' && eq_rest(n, "identity")) return HeaderId::identity;
      break;
    case 9:
      if (c == 'd' && eq_rest(n, "diversion")) return HeaderId::diversion;
      if (c == 's' && eq_rest(n, "supported")) return HeaderId::supported;
      break;
    case 10:
      if (c == 'u' && eq_rest(n, "user-agent")) return HeaderId::user_agent;
      break;
    case 11:
      if (c == 'r' && eq_rest(n, "referred-by")) return HeaderId::referred_by;
      break;
    case 12:
      switch (c) {
        case 'm':
          if (eq_rest(n, "max-forwards")) return HeaderId::max_forwards;
          break;
        case 'c':
          if (eq_rest(n, "content-type")) return HeaderId::content_type;
          break;
        case 'a':
          if (eq_rest(n, "allow-events")) return HeaderId::allow_events;
          break;
        case 'h':
          if (eq_rest(n, "history-info")) return HeaderId::history_info;
          break;
        case 'r':
          if (eq_rest(n, "record-route")) return HeaderId::record_route;
          break;
        default:
          break;
      }
      break;
    case 13:
      if (c == 'p' && eq_rest(n, "proxy-require")) return HeaderId::proxy_require;
      break;
    case 14:
      if (c == 'c' && eq_rest(n, "content-length")) return HeaderId::content_length;
      if (c == 'a' && eq_rest(n, "accept-contact")) return HeaderId::accept_contact;
      if (c == 'r' && eq_rest(n, "reject-contact")) return HeaderId::reject_contact;
      break;
    case 15:
      if (c == 'r' && eq_rest(n, "remote-party-id")) return HeaderId::remote_party_id;
      if (c == 's' && eq_rest(n, "session-expires")) return HeaderId::session_expires;
      break;
    case 16:
      if (c == 'c' && eq_rest(n, "content-encoding")) return HeaderId::content_encoding;
      break;
    case 19:
      if (c == 'p' && eq_rest(n, "p-asserted-identity")) return HeaderId::p_asserted_identity;
      if (c == 'r' && eq_rest(n, "request-disposition")) return HeaderId::request_disposition;
      break;
    default:
      break;
  }
  return HeaderId::other;
}

HeaderId detail::header_id_token(const char* n, std::size_t len, const char* limit) noexcept {
  // Word loads need 8 readable bytes from the name (or from its last 8).
  if (len == 1 || len > 19 || limit - n < 8) return header_id(std::string_view(n, len));
  if (len <= 8) {
    const std::uint64_t w = load8(n);
    switch (len) {
      case 2:
        if (eq_short<"to">(w)) return HeaderId::to;
        break;
      case 3:
        if (eq_short<"via">(w)) return HeaderId::via;
        break;
      case 4:
        if (eq_short<"from">(w)) return HeaderId::from;
        if (eq_short<"cseq">(w)) return HeaderId::cseq;
        break;
      case 5:
        if (eq_short<"route">(w)) return HeaderId::route;
        if (eq_short<"event">(w)) return HeaderId::event;
        break;
      case 7:
        if (eq_short<"call-id">(w)) return HeaderId::call_id;
        if (eq_short<"contact">(w)) return HeaderId::contact;
        if (eq_short<"subject">(w)) return HeaderId::subject;
        if (eq_short<"require">(w)) return HeaderId::require;
        if (eq_short<"expires">(w)) return HeaderId::expires;
        break;
      case 8:
        if (eq_short<"refer-to">(w)) return HeaderId::refer_to;
        if (eq_short<"identity">(w)) return HeaderId::identity;
        break;
      default:
        break;
    }
    return HeaderId::other;
  }
  const std::uint64_t w0 = load8(n);
  const std::uint64_t w1 = load8(n + len - 8);
  switch (len) {
    case 9:
      if (eq_mid<"diversion">(w0, w1)) return HeaderId::diversion;
      if (eq_mid<"supported">(w0, w1)) return HeaderId::supported;
      break;
    case 10:
      if (eq_mid<"user-agent">(w0, w1)) return HeaderId::user_agent;
      break;
    case 11:
      if (eq_mid<"referred-by">(w0, w1)) return HeaderId::referred_by;
      break;
    case 12:
      if (eq_mid<"max-forwards">(w0, w1)) return HeaderId::max_forwards;
      if (eq_mid<"content-type">(w0, w1)) return HeaderId::content_type;
      if (eq_mid<"allow-events">(w0, w1)) return HeaderId::allow_events;
      if (eq_mid<"history-info">(w0, w1)) return HeaderId::history_info;
      if (eq_mid<"record-route">(w0, w1)) return HeaderId::record_route;
      break;
    case 13:
      if (eq_mid<"proxy-require">(w0, w1)) return HeaderId::proxy_require;
      break;
    case 14:
      if (eq_mid<"content-length">(w0, w1)) return HeaderId::content_length;
      if (eq_mid<"accept-contact">(w0, w1)) return HeaderId::accept_contact;
      if (eq_mid<"reject-contact">(w0, w1)) return HeaderId::reject_contact;
      break;
    case 15:
      if (eq_mid<"remote-party-id">(w0, w1)) return HeaderId::remote_party_id;
      if (eq_mid<"session-expires">(w0, w1)) return HeaderId::session_expires;
      break;
    case 16:
      if (eq_mid<"content-encoding">(w0, w1)) return HeaderId::content_encoding;
      break;
    case 19: {
      const std::uint64_t wm = load8(n + 8);
      if (eq_19<"p-asserted-identity">(w0, wm, w1)) return HeaderId::p_asserted_identity;
      if (eq_19<"request-disposition">(w0, wm, w1)) return HeaderId::request_disposition;
      break;
    }
    default:
      break;
  }
  return HeaderId::other;
}

std::string_view to_string(HeaderId id) noexcept {
  const auto i = static_cast<std::size_t>(id);
  return i < kHeaderNames.size() ? kHeaderNames[i] : std::string_view();
}

std::string_view to_string(Method m) noexcept {
  const auto i = static_cast<std::size_t>(m);
  return i < kMethodNames.size() ? kMethodNames[i] : std::string_view();
}

// Methods are case-sensitive (RFC 3261 §7.1): "invite" is an unknown method.
Method detail::method_from_text(std::string_view t) noexcept {
  switch (t.size()) {
    case 3:
      if (t == "ACK") return Method::ack;
      if (t == "BYE") return Method::bye;
      break;
    case 4:
      if (t == "INFO") return Method::info;
      break;
    case 5:
      if (t == "PRACK") return Method::prack;
      if (t == "REFER") return Method::refer;
      break;
    case 6:
      if (t == "INVITE") return Method::invite;
      if (t == "CANCEL") return Method::cancel;
      if (t == "NOTIFY") return Method::notify;
      if (t == "UPDATE") return Method::update;
      break;
    case 7:
      if (t == "OPTIONS") return Method::options;
      if (t == "PUBLISH") return Method::publish;
      if (t == "MESSAGE") return Method::message;
      break;
    case 8:
      if (t == "REGISTER") return Method::register_;
      break;
    case 9:
      if (t == "SUBSCRIBE") return Method::subscribe;
      break;
    default:
      break;
  }
  return Method::unknown;
}

}  // namespace sipwall::sip
