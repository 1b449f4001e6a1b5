// `--format json` of the offline rules commands: diagnostics, compile
// statistics and a rule-set diff as JSON. Serialise with text::dump_json,
// which keeps the document valid whatever bytes the rule files hold.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "rules/compiler/compiler.h"
#include "rules/diff/diff.h"
#include "rules/model/diagnostic.h"

namespace sipwall::cli {

// [{"severity","file","line","column","message","text"}], text = file:line:col: message.
nlohmann::json diagnostics_json(const std::vector<rules::Diagnostic>& ds);
nlohmann::json compile_stats_json(const rules::CompileStats& s);
nlohmann::json diff_json(const rules::RuleSetDiff& d);

}  // namespace sipwall::cli
