// sipwallctl commands that talk to the running system:
//   status                      data plane + sipwall-control
//   stats [--json]              the data plane's counters
//   rules reload|rollback|history   through sipwall-control
//   trace --caller N ...        searches the trace log sipwall-control writes
// Exit status (docs/control.md): 0 ok, 1 the operation failed or found
// nothing, 2 bad arguments, 3 a socket could not be reached.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <deque>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "control/cli/commands.h"
#include "control/cli/dial_plan_options.h"
#include "control/cli/socket_options.h"
#include "control/client/dial_plan_json.h"
#include "control/client/time_util.h"
#include "control/client/trace_log.h"
#include "control/client/unix_client.h"
#include "control/client/user_at_host.h"
#include "rules/compiled/artifact.h"
#include "rules/loader/loader.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;
namespace ctl = sipwall::control;

constexpr const char* kDefaultTraceDir = "/var/log/sipwall";

// --format text|json: the same as --json for scripts that pass --format to
// every command.
void add_format(CLI::App* c, std::string& format) {
  c->add_option("--format", format, "text (default) or json: one JSON object on stdout")
      ->check(CLI::IsMember({"text", "json"}));
}

int ms(double s) {
  return static_cast<int>(s * 1000);
}

bool call(const std::string& path, const json& req, json& reply, double timeout_s, std::string& error) {
  return ctl::unix_json_call(path, req, reply, ms(timeout_s), error);
}

std::string s_of(const json& j, const char* key, const char* dflt = "-") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string duration_text(double s) {
  long t = static_cast<long>(s);
  char buf[64];
  if (t >= 86400)
    std::snprintf(buf, sizeof buf, "%ldd%02ldh%02ldm", t / 86400, t % 86400 / 3600, t % 3600 / 60);
  else if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, t % 3600 / 60, t % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

std::string fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0 ? it->get<std::uint64_t>() : 0;
}

// --------------------------------------------------------------------------
// status

// One port's rte_flow state (docs/hardware.md): what the NIC took, and why
// it refused the rest (those rules run in software with the same result).
void print_offload(const json& p) {
  const json& o = p.contains("offload") ? p["offload"] : json();
  if (!o.is_object()) return;
  const json& st = o.value("steering", json::object());
  const json& dn = o.value("deny", json::object());
  std::cout << "       offload  driver " << s_of(o, "driver") << ", rte_flow "
            << (o.value("rte_flow", false) ? "supported"
                : !o.value("probed", true) ? "not probed"
                                           : "NOT supported")
            << "; steering " << u64(st, "offloaded") << "/" << u64(st, "total") << " in hardware";
  if (dn.value("applies", false)) {
    std::cout << "; deny " << u64(dn, "offloaded") << "/" << u64(dn, "total") << " in hardware";
    const json& ents = dn.value("entries_offloaded", json::array());
    if (!ents.empty()) {
      std::cout << " (entries:";
      for (const json& e : ents) std::cout << " " << e.get<std::string>();
      std::cout << ")";
    }
  } else {
    std::cout << "; deny n/a (core-facing)";
  }
  const std::uint64_t refused = u64(st, "total") - u64(st, "offloaded") + u64(dn, "total") - u64(dn, "offloaded");
  std::cout << (refused ? "; the rest runs in software" : "") << "\n";
  for (const json& r : o.value("refusals", json::array()))
    std::cout << "         not offloaded (" << u64(r, "rules") << " rules): " << s_of(r, "reason") << "\n";
}

void print_dataplane_status(const json& s, const std::string& socket) {
  std::cout << "sipwall-dataplane " << s_of(s, "version") << "  up " << duration_text(s.value("uptime_s", 0.0))
            << " (since " << s_of(s, "started_at") << ")  " << socket << "\n";
  const json& rs = s.contains("ruleset") ? s["ruleset"] : json();
  if (rs.is_object()) {
    std::cout << "  rule set      " << s_of(rs, "name") << " " << s_of(rs, "version") << "  checksum "
              << s_of(rs, "checksum") << "  (" << s_of(rs, "rules") << " rules, " << s_of(rs, "trunks") << " trunks, "
              << s_of(rs, "lists") << " lists, malformed SIP " << s_of(rs, "malformed_policy") << ")\n";
    std::cout << "  loaded at     " << s_of(rs, "loaded_at") << " in " << fixed(rs.value("load_ms", 0.0), 2)
              << " ms from " << s_of(rs, "artifact") << "\n";
  } else {
    std::cout << "  rule set      NONE: every INVITE is forwarded (malformed SIP "
              << s_of(s, "malformed_policy_without_ruleset") << ")\n";
  }
  const json& rl = s.value("reloads", json::object());
  std::cout << "  reloads       ok " << u64(rl, "ok") << ", failed " << u64(rl, "failed");
  if (!s_of(rl, "last_error", "").empty()) std::cout << "; last error: " << s_of(rl, "last_error");
  std::cout << "\n";
  std::string lcores;
  std::size_t workers = 0;
  for (const json& w : s.value("workers", json::array())) {
    lcores += (lcores.empty() ? "" : ",") + s_of(w, "lcore");
    ++workers;
  }
  std::cout << "  workers       " << workers << " (lcores " << (lcores.empty() ? "-" : lcores) << ")\n";
  for (const json& p : s.value("ports", json::array())) {
    char line[256];
    std::snprintf(line, sizeof line, "  port %-8s %-14s %-5s -> %-8s link %-4s %6s Mb/s  %s  mtu %s  queues %s\n",
                  s_of(p, "name").c_str(), s_of(p, "device").c_str(), s_of(p, "role").c_str(), s_of(p, "peer").c_str(),
                  s_of(p, "link").c_str(), s_of(p, "speed_mbps").c_str(), s_of(p, "mac").c_str(),
                  s_of(p, "mtu").c_str(), s_of(p, "queues").c_str());
    std::cout << line;
    print_offload(p);
  }
  const json& rec = s.value("records", json::object());
  if (rec.value("enabled", false))
    std::cout << "call records: " << s_of(rec, "written") << " written, " << s_of(rec, "dropped")
              << " dropped (ring full), " << s_of(rec, "sent") << " sent to "
              << (rec.value("consumer", false) ? "sipwall-control" : "NO CONSUMER") << " on " << s_of(rec, "socket")
              << "\n";
}

void print_reload_entry(const json& e, const char* indent) {
  std::cout << s_of(e, "time") << " " << s_of(e, "op") << " (" << s_of(e, "trigger") << "): ";
  std::string result = s_of(e, "result");
  if (result == "failed") {
    std::cout << "FAILED at " << s_of(e, "stage") << ": " << s_of(e, "error") << "\n";
    for (const json& d : e.value("diagnostics", json::array())) std::cout << indent << d.get<std::string>() << "\n";
    if (e.contains("diagnostics_omitted"))
      std::cout << indent << "... " << e["diagnostics_omitted"] << " more (see the sipwall-control log)\n";
  } else {
    std::cout << result << ", " << s_of(e, "version") << " " << s_of(e, "checksum") << " in "
              << fixed(e.value("duration_ms", 0.0)) << " ms\n";
  }
}

void print_control_status(const json& s, const std::string& socket) {
  std::cout << "sipwall-control " << s_of(s, "version") << "  up " << duration_text(s.value("uptime_s", 0.0))
            << " (since " << s_of(s, "started_at") << ", pid " << s_of(s, "pid") << ")  " << socket << "\n";
  const json& rs = s.contains("ruleset") ? s["ruleset"] : json();
  if (rs.is_object()) {
    std::cout << "  published     " << s_of(rs, "name") << " " << s_of(rs, "version") << "  checksum "
              << s_of(rs, "checksum") << "  compiled " << s_of(rs, "compiled_at") << " in "
              << fixed(rs.value("compile_ms", 0.0)) << " ms (" << s_of(rs, "rules") << " rules, "
              << s_of(rs, "warnings") << " warnings)" << (rs.value("pending", false) ? "  NOT RUNNING YET" : "")
              << "\n";
    std::cout << "  artifact      " << s_of(rs, "artifact") << "\n";
  } else {
    std::cout << "  published     nothing yet\n";
  }
  std::cout << "  rules file    " << s_of(s, "rules_file") << "\n";
  if (s.contains("last_reload") && s["last_reload"].is_object()) {
    std::cout << "  last reload   ";
    print_reload_entry(s["last_reload"], "                  ");
  }
  const json& rl = s.value("reloads", json::object());
  std::cout << "  reloads       ok " << u64(rl, "ok") << ", failed " << u64(rl, "failed");
  if (!s_of(s, "busy", "").empty()) std::cout << "; " << s_of(s, "busy") << " in progress";
  std::cout << "\n";
  const json& dp = s.value("dataplane", json::object());
  std::cout << "  data plane    " << (dp.value("up", false) ? "up" : "DOWN: " + s_of(dp, "error")) << " (last poll "
            << s_of(dp, "last_poll") << ")\n";
  std::cout << "  metrics       "
            << (s_of(s, "metrics", "").empty()        ? "off"
                : !s_of(s, "metrics_url", "").empty() ? s_of(s, "metrics_url")
                                                      : "http://" + s_of(s, "metrics") + "/metrics")
            << (s.value("metrics_auth", false) ? " (basic auth)" : "") << "\n";
  std::cout << "  trace log     " << s_of(s, "trace_file") << " (" << s_of(s, "trace_records_written")
            << " records written since start)\n";
  std::cout << "  store         " << s_of(s, "store") << "\n";
  // The fleet (docs/fleet.md): which published version runs here, and Redis.
  if (const json& f = s.value("fleet", json()); f.is_object()) {
    std::cout << "  fleet         appliance " << text::printable(s_of(f, "appliance")) << ", Redis " << s_of(f, "redis")
              << " " << (f.value("redis_up", false) ? "up" : "DOWN: " + text::printable(s_of(f, "redis_error"), 200))
              << "; " << s_of(f, "state") << ", runs fleet version " << u64(f, "running_seq") << " (current "
              << u64(f, "current_seq") << ")";
    if (!s_of(f, "reason", "").empty()) std::cout << ": " << text::printable(s_of(f, "reason"), 300);
    std::cout << "\n";
  }
  const json& rec = s.value("records", json::object());
  if (rec.value("enabled", true))
    std::cout << "  call records  " << s_of(rec, "database") << ": " << s_of(rec, "stored") << " stored since start, "
              << s_of(rec, "bad_frames") << " bad frames, data plane "
              << (rec.value("connected", false) ? "connected" : "NOT CONNECTED") << "\n";
}

int run_status(const Sockets& so, bool as_json) {
  json dp, ctl;
  std::string dp_err, ctl_err;
  bool dp_ok = call(so.dataplane, {{"v", 1}, {"cmd", "status"}}, dp, so.timeout_s, dp_err);
  bool ctl_ok = call(so.control, {{"v", 1}, {"cmd", "status"}}, ctl, so.timeout_s, ctl_err);
  if (as_json) {
    json out{{"dataplane", dp_ok ? dp : json(nullptr)}, {"control", ctl_ok ? ctl : json(nullptr)}};
    if (!dp_ok) out["dataplane_error"] = dp_err;
    if (!ctl_ok) out["control_error"] = ctl_err;
    std::cout << text::dump_json(out, 2) << "\n";
  } else {
    if (dp_ok)
      print_dataplane_status(dp, so.dataplane);
    else
      std::cout << "sipwall-dataplane NOT REACHABLE: " << dp_err << "\n";
    if (ctl_ok)
      print_control_status(ctl, so.control);
    else
      std::cout << "sipwall-control NOT REACHABLE: " << ctl_err << "\n";
  }
  if (!dp_ok) return kUnreachable;
  return kOk;
}

// --------------------------------------------------------------------------
// stats

void print_stats(const json& s, bool all) {
  std::cout << "rule set " << s_of(s, "ruleset_version", "(none)") << ", " << s_of(s, "workers") << " worker(s)\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %14s %16s %14s %16s %10s %10s\n", "port", "rx packets", "rx bytes",
                "tx packets", "tx bytes", "nic missed", "nic errors");
  std::cout << line;
  for (const json& p : s.value("ports", json::array())) {
    std::snprintf(
        line, sizeof line, "%-10s %14llu %16llu %14llu %16llu %10llu %10llu\n", s_of(p, "name").c_str(),
        static_cast<unsigned long long>(u64(p, "rx_packets")), static_cast<unsigned long long>(u64(p, "rx_bytes")),
        static_cast<unsigned long long>(u64(p, "tx_packets")), static_cast<unsigned long long>(u64(p, "tx_bytes")),
        static_cast<unsigned long long>(u64(p, "nic_imissed")),
        static_cast<unsigned long long>(u64(p, "nic_ierrors") + u64(p, "nic_oerrors")));
    std::cout << line;
  }
  std::cout << "\nINVITE verdicts:";
  const json verdicts = s.value("verdicts", json::object());
  for (auto& [k, v] : verdicts.items()) std::cout << "  " << k << " " << v;
  std::cout << "\n\n";
  auto section = [&](const char* title, const json& obj) {
    bool any = false;
    for (auto& [k, v] : obj.items()) {
      if (!all && v.is_number() && v.get<double>() == 0) continue;
      if (!any) std::cout << title << ":\n";
      any = true;
      std::snprintf(line, sizeof line, "  %-26s %s\n", k.c_str(), v.dump().c_str());
      std::cout << line;
    }
    if (any) std::cout << "\n";
  };
  section("counters", s.value("counters", json::object()));
  section("SIP parse errors", s.value("parse_errors", json::object()));
  section("L2-L4 decode errors", s.value("decode_errors", json::object()));
  auto list = [&](const char* title, const json& arr, const char* key, const char* value) {
    bool any = false;
    for (const json& e : arr) {
      if (!all && u64(e, value) == 0) continue;
      if (!any) std::cout << title << ":\n";
      any = true;
      std::snprintf(line, sizeof line, "  %-26s %llu\n", s_of(e, key).c_str(),
                    static_cast<unsigned long long>(u64(e, value)));
      std::cout << line;
    }
    if (any) std::cout << "\n";
  };
  list("rule hits", s.value("rules", json::array()), "id", "hits");
  list("INVITEs by trunk", s.value("trunks", json::array()), "name", "invites");
  {
    bool any = false;
    for (const json& e : s.value("deny_sources", json::array())) {
      if (!all && u64(e, "software") == 0 && u64(e, "hardware") == 0) continue;
      if (!any) std::cout << "denied sources (frames dropped):\n";
      any = true;
      std::snprintf(line, sizeof line, "  %-26s software %llu  hardware %llu%s\n", s_of(e, "id").c_str(),
                    static_cast<unsigned long long>(u64(e, "software")),
                    static_cast<unsigned long long>(u64(e, "hardware")),
                    e.value("in_ruleset", true) ? "" : "  (no longer in the rule set)");
      std::cout << line;
    }
    if (any) std::cout << "\n";
  }
  const json& rl = s.value("reloads", json::object());
  std::cout << "reloads ok " << u64(rl, "ok") << ", failed " << u64(rl, "failed") << "; trace records buffered "
            << u64(s, "trace_buffered") << ", overflowed " << u64(s, "trace_overflow") << "\n";
}

int run_stats(const Sockets& so, bool as_json, bool all) {
  json s;
  std::string err;
  if (!call(so.dataplane, {{"v", 1}, {"cmd", "stats"}}, s, so.timeout_s, err)) {
    std::cerr << "sipwallctl stats: " << err << "\n";
    return kUnreachable;
  }
  if (!s.value("ok", false)) {
    std::cerr << "sipwallctl stats: " << text::printable(s_of(s, "error")) << "\n";
    return kFailed;
  }
  if (as_json)
    std::cout << text::dump_json(s, 2) << "\n";
  else
    print_stats(s, all);
  return kOk;
}

// --------------------------------------------------------------------------
// detections [--all] | detections lift KEY [DETECTOR]

// What the reply holds comes from the data plane: rule-set names and keys
// are printed through text::printable, so no byte reaches the terminal raw.
int run_detections(const Sockets& so, bool as_json, bool all) {
  json r;
  std::string err;
  json req{{"v", 1}, {"cmd", "detections"}};
  if (all) req["all"] = 1;
  if (!call(so.dataplane, req, r, so.timeout_s, err)) {
    std::cerr << "sipwallctl detections: " << text::printable(err) << "\n";
    return kUnreachable;
  }
  if (!r.value("ok", false)) {
    std::cerr << "sipwallctl detections: " << text::printable(s_of(r, "error")) << "\n";
    return kFailed;
  }
  if (as_json) {
    std::cout << text::dump_json(r, 2) << "\n";
    return kOk;
  }
  const json& ds = r.value("detections", json::array());
  if (ds.empty()) {
    std::cout << (all ? "no key is held or near a threshold\n" : "no active detection\n");
    return kOk;
  }
  std::printf("%-20s %-34s %7s %-6s %-22s %-24s %-24s %-24s %s\n", "DETECTOR", "KEY", "COUNT", "LEVEL", "ACTION",
              "FIRST SEEN", "LAST SEEN", "EXPIRES", "IN");
  for (const json& d : ds) {
    std::string in = d.contains("expires_in_s") ? duration_text(d.value("expires_in_s", 0.0)) : "-";
    // Held from outside the counts: `sipwallctl fleet block`, the fleet
    // view's global detection, or a detections-hold request; `by` says which.
    if (d.value("external", false))
      in += " (" + (d.contains("by") ? text::printable(s_of(d, "by"), 200) : std::string("fleet/manual block")) + ")";
    std::printf("%-20s %-34s %7llu %-6s %-22s %-24s %-24s %-24s %s\n", text::printable(s_of(d, "detector")).c_str(),
                text::printable(s_of(d, "key")).c_str(), static_cast<unsigned long long>(u64(d, "count")),
                s_of(d, "level").c_str(), text::printable(s_of(d, "action")).c_str(), s_of(d, "first_seen").c_str(),
                s_of(d, "last_seen").c_str(), s_of(d, "expires").c_str(), in.c_str());
  }
  return kOk;
}

// Through sipwall-control, which lifts the key in its data plane and, with a
// fleet, publishes the lift to every appliance (docs/fleet.md, "Lifts").
// Naming the data plane's socket (--dataplane-socket or its variable), or no
// sipwall-control at its socket, lifts in that one data plane only.
int run_lift(const Sockets& so, bool direct, const std::string& key, const std::string& detector, bool as_json) {
  json r;
  std::string err;
  json req{{"v", 1}, {"cmd", "detections-lift"}, {"key", key}};
  if (!detector.empty()) req["detector"] = detector;
  bool through_control = false;
  if (!direct) {
    ctl::UnixJsonClient c;
    if (c.connect(so.control, ms(so.timeout_s))) {
      json creq = req;
      creq["by"] = ctl::user_at_host();
      if (!c.request(creq, r, ms(so.timeout_s))) {
        std::cerr << "sipwallctl detections lift: sipwall-control (" << text::printable(so.control)
                  << ") did not answer in time\n";
        return kUnreachable;
      }
      through_control = true;
    } else if (!as_json) {
      std::cerr << "sipwallctl detections lift: no sipwall-control at " << text::printable(so.control)
                << ": lifting in the data plane at " << text::printable(so.dataplane) << " only\n";
    }
  }
  if (!through_control && !call(so.dataplane, req, r, so.timeout_s, err)) {
    std::cerr << "sipwallctl detections lift: " << text::printable(err) << "\n";
    return kUnreachable;
  }
  if (as_json) std::cout << text::dump_json(r, 2) << "\n";
  if (!r.value("ok", false)) {
    if (!as_json) std::cerr << "sipwallctl detections lift: " << text::printable(s_of(r, "error")) << "\n";
    return kFailed;
  }
  if (as_json) return kOk;
  std::cout << "lifted " << u64(r, "lifted") << " detection(s) of " << text::printable(key)
            << (detector.empty() ? "" : " in " + text::printable(detector))
            << "; its counts are reset on every worker\n";
  const auto fit = r.find("fleet");
  if (fit == r.end() || !fit->is_object()) return kOk;  // not through a sipwall-control in a fleet
  const json& f = *fit;
  const auto published = f.find("published");
  if (published != f.end() && published->is_boolean() && published->get<bool>())
    std::cout << "fleet: published to every appliance (lift " << u64(f, "id") << ", " << u64(f, "blocks_removed")
              << " fleet block(s) and global detection(s) of it removed)\n";
  else
    std::cout << "fleet: NOT published, lifted on this appliance only: " << text::printable(s_of(f, "error"), 300)
              << "\n";
  return kOk;
}

// --------------------------------------------------------------------------
// rules reload | rollback | history

int print_op_reply(const char* what, const json& r, bool as_json) {
  if (as_json) std::cout << text::dump_json(r, 2) << "\n";
  if (!r.value("ok", false)) {
    if (!as_json) {
      std::cerr << what << " failed";
      if (r.contains("stage")) std::cerr << " (" << s_of(r, "stage") << ")";
      std::cerr << ": " << s_of(r, "error") << "\n";
      for (const json& d : r.value("diagnostics", json::array())) std::cerr << "  " << d.get<std::string>() << "\n";
      if (r.contains("running_version"))
        std::cerr << "the data plane still runs " << s_of(r, "running_version", "no rule set") << "\n";
    }
    return kFailed;
  }
  if (!as_json) {
    if (s_of(r, "result") == "unchanged") {
      std::cout << "unchanged: " << s_of(r, "version") << " " << s_of(r, "checksum") << " is already running\n";
    } else {
      std::cout << what << ": now running " << s_of(r, "version") << " " << s_of(r, "checksum") << " (was "
                << s_of(r, "previous_version", "no rule set") << "), " << fixed(r.value("duration_ms", 0.0))
                << " ms, data plane load " << fixed(r.value("load_ms", 0.0), 2) << " ms\n";
    }
    if (r.value("warnings", 0) > 0) std::cout << r["warnings"] << " warning(s): see `sipwallctl rules check`\n";
  }
  return kOk;
}

int run_control_op(const Sockets& so, const json& req, const char* what, bool as_json) {
  json r;
  std::string err;
  if (!call(so.control, req, r, so.timeout_s, err)) {
    std::cerr << "sipwallctl: " << err << "\n";
    return kUnreachable;
  }
  return print_op_reply(what, r, as_json);
}

int run_history(const Sockets& so, std::size_t limit, bool as_json) {
  json r;
  std::string err;
  if (!call(so.control, {{"v", 1}, {"cmd", "history"}, {"limit", limit}}, r, so.timeout_s, err)) {
    std::cerr << "sipwallctl rules history: " << err << "\n";
    return kUnreachable;
  }
  if (!r.value("ok", false)) {
    std::cerr << "sipwallctl rules history: " << s_of(r, "error") << "\n";
    return kFailed;
  }
  if (as_json) {
    std::cout << text::dump_json(r["entries"], 2) << "\n";
    return kOk;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-8s %-15s %-9s %-20s %-16s %9s  %s\n", "time", "op", "trigger", "result",
                "version", "checksum", "ms", "error");
  std::cout << line;
  for (const json& e : r["entries"]) {
    std::snprintf(line, sizeof line, "%-24s %-8s %-15s %-9s %-20s %-16s %9s  %s\n", s_of(e, "time").c_str(),
                  s_of(e, "op").c_str(), s_of(e, "trigger").c_str(), s_of(e, "result").c_str(),
                  s_of(e, "version").c_str(), s_of(e, "checksum").c_str(), fixed(e.value("duration_ms", 0.0)).c_str(),
                  s_of(e, "error", "").c_str());
    std::cout << line;
  }
  return kOk;
}

// --------------------------------------------------------------------------
// trace

struct TraceArgs {
  std::string caller, callee, call_id, rule, since, until;
  std::size_t limit = 100;
  bool as_json = false;
  std::string trace_dir;
  std::string rules;  // YAML or artifact: its dial plan
  DialPlanOptions plan;
  Sockets sockets;
};

bool normalise(const std::string& flag, const std::string& text, const number::DialPlan& plan, std::string& out) {
  std::string why;
  auto n = ctl::normalise_number_query(text, plan, &why);
  if (!n) {
    std::cerr << "sipwallctl trace: " << flag << " " << why << "\n";
    return false;
  }
  out = *n;
  return true;
}

// One record as a table row. The log is a file anyone with write access (or
// a Call-ID from the network) may have put anything into: every cell goes
// through text::printable, so no record drives the terminal.
void print_trace_row(const json& r) {
  auto cell = [&](const char* key) { return text::printable(s_of(r, key)); };
  std::string action = cell("action");
  if (r.contains("reject_code") && r["reject_code"].is_number()) action += " " + r["reject_code"].dump();
  std::string src = cell("src_ip");
  if (src.find(':') != std::string::npos) src = "[" + src + "]";
  src += ":" + cell("src_port");
  char line[512];  // the columns; the Call-ID (any length) follows
  std::snprintf(line, sizeof line, "%-24s %-10s %-10s %-22s %-16s %-16s %-22s ", cell("time").c_str(), action.c_str(),
                cell("trunk").c_str(), src.c_str(), cell("caller").c_str(), cell("callee").c_str(),
                cell("rule_id").c_str());
  std::cout << line << cell("call_id") << "\n";
}

int run_trace(const TraceArgs& a) {
  if (a.caller.empty() && a.callee.empty() && a.call_id.empty() && a.rule.empty() && a.since.empty() &&
      a.until.empty()) {
    std::cerr << "sipwallctl trace: give at least one of --caller, --callee, --call-id, --rule, --since, --until\n";
    return kUsage;
  }
  ctl::TraceQuery q;
  std::int64_t now = ctl::now_ns();
  std::string why;
  if (!a.since.empty()) {
    q.since_ns = ctl::parse_time_arg(a.since, now, &why);
    if (!q.since_ns) {
      std::cerr << "sipwallctl trace: --since " << why << "\n";
      return kUsage;
    }
  }
  if (!a.until.empty()) {
    q.until_ns = ctl::parse_time_arg(a.until, now, &why);
    if (!q.until_ns) {
      std::cerr << "sipwallctl trace: --until " << why << "\n";
      return kUsage;
    }
  }
  // sipwall-control knows the trace directory and the dial plan; ask it
  // unless both are given.
  json status;
  std::string ctl_err;
  bool need_plan = (!a.caller.empty() || !a.callee.empty()) && !plan_flags_given(a.plan) && a.rules.empty();
  bool have_status = false;
  if (a.trace_dir.empty() || need_plan) {
    have_status = call(a.sockets.control, {{"v", 1}, {"cmd", "status"}}, status, a.sockets.timeout_s, ctl_err) &&
                  status.value("ok", false);
  }
  if (!a.caller.empty() || !a.callee.empty()) {
    auto plan = dial_plan_for(a.plan, a.rules, have_status ? &status : nullptr, why);
    if (!plan) {
      std::cerr << "sipwallctl trace: " << why << (ctl_err.empty() ? "" : " (" + ctl_err + ")") << "\n";
      return have_status || !need_plan ? kUsage : kUnreachable;
    }
    std::string n;
    if (!a.caller.empty()) {
      if (!normalise("--caller", a.caller, *plan, n)) return kUsage;
      q.caller = n;
    }
    if (!a.callee.empty()) {
      if (!normalise("--callee", a.callee, *plan, n)) return kUsage;
      q.callee = n;
    }
  }
  if (!a.call_id.empty()) q.call_id = a.call_id;
  if (!a.rule.empty()) q.rule_id = a.rule;
  std::string dir = !a.trace_dir.empty()                          ? a.trace_dir
                    : have_status && status.contains("trace_dir") ? status["trace_dir"].get<std::string>()
                                                                  : std::string(kDefaultTraceDir);
  std::error_code dir_error;
  auto files = ctl::trace_files(dir, &dir_error);
  if (files.empty() && dir_error) {
    // Typically permission denied: the folder is for root and group sipwall.
    std::cerr << "sipwallctl trace: cannot read " << text::printable(dir) << ": " << dir_error.message()
              << (dir_error == std::errc::permission_denied ? ctl::permission_hint(dir) : "") << "\n";
    return kFailed;
  }
  if (files.empty()) {
    std::cerr << "sipwallctl trace: no trace log in " << dir
              << (a.trace_dir.empty() && !have_status
                      ? " (sipwall-control not reachable: " + ctl_err + "; pass --trace-dir)"
                      : "")
              << "\n";
    return kFailed;
  }
  // Keep the newest `limit` matches; print them oldest first.
  std::deque<std::pair<json, std::string>> hits;
  std::uint64_t dropped = 0;
  ctl::TraceSearchStats st = ctl::search_trace(files, q, [&](const json& r, const std::string& raw) {
    hits.emplace_back(r, raw);
    if (a.limit && hits.size() > a.limit) {
      hits.pop_front();
      ++dropped;
    }
    return true;
  });
  if (!a.as_json && !hits.empty()) {
    char line[256];
    std::snprintf(line, sizeof line, "%-24s %-10s %-10s %-22s %-16s %-16s %-22s %s\n", "time", "action", "trunk",
                  "source", "caller", "callee", "rule", "call-id");
    std::cout << line;
  }
  for (const auto& [r, raw] : hits) {
    if (a.as_json) {
      // As written by sipwall-control (text::dump_json: nothing to change);
      // a line put there by anyone else gets the same escaping.
      std::string line = raw;
      text::escape_hidden_controls_in_json(line);
      std::cout << line << "\n";
    } else {
      print_trace_row(r);
    }
  }
  if (dropped) std::cerr << dropped << " earlier match(es) not shown (--limit " << a.limit << ")\n";
  if (st.bad_lines) std::cerr << st.bad_lines << " unreadable line(s) skipped\n";
  for (const std::string& u : st.unreadable)
    std::cerr << "sipwallctl trace: cannot read " << text::printable(u)
              << (u.find("Permission denied") != std::string::npos ? ctl::permission_hint(dir) : "") << "\n";
  if (hits.empty()) {
    std::cerr << "no matching trace records (" << st.lines << " records in " << st.files << " file(s) of " << dir
              << ")\n";
    return kFailed;
  }
  return kOk;
}

}  // namespace

void add_live_commands(CLI::App& app, int& rc) {
  // status
  struct StatusArgs {
    Sockets so;
    bool json = false;
    std::string format = "text";
  };
  auto st = std::make_shared<StatusArgs>();
  CLI::App* status = app.add_subcommand(
      "status", "Data plane and sipwall-control: versions, uptime, rule set, last reload, workers, ports");
  add_dataplane_socket(status, st->so);
  add_control_socket(status, st->so);
  add_timeout(status, st->so, "Seconds to wait for each socket");
  add_format(status, st->format);
  status->add_flag("--json", st->json, "Both status replies as one JSON object (= --format json)");
  status->callback([st, &rc] { rc = run_status(st->so, st->json || st->format == "json"); });

  // stats
  struct StatsArgs {
    Sockets so;
    bool json = false, all = false;
    std::string format = "text";
  };
  auto sa = std::make_shared<StatsArgs>();
  CLI::App* stats = app.add_subcommand("stats", "The data plane's counters as a table (--json for tools)");
  add_dataplane_socket(stats, sa->so);
  add_timeout(stats, sa->so, "Seconds to wait for the data plane");
  add_format(stats, sa->format);
  stats->add_flag("--json", sa->json, "The data plane's stats reply as JSON (= --format json)");
  stats->add_flag("--all", sa->all, "Also counters that are zero");
  stats->callback([sa, &rc] { rc = run_stats(sa->so, sa->json || sa->format == "json", sa->all); });

  // detections
  struct DetectionArgs {
    Sockets so;
    bool json = false, all = false;
    std::string key, detector;
  };
  auto da = std::make_shared<DetectionArgs>();
  CLI::App* detections = app.add_subcommand(
      "detections", "Keys the behavioural detectors hold in the penalty box (detector, key, count, level, expiry)");
  add_dataplane_socket(detections, da->so);
  add_timeout(detections, da->so, "Seconds to wait for the data plane");
  detections->add_flag("--json", da->json, "The reply as JSON");
  detections->add_flag("--all", da->all, "Also keys near a threshold that are not held");
  CLI::App* lift = detections->add_subcommand("lift", "Release a key early: its holds end and its counts restart");
  lift->add_option("KEY", da->key, "E.164 number (+8613800000001), source IP address, or trunk name")->required();
  lift->add_option("DETECTOR", da->detector, "Only in this detector (default: every detector)");
  lift->add_flag("--json", da->json, "The reply as JSON");
  add_dataplane_socket(lift, da->so);
  add_control_socket(lift, da->so);
  add_timeout(lift, da->so, "Seconds to wait for sipwall-control or the data plane");
  lift->callback([da, lift, &rc] {
    // An explicit data-plane socket means that data plane alone.
    const bool direct = lift->get_option("--dataplane-socket")->count() > 0;
    rc = run_lift(da->so, direct, da->key, da->detector, da->json);
  });
  detections->callback([da, detections, &rc] {
    if (detections->get_subcommands().empty()) rc = run_detections(da->so, da->json, da->all);
  });

  // rules reload | rollback | history: added to the `rules` command.
  CLI::App* rules = app.get_subcommand("rules");
  struct OpArgs {
    Sockets so;
    bool json = false;
    std::string version;
    std::size_t limit = 20;
  };
  auto ra = std::make_shared<OpArgs>();
  ra->so.timeout_s = 900;
  CLI::App* reload = rules->add_subcommand(
      "reload", "Ask sipwall-control to reload the rule files now; prints the result or every error");
  add_control_socket(reload, ra->so);
  add_timeout(reload, ra->so, "Seconds to wait for the reload (compile included)");
  reload->add_flag("--json", ra->json, "The reply as JSON");
  reload->callback([ra, &rc] { rc = run_control_op(ra->so, {{"v", 1}, {"cmd", "reload"}}, "reload", ra->json); });

  auto rb = std::make_shared<OpArgs>();
  rb->so.timeout_s = 300;
  CLI::App* rollback = rules->add_subcommand(
      "rollback", "Load an earlier artifact from the store (default: the one that ran before the current one)");
  rollback->add_option("VERSION", rb->version,
                       "Rule-set version, checksum prefix or artifact file name (see `rules history`)");
  add_control_socket(rollback, rb->so);
  add_timeout(rollback, rb->so, "Seconds to wait for the data plane to load it");
  rollback->add_flag("--json", rb->json, "The reply as JSON");
  rollback->callback([rb, &rc] {
    json req{{"v", 1}, {"cmd", "rollback"}};
    if (!rb->version.empty()) req["target"] = rb->version;
    rc = run_control_op(rb->so, req, "rollback", rb->json);
  });

  auto rh = std::make_shared<OpArgs>();
  CLI::App* history = rules->add_subcommand("history", "Reloads and rollbacks, oldest first, with their results");
  history->add_option("--limit", rh->limit, "Newest entries shown (default 20; 0: all)");
  add_control_socket(history, rh->so);
  add_timeout(history, rh->so, "Seconds to wait for sipwall-control");
  history->add_flag("--json", rh->json, "The entries as a JSON array");
  history->callback([rh, &rc] { rc = run_history(rh->so, rh->limit, rh->json); });

  // trace
  auto ta = std::make_shared<TraceArgs>();
  CLI::App* trace = app.add_subcommand(
      "trace", "Search the verdict trace log (current and rotated files): who sent a call, which rule hit it");
  trace->add_option("--caller", ta->caller, "Caller number, in any format the dial plan understands");
  trace->add_option("--callee", ta->callee, "Callee number, in any format the dial plan understands");
  trace->add_option("--call-id", ta->call_id, "Call-ID, exactly");
  trace->add_option("--rule", ta->rule, "Rule id, exactly");
  trace->add_option("--since", ta->since, "From this time on: ISO 8601 (UTC unless a zone is given) or 10m, 2h, 1d");
  trace->add_option("--until", ta->until, "Up to this time: ISO 8601 or a duration before now");
  trace->add_option("--limit", ta->limit, "Newest matches shown (default 100; 0: all)");
  trace->add_flag("--json", ta->as_json, "The matching log lines as they are (JSON lines)");
  trace->add_option("--trace-dir", ta->trace_dir,
                    "Trace log directory (default: ask sipwall-control, else "
                    "/var/log/sipwall)");
  trace->add_option("--rules", ta->rules, "Take the dial plan from this rule set (YAML or artifact)")
      ->check(CLI::ExistingFile);
  add_dial_plan_options(*trace, ta->plan);
  add_control_socket(trace, ta->sockets);
  trace->callback([ta, &rc] { rc = run_trace(*ta); });
}

}  // namespace sipwall::cli
