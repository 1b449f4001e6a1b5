// A message about a rule set, tied to the place in a file it is about. The
// loader, the analysis and the compiler all report through this one type so
// that `sipwallctl rules check` prints them the same way:
//   rules.yaml:12:7: unknown key 'prioirty' in rule; did you mean 'priority'? ...
//   rules.yaml:30:5: warning: rule 'b' is shadowed by rule 'a' ...
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "rules/model/rule_model.h"

namespace sipwall::rules {

enum class Severity : std::uint8_t { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation where;
  std::string message;
};

// A formatted diagnostic is at most this long (then cut, saying how long).
inline constexpr std::size_t kMaxMessageBytes = 4096;

// "file:line:col: message", with "warning: " before the message of a warning;
// control bytes and invalid UTF-8 escaped (text::printable).
std::string format(const Diagnostic& d);
std::ostream& operator<<(std::ostream& os, const Diagnostic& d);

std::size_t count_errors(const std::vector<Diagnostic>& ds) noexcept;
std::size_t count_warnings(const std::vector<Diagnostic>& ds) noexcept;

}  // namespace sipwall::rules
