#include "control/daemon/incomplete_guard.h"

namespace sipwall::control {

std::optional<std::string> incomplete_save(const CompileOutput& next, const nlohmann::json& running_meta) {
  // A count in the store's meta file: a non-negative integer, else 0.
  auto number = [](const nlohmann::json& v) -> std::uint64_t {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() > 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return 0;
  };
  auto count = [&](const nlohmann::json& j, const char* key) -> std::uint64_t {
    auto it = j.find(key);
    return it != j.end() ? number(*it) : 0;
  };
  if (!running_meta.is_object()) return std::nullopt;  // nothing runs: nothing to lose
  const std::uint64_t running_rules = count(running_meta, "rules");
  if (next.rules == 0 && running_rules > 0 && !next.rules_written_empty)
    return "the new rule set has no rules, the running one has " + std::to_string(running_rules) +
           " (a save in progress?); to run without rules on purpose, write 'rules: []'";
  auto lists = running_meta.find("list_entries");
  if (lists == running_meta.end() || !lists->is_object()) return std::nullopt;
  for (const std::string& e : next.empty_list_files) {
    const std::size_t tab = e.find('\t');
    const std::string name = e.substr(0, tab);
    const std::string file = tab == std::string::npos ? std::string() : e.substr(tab + 1);
    auto had = lists->find(name);
    if (had == lists->end() || number(*had) == 0) continue;
    return "list '" + name + "': " + file + " is empty (0 bytes), the running set has " + std::to_string(number(*had)) +
           " entries in it (a save in progress?); to empty a list on purpose, leave a comment line in the file";
  }
  return std::nullopt;
}

}  // namespace sipwall::control
