// "unknown command 'statu'; did you mean 'status'?" for a mistyped (sub)command,
// before CLI11 would answer "A subcommand is required" or name no command.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace sipwall::cli {

// Walks argv down the command tree. Returns a message for the first word that
// should name a subcommand and names none (empty if every word does, or the
// command line ends before such a word).
std::string unknown_command_message(CLI::App& app, int argc, const char* const* argv);

}  // namespace sipwall::cli
