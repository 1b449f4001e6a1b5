#include "rules/loader/number_text.h"

#include <cctype>

#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::size_t kMaxShorthandDigits = 6;

bool is_visual_separator(char c) noexcept {
  return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

bool starts_with_ci(std::string_view s, std::string_view p) noexcept {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
  }
  return true;
}

struct Stripped {
  bool plus = false;
  std::string digits;
  std::string error;  // a character that is not a digit or separator
};

// Removes "tel:" and visual separators; keeps a leading '+'.
Stripped strip(std::string_view text) {
  Stripped out;
  text = trim(text);
  if (starts_with_ci(text, "tel:")) text.remove_prefix(4);
  // A tel: URI may carry parameters (";phone-context=..."); they are not digits.
  if (const auto semi = text.find(';'); semi != std::string_view::npos) text = text.substr(0, semi);
  text = trim(text);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      out.digits += c;
    } else if (c == '+' && out.digits.empty() && !out.plus) {
      out.plus = true;
    } else if (!is_visual_separator(c)) {
      out.error = "character '" + std::string(1, c) + "' is not a digit";
      return out;
    }
  }
  return out;
}

std::string lengths(const number::DialPlan& plan) {
  if (plan.min_national_length == plan.max_national_length) {
    return std::to_string(plan.min_national_length);
  }
  return std::to_string(plan.min_national_length) + ".." + std::to_string(plan.max_national_length);
}

std::string national_length_problem(std::string_view national, const number::DialPlan& plan) {
  if (national.size() < plan.min_national_length || national.size() > plan.max_national_length) {
    return "the national number " + text::quote(national) + " has " + std::to_string(national.size()) +
           " digits; the dial plan allows " + lengths(plan);
  }
  return {};
}

}  // namespace

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string explain_not_a_number(std::string_view text, const number::Number& result, const number::DialPlan& plan) {
  using number::Reason;
  const Stripped s = strip(text);
  // The national significant number as far as it can be told from the
  // writing; only used to make a length message concrete.
  auto nsn = [&]() -> std::string_view {
    std::string_view d = s.digits;
    const std::string_view cc = plan.country_code.view();
    const std::string_view intl = plan.international_prefix.view();
    const std::string_view natl = plan.national_prefix.view();
    if (!s.plus && !intl.empty() && d.starts_with(intl)) {
      d.remove_prefix(intl.size());
      return d.starts_with(cc) ? d.substr(cc.size()) : std::string_view();
    }
    if (s.plus) return d.starts_with(cc) ? d.substr(cc.size()) : std::string_view();
    if (!natl.empty() && d.starts_with(natl)) return d.substr(natl.size());
    return d;
  };
  const std::string digit_count = std::to_string(s.digits.size()) + " digits";
  switch (result.reason) {
    case Reason::none:
      break;
    case Reason::empty:
      return "it is empty";
    case Reason::not_numeric:
      return s.error.empty() ? "it is not a phone number" : s.error;
    case Reason::bad_escape:
      return "a '%' is not followed by two hex digits";
    case Reason::misplaced_plus:
      return "'+' may only come first";
    case Reason::star_or_hash:
      return "'*' or '#' make it a feature code, not a phone number";
    case Reason::no_digits:
      return "it has no digits";
    case Reason::too_short:
      return "it is too short (" + digit_count + ") for any rule of the dial plan";
    case Reason::too_long:
      return "it is too long (" + digit_count + ") for any rule of the dial plan";
    case Reason::bad_country_code:
      return "its country code would start with 0";
    case Reason::bad_national_length: {
      const std::string_view n = nsn();
      if (!n.empty()) {
        std::string why = national_length_problem(n, plan);
        if (!why.empty()) return why;
      }
      return "its national number length is outside the dial plan's " + lengths(plan);
    }
    case Reason::bad_national_number: {
      std::string allowed;
      for (int d = 0; d <= 9; ++d) {
        if (plan.national_first_digits & (1u << d)) allowed += static_cast<char>('0' + d);
      }
      const std::string_view n = nsn();
      return "the national number " + (n.empty() ? std::string() : text::quote(n) + " ") +
             "starts with a digit the dial plan does not allow (allowed: " + allowed + ")";
    }
    case Reason::unrecognised: {
      std::string why = "it has no '+'";
      const std::string_view intl = plan.international_prefix.view();
      const std::string_view natl = plan.national_prefix.view();
      if (!intl.empty()) why += ", no international prefix " + text::quote(intl);
      if (!natl.empty()) why += ", no national prefix " + text::quote(natl);
      why += ", and no local pattern of the dial plan fits it";
      return why;
    }
    case Reason::bad_context:
      return "its phone-context is neither +digits nor a domain name";
  }
  return "the dial plan cannot make an E.164 number of it (" + std::string(number::to_string(result.kind)) + ")";
}

NumberText parse_number(std::string_view text, const number::DialPlan& plan) {
  NumberText out;
  const number::Number n = number::normalize_written(text, plan);
  if (n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code) {
    out.ok = true;
    out.short_code = n.kind == number::NumberKind::short_code;
    out.digits = std::string(n.digits.view());
    return out;
  }
  out.error =
      text::quote(trim(text)) + " does not normalise under the dial plan: " + explain_not_a_number(text, n, plan);
  return out;
}

NumberText parse_prefix(std::string_view text, const number::DialPlan& plan) {
  NumberText out;
  const Stripped s = strip(text);
  if (!s.error.empty()) {
    out.error = "prefix " + text::quote(trim(text)) + ": " + s.error;
    return out;
  }
  std::string_view d = s.digits;
  std::string digits;
  const std::string_view intl = plan.international_prefix.view();
  const std::string_view natl = plan.national_prefix.view();
  if (s.plus) {
    digits = d;
  } else if (!intl.empty() && d.starts_with(intl)) {
    digits = d.substr(intl.size());
  } else if (!natl.empty() && d.starts_with(natl)) {
    digits = std::string(plan.country_code.view()) + std::string(d.substr(natl.size()));
  } else {
    // Written nationally without a prefix ("138" for China mobiles).
    digits = std::string(plan.country_code.view()) + std::string(d);
  }
  if (digits.empty()) {
    out.error = "prefix " + text::quote(trim(text)) + " has no digits after its prefix";
    return out;
  }
  if (digits.size() > number::kMaxDigits) {
    out.error = "prefix " + text::quote(trim(text)) + " is " + std::to_string(digits.size()) +
                " digits long in E.164; at most 15 are possible";
    return out;
  }
  out.ok = true;
  out.digits = std::move(digits);
  return out;
}

bool looks_like_range(std::string_view text) noexcept {
  if (text.find("..") != std::string_view::npos) return true;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '-' && (text[i - 1] == ' ' || text[i - 1] == '\t') && (text[i + 1] == ' ' || text[i + 1] == '\t')) {
      return true;
    }
  }
  return false;
}

RangeText parse_range(std::string_view text, const number::DialPlan& plan) {
  RangeText out;
  const std::string_view t = trim(text);
  std::string_view first, last;
  if (const auto dots = t.find(".."); dots != std::string_view::npos) {
    first = t.substr(0, dots);
    last = t.substr(dots + 2);
  } else {
    std::size_t sep = std::string_view::npos;
    for (std::size_t i = 1; i + 1 < t.size(); ++i) {
      if (t[i] == '-' && (t[i - 1] == ' ' || t[i - 1] == '\t') && (t[i + 1] == ' ' || t[i + 1] == '\t')) {
        if (sep != std::string_view::npos) {
          out.error = "range " + text::quote(t) + " has more than one ' - '; write 'FIRST .. LAST'";
          return out;
        }
        sep = i;
      }
    }
    if (sep == std::string_view::npos) {
      out.error = "range " + text::quote(t) + " is not 'FIRST .. LAST' (or 'FIRST - LAST')";
      return out;
    }
    first = t.substr(0, sep);
    last = t.substr(sep + 1);
  }
  first = trim(first);
  last = trim(last);
  if (first.empty() || last.empty()) {
    out.error = "range " + text::quote(t) + " needs a number on both sides";
    return out;
  }
  const NumberText a = parse_number(first, plan);
  if (!a.ok) {
    out.error = "range start " + a.error;
    return out;
  }
  if (a.short_code) {
    out.error = "range start " + text::quote(first) + " is a short code; ranges are of E.164 numbers";
    return out;
  }
  std::string b_digits;
  const Stripped lb = strip(last);
  if (lb.error.empty() && !lb.plus && !lb.digits.empty() && lb.digits.size() <= kMaxShorthandDigits &&
      lb.digits.size() < a.digits.size()) {
    // "+86 21 6000 0000 .. 9999": the end replaces the last digits of the start.
    b_digits = a.digits.substr(0, a.digits.size() - lb.digits.size()) + lb.digits;
  } else {
    const NumberText b = parse_number(last, plan);
    if (!b.ok) {
      out.error = "range end " + b.error;
      return out;
    }
    if (b.short_code) {
      out.error = "range end " + text::quote(last) + " is a short code; ranges are of E.164 numbers";
      return out;
    }
    b_digits = b.digits;
  }
  if (b_digits.size() != a.digits.size()) {
    out.error = "range " + text::quote(t) + ": start +" + a.digits + " has " + std::to_string(a.digits.size()) +
                " digits but end +" + b_digits + " has " + std::to_string(b_digits.size()) +
                "; both ends must have the same length";
    return out;
  }
  if (b_digits < a.digits) {
    out.error = "range " + text::quote(t) + ": start +" + a.digits + " is after end +" + b_digits;
    return out;
  }
  out.ok = true;
  out.range.first = a.digits;
  out.range.last = std::move(b_digits);
  return out;
}

}  // namespace sipwall::rules::loader
