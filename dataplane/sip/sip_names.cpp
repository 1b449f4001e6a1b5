// Header-name and method dispatch. header_id() (any string) switches on
// length, then on the first (lower-cased) byte, and only then compares the
// rest; names the parser has validated as tokens go through the perfect hash
// of sip_header_hash.h instead (one table probe, word compares).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "dataplane/sip/sip_chars.h"
#include "dataplane/sip/sip_fields.h"
#include "dataplane/sip/sip_header_hash.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::sip {
namespace {

using detail::kHeaderNames;
using detail::lower;

// Case-insensitive compare of name[1..] against a lower-case literal (the
// first byte was already matched by the switch).
inline bool eq_rest(std::string_view name, const char* lit) noexcept {
  for (std::size_t i = 1; i < name.size(); ++i) {
    if (lower(name[i]) != lit[i]) return false;
  }
  return true;
}

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
  // Word loads need 8 readable bytes from the name. Compact forms go by byte.
  if (len == 1 || len > 19 || limit - n < 8) return header_id(std::string_view(n, len));
  return header_id_hashed(n, len);
}

std::string_view header_param(std::string_view params, std::string_view name, bool& found) noexcept {
  using namespace detail;
  found = false;
  std::size_t i = 0;
  while (i < params.size()) {
    // One parameter: up to the next ';' outside a quoted string.
    std::size_t end = i;
    bool quoted = false;
    for (; end < params.size() && (quoted || params[end] != ';'); ++end) {
      if (params[end] == '\\' && quoted) {
        ++end;
        if (end >= params.size()) break;
      } else if (params[end] == '"') {
        quoted = !quoted;
      }
    }
    std::string_view p = params.substr(i, std::min(end, params.size()) - i);
    i = end + 1;
    while (!p.empty() && is_lws(p.front())) p.remove_prefix(1);
    while (!p.empty() && is_lws(p.back())) p.remove_suffix(1);
    const std::size_t eq = p.find('=');
    std::string_view key = p.substr(0, eq), value;
    while (!key.empty() && is_lws(key.back())) key.remove_suffix(1);
    if (eq != std::string_view::npos) {
      value = p.substr(eq + 1);
      while (!value.empty() && is_lws(value.front())) value.remove_prefix(1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    }
    if (iequals(key, name)) {
      found = true;
      return value;
    }
  }
  return {};
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
