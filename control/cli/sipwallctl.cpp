// sipwallctl: the operator CLI. Commands are hierarchical (`rules check`,
// `stats`, `trace`), each in its own cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "control/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"sipwallctl - operate and inspect the sipwall SIP filter"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sipwallctl ") + SIPWALL_VERSION);
  int rc = 0;
  sipwall::cli::add_parse_command(app, rc);
  sipwall::cli::add_rules_command(app, rc);
  sipwall::cli::add_live_commands(app, rc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
