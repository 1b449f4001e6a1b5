// Actions (pass, drop, reject, tag, trace) and the defaults section.
#include <algorithm>
#include <array>

#include "rules/loader/loader_internal.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 3> kRejectKeys = {"code", "reason", "call_info"};
constexpr std::array<std::string_view, 5> kTagKeys = {"header", "value", "score", "label", "verstat"};
constexpr std::array<std::string_view, 2> kDefaultsKeys = {"action", "malformed"};
constexpr std::array<std::string_view, 2> kMalformed = {"fail_open", "fail_closed"};  // as MalformedPolicy

constexpr std::size_t kMaxReason = 128;
constexpr std::size_t kMaxCallInfo = 512;
constexpr std::size_t kMaxTagValue = 256;

// Headers a tag may not add: a second copy would change routing, identity or
// framing of the message.
constexpr std::array<std::string_view, 14> kProtectedHeaders = {"via",
                                                                "from",
                                                                "to",
                                                                "call-id",
                                                                "cseq",
                                                                "contact",
                                                                "content-length",
                                                                "content-type",
                                                                "max-forwards",
                                                                "route",
                                                                "record-route",
                                                                "p-asserted-identity",
                                                                "diversion",
                                                                "request-uri"};

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// First control character (CR, LF, ...) in `s`, or npos: such text would
// break the SIP message it is written into.
std::size_t control_char(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<Action> Loader::read_action(const Entry& e, bool defaults) {
  const std::size_t errors_before = error_count();
  Action a;
  a.where = e.value_at;
  std::string kind_name;
  YAML::Node params;
  SourceLocation kind_at = e.value_at, params_at = e.value_at;
  if (e.value.IsScalar()) {
    kind_name = e.value.Scalar();
  } else if (e.value.IsMap()) {
    if (e.value.size() != 1) {
      error(e.value_at, "an action is exactly one of pass, drop, reject, tag, trace; got " +
                            std::to_string(e.value.size()) + " keys");
      return std::nullopt;
    }
    const auto it = e.value.begin();
    const YAML::Node key = it->first;
    params = it->second;
    kind_at = at(key, e.value_at);
    params_at = at(params, kind_at);
    if (!key.IsScalar()) {
      error(kind_at, "an action name must be one of pass, drop, reject, tag, trace");
      return std::nullopt;
    }
    kind_name = key.Scalar();
  } else {
    error(e.value_at, "'" + e.key + "' must be an action (pass, drop, reject, tag, trace), got " + describe(e.value));
    return std::nullopt;
  }

  const auto named = std::find(kActionNames.begin(), kActionNames.end(), kind_name);
  if (named == kActionNames.end()) {
    std::string msg = "unknown action " + text::quote(kind_name);
    if (const std::string near = closest(kind_name, kActionNames); !near.empty()) {
      msg += "; did you mean '" + near + "'?";
    }
    error(kind_at, msg + " (actions: " + join_names(kActionNames) + ")");
    return std::nullopt;
  }
  a.kind = static_cast<ActionKind>(named - kActionNames.begin());
  if (defaults && (a.kind == ActionKind::tag || a.kind == ActionKind::trace)) {
    error(kind_at, "the default action must be pass, drop or reject, got " + text::quote(kind_name));
    return std::nullopt;
  }
  const bool has_params = params.IsDefined() && !params.IsNull();

  switch (a.kind) {
    case ActionKind::pass:
    case ActionKind::drop:
    case ActionKind::trace:
      if (has_params && !(params.IsMap() && params.size() == 0)) {
        error(params_at, text::quote(kind_name) + " takes no parameters, got " + describe(params));
      }
      break;
    case ActionKind::reject: {
      a.reject_code = 603;
      std::optional<std::vector<Entry>> pe;
      if (has_params) {
        pe = map_entries(params, params_at, "reject", kRejectKeys);
        if (!pe) break;
      }
      if (const Entry* c = pe ? find(*pe, "code") : nullptr) {
        if (c->value.IsScalar() && c->value.Scalar() != "603" && c->value.Scalar() != "608") {
          error(c->value_at, "reject 'code' must be 603 (Decline) or 608 (Rejected), got " + c->value.Scalar());
        } else if (auto v = integer(*c, 603, 608)) {
          a.reject_code = static_cast<std::uint16_t>(*v);
        }
      }
      a.reason_text = a.reject_code == 608 ? "Rejected" : "Decline";
      if (const Entry* r = pe ? find(*pe, "reason") : nullptr) {
        if (auto v = scalar(*r, "a reason text")) {
          if (v->empty() || v->size() > kMaxReason) {
            error(r->value_at, "'reason' must be 1.." + std::to_string(kMaxReason) + " characters");
          } else if (control_char(*v) != std::string::npos || v->find('"') != std::string::npos ||
                     v->find('\\') != std::string::npos) {
            error(r->value_at, "'reason' must not contain control characters, '\"' or '\\'");
          } else {
            a.reason_text = *v;
          }
        }
      }
      if (const Entry* ci = pe ? find(*pe, "call_info") : nullptr) {
        if (auto v = scalar(*ci, "a URI")) {
          const std::size_t colon = v->find(':');
          bool uri = colon != std::string::npos && colon > 0 && v->size() <= kMaxCallInfo;
          for (std::size_t i = 0; uri && i < colon; ++i) {
            const char c = (*v)[i];
            uri = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
          }
          for (char c : *v) {
            uri = uri && static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"';
          }
          if (a.reject_code != 608) {
            error(ci->key_at, "'call_info' is only for reject code 608 (RFC 8688)");
          } else if (!uri) {
            error(ci->value_at,
                  "'call_info' must be an absolute URI without spaces or <>, e.g. "
                  "https://example.net/608.jwt, got " +
                      text::quote(*v));
          } else {
            a.call_info = *v;
          }
        }
      }
      break;
    }
    case ActionKind::tag: {
      if (!has_params) {
        error(kind_at, "'tag' needs a score: write  action: {tag: {score: 80}}");
        break;
      }
      const auto pe = map_entries(params, params_at, "tag", kTagKeys);
      if (!pe) break;
      a.tag_header = "X-Sipwall-Risk";
      a.tag_value = "score={score}; rule={rule}";
      if (const Entry* h = find(*pe, "header")) {
        if (auto v = scalar(*h, "a header name")) {
          bool token = !v->empty() && v->size() <= 64;
          for (char c : *v) token = token && is_token_char(c);
          const std::string l = lower(*v);
          if (!token) {
            error(h->value_at, "tag 'header' must be a header name (letters, digits, '-'), got " + text::quote(*v));
          } else if (v->size() == 1 ||
                     std::find(kProtectedHeaders.begin(), kProtectedHeaders.end(), l) != kProtectedHeaders.end()) {
            error(h->value_at,
                  "tag 'header' '" + *v + "' would change how the call is routed or identified; use an X- header");
          } else {
            a.tag_header = *v;
          }
        }
      }
      if (const Entry* val = find(*pe, "value")) {
        if (auto v = scalar(*val, "a text")) {
          bool ok = true;
          if (v->size() > kMaxTagValue || control_char(*v) != std::string::npos) {
            error(val->value_at,
                  "tag 'value' must be at most " + std::to_string(kMaxTagValue) + " characters, no control characters");
            ok = false;
          }
          for (std::size_t pos = v->find('{'); ok && pos != std::string::npos; pos = v->find('{', pos + 1)) {
            const std::size_t close = v->find('}', pos);
            const std::string name = close == std::string::npos ? "" : v->substr(pos, close - pos + 1);
            if (name != "{rule}" && name != "{score}") {
              error(val->value_at, "tag 'value' has an unknown placeholder '" + (name.empty() ? v->substr(pos) : name) +
                                       "' (placeholders: {rule}, {score})");
              ok = false;
            }
          }
          if (v->find('}') != std::string::npos && v->find('{') == std::string::npos) {
            error(val->value_at, "tag 'value' has a '}' without '{'");
            ok = false;
          }
          if (ok) a.tag_value = *v;
        }
      }
      if (const Entry* s = require(*pe, "score", params_at, "tag")) {
        if (auto v = integer(*s, 0, 100)) a.score = static_cast<std::int32_t>(*v);
      }
      if (const Entry* l = find(*pe, "label")) read_tag_label(*l, a);
      if (const Entry* vs = find(*pe, "verstat")) read_tag_verstat(*vs, a);
      break;
    }
  }
  if (error_count() != errors_before) return std::nullopt;
  return a;
}

// The label goes inside a quoted display name as written: the checks of
// tag_label_ok() (rules/model/tag_marks.h), one message each.
void Loader::read_tag_label(const Entry& e, Action& a) {
  const auto v = scalar(e, "a text");
  if (!v) return;
  if (v->empty() || v->size() > kMaxTagLabelBytes) {
    error(e.value_at,
          "tag 'label' must be 1.." + std::to_string(kMaxTagLabelBytes) + " bytes, got " + std::to_string(v->size()));
  } else if (!text::is_printable(*v)) {
    error(e.value_at, "tag 'label' must be UTF-8 text without control characters, got " + text::quote(*v));
  } else if (v->find_first_of("\"\\") != std::string::npos) {
    error(e.value_at,
          "tag 'label' must not contain '\"' or '\\' (it goes inside a quoted display name), got " + text::quote(*v));
  } else if (v->front() == ' ' || v->back() == ' ') {
    error(e.value_at, "tag 'label' must not start or end with a space (one is added after it), got " + text::quote(*v));
  } else {
    a.tag_label = *v;
  }
}

void Loader::read_tag_verstat(const Entry& e, Action& a) {
  const auto v = scalar(e, "a verstat value");
  if (!v) return;
  if (const Verstat vs = verstat_from_text(*v); vs != Verstat::none) {
    a.tag_verstat = vs;
    return;
  }
  std::string msg = "tag 'verstat' must be one of TN-Validation-Passed, TN-Validation-Failed, No-TN-Validation, got " +
                    text::quote(*v);
  if (const std::string near = closest(*v, kVerstatValues); !near.empty()) msg += "; did you mean '" + near + "'?";
  error(e.value_at, msg);
}

void Loader::read_defaults(const Entry& e) {
  const auto entries = map_entries(e.value, e.value_at, "defaults", kDefaultsKeys);
  Defaults& d = rs_.defaults;
  d.where = e.key_at;
  d.action.where = e.key_at;
  if (!entries) return;
  if (const Entry* a = find(*entries, "action")) {
    if (auto act = read_action(*a, true)) d.action = *act;
  }
  if (const Entry* m = find(*entries, "malformed")) {
    if (auto i = word(*m, kMalformed))
      d.malformed = *i == 0 ? MalformedPolicy::fail_open : MalformedPolicy::fail_closed;
  }
}

}  // namespace sipwall::rules::loader
