#include "dataplane/protocol/request.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "dataplane/protocol/echo.h"
#include "dataplane/protocol/reply.h"

namespace sipwall::protocol {
namespace {

using nlohmann::json;

// How much of a JSON parser's message is kept (it quotes the bytes it read).
constexpr std::size_t kParserMessageMax = 300;

ParsedRequest fail(std::string message) {
  return ParsedRequest{std::nullopt, std::move(message)};
}

std::string quoted(std::string_view name) {
  return "\"" + std::string(name) + "\"";
}

std::string command_list(const ProtocolSpec& spec) {
  std::string s;
  for (const CommandSpec& c : spec.commands) s += (s.empty() ? "" : ", ") + std::string(c.name);
  return s;
}

const CommandSpec* find_command(const ProtocolSpec& spec, std::string_view name) {
  for (const CommandSpec& c : spec.commands)
    if (c.name == name) return &c;
  return nullptr;
}

std::string unknown_command(const ProtocolSpec& spec, std::string_view name) {
  return "unknown command '" + printable(name) + "' (commands: " + command_list(spec) + ")";
}

const char* type_words(FieldType t) {
  return t == FieldType::count ? "a non-negative integer" : "a non-empty string";
}

// A text field's value, whatever form it came in.
std::optional<std::string> check_text(const FieldSpec& f, std::string_view v) {
  if (v.empty()) return quoted(f.name) + " must not be empty";
  if (v.size() > kMaxTextField)
    return quoted(f.name) + " is " + std::to_string(v.size()) + " bytes; at most " + std::to_string(kMaxTextField);
  if (v.find('\0') != std::string_view::npos) return quoted(f.name) + " must not contain a NUL byte";
  return std::nullopt;
}

// Decimal digits only (no sign, no space), at most 2^64-1.
std::optional<std::uint64_t> decimal(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string missing(const CommandSpec& cmd, const FieldSpec& f) {
  return std::string(cmd.name) + " needs " + quoted(f.name) + (f.type == FieldType::count ? " (an integer >= 0)" : "");
}

ParsedRequest parse_json(std::string_view line, const ProtocolSpec& spec) {
  json req;
  try {
    req = json::parse(line.begin(), line.end());
  } catch (const std::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at ...": the bracket is noise.
    if (std::size_t close = what.find("] "); what.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      what.erase(0, close + 2);
    return fail("request is not valid JSON: " + printable(what, kParserMessageMax));
  }
  if (!req.is_object())
    return fail("a request is a JSON object such as {\"v\":1,\"cmd\":\"status\"}, got " + describe(req));

  if (auto v = req.find("v"); v != req.end()) {
    if (!v->is_number_integer())
      return fail("\"v\" must be the integer " + std::to_string(kVersion) + " (the protocol version), got " +
                  describe(*v));
    bool one = v->is_number_unsigned() ? v->get<std::uint64_t>() == static_cast<std::uint64_t>(kVersion)
                                       : v->get<std::int64_t>() == kVersion;
    if (!one)
      return fail("protocol version " + v->dump() + " not supported (" + std::string(spec.speaker) + " speaks " +
                  std::to_string(kVersion) + ")");
  }
  auto c = req.find("cmd");
  if (c == req.end()) return fail("request needs \"cmd\" (commands: " + command_list(spec) + ")");
  if (!c->is_string()) return fail("\"cmd\" must be a string, got " + describe(*c));
  const std::string& name = c->get_ref<const std::string&>();
  const CommandSpec* cmd = find_command(spec, name);
  if (!cmd) return fail(unknown_command(spec, name));

  Request r;
  r.cmd = name;
  for (const FieldSpec& f : cmd->fields) {
    auto it = req.find(std::string(f.name));
    if (it == req.end()) {
      if (f.required) return fail(missing(*cmd, f));
      continue;
    }
    const json& v = *it;
    if (f.type == FieldType::count) {
      if (v.is_number_unsigned()) {
        r.counts[std::string(f.name)] = v.get<std::uint64_t>();
        continue;
      }
      return fail(quoted(f.name) + " must be " + type_words(f.type) + ", got " + describe(v));
    }
    if (!v.is_string()) return fail(quoted(f.name) + " must be " + type_words(f.type) + ", got " + describe(v));
    const std::string& s = v.get_ref<const std::string&>();
    if (auto why = check_text(f, s)) return fail(*why);
    r.texts[std::string(f.name)] = s;
  }
  return ParsedRequest{std::move(r), {}};
}

bool blank(char c) {
  return c == ' ' || c == '\t';
}

ParsedRequest parse_text(std::string_view line, const ProtocolSpec& spec) {
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  while (!line.empty() && blank(line.back())) line.remove_suffix(1);
  if (line.empty()) return fail("empty request (commands: " + command_list(spec) + ")");
  std::size_t sp = 0;
  while (sp < line.size() && !blank(line[sp])) ++sp;
  std::string_view name = line.substr(0, sp), arg = line.substr(sp);
  while (!arg.empty() && blank(arg.front())) arg.remove_prefix(1);
  const CommandSpec* cmd = find_command(spec, name);
  if (!cmd) return fail(unknown_command(spec, name));

  Request r;
  r.cmd = std::string(name);
  r.text_form = true;
  if (!arg.empty()) {
    if (cmd->fields.empty()) return fail(std::string(cmd->name) + " takes no argument, got '" + printable(arg) + "'");
    const FieldSpec& f = cmd->fields.front();
    if (f.type == FieldType::count) {
      auto v = decimal(arg);
      if (!v) return fail(quoted(f.name) + " must be " + type_words(f.type) + ", got '" + printable(arg) + "'");
      r.counts[std::string(f.name)] = *v;
    } else {
      if (auto why = check_text(f, arg)) return fail(*why);
      r.texts[std::string(f.name)] = std::string(arg);
    }
  }
  for (const FieldSpec& f : cmd->fields)
    if (f.required && !r.texts.count(f.name) && !r.counts.count(f.name)) return fail(missing(*cmd, f));
  return ParsedRequest{std::move(r), {}};
}

}  // namespace

std::optional<std::string> Request::text(std::string_view field) const {
  auto it = texts.find(field);
  if (it == texts.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint64_t> Request::count(std::string_view field) const {
  auto it = counts.find(field);
  if (it == counts.end()) return std::nullopt;
  return it->second;
}

ParsedRequest parse_request(std::string_view line, const ProtocolSpec& spec) {
  std::size_t first = 0;
  while (first < line.size() && blank(line[first])) ++first;
  try {
    if (first < line.size() && line[first] == '{') return parse_json(line, spec);
    return parse_text(line, spec);
  } catch (const std::exception& e) {
    // Only std::bad_alloc can get here (lines are bounded by the server).
    return fail(std::string("cannot read the request: ") + printable(e.what()));
  }
}

}  // namespace sipwall::protocol
