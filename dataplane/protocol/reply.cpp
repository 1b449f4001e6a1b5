#include "dataplane/protocol/reply.h"

#include "dataplane/protocol/echo.h"
#include "rules/text/json_text.h"

namespace sipwall::protocol {

using nlohmann::json;

json error_json(std::string_view message) {
  return json{{"ok", false}, {"v", kVersion}, {"error", std::string(message)}};
}

// Never throws on bytes that are not UTF-8: the one rule (text/json_text.h).
std::string dump_line(const json& j) {
  return text::dump_json(j);
}

std::string error_line(std::string_view message) {
  return dump_line(error_json(message));
}

std::string describe(const json& value) {
  constexpr std::size_t kShown = 40;
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string (\"" + printable(value.get_ref<const std::string&>(), kShown) + "\")";
    case json::value_t::boolean:
      return value.get<bool>() ? "a boolean (true)" : "a boolean (false)";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return value.dump();
    case json::value_t::number_float:
      return "a number (" + value.dump() + ")";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "an unexpected value";
}

}  // namespace sipwall::protocol
