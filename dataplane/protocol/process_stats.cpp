#include "dataplane/protocol/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace sipwall::protocol {

namespace {

// Boot time (Unix seconds), from /proc/stat's btime.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t = 0;
      if (in >> t) return t;
      return std::nullopt;
    }
    in.ignore(1 << 16, '\n');
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  ProcessStats p;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces and ')': fields restart after the last ')'.
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream f(line.substr(close + 2));
  // Fields 3.. : state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  //   cutime cstime priority nice num_threads itrealvalue starttime vsize rss
  std::string skip;
  unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
  long long rss = 0;
  for (int i = 3; i <= 13; ++i) f >> skip;
  f >> utime >> stime;
  for (int i = 16; i <= 21; ++i) f >> skip;
  f >> starttime >> vsize >> rss;
  if (!f) return std::nullopt;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (ticks <= 0 || page <= 0) return std::nullopt;
  p.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  p.virtual_bytes = vsize;
  p.resident_bytes = rss > 0 ? static_cast<std::uint64_t>(rss) * static_cast<std::uint64_t>(page) : 0;
  if (auto b = boot_time()) p.start_time_seconds = *b + static_cast<double>(starttime) / static_cast<double>(ticks);
  if (DIR* d = ::opendir("/proc/self/fd")) {
    std::uint64_t n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    p.open_fds = n > 0 ? n - 1 : 0;  // not the one opendir() itself holds
  }
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur;
  return p;
}

nlohmann::json to_json(const ProcessStats& p) {
  return nlohmann::json{{"cpu_seconds", p.cpu_seconds},
                        {"resident_bytes", p.resident_bytes},
                        {"virtual_bytes", p.virtual_bytes},
                        {"open_fds", p.open_fds},
                        {"max_fds", p.max_fds},
                        {"start_time_seconds", p.start_time_seconds}};
}

std::optional<ProcessStats> process_stats_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  auto num = [&j](const char* k) -> std::optional<double> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number() || it->get<double>() < 0) return std::nullopt;
    return it->get<double>();
  };
  auto cpu = num("cpu_seconds"), rss = num("resident_bytes"), vm = num("virtual_bytes"), fds = num("open_fds"),
       maxf = num("max_fds"), start = num("start_time_seconds");
  if (!cpu || !rss || !vm || !fds || !maxf || !start) return std::nullopt;
  return ProcessStats{*cpu,
                      static_cast<std::uint64_t>(*rss),
                      static_cast<std::uint64_t>(*vm),
                      static_cast<std::uint64_t>(*fds),
                      static_cast<std::uint64_t>(*maxf),
                      *start};
}

}  // namespace sipwall::protocol
