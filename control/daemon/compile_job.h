// Turning the rule files into an artifact in the store's staging area:
// load + validate (rules::load_rule_set), compile (rules::compile), write
// (rules::save_artifact). sipwall-control runs this in a child process
// (`sipwall-control --compile-worker`, optionally with an address-space
// limit), so a compile that crashes or eats memory takes down the child, not
// the control process, and never the data plane. The child reports a
// CompileOutput as one JSON object on its stdout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sipwall::control {

struct CompileOutput {
  bool ok = false;      // artifact written to the requested path
  std::string failure;  // one line: why not (empty when ok)
  // Where it failed: "compile" (reading, validating or compiling the rule
  // files: the operator's to fix) or "store" (writing the artifact: the
  // appliance's disk, not the rules). Empty when ok.
  std::string stage;
  std::vector<std::string> diagnostics;  // every error and warning, "file:line:col: ..."
  std::size_t errors = 0, warnings = 0;
  std::string name, version, checksum;  // checksum: 16 hex digits
  std::vector<std::string> files;       // the rule file and every list file it read
  nlohmann::json dial_plan;             // control/client/dial_plan_json.h
  std::size_t rules = 0, lists = 0;
  // What the incomplete-save guard (incomplete_guard.h) compares with the
  // running set: rules: [] written out, entries per named list, and list
  // files that were empty (0 bytes) when read, as "list-name\tpath".
  bool rules_written_empty = false;
  std::map<std::string, std::uint64_t> list_entries;
  std::vector<std::string> empty_list_files;
  std::uint64_t bytes = 0;  // artifact size
  double load_s = 0, compile_s = 0, save_s = 0;
  std::string stats_text;  // rules::format_stats
};

nlohmann::json to_json(const CompileOutput& o);
CompileOutput compile_output_from_json(const nlohmann::json& j);

// The wall clock file times are stamped from (coarse or fine grained,
// depending on kernel and file system; never later than a reading of this
// clock taken after the change: no false "changed").
std::int64_t wall_ns() noexcept;
// The first of `files` whose inode changed (ctime: a write, a truncation, a
// rename over it; unlike mtime, no tool can set it) in (from_ns, to_ns], or
// nullopt. compile_rules asks it about the time it spent reading, so a file
// saved in place while it was read is never compiled half-written. The upper
// bound keeps a wall clock stepped backwards from refusing every reload.
std::optional<std::string> changed_between(const std::vector<std::string>& files, std::int64_t from_ns,
                                           std::int64_t to_ns);

// In this process (sipwallctl-style; also what the child runs).
CompileOutput compile_rules(const std::string& rules_file, const std::string& artifact_path);

// The child side: limits itself, compiles, prints the JSON, returns the exit status.
// `parent` is the control process: the child dies with it (a `kill -9` of
// sipwall-control must not leave a compiler running); 0 = no parent check.
int compile_worker_main(const std::string& rules_file, const std::string& artifact_path, std::uint32_t memory_mb,
                        pid_t parent);

// Whether this build can put an address-space limit on the compile child:
// not under AddressSanitizer, which reserves terabytes of address space.
bool address_space_limit_supported() noexcept;

// The parent side: one child at a time, its stdout read through a pipe the
// caller polls (fd()), so the control process keeps serving while it runs.
class CompileChild {
 public:
  CompileChild() = default;
  ~CompileChild();
  CompileChild(const CompileChild&) = delete;
  CompileChild& operator=(const CompileChild&) = delete;

  // Spawns `exe --compile-worker RULES --output PATH --parent-pid P [--memory-limit-mb N]`.
  bool start(const std::string& exe, const std::string& rules_file, const std::string& artifact_path,
             std::uint32_t memory_mb, std::chrono::milliseconds timeout, std::string& error);
  bool running() const noexcept { return pid_ > 0; }
  int fd() const noexcept { return fd_; }
  std::chrono::steady_clock::time_point deadline() const noexcept { return deadline_; }
  // Reads what is available; true once the child closed its stdout (call finish()).
  bool on_readable();
  // Reaps the child and builds the result (a crash or bad output is a failure).
  CompileOutput finish();
  // Timeout: SIGKILL, reap, a failure result.
  CompileOutput kill_timed_out();

 private:
  CompileOutput reap(bool timed_out);
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_;
  std::chrono::steady_clock::time_point started_, deadline_;
  std::chrono::milliseconds timeout_{0};
};

}  // namespace sipwall::control
