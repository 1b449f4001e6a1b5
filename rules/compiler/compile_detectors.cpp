// detectors -> d.detectors (the specs, in file order) and their names. The
// loader checked every field with its position; a hand-built model may not
// have been through it, so the compiler checks the bounds again.
#include <unordered_map>

#include "rules/compiler/compiler_internal.h"
#include "rules/detect/definition_hash.h"

namespace sipwall::rules::compiler {

void compile_detectors(Builder& b) {
  CompiledRuleSetData& d = b.d;
  if (b.rs.detectors.size() > detect::kMaxDetectors) {
    b.error(b.rs.detectors[detect::kMaxDetectors].where,
            "too many detectors: a rule set may have at most " + std::to_string(detect::kMaxDetectors));
    return;
  }
  for (const Detector& det : b.rs.detectors) {
    if (det.name.empty()) {
      b.error(det.where, "detector without a name");
      continue;
    }
    if (const char* why = detect::validate(det.spec)) {
      b.error(det.where, "detector '" + det.name + "': " + why);
      continue;
    }
    if (const auto [it, added] = b.detector_by_name.emplace(det.name, static_cast<std::uint32_t>(d.detectors.size()));
        !added) {
      b.error(det.where, "detector name '" + det.name + "' is used twice");
      continue;
    }
    detect::DetectorSpec s = det.spec;
    s.definition_hash = detect::definition_hash(s);  // whatever the model says
    d.detectors.push_back(s);
    d.detector_names.push_back(b.str(det.name));
  }
}

}  // namespace sipwall::rules::compiler
