#include "rules/model/diagnostic.h"

#include <algorithm>
#include <ostream>

#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules {

std::string format(const Diagnostic& d) {
  std::string out = to_string(d.where);
  out += ": ";
  if (d.severity == Severity::warning) out += "warning: ";
  out += d.message;
  // Messages quote what they take from a file through text::quoted already;
  // whatever slipped through, what is printed is one line of valid UTF-8 of
  // bounded length (rules/text/safe_text.h), and what is escaped already is
  // not escaped twice.
  return text::is_printable(out) ? text::capped(out, kMaxMessageBytes) : text::printable(out, kMaxMessageBytes);
}

std::ostream& operator<<(std::ostream& os, const Diagnostic& d) {
  return os << format(d);
}

std::size_t count_errors(const std::vector<Diagnostic>& ds) noexcept {
  return static_cast<std::size_t>(
      std::count_if(ds.begin(), ds.end(), [](const Diagnostic& d) { return d.severity == Severity::error; }));
}

std::size_t count_warnings(const std::vector<Diagnostic>& ds) noexcept {
  return ds.size() - count_errors(ds);
}

}  // namespace sipwall::rules
