// normalize_written: numbers as operators write them in rule files, lists and
// on the command line. Peels off what a person may wrap around a number (white
// space, <...>, tel:/sip: URIs, parameters) and hands the rest to normalize().
#include "rules/number/normalize.h"
#include "rules/number/scan.h"

namespace sipwall::number {

namespace {

std::string_view trim(std::string_view s) noexcept {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The value of ;phone-context= in a parameter list (starting at its first ';').
std::string_view phone_context_of(std::string_view params) noexcept {
  constexpr std::string_view kName = "phone-context=";
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    const std::size_t end = params.find(';');
    const std::string_view param = params.substr(0, end);
    if (detail::starts_with_nocase(param, kName)) return param.substr(kName.size());
    if (end == std::string_view::npos) break;
    params.remove_prefix(end);
  }
  return {};
}

}  // namespace

Number normalize_written(std::string_view text, const DialPlan& plan) noexcept {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') text = trim(text.substr(1, text.size() - 2));

  std::string_view body = text;
  if (detail::starts_with_nocase(text, "tel:")) {
    body = text.substr(4);
  } else if (detail::starts_with_nocase(text, "sip:") || detail::starts_with_nocase(text, "sips:")) {
    const std::string_view rest = text.substr(text.find(':') + 1);
    const std::size_t at = rest.find('@');
    if (at == std::string_view::npos) {  // sip:host names no one
      Number n;
      n.kind = NumberKind::not_a_number;
      n.reason = Reason::not_numeric;
      return n;
    }
    body = rest.substr(0, at);
  }

  const std::size_t semi = body.find(';');
  const std::string_view number = trim(body.substr(0, semi));
  const std::string_view context =
      semi == std::string_view::npos ? std::string_view{} : phone_context_of(body.substr(semi));
  return normalize(number, trim(context), plan);
}

}  // namespace sipwall::number
