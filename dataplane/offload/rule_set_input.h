// The compiled rule set's deny_sources as translation input.
#pragma once

#include <vector>

#include "dataplane/offload/flow_translate.h"
#include "rules/compiled/compiled_rule_set.h"

namespace sipwall::offload {

std::vector<DenyInput> deny_inputs(const rules::CompiledRuleSet& set);

}  // namespace sipwall::offload
