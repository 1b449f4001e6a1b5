// Reading fields of JSON that came from another process (the data plane's
// replies, the store's meta files, the history): a field of the wrong type
// reads as absent, never as an exception. nlohmann's value() throws on a type
// mismatch, and one odd reply must not take sipwall-control down.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace sipwall::control {

inline const nlohmann::json* json_field(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline std::string json_str(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = json_field(j, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

inline bool json_bool(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = json_field(j, key);
  return v && v->is_boolean() && v->get<bool>();
}

// A non-negative integer (as the parser hands it over, or built by hand), else 0.
inline std::uint64_t json_u64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() > 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return 0;
}
inline std::uint64_t json_u64(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = json_field(j, key);
  return v ? json_u64(*v) : 0;
}

inline double json_num(const nlohmann::json& j, const char* key) {
  const nlohmann::json* v = json_field(j, key);
  return v && v->is_number() ? v->get<double>() : 0.0;
}

// The object (or array) at `key`, or an empty one.
inline const nlohmann::json& json_object(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json* v = json_field(j, key);
  return v && v->is_object() ? *v : empty;
}
inline const nlohmann::json& json_array(const nlohmann::json& j, const char* key) {
  static const nlohmann::json empty = nlohmann::json::array();
  const nlohmann::json* v = json_field(j, key);
  return v && v->is_array() ? *v : empty;
}

}  // namespace sipwall::control
