// sipwallctl capture: the SIP packets of the calls one filter selects, from
// the running data plane, into a pcapng file (docs/export.md).
//
//   sipwallctl capture --caller 013800138000 --for 5m -w complaint.pcapng
//
// Numbers are normalised by the dial plan first (the flags, --rules, or the
// rule set sipwall-control published), as `trace` does. The data plane
// watches matching calls for the duration (watch-start on its control
// socket); this command reads the copies in turns (watch-read) and writes
// each as it comes. The file is created 0640, group sipwall when that group
// exists: it holds numbers. Exit status as the other live commands: 0 ok
// (packets or not), 1 the data plane refused or failed, 2 bad arguments,
// 3 a socket could not be reached.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/cli/commands.h"
#include "control/cli/dial_plan_options.h"
#include "control/client/pcapng_writer.h"
#include "control/client/time_util.h"
#include "control/client/trace_log.h"
#include "control/client/unix_client.h"
#include "dataplane/protocol/base64.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;
namespace ctl = sipwall::control;

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

struct CaptureArgs {
  std::string caller, callee, trunk, rule, detector;
  bool all = false;
  std::string duration = "60s";
  std::uint64_t max_packets = 10000;
  std::uint64_t max_bytes = 64ull << 20;
  std::string out;
  std::string rules;
  DialPlanOptions plan;
  std::string dataplane_socket = "/run/sipwall/dataplane.sock";
  std::string control_socket = "/run/sipwall/control.sock";
  double timeout_s = 5;
};

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop.store(true);
}

// Creates FILE for a capture: 0640 whatever the umask, group sipwall when
// that group exists and we may give it (root, or a member). -1 and `why` on
// failure.
int create_capture_file(const std::string& path, std::string& why) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    why = std::strerror(errno);
    return -1;
  }
  if (::fchmod(fd, 0640) != 0) {
    why = std::string("chmod 0640: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (const group* g = ::getgrnam("sipwall")) {
    if (::fchown(fd, static_cast<uid_t>(-1), g->gr_gid) != 0)
      std::cerr << "sipwallctl capture: note: " << path << " is not group sipwall (" << std::strerror(errno) << ")\n";
  }
  return fd;
}

bool write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

int run_capture(const CaptureArgs& a) {
  // Exactly one filter.
  std::vector<std::pair<std::string, std::string>> filters;
  if (!a.caller.empty()) filters.emplace_back("caller", a.caller);
  if (!a.callee.empty()) filters.emplace_back("callee", a.callee);
  if (!a.trunk.empty()) filters.emplace_back("trunk", a.trunk);
  if (!a.rule.empty()) filters.emplace_back("rule", a.rule);
  if (!a.detector.empty()) filters.emplace_back("detector", a.detector);
  if (a.all) filters.emplace_back("all", "");
  if (filters.size() != 1) {
    std::cerr << "sipwallctl capture: give exactly one of --caller, --callee, --trunk, --rule, --detector, --all\n";
    return kUsage;
  }
  auto [match, value] = filters.front();
  const auto for_ns = ctl::parse_duration(a.duration);
  if (!for_ns || *for_ns <= 0) {
    std::cerr << "sipwallctl capture: --for " << text::printable(a.duration)
              << ": not a duration (90s, 10m, 2h, 1h30m)\n";
    return kUsage;
  }
  if (match == "caller" || match == "callee") {
    json status;
    std::string why, ctl_err;
    const bool need_status = !plan_flags_given(a.plan) && a.rules.empty();
    const bool have_status = need_status &&
                             ctl::unix_json_call(a.control_socket, {{"v", 1}, {"cmd", "status"}}, status,
                                                 static_cast<int>(a.timeout_s * 1000), ctl_err) &&
                             status.value("ok", false);
    auto plan = dial_plan_for(a.plan, a.rules, have_status ? &status : nullptr, why);
    if (!plan) {
      std::cerr << "sipwallctl capture: " << why << (ctl_err.empty() ? "" : " (" + ctl_err + ")") << "\n";
      return have_status || !need_status ? kUsage : kUnreachable;
    }
    auto n = ctl::normalise_number_query(value, *plan, &why);
    if (!n) {
      std::cerr << "sipwallctl capture: --" << match << " " << why << "\n";
      return kUsage;
    }
    value = *n;
  }

  std::string why;
  const int fd = create_capture_file(a.out, why);
  if (fd < 0) {
    std::cerr << "sipwallctl capture: cannot create " << a.out << ": " << why << "\n";
    return kFailed;
  }
  json req{{"v", 1},
           {"cmd", "watch-start"},
           {"match", match},
           {"for_ms", static_cast<std::uint64_t>(*for_ns / 1000000)},
           {"max_packets", a.max_packets},
           {"max_bytes", a.max_bytes}};
  if (!value.empty()) req["value"] = value;
  json reply;
  std::string err;
  const int timeout_ms = static_cast<int>(a.timeout_s * 1000);
  if (!ctl::unix_json_call(a.dataplane_socket, req, reply, timeout_ms, err)) {
    std::cerr << "sipwallctl capture: " << a.dataplane_socket << ": " << err << "\n";
    ::close(fd);
    return kUnreachable;
  }
  if (!reply.value("ok", false) || !reply.contains("id") || !reply["id"].is_number_unsigned()) {
    std::cerr << "sipwallctl capture: the data plane refused: " << text::printable(reply.value("error", reply.dump()))
              << "\n";
    ::close(fd);
    return kFailed;
  }
  const std::uint64_t id = reply["id"].get<std::uint64_t>();
  std::cerr << "capturing calls of " << text::printable(reply.value("filter", match)) << " for " << a.duration
            << " (at most " << a.max_packets << " packets, " << a.max_bytes << " bytes) into " << a.out
            << "; Ctrl-C ends it\n";

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  bool ok = write_all(fd, ctl::pcapng_section_header());
  std::map<std::string, std::uint32_t> interfaces;  // data-plane port -> interface id
  std::uint64_t packets = 0, bytes = 0, dropped = 0;
  std::string end_reason = "interrupted";
  bool done = false;
  while (ok && !done) {
    if (g_stop.load()) {
      json ignored;
      ctl::unix_json_call(a.dataplane_socket, {{"v", 1}, {"cmd", "watch-stop"}, {"id", id}}, ignored, timeout_ms, err);
      break;
    }
    json r;
    if (!ctl::unix_json_call(a.dataplane_socket, {{"v", 1}, {"cmd", "watch-read"}, {"id", id}, {"max", 1024}}, r,
                             timeout_ms, err) ||
        !r.value("ok", false)) {
      std::cerr << "sipwallctl capture: watch-read: " << text::printable(err.empty() ? r.value("error", "") : err)
                << "\n";
      end_reason = "data plane gone";
      break;
    }
    const json& list = r.contains("packets") && r["packets"].is_array() ? r["packets"] : json::array();
    for (const json& p : list) {
      const std::string port = p.value("port", std::string("?"));
      auto frame = protocol::base64_decode(p.value("frame", std::string()));
      if (!frame || !p.contains("time_ns") || !p["time_ns"].is_number_unsigned()) continue;
      auto it = interfaces.find(port);
      if (it == interfaces.end()) {
        it = interfaces.emplace(port, static_cast<std::uint32_t>(interfaces.size())).first;
        ok = ok && write_all(fd, ctl::pcapng_interface(port));
      }
      ok = ok && write_all(fd, ctl::pcapng_packet(it->second, p["time_ns"].get<std::uint64_t>(), *frame));
      packets++;
      bytes += frame->size();
    }
    dropped = r.value("dropped", std::uint64_t{0});
    done = r.value("done", false);
    if (done) end_reason = r.value("end_reason", std::string("done"));
    if (!done && list.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!ok) std::cerr << "sipwallctl capture: writing " << a.out << ": " << std::strerror(errno) << "\n";
  if (::close(fd) != 0) ok = false;
  std::cerr << packets << " packet(s), " << bytes << " bytes written to " << a.out << " (ended: " << end_reason
            << (dropped ? "; " + std::to_string(dropped) + " copies dropped: the reader fell behind" : "") << ")\n";
  return ok ? kOk : kFailed;
}

}  // namespace

void add_capture_command(CLI::App& app, int& rc) {
  auto a = std::make_shared<CaptureArgs>();
  CLI::App* c = app.add_subcommand(
      "capture",
      "Capture the SIP packets of matching calls (INVITE, responses, CANCEL, ACK, BYE; both directions) from the "
      "running data plane into a pcapng file");
  c->add_option("--caller", a->caller, "Calls from this number, in any format the dial plan understands");
  c->add_option("--callee", a->callee, "Calls to this number, in any format the dial plan understands");
  c->add_option("--trunk", a->trunk, "Calls from this trunk (its name in the rule set)");
  c->add_option("--rule", a->rule, "Calls this rule decided (or a trace rule matched), by rule id");
  c->add_option("--detector", a->detector, "Calls this behavioural detector decided, by name");
  c->add_flag("--all", a->all, "Every call");
  c->add_option("--for", a->duration, "How long to capture: 90s, 10m, 2h, 1h30m (default 60s; at most 24h)");
  c->add_option("--max-packets", a->max_packets, "Stop after this many packets (default 10000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
  c->add_option("--max-bytes", a->max_bytes, "Stop before this many bytes of frames (default 64 MiB)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{4} << 30));
  c->add_option("-w,--write", a->out, "The pcapng file to write (created 0640, group sipwall)")->required();
  c->add_option("--rules", a->rules, "Take the dial plan from this rule set (YAML or artifact)")
      ->check(CLI::ExistingFile);
  add_dial_plan_options(*c, a->plan);
  c->add_option("--dataplane-socket", a->dataplane_socket, "sipwall-dataplane's control socket")
      ->envname("SIPWALL_DATAPLANE_SOCKET")
      ->capture_default_str();
  c->add_option("--control-socket", a->control_socket, "sipwall-control's socket (for the dial plan)")
      ->envname("SIPWALL_CONTROL_SOCKET")
      ->capture_default_str();
  c->add_option("--timeout", a->timeout_s, "Seconds to wait for each request")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  c->callback([a, &rc] { rc = run_capture(*a); });
}

}  // namespace sipwall::cli
