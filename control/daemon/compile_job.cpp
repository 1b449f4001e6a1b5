#include "control/daemon/compile_job.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include "control/client/dial_plan_json.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"

extern char** environ;

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string hex16(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void add_diagnostics(CompileOutput& o, const std::vector<rules::Diagnostic>& ds) {
  for (const auto& d : ds) o.diagnostics.push_back(rules::format(d));
  o.errors += rules::count_errors(ds);
  o.warnings += rules::count_warnings(ds);
}

// The first error line, for one-line messages (status, logs' headline).
std::string first_error(const std::vector<rules::Diagnostic>& ds) {
  for (const auto& d : ds)
    if (d.severity == rules::Severity::error) return rules::format(d);
  return "";
}

}  // namespace

std::int64_t wall_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::optional<std::string> changed_between(const std::vector<std::string>& files, std::int64_t from_ns,
                                           std::int64_t to_ns) {
  for (const std::string& f : files) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) continue;
    const std::int64_t c = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
    if (c > from_ns && c <= to_ns) return f;
  }
  return std::nullopt;
}

bool address_space_limit_supported() noexcept {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

json to_json(const CompileOutput& o) {
  return json{{"ok", o.ok},
              {"failure", o.failure},
              {"stage", o.stage},
              {"diagnostics", o.diagnostics},
              {"errors", o.errors},
              {"warnings", o.warnings},
              {"name", o.name},
              {"version", o.version},
              {"checksum", o.checksum},
              {"files", o.files},
              {"dial_plan", o.dial_plan},
              {"rules", o.rules},
              {"lists", o.lists},
              {"bytes", o.bytes},
              {"load_s", o.load_s},
              {"compile_s", o.compile_s},
              {"save_s", o.save_s},
              {"stats_text", o.stats_text},
              {"rules_written_empty", o.rules_written_empty},
              {"list_entries", o.list_entries},
              {"empty_list_files", o.empty_list_files}};
}

CompileOutput compile_output_from_json(const json& j) {
  CompileOutput o;
  o.ok = j.value("ok", false);
  o.failure = j.value("failure", std::string());
  o.stage = j.contains("stage") && j["stage"].is_string() ? j["stage"].get<std::string>() : std::string();
  if (j.contains("diagnostics") && j["diagnostics"].is_array())
    for (const auto& d : j["diagnostics"])
      if (d.is_string()) o.diagnostics.push_back(d.get<std::string>());
  o.errors = j.value("errors", std::size_t{0});
  o.warnings = j.value("warnings", std::size_t{0});
  o.name = j.value("name", std::string());
  o.version = j.value("version", std::string());
  o.checksum = j.value("checksum", std::string());
  if (j.contains("files") && j["files"].is_array())
    for (const auto& f : j["files"])
      if (f.is_string()) o.files.push_back(f.get<std::string>());
  o.dial_plan = j.value("dial_plan", json());
  o.rules = j.value("rules", std::size_t{0});
  o.lists = j.value("lists", std::size_t{0});
  o.bytes = j.value("bytes", std::uint64_t{0});
  o.load_s = j.value("load_s", 0.0);
  o.compile_s = j.value("compile_s", 0.0);
  o.save_s = j.value("save_s", 0.0);
  o.stats_text = j.value("stats_text", std::string());
  o.rules_written_empty = j.contains("rules_written_empty") && j["rules_written_empty"].is_boolean() &&
                          j["rules_written_empty"].get<bool>();
  if (j.contains("list_entries") && j["list_entries"].is_object())
    for (const auto& [name, n] : j["list_entries"].items())
      if (n.is_number_unsigned()) o.list_entries[name] = n.get<std::uint64_t>();
  if (j.contains("empty_list_files") && j["empty_list_files"].is_array())
    for (const auto& f : j["empty_list_files"])
      if (f.is_string()) o.empty_list_files.push_back(f.get<std::string>());
  return o;
}

CompileOutput compile_rules(const std::string& rules_file, const std::string& artifact_path) {
  CompileOutput o;
  o.files.push_back(rules_file);
  auto t0 = std::chrono::steady_clock::now();
  const std::int64_t read_from_ns = wall_ns();
  rules::LoadResult lr = rules::load_rule_set(rules_file);
  o.load_s = seconds_since(t0);
  add_diagnostics(o, lr.diagnostics);
  if (!lr.ok()) {
    o.failure = std::to_string(rules::count_errors(lr.diagnostics)) +
                " error(s) in the rule files; first: " + first_error(lr.diagnostics);
    o.stage = "compile";
    return o;
  }
  std::set<std::string> seen{rules_file};
  for (const auto& l : lr.rule_set->lists)
    for (const auto& f : l.files)
      if (seen.insert(f).second) o.files.push_back(f);
  // A file written to while it was read may have been read half-written:
  // fail; the watcher has seen that write, and a reload follows it.
  if (std::optional<std::string> f = changed_between(o.files, read_from_ns, wall_ns())) {
    o.failure = *f + " changed while it was being read (a save in progress?); the next reload reads it again";
    o.stage = "compile";
    return o;
  }
  o.rules_written_empty = lr.rule_set->rules_written_empty;
  for (const auto& l : lr.rule_set->lists) {
    o.list_entries[l.name] = l.numbers.size() + l.prefixes.size() + l.ranges.size();
    for (const auto& f : l.files) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
        o.empty_list_files.push_back(l.name + "\t" + f);
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  o.compile_s = seconds_since(t1);
  add_diagnostics(o, cr.diagnostics);
  if (!cr.ok()) {
    o.failure = std::to_string(rules::count_errors(cr.diagnostics)) +
                " error(s) while compiling; first: " + first_error(cr.diagnostics);
    o.stage = "compile";
    return o;
  }
  const rules::CompiledRuleSet& set = *cr.set;
  o.name = set.name();
  o.version = set.version();
  o.checksum = hex16(set.checksum());
  o.dial_plan = dial_plan_to_json(set.dial_plan());
  o.rules = set.rule_count();
  o.lists = set.named_list_count();
  o.stats_text = rules::format_stats(cr.stats);
  auto t2 = std::chrono::steady_clock::now();
  rules::ArtifactSaveResult s = rules::save_artifact(set, artifact_path);
  o.save_s = seconds_since(t2);
  if (!s.ok) {
    o.failure = "cannot write the artifact: " + s.error;
    o.stage = "store";  // a full or read-only disk: nothing wrong with the rules
    return o;
  }
  o.bytes = s.bytes;
  o.ok = true;
  return o;
}

int compile_worker_main(const std::string& rules_file, const std::string& artifact_path, std::uint32_t memory_mb,
                        pid_t parent) {
  if (parent > 0) {
    // Die with the control process. The parent may have died between the
    // spawn and this call: then getppid() is no longer it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 3;
  }
  if (memory_mb && !address_space_limit_supported()) {
    std::fprintf(stderr, "sipwall-control compile worker: no memory limit in a sanitizer build\n");
    memory_mb = 0;
  }
  if (memory_mb) {
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(memory_mb) << 20;
    if (::setrlimit(RLIMIT_AS, &lim) != 0)
      std::fprintf(stderr, "sipwall-control compile worker: setrlimit: %s\n", std::strerror(errno));
  }
  CompileOutput o;
  try {
    o = compile_rules(rules_file, artifact_path);
  } catch (const std::bad_alloc&) {
    o = CompileOutput{};
    o.failure = "out of memory while compiling" +
                (memory_mb ? " (compile.memory_limit_mb is " + std::to_string(memory_mb) + ")" : std::string());
    o.stage = "compile";
  } catch (const std::exception& e) {
    o = CompileOutput{};
    o.failure = std::string("compiler error: ") + e.what();
    o.stage = "compile";
  }
  std::string line = to_json(o).dump(-1, ' ', false, json::error_handler_t::replace);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return o.ok ? 0 : 1;
}

CompileChild::~CompileChild() {
  if (pid_ > 0) kill_timed_out();
  if (fd_ >= 0) ::close(fd_);
}

bool CompileChild::start(const std::string& exe, const std::string& rules_file, const std::string& artifact_path,
                         std::uint32_t memory_mb, std::chrono::milliseconds timeout, std::string& error) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
  // Sockets and files of the control process (some libraries open them
  // without O_CLOEXEC) must not leak into the child.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, deflt;
  sigemptyset(&none);
  sigemptyset(&deflt);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGPIPE, SIGCHLD}) sigaddset(&deflt, s);
  posix_spawnattr_setsigmask(&attr, &none);      // the parent blocks signals for its signalfd
  posix_spawnattr_setsigdefault(&attr, &deflt);  // and ignores SIGPIPE
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args{
      exe, "--compile-worker", rules_file, "--output", artifact_path, "--parent-pid", std::to_string(::getpid())};
  if (memory_mb) args.insert(args.end(), {"--memory-limit-mb", std::to_string(memory_mb)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    error = "cannot start the compiler (" + exe + "): " + std::strerror(rc);
    return false;
  }
  ::fcntl(p[0], F_SETFL, ::fcntl(p[0], F_GETFL) | O_NONBLOCK);
  pid_ = pid;
  fd_ = p[0];
  out_.clear();
  started_ = std::chrono::steady_clock::now();
  timeout_ = timeout;
  deadline_ = started_ + timeout;
  return true;
}

bool CompileChild::on_readable() {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      if (out_.size() < (64u << 20)) out_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    return true;  // EOF or error: the child is done with its stdout
  }
}

CompileOutput CompileChild::reap(bool timed_out) {
  int status = 0;
  if (timed_out) ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  CompileOutput o;
  if (timed_out) {
    o.failure = "compile timed out after " + std::to_string(timeout_.count() / 1000) +
                " s (compile.timeout_s); the compiler was killed";
    return o;
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    o.failure = "the compiler crashed: signal " + std::to_string(sig) + " (" + strsignal(sig) + ")" +
                (sig == SIGKILL ? ", maybe the kernel's OOM killer" : "");
    return o;
  }
  std::size_t nl = out_.find('\n');
  json j = json::parse(out_.substr(0, nl), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    o.failure = "the compiler exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                " and no result";
    return o;
  }
  return compile_output_from_json(j);
}

CompileOutput CompileChild::finish() {
  return reap(false);
}
CompileOutput CompileChild::kill_timed_out() {
  return reap(true);
}

}  // namespace sipwall::control
