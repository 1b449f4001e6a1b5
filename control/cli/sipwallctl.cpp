// sipwallctl: the operator CLI. Commands are hierarchical (`rules check`,
// `stats`, `trace`), each in its own cmd_*.cpp.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "control/cli/command_hint.h"
#include "control/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"sipwallctl - operate and inspect the sipwall SIP filter"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sipwallctl ") + SIPWALL_VERSION);
  int rc = 0;
  sipwall::cli::add_parse_command(app, rc);
  sipwall::cli::add_rules_command(app, rc);
  sipwall::cli::add_live_commands(app, rc);
  sipwall::cli::add_lookup_command(app, rc);
  sipwall::cli::add_capture_command(app, rc);
  sipwall::cli::add_fleet_command(app, rc);
  sipwall::cli::add_calls_command(app, rc);
  // A mistyped command gets its closest name (CLI11 alone says "A
  // subcommand is required" or that an argument was not expected).
  if (const std::string m = sipwall::cli::unknown_command_message(app, argc, argv); !m.empty()) {
    std::fprintf(stderr, "%s\n", m.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}
