// JSON output of anything that may hold bytes from outside (docs/sip-parser.md,
// "Bytes from outside in output"; the rule is in safe_text.h). nlohmann::json
// throws type_error 316 when it meets a string that is not UTF-8; dump_json()
// never does: strings and keys that are not valid UTF-8 are repaired with
// to_valid_utf8() (U+FFFD for each ill-formed subpart, the same replacement
// text output uses) and C1/bidirectional controls are escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rules/text/safe_text.h"

namespace sipwall::text {

namespace detail {

// A copy of `j` with every string value and object key made valid UTF-8.
template <typename Json>
Json repaired(const Json& j) {
  if (j.is_string()) return Json(to_valid_utf8(j.template get_ref<const std::string&>()));
  if (j.is_array()) {
    Json out = Json::array();
    for (const auto& e : j) out.push_back(repaired(e));
    return out;
  }
  if (j.is_object()) {
    Json out = Json::object();
    for (auto it = j.begin(); it != j.end(); ++it) out[to_valid_utf8(it.key())] = repaired(it.value());
    return out;
  }
  return j;
}

}  // namespace detail

// `j` serialised on one line (indent -1) or pretty (indent >= 0). Never throws
// for a string's content.
template <typename Json>
std::string dump_json(const Json& j, int indent = -1) {
  std::string out;
  try {
    out = j.dump(indent);
  } catch (const typename Json::type_error&) {
    // Only type_error 316 (invalid UTF-8) can come out of dump().
    out = detail::repaired(j).dump(indent);
  }
  escape_hidden_controls_in_json(out);
  return out;
}

}  // namespace sipwall::text
