// Replies of the control protocol (version 1): one JSON object per line with
// "ok" and "v"; a failure has "error", a sentence for people.
//
// Serialising never throws: a string that is not UTF-8 (a path, a rule-set
// name, anything that came from outside) is written with U+FFFD in place of
// its bad bytes instead of aborting the process (nlohmann's default).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sipwall::protocol {

inline constexpr int kVersion = 1;

// {"ok":false,"v":1,"error":message}. `message` is used as given: echo
// outside bytes through printable() (echo.h) before putting them in it.
nlohmann::json error_json(std::string_view message);

// `j` as one line (no newline), bad UTF-8 replaced, never throws except
// std::bad_alloc.
std::string dump_line(const nlohmann::json& j);

// error_json(message) as one line.
std::string error_line(std::string_view message);

// What a JSON value is, for error messages: `a string ("abc")`, `null`,
// `an array`, `an object`, `a boolean (true)`, `a number (1.5)`, `-3`.
// Bounded and printable whatever the value holds.
std::string describe(const nlohmann::json& value);

}  // namespace sipwall::protocol
