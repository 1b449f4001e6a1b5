// Request parsing for the control protocol, version 1 (docs/control-protocol.md,
// docs/control.md). Total: every line, whatever its bytes, gives either a
// request whose command and fields have been checked against the server's
// command table, or an error sentence that is printable and bounded (outside
// bytes in it are escaped and capped by printable()). Nothing throws.
//
//   {"v":1,"cmd":"load","artifact":"/x.swr"}   JSON form: "v" optional (1),
//                                               "cmd" a string, fields typed
//   load /x.swr                                 text form, for people with
//                                               socat: "cmd [argument]"
//
// Fields a command does not declare are ignored (older servers, newer clients).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipwall::protocol {

enum class FieldType {
  text,   // a non-empty string without NUL, at most kMaxTextField bytes
  count,  // an integer >= 0 (JSON integer; in the text form, decimal digits)
};

inline constexpr std::size_t kMaxTextField = 4096;  // PATH_MAX

struct FieldSpec {
  std::string_view name;
  FieldType type = FieldType::text;
  bool required = false;
};

struct CommandSpec {
  std::string_view name;
  // fields[0], if any, takes the argument of the text form.
  std::vector<FieldSpec> fields;
};

struct ProtocolSpec {
  std::string_view speaker;  // in "(<speaker> speaks 1)": "this data plane", "sipwall-control"
  std::vector<CommandSpec> commands;
};

struct Request {
  std::string cmd;
  bool text_form = false;
  std::map<std::string, std::string, std::less<>> texts;
  std::map<std::string, std::uint64_t, std::less<>> counts;

  // A declared field the request carried (checked: type, size).
  std::optional<std::string> text(std::string_view field) const;
  std::optional<std::uint64_t> count(std::string_view field) const;
};

struct ParsedRequest {
  std::optional<Request> request;  // set, or else `error` is
  std::string error;
};

ParsedRequest parse_request(std::string_view line, const ProtocolSpec& spec);

}  // namespace sipwall::protocol
