#include "control/cli/socket_options.h"

#include <CLI/CLI.hpp>

namespace sipwall::cli {

void add_dataplane_socket(CLI::App* c, Sockets& s) {
  c->add_option("--dataplane-socket", s.dataplane, "sipwall-dataplane's control socket")
      ->envname("SIPWALL_DATAPLANE_SOCKET")
      ->capture_default_str();
}

void add_control_socket(CLI::App* c, Sockets& s) {
  c->add_option("--control-socket", s.control, "sipwall-control's socket")
      ->envname("SIPWALL_CONTROL_SOCKET")
      ->capture_default_str();
}

void add_timeout(CLI::App* c, Sockets& s, const char* what) {
  // A range a person can read ("[0.001 - 3600]"), not PositiveNumber's
  // 300-digit float.
  c->add_option("--timeout", s.timeout_s, what)->check(CLI::Range(0.001, 3600.0))->capture_default_str();
}

}  // namespace sipwall::cli
