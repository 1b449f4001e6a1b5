// The incomplete-save guard: a rule file or list file caught in the middle of
// an in-place save (truncated, then written) can load as a valid set with no
// rules or an empty list. Publishing it would switch filtering off until the
// next event. Before a compiled set is published, it is compared with the
// set that runs: losing every rule, or every entry of a list whose file is
// now 0 bytes, is refused unless the file says so (`rules: []`, a list file
// with at least a comment line). docs/control.md, "Editing safely".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "control/daemon/compile_job.h"

namespace sipwall::control {

// Why `next` must not replace the set described by `running_meta` (the
// store's meta of the running artifact: "rules", "list_entries"), or nullopt.
std::optional<std::string> incomplete_save(const CompileOutput& next, const nlohmann::json& running_meta);

}  // namespace sipwall::control
