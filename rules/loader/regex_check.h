// Validates a pattern the way the compiler will compile it (Hyperscan, block
// mode, HS_FLAG_SINGLEMATCH), so a bad pattern is reported at its place in
// the YAML instead of failing the whole database later.
#pragma once

#include <string>
#include <string_view>

namespace sipwall::rules::loader {

// Empty if Hyperscan accepts `pattern`; else Hyperscan's message.
std::string check_regex(std::string_view pattern);

}  // namespace sipwall::rules::loader
