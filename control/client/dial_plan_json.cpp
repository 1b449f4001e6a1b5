#include "control/client/dial_plan_json.h"

#include <nlohmann/json.hpp>

namespace sipwall::control {

using nlohmann::json;

json dial_plan_to_json(const number::DialPlan& p) {
  json local = json::array();
  for (unsigned i = 0; i < p.local_pattern_count; ++i)
    local.push_back(
        json{{"lead", std::string(p.local_patterns[i].lead.view())}, {"length", p.local_patterns[i].length}});
  json shorts = json::array();
  for (unsigned i = 0; i < p.short_code_count; ++i) shorts.push_back(std::string(p.short_codes[i].view()));
  std::string first;
  for (int d = 0; d < 10; ++d)
    if (p.national_first_digits & (1u << d)) first += static_cast<char>('0' + d);
  return json{{"country_code", std::string(p.country_code.view())},
              {"international_prefix", std::string(p.international_prefix.view())},
              {"national_prefix", std::string(p.national_prefix.view())},
              {"min_national_length", p.min_national_length},
              {"max_national_length", p.max_national_length},
              {"national_first_digits", first},
              {"local_patterns", local},
              {"short_codes", shorts},
              {"country_code_without_prefix", p.country_code_without_prefix}};
}

bool dial_plan_from_json(const json& j, number::DialPlan& out, std::string* why) {
  auto fail = [why](const std::string& m) {
    if (why) *why = "dial plan: " + m;
    return false;
  };
  if (!j.is_object()) return fail("not an object");
  number::DialPlan p{};
  try {
    if (!p.country_code.assign(j.at("country_code").get<std::string>())) return fail("bad country_code");
    if (!p.international_prefix.assign(j.at("international_prefix").get<std::string>()))
      return fail("bad international_prefix");
    if (!p.national_prefix.assign(j.at("national_prefix").get<std::string>())) return fail("bad national_prefix");
    p.min_national_length = j.at("min_national_length").get<std::uint8_t>();
    p.max_national_length = j.at("max_national_length").get<std::uint8_t>();
    if (!p.set_national_first_digits(j.at("national_first_digits").get<std::string>()))
      return fail("bad national_first_digits");
    for (const json& l : j.at("local_patterns"))
      if (!p.add_local_pattern(l.at("lead").get<std::string>(), l.at("length").get<unsigned>()))
        return fail("bad local pattern");
    for (const json& s : j.at("short_codes"))
      if (!p.add_short_code(s.get<std::string>())) return fail("bad short code");
    p.country_code_without_prefix = j.at("country_code_without_prefix").get<bool>();
  } catch (const json::exception& e) {
    return fail(e.what());
  }
  std::string v;
  if (!p.valid(&v)) return fail(v);
  out = p;
  return true;
}

}  // namespace sipwall::control
