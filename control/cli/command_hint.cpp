#include "control/cli/command_hint.h"

#include <string_view>
#include <vector>

#include "rules/text/safe_text.h"
#include "rules/yaml/suggest.h"

namespace sipwall::cli {

std::string unknown_command_message(CLI::App& app, int argc, const char* const* argv) {
  CLI::App* level = &app;
  std::string path = app.get_name().empty() ? "sipwallctl" : app.get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word.empty() || word.front() == '-') continue;  // options: CLI11 checks them
    // The value of the option before it (`--timeout 5`), not a command.
    const std::string_view prev = i > 1 ? argv[i - 1] : "";
    if (prev.size() > 1 && prev.front() == '-' && prev.find('=') == std::string_view::npos) {
      const CLI::Option* o = level->get_option_no_throw(std::string(prev));
      if (o != nullptr && o->get_items_expected_min() > 0) continue;
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : level->get_subcommands({})) names.push_back(sub->get_name());
    if (names.empty()) return {};  // a leaf command: the rest are its arguments
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands({}))
      if (sub->check_name(std::string(word))) next = sub;
    if (next == nullptr) {
      std::string m = path + ": unknown command '" + text::printable(word, 64) + "'";
      const std::string near = yaml::closest(word, names);
      if (!near.empty()) m += "; did you mean '" + near + "'?";
      return m + " (commands: " + yaml::join_names(names, 20) + ")";
    }
    level = next;
    path += " " + next->get_name();
  }
  return {};
}

}  // namespace sipwall::cli
