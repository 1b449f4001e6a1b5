// The socket flags of the sipwallctl commands that talk to the running
// system, and the exit codes they share (docs/control.md, "Exit status").
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace sipwall::cli {

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;
constexpr const char* kDefaultDataplaneSocket = "/run/sipwall/dataplane.sock";
constexpr const char* kDefaultControlSocket = "/run/sipwall/control.sock";

struct Sockets {
  std::string dataplane = kDefaultDataplaneSocket;
  std::string control = kDefaultControlSocket;
  double timeout_s = 5;
};

void add_dataplane_socket(CLI::App* c, Sockets& s);
void add_control_socket(CLI::App* c, Sockets& s);
// --timeout in seconds, 0.001 to 3600.
void add_timeout(CLI::App* c, Sockets& s, const char* what);

}  // namespace sipwall::cli
