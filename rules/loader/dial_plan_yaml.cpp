// dial_plan: a preset, explicit fields, or a preset with some fields
// overridden; maps onto number::DialPlan (docs/numbers.md explains the
// fields), then DialPlan::valid() checks the whole.
#include <array>

#include "rules/loader/loader_internal.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 9> kPlanKeys = {"preset",
                                                       "country_code",
                                                       "international_prefix",
                                                       "national_prefix",
                                                       "national_number_length",
                                                       "national_number_first_digits",
                                                       "local_patterns",
                                                       "short_codes",
                                                       "country_code_without_prefix"};
constexpr std::array<std::string_view, 2> kPresets = {"china", "north_america"};
constexpr std::array<std::string_view, 2> kLocalPatternKeys = {"lead", "length"};

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

void Loader::read_dial_plan(const Entry& e) {
  const std::size_t errors_before = error_count();
  const auto entries = map_entries(e.value, e.value_at, "dial_plan", kPlanKeys);
  if (!entries) return;
  number::DialPlan plan{};
  if (const Entry* preset = find(*entries, "preset")) {
    if (auto name = scalar(*preset, "a preset name"); name && !number::DialPlan::preset(*name, &plan)) {
      std::string msg = "unknown dial plan preset " + text::quote(*name);
      if (const std::string near = closest(*name, kPresets); !near.empty()) {
        msg += "; did you mean '" + near + "'?";
      }
      error(preset->value_at, msg + " (presets: china, north_america)");
    }
  } else {
    // Without a preset the plan must say at least who it is.
    require(*entries, "country_code", e.value_at, "dial_plan (no preset)");
    require(*entries, "international_prefix", e.value_at, "dial_plan (no preset)");
    require(*entries, "national_number_length", e.value_at, "dial_plan (no preset)");
  }

  auto digits_field = [&](const char* key, number::DigitString& out, std::size_t min_len, std::size_t max_len) {
    const Entry* f = find(*entries, key);
    if (!f) return;
    // `national_prefix: ""` and `national_prefix:` both mean "none".
    std::string v;
    if (f->value.IsDefined() && !f->value.IsNull()) {
      auto s = scalar(*f, "a string of digits");
      if (!s) return;
      v = *s;
    }
    if (!all_digits(v) || v.size() < min_len || v.size() > max_len) {
      error(f->value_at, "'" + f->key + "' must be " + std::to_string(min_len) + ".." + std::to_string(max_len) +
                             " digits, got " + text::quote(v));
      return;
    }
    out.assign(v);
  };
  digits_field("country_code", plan.country_code, 1, number::kMaxCountryCodeDigits);
  digits_field("international_prefix", plan.international_prefix, 1, number::kMaxPrefixDigits);
  digits_field("national_prefix", plan.national_prefix, 0, number::kMaxPrefixDigits);

  if (const Entry* f = find(*entries, "national_number_length")) {
    const auto max = static_cast<std::int64_t>(number::kMaxDigits);
    std::optional<std::int64_t> lo, hi;
    if (f->value.IsSequence() && f->value.size() == 2) {
      lo = integer(f->value[0], at(f->value[0], f->value_at), "national_number_length", 1, max);
      hi = integer(f->value[1], at(f->value[1], f->value_at), "national_number_length", 1, max);
    } else if (f->value.IsScalar()) {
      lo = hi = integer(*f, 1, max);
    } else {
      error(f->value_at, "'national_number_length' must be [min, max] or one number, got " + describe(f->value));
    }
    if (lo && hi) {
      plan.min_national_length = static_cast<std::uint8_t>(*lo);
      plan.max_national_length = static_cast<std::uint8_t>(*hi);
    }
  }

  if (const Entry* f = find(*entries, "national_number_first_digits")) {
    if (auto v = scalar(*f, "a string of digits"); v && !plan.set_national_first_digits(*v)) {
      error(f->value_at, "'national_number_first_digits' must list digits, e.g. \"23456789\", got '" + *v + "'");
    }
  }

  if (const Entry* f = find(*entries, "country_code_without_prefix")) {
    if (auto b = boolean(*f)) plan.country_code_without_prefix = *b;
  }

  if (const Entry* f = find(*entries, "local_patterns")) {
    plan.local_pattern_count = 0;
    plan.local_patterns = {};
    if (!f->value.IsSequence()) {
      error(f->value_at, "'local_patterns' must be a list of {lead, length}, got " + describe(f->value));
    } else if (f->value.size() > number::kMaxLocalPatterns) {
      error(f->value_at, "at most " + std::to_string(number::kMaxLocalPatterns) +
                             " local_patterns are supported, got " + std::to_string(f->value.size()));
    } else {
      for (const YAML::Node& p : f->value) {
        const SourceLocation p_at = at(p, f->value_at);
        const auto pe = map_entries(p, p_at, "a local pattern", kLocalPatternKeys);
        if (!pe) continue;
        const Entry* lead = require(*pe, "lead", p_at, "a local pattern");
        const Entry* len = require(*pe, "length", p_at, "a local pattern");
        if (!lead || !len) continue;
        std::optional<std::string> lead_s = std::string();
        if (lead->value.IsDefined() && !lead->value.IsNull()) lead_s = scalar(*lead, "a string of digits");
        auto length = integer(*len, 1, static_cast<std::int64_t>(number::kMaxDigits));
        if (!lead_s || !length) continue;
        if (!plan.add_local_pattern(*lead_s, static_cast<unsigned>(*length))) {
          error(lead->value_at, "'lead' must be digits, no longer than 'length', got " + text::quote(*lead_s));
        }
      }
    }
  }

  if (const Entry* f = find(*entries, "short_codes")) {
    plan.short_code_count = 0;
    plan.short_codes = {};
    if (f->value.IsSequence() && f->value.size() == 0) {
      // An explicit empty list: the plan has no short codes.
    } else if (auto items = scalar_list(*f, "a string of digits")) {
      if (items->size() > number::kMaxShortCodes) {
        error(f->value_at, "at most " + std::to_string(number::kMaxShortCodes) + " short_codes are supported, got " +
                               std::to_string(items->size()));
      } else {
        for (const Item& it : *items) {
          if (!plan.add_short_code(it.text)) {
            error(it.at, "a short code must be 1.." + std::to_string(number::kMaxShortCodeDigits) + " digits, got " +
                             text::quote(it.text));
          }
        }
      }
    }
  }

  if (error_count() != errors_before) return;
  // Whole-plan consistency. DialPlan::valid names the YAML key first
  // ("national_number_length: ..." or "local_patterns[1]: ..."): point there.
  std::string why;
  if (!plan.valid(&why)) {
    SourceLocation where = e.key_at;
    const std::size_t end = why.find_first_of(":[");
    const std::string key = end == std::string::npos ? std::string() : why.substr(0, end);
    if (const Entry* f = find(*entries, key)) where = f->key_at;
    error(where, "dial_plan: " + why);
    return;
  }
  rs_.dial_plan = plan;
  plan_ok_ = true;
}

}  // namespace sipwall::rules::loader
