// sipwallctl calls: the call records sipwall-control keeps (docs/records.md),
// found by caller, callee, trunk or source address. Numbers are normalised
// by the dial plan first (the flags, --rules, else the published rule set's),
// so "013800138000", "+86 138-0013-8000" and "tel:+8613800138000" find the
// same calls. Exit status as every live command: 0 found, 1 none or failed,
// 2 bad arguments, 3 sipwall-control not reachable.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "control/cli/commands.h"
#include "control/cli/dial_plan_options.h"
#include "control/client/time_util.h"
#include "control/client/trace_log.h"
#include "control/client/unix_client.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;
namespace ctl = sipwall::control;

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

struct CallsArgs {
  std::string caller, callee, trunk, source, since, until, rules;
  std::string format = "table";
  std::uint32_t limit = 100;
  DialPlanOptions plan;
  std::string control = "/run/sipwall/control.sock";
  double timeout_s = 10;
};

std::string cell(const json& r, const char* key) {
  auto it = r.find(key);
  if (it == r.end() || it->is_null()) return "-";
  const std::string s = it->is_string() ? it->get<std::string>() : it->dump();
  return s.empty() ? "-" : text::printable(s);
}

// Every cell through text::printable: a Call-ID or a number as written came
// from the network and must not drive the terminal.
void print_row(const json& r) {
  std::string src = cell(r, "source");
  if (src.find(':') != std::string::npos) src = "[" + src + "]";
  src += ":" + cell(r, "source_port");
  std::string caller = cell(r, "caller"), callee = cell(r, "callee");
  if (caller == "-") caller = "(" + cell(r, "caller_as_written") + ")";
  if (callee == "-") callee = "(" + cell(r, "callee_as_written") + ")";
  std::string verdict = cell(r, "action");
  if (r.contains("reject_code")) verdict += " " + cell(r, "reject_code");
  std::string rule = cell(r, "rule");
  if (cell(r, "detector") != "-") rule += " [" + cell(r, "detector") + "]";
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %-12s %-26s %-16s %-16s %-11s %-20s %-32s ", cell(r, "time").c_str(),
                cell(r, "trunk").c_str(), src.c_str(), caller.c_str(), callee.c_str(), verdict.c_str(), rule.c_str(),
                cell(r, "outcome").c_str());
  std::cout << line << cell(r, "call_id") << "\n";
}

int run_calls(const CallsArgs& a) {
  const int keys = !a.caller.empty() + !a.callee.empty() + !a.trunk.empty() + !a.source.empty();
  if (keys != 1) {
    std::cerr << "sipwallctl calls: give exactly one of --caller, --callee, --trunk, --source\n";
    return kUsage;
  }
  json req{{"v", 1}, {"cmd", "calls"}, {"limit", a.limit}};
  const std::int64_t now = ctl::now_ns();
  std::string why;
  for (const auto& [flag, text, field] :
       {std::tuple{"--since", &a.since, "since_ms"}, std::tuple{"--until", &a.until, "until_ms"}}) {
    if (text->empty()) continue;
    auto t = ctl::parse_time_arg(*text, now, &why);
    if (!t || *t < 0) {
      std::cerr << "sipwallctl calls: " << flag << " " << (t ? "is before 1970" : why) << "\n";
      return kUsage;
    }
    req[field] = *t / 1'000'000;
  }
  const int timeout_ms = static_cast<int>(a.timeout_s * 1000);
  std::string err;
  if (!a.caller.empty() || !a.callee.empty()) {
    json status;
    const json* st = nullptr;
    if (!plan_flags_given(a.plan) && a.rules.empty()) {
      if (ctl::unix_json_call(a.control, {{"v", 1}, {"cmd", "status"}}, status, timeout_ms, err) &&
          status.value("ok", false))
        st = &status;
    }
    auto plan = dial_plan_for(a.plan, a.rules, st, why);
    if (!plan) {
      std::cerr << "sipwallctl calls: " << why << (err.empty() ? "" : " (" + err + ")") << "\n";
      return st != nullptr || !err.empty() ? kUnreachable : kUsage;
    }
    const std::string& text = !a.caller.empty() ? a.caller : a.callee;
    auto n = ctl::normalise_number_query(text, *plan, &why);
    if (!n) {
      std::cerr << "sipwallctl calls: " << (!a.caller.empty() ? "--caller " : "--callee ") << why << "\n";
      return kUsage;
    }
    req["by"] = !a.caller.empty() ? "caller" : "callee";
    req["value"] = *n;
  } else if (!a.trunk.empty()) {
    req["by"] = "trunk";
    req["value"] = a.trunk;
  } else {
    req["by"] = "source";
    req["value"] = a.source;
  }
  json reply;
  if (!ctl::unix_json_call(a.control, req, reply, timeout_ms, err)) {
    std::cerr << "sipwallctl calls: sipwall-control (" << a.control << "): " << err << "\n";
    return kUnreachable;
  }
  if (!reply.value("ok", false)) {
    std::cerr << "sipwallctl calls: " << text::printable(reply.value("error", std::string("failed"))) << "\n";
    return kFailed;
  }
  const json calls = reply.contains("calls") && reply["calls"].is_array() ? reply["calls"] : json::array();
  if (a.format == "json") {
    // One object per line, oldest first: valid JSON whatever bytes a record holds.
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) std::cout << text::dump_json(*it) << "\n";
  } else if (!calls.empty()) {
    char line[256];
    std::snprintf(line, sizeof line, "%-24s %-12s %-26s %-16s %-16s %-11s %-20s %-32s %s\n", "time", "trunk", "source",
                  "caller", "callee", "verdict", "rule", "outcome", "call-id");
    std::cout << line;
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) print_row(*it);
  }
  if (calls.size() >= a.limit) std::cerr << "the newest " << a.limit << " shown (--limit)\n";
  if (calls.empty()) {
    std::cerr << "no matching calls\n";
    return kFailed;
  }
  return kOk;
}

}  // namespace

void add_calls_command(CLI::App& app, int& rc) {
  auto a = std::make_shared<CallsArgs>();
  CLI::App* c = app.add_subcommand(
      "calls", "Search the call records (every INVITE, its verdict and outcome) by caller, callee, trunk or source");
  c->add_option("--caller", a->caller, "Caller number, in any format the dial plan understands");
  c->add_option("--callee", a->callee, "Callee number, in any format the dial plan understands");
  c->add_option("--trunk", a->trunk, "Trunk name, exactly");
  c->add_option("--source", a->source, "Source IP address (IPv4 or IPv6)");
  c->add_option("--since", a->since, "From this time on: ISO 8601 (UTC unless a zone is given) or 10m, 2h, 1d");
  c->add_option("--until", a->until, "Up to this time: ISO 8601 or a duration before now");
  c->add_option("--limit", a->limit, "Newest calls shown (default 100, at most 10000)")->check(CLI::Range(1, 10000));
  c->add_option("--format", a->format, "table or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  c->add_option("--rules", a->rules, "Take the dial plan from this rule set (YAML or artifact)")
      ->check(CLI::ExistingFile);
  add_dial_plan_options(*c, a->plan);
  c->add_option("--control-socket", a->control, "sipwall-control's socket")
      ->envname("SIPWALL_CONTROL_SOCKET")
      ->capture_default_str();
  c->add_option("--timeout", a->timeout_s, "Seconds to wait for sipwall-control")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  c->callback([a, &rc] { rc = run_calls(*a); });
}

}  // namespace sipwall::cli
