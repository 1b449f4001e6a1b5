// sipwall-control: watches the rule files, compiles and publishes rule sets
// to sipwall-dataplane, serves /metrics, writes the verdict trace log.
//
//   sipwall-control -c /etc/sipwall/control.yaml
//   sipwall-control -c control.yaml --check-config
//
// `--compile-worker` is internal: the daemon runs itself in that mode as a
// child process to compile a rule set in isolation (compile_job.h).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "control/daemon/compile_job.h"
#include "control/daemon/control_config.h"
#include "control/daemon/daemon.h"
#include "control/daemon/logging.h"

int main(int argc, char** argv) {
  using namespace sipwall::control;
  CLI::App app{"sipwall-control - publishes rule sets to sipwall-dataplane, serves /metrics, writes the trace log"};
  std::string config_path, log_level, worker_rules, worker_output;
  std::uint32_t worker_memory_mb = 0;
  pid_t worker_parent = 0;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "YAML configuration (see deploy/examples/control.yaml)");
  app.add_flag("--check-config", check_only, "Validate the configuration and exit (0 = OK)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off (overrides log.level)");
  app.add_option("--compile-worker", worker_rules)->group("");  // internal
  app.add_option("--output", worker_output)->group("");
  app.add_option("--memory-limit-mb", worker_memory_mb)->group("");
  app.add_option("--parent-pid", worker_parent)->group("");
  app.set_version_flag("--version", std::string("sipwall-control ") + SIPWALL_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (!worker_rules.empty()) {
    if (worker_output.empty()) {
      std::fprintf(stderr, "sipwall-control: --compile-worker needs --output\n");
      return 2;
    }
    return compile_worker_main(worker_rules, worker_output, worker_memory_mb, worker_parent);
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "sipwall-control: -c CONFIG is required (see deploy/examples/control.yaml)\n");
    return 2;
  }
  std::vector<std::string> errors;
  auto cfg = load_control_config(config_path, errors);
  if (!cfg) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 2;
  }
  if (check_only) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }
  if (!log_level.empty()) cfg->log_level = log_level;
  if (!setup_logging(cfg->log_level)) {
    std::fprintf(stderr, "sipwall-control: unknown log level '%s'\n", cfg->log_level.c_str());
    return 2;
  }
  Daemon d(std::move(*cfg), "/proc/self/exe");
  return d.run();
}
