// Loading a YAML rule set (and the number-list files it references) into the
// rule model, validating everything on the way. Every problem is reported as a
// Diagnostic "file:line:col: message"; loading goes on after an error so that
// one run shows all of them. The schema is docs/rules.md.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"

namespace sipwall::rules {

struct LoadOptions {
  // Append the analysis warnings (shadowed rules, unused lists) when the set
  // loads without errors.
  bool analyze = true;
  // Bad lines reported per list file before the rest are only counted.
  std::size_t max_errors_per_list_file = 20;
  // Where relative list-file paths resolve (default: the rule file's
  // folder). Lets ops stage a new rule file anywhere and read it with the
  // live lists: `sipwallctl rules diff --lists-from DIR`.
  std::optional<std::filesystem::path> list_base;
};

struct LoadResult {
  std::optional<RuleSet> rule_set;      // set if and only if there is no error
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file and line order

  bool ok() const noexcept { return rule_set.has_value(); }
};

// Reads `path`; list files are resolved relative to its directory.
LoadResult load_rule_set(const std::filesystem::path& path, const LoadOptions& options = {});

// The same for YAML text held in memory; `path` names it in messages and is
// the base for relative list-file paths (the file itself is not read).
LoadResult load_rule_set_from_string(std::string_view yaml, const std::filesystem::path& path,
                                     const LoadOptions& options = {});

}  // namespace sipwall::rules
