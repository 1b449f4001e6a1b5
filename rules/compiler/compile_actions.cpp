// Actions -> pre-rendered header lines; guard rails -> emergency keys and
// allow-list references.
#include <algorithm>

#include "rules/compiler/compiler_internal.h"
#include "rules/number/e164_key.h"
#include "rules/number/normalize.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::compiler {

namespace {

// Text that goes into a SIP header must not break the header (CR, LF, other
// controls): that would let a rule file inject headers.
bool header_safe(std::string_view s) noexcept {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t') return false;
    if (c == 0x7F) return false;
  }
  return true;
}

bool token(std::string_view s) noexcept {  // RFC 3261 token, for header names
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-.!%*_+`'~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string substitute(std::string_view tmpl, std::string_view rule_id, std::int32_t score) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i, 6) == "{rule}") {
      out += rule_id;
      i += 6;
    } else if (tmpl.substr(i, 7) == "{score}") {
      out += std::to_string(score);
      i += 7;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

}  // namespace

std::uint32_t compile_action(Builder& b, const Action& a, std::string_view rule_id) {
  ActionInfo ai;
  ai.kind = a.kind;
  ai.score = a.score;
  ai.reason_text = b.str(a.reason_text);
  switch (a.kind) {
    case ActionKind::pass:
    case ActionKind::drop:
    case ActionKind::trace:
      break;
    case ActionKind::reject: {
      if (a.reject_code != 603 && a.reject_code != 608) {
        b.error(a.where, "reject code " + std::to_string(a.reject_code) + " is not 603 or 608");
      }
      ai.reject_code = a.reject_code;
      ai.phrase = b.str(a.reject_code == 608 ? "Rejected" : "Decline");
      if (!header_safe(a.reason_text)) {
        b.error(a.where, "reason text holds a control character (CR/LF would break the response)");
      } else if (!a.reason_text.empty()) {
        ai.reason_line = b.str("Reason: SIP;cause=" + std::to_string(a.reject_code) + ";text=" + quoted(a.reason_text));
      }
      if (!a.call_info.empty()) {
        if (a.reject_code != 608) {
          b.error(a.where, "call_info is only sent with 608 (RFC 8688)");
        } else if (!header_safe(a.call_info)) {
          b.error(a.where, "call_info holds a control character");
        } else if (a.call_info.front() == '<') {
          ai.call_info_line = b.str("Call-Info: " + a.call_info);
        } else {
          ai.call_info_line = b.str("Call-Info: <" + a.call_info + ">;purpose=jwscard");
        }
      }
      break;
    }
    case ActionKind::tag: {
      if (!token(a.tag_header)) {
        b.error(a.where, "tag header '" + a.tag_header + "' is not a header name");
      }
      const std::string value = substitute(a.tag_value, rule_id, a.score);
      if (!header_safe(value)) {
        b.error(a.where, "tag value holds a control character (CR/LF would break the message)");
      }
      ai.tag_line = b.str(a.tag_header + ": " + value);
      if (!a.tag_label.empty() && !tag_label_ok(a.tag_label)) {
        b.error(a.where, "tag label must be short UTF-8 text without control characters, '\"' or '\\'");
      }
      ai.tag_label = b.str(a.tag_label);
      ai.tag_verstat = a.tag_verstat;
      break;
    }
  }
  b.d.actions.push_back(ai);
  return static_cast<std::uint32_t>(b.d.actions.size() - 1);
}

void compile_guard_rails(Builder& b) {
  const GuardRails& g = b.rs.guard_rails;
  CompiledRuleSetData& d = b.d;
  for (const std::string& e : g.emergency) {
    // Both the digits as written ("110") and what the plan makes of them, so
    // the rail holds whichever way the call spells the number.
    const std::string digits = digits_of(e);
    const number::Number n = number::normalize_written(e, b.rs.dial_plan);
    bool any = false;
    if (!digits.empty()) {
      d.emergency.push_back(number::pack(digits));
      any = true;
    }
    if (n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code) {
      d.emergency.push_back(n.key);
      any = true;
    }
    if (!any) b.error(g.where, "emergency number '" + e + "' is not a number");
  }
  std::sort(d.emergency.begin(), d.emergency.end());
  d.emergency.erase(std::unique(d.emergency.begin(), d.emergency.end()), d.emergency.end());

  auto refs = [&](const std::vector<std::string>& names, std::vector<ListRef>& out, const char* what) {
    for (const std::string& name : names) {
      const auto it = b.named_list.find(name);
      if (it == b.named_list.end()) {
        b.error(g.where, std::string(what) + ": unknown list " + text::quote(name));
        continue;
      }
      const ListInfo& li = d.lists[it->second];
      ListRef r;
      r.space = li.space;
      r.bit = li.bit;
      out.push_back(r);
    }
  };
  refs(g.allow_callers, d.allow_callers, "allow_callers");
  refs(g.allow_callees, d.allow_callees, "allow_callees");
}

}  // namespace sipwall::rules::compiler
