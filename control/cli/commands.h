// Each sipwallctl command registers itself on the CLI11 app; the callback
// stores its exit status in `rc`.
#pragma once

namespace CLI {
class App;
}

namespace sipwall::cli {

void add_parse_command(CLI::App& app, int& rc);
void add_rules_command(CLI::App& app, int& rc);
// status, stats, trace, and rules reload|rollback|history (cmd_live.cpp);
// call after add_rules_command.
void add_live_commands(CLI::App& app, int& rc);
// rules lookup (cmd_lookup.cpp); call after add_rules_command.
void add_lookup_command(CLI::App& app, int& rc);
// capture (cmd_capture.cpp): packets of matching calls into a pcapng file.
void add_capture_command(CLI::App& app, int& rc);
// fleet publish|status (cmd_fleet.cpp, docs/fleet.md).
void add_fleet_command(CLI::App& app, int& rc);
// calls (cmd_calls.cpp): the call records sipwall-control keeps.
void add_calls_command(CLI::App& app, int& rc);

}  // namespace sipwall::cli
