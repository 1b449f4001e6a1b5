// Number-list files: plain text, one entry a line, `#` comments (whole line or
// trailing), blank lines, CRLF. Millions of lines: the file is read once
// (rules/io/file_input: a regular file of at most 1 GiB) and scanned by hand; each line goes through
// number::normalize_written and its key is pushed into a pre-sized vector; sorting and de-duplication happen once per
// list (finalize_list).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"
#include "rules/number/dial_plan.h"

namespace sipwall::rules::loader {

struct ListFileStats {
  bool readable = false;
  std::size_t lines = 0;    // lines in the file
  std::size_t entries = 0;  // entries accepted (before de-duplication)
  std::size_t errors = 0;   // lines rejected (all of them, not only those reported)
};

// Appends the entries of one file to `list` (by list.kind). Bad lines are
// reported as "<display_path>:line:col: message", at most `max_errors` of
// them, then one line with the count of the rest. A file that cannot be read
// is reported at `referenced_at` (the `file:` entry in the YAML).
ListFileStats read_list_file(const std::string& display_path, const std::filesystem::path& path, NumberList& list,
                             const number::DialPlan& plan, const SourceLocation& referenced_at, std::size_t max_errors,
                             std::vector<Diagnostic>& diags);

// Adds one entry written inline in the YAML; false (and `error`) if it is bad.
bool add_list_entry(std::string_view text, NumberList& list, const number::DialPlan& plan, std::string& error);

// Sorts and de-duplicates the list's entries; returns how many duplicates
// were dropped.
std::size_t finalize_list(NumberList& list);

}  // namespace sipwall::rules::loader
