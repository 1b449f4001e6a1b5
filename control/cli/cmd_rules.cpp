// sipwallctl rules check|compile|diff|explain — what ops run before a rule
// change goes live. (reload, rollback and history talk to sipwall-control;
// they are in cmd_live.cpp.)
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/cli/capture_options.h"
#include "control/cli/commands.h"
#include "control/cli/json_output.h"
#include "control/cli/socket_options.h"
#include "control/client/unix_client.h"
#include "control/common/detect_replay.h"
#include "control/common/sip_input.h"
#include "dataplane/classify/explain.h"
#include "dataplane/sip/sip_message.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/diff/diff.h"
#include "rules/loader/loader.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

void print_diagnostics(const std::vector<rules::Diagnostic>& ds) {
  for (const auto& d : ds) std::cerr << rules::format(d) << '\n';
}

// Loads and compiles a YAML rule set, printing every diagnostic (or, with
// `report`, putting them and the statistics into it: --format json). Null on
// error.
std::unique_ptr<rules::CompiledRuleSet> load_and_compile(const std::string& path, bool print_stats, std::ostream& out,
                                                         nlohmann::json* report = nullptr) {
  auto t0 = std::chrono::steady_clock::now();
  rules::LoadResult lr = rules::load_rule_set(path);
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<rules::Diagnostic> all = lr.diagnostics;
  auto finish = [&](const rules::CompileResult* cr) {
    if (!report) return;
    const bool ok = cr && cr->ok();
    (*report) = {{"file", path},
                 {"ok", ok},
                 {"name", ok ? nlohmann::json(std::string(cr->set->name())) : nlohmann::json(nullptr)},
                 {"version", ok ? nlohmann::json(std::string(cr->set->version())) : nlohmann::json(nullptr)},
                 {"errors", rules::count_errors(all)},
                 {"warnings", rules::count_warnings(all)},
                 {"diagnostics", diagnostics_json(all)},
                 {"load_s", load_s},
                 {"stats", ok ? compile_stats_json(cr->stats) : nlohmann::json(nullptr)}};
  };
  if (!report) print_diagnostics(lr.diagnostics);
  if (!lr.ok()) {
    if (!report)
      std::cerr << path << ": " << rules::count_errors(lr.diagnostics) << " error(s), "
                << rules::count_warnings(lr.diagnostics) << " warning(s); nothing compiled\n";
    finish(nullptr);
    return nullptr;
  }
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  all.insert(all.end(), cr.diagnostics.begin(), cr.diagnostics.end());
  finish(&cr);
  if (!report) print_diagnostics(cr.diagnostics);
  if (!cr.ok()) {
    if (!report) std::cerr << path << ": " << rules::count_errors(cr.diagnostics) << " error(s) while compiling\n";
    return nullptr;
  }
  if (print_stats && !report) {
    out << path << ": OK — rule set '" << cr.set->name() << "' version " << cr.set->version() << "\n";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", load_s);
    out << "  load (YAML + list files): " << buf << " s\n";
    out << rules::format_stats(cr.stats);
    std::size_t warnings = rules::count_warnings(lr.diagnostics) + rules::count_warnings(cr.diagnostics);
    if (warnings) out << "  " << warnings << " warning(s), see above\n";
  }
  return std::move(cr.set);
}

// A rule set for explain: an artifact as it is, or a YAML file compiled now.
std::unique_ptr<rules::CompiledRuleSet> open_rule_set(const std::string& path) {
  if (!rules::is_artifact_file(path)) return load_and_compile(path, false, std::cout);
  rules::ArtifactLoadResult r = rules::load_artifact(path);
  if (!r.ok()) {
    std::cerr << r.message << '\n';
    return nullptr;
  }
  return std::move(r.set);
}

int run_check(const std::string& path, const std::string& format) {
  if (format != "json") return load_and_compile(path, true, std::cout) ? kOk : kFailed;
  nlohmann::json report;
  const bool ok = load_and_compile(path, true, std::cout, &report) != nullptr;
  std::cout << text::dump_json(report, 2) << '\n';
  return ok ? kOk : kFailed;
}

int run_compile(const std::string& path, const std::string& output) {
  auto set = load_and_compile(path, true, std::cout);
  if (!set) return 1;
  rules::ArtifactSaveResult s = rules::save_artifact(*set, output);
  if (!s.ok) {
    std::cerr << s.error << '\n';
    return 1;
  }
  std::cout << "wrote " << output << " (" << s.bytes << " bytes)\n";
  return 0;
}

struct DiffArgs {
  std::string old_file, new_file;
  std::size_t sample = 10;
  std::string lists_from;
  bool running = false;  // OLD is the rule file sipwall-control watches
  Sockets so;
  std::string format = "text";
};

// --running: the rule file the running sipwall-control watches, as an
// absolute path from its `status` (older daemons: `rules_file`, relative to
// their working directory). Empty on error, with the exit status in `rc`.
std::string running_rules_file(const Sockets& so, int& rc) {
  nlohmann::json st;
  std::string err;
  if (!control::unix_json_call(so.control, {{"v", 1}, {"cmd", "status"}}, st, static_cast<int>(so.timeout_s * 1000),
                               err)) {
    std::cerr << "sipwallctl rules diff --running: " << err << '\n';
    rc = kUnreachable;
    return {};
  }
  const auto text_of = [&st](const char* key) {
    auto it = st.find(key);
    return it != st.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string path = text_of("rules_file_path");
  if (path.empty()) path = text_of("rules_file");
  if (!st.value("ok", false) || path.empty()) {
    std::cerr << "sipwallctl rules diff --running: sipwall-control did not name its rule file"
              << (text_of("error").empty() ? "" : ": " + text::printable(text_of("error"))) << '\n';
    rc = kFailed;
    return {};
  }
  // The file may have changed since the running set was compiled from it.
  auto lr = st.find("last_reload");
  if (lr != st.end() && lr->is_object() && lr->value("result", "") == "failed")
    std::cerr << "warning: the last reload of " << text::printable(path)
              << " failed, so the running set is older than the file; this diff compares with the file as it is now\n";
  return path;
}

int run_diff(DiffArgs a) {
  if (a.running) {
    if (!a.new_file.empty()) {
      std::cerr << "sipwallctl rules diff: with --running give only NEW (the running rule file is OLD)\n";
      return kUsage;
    }
    a.new_file = a.old_file;
    int rc = kOk;
    a.old_file = running_rules_file(a.so, rc);
    if (a.old_file.empty()) return rc;
  } else if (a.new_file.empty()) {
    std::cerr << "sipwallctl rules diff: give OLD and NEW, or --running NEW\n";
    return kUsage;
  }
  rules::LoadOptions lo;
  lo.analyze = false;
  rules::LoadResult a_set = rules::load_rule_set(a.old_file, lo);
  // A staged NEW file may read its lists from elsewhere (the live folder).
  if (!a.lists_from.empty()) lo.list_base = a.lists_from;
  rules::LoadResult b_set = rules::load_rule_set(a.new_file, lo);
  const bool as_json = a.format == "json";
  if (as_json) {
    // One document whatever happens: the diagnostics of both files in it.
    std::vector<rules::Diagnostic> all = a_set.diagnostics;
    all.insert(all.end(), b_set.diagnostics.begin(), b_set.diagnostics.end());
    nlohmann::json j{{"old_file", a.old_file},
                     {"new_file", a.new_file},
                     {"ok", a_set.ok() && b_set.ok()},
                     {"diagnostics", diagnostics_json(all)},
                     {"diff", nullptr}};
    if (a_set.ok() && b_set.ok()) {
      rules::DiffOptions o;
      o.sample = a.sample;
      j["diff"] = diff_json(rules::diff(*a_set.rule_set, *b_set.rule_set, o));
    }
    std::cout << text::dump_json(j, 2) << '\n';
    return a_set.ok() && b_set.ok() ? kOk : kFailed;
  }
  print_diagnostics(a_set.diagnostics);
  print_diagnostics(b_set.diagnostics);
  if (!a_set.ok() || !b_set.ok()) {
    std::cerr << "diff needs two rule sets that load without errors\n";
    return kFailed;
  }
  rules::DiffOptions o;
  o.sample = a.sample;
  rules::print_diff(std::cout, rules::diff(*a_set.rule_set, *b_set.rule_set, o));
  return kOk;
}

struct ExplainOptions {
  std::string rules;
  std::vector<std::string> inputs;
  control::InputOptions in;
  std::string source;  // for raw message files: where the message "came from"
  int vlan = -1;
  std::uint16_t dst_port = 5060;
  bool all = false;  // also messages that are not INVITEs
  std::string format = "text";
};

constexpr const char* kActionNames[] = {"pass", "drop", "reject", "tag", "trace"};

// One INVITE's verdict as a JSON line (--format json): what the data plane
// would have done at this point of the capture, detection state included.
nlohmann::json verdict_json(const rules::CompiledRuleSet& set, const control::SipPayload& p, const sip::Message& msg,
                            const classify::Verdict& v) {
  using nlohmann::json;
  auto action = [](rules::ActionKind a) {
    const auto i = static_cast<unsigned>(a);
    return i < std::size(kActionNames) ? kActionNames[i] : "?";
  };
  auto number = [](const number::Number& n) {
    return n.kind == number::NumberKind::absent ? json(nullptr) : json(std::string(n.text()));
  };
  std::string rule;
  if (v.decided_by == classify::DecidedBy::rule)
    rule = std::string(v.rule_id);
  else if (v.decided_by == classify::DecidedBy::default_action)
    rule = "(default)";
  else
    rule = "(guard rail: " + std::string(classify::to_string(v.decided_by)) + ")";
  json j{{"origin", p.origin},
         {"call_id", std::string(msg.call_id)},
         {"caller", number(v.caller)},
         {"callee", number(v.callee)},
         {"trunk", v.trunk != classify::kNoTrunk ? json(std::string(set.trunk_name(v.trunk))) : json(nullptr)},
         {"action", action(v.action)},
         {"rule", rule},
         {"detector", nullptr}};
  if (p.from_pcap) j["time"] = static_cast<double>(p.time_us) / 1e6;
  if (v.action == rules::ActionKind::reject) j["reject_code"] = v.reject_code;
  if (v.trace_rule != classify::kNoRule) j["trace_rule"] = std::string(v.trace_rule_id);
  if (v.detector != classify::kNoDetector) {
    j["detector"] = std::string(set.detector_name(v.detector));
    j["detector_count"] = v.detector_count;
    j["detector_level"] = detect::to_string(v.detector_level);
    j["report_only"] = v.report_only;
    if (v.report_only) j["would"] = action(v.report_action);
  }
  return j;
}

int run_explain(const ExplainOptions& o) {
  auto set = open_rule_set(o.rules);
  if (!set) return 1;
  const bool as_json = o.format == "json";
  // Detector state as the data plane keeps it, on the capture's clock.
  std::unique_ptr<control::DetectReplay> replay;
  try {
    replay = std::make_unique<control::DetectReplay>(set->detectors());
  } catch (const std::exception& e) {
    std::cerr << o.rules << ": detectors: " << e.what() << '\n';
    return 1;
  }
  classify::Scratch scratch;
  std::string why;
  if (!scratch.prepare(*set, &why)) {
    std::cerr << "cannot prepare Hyperscan scratch: " << why << '\n';
    return 1;
  }
  classify::PacketSource raw_src;
  if (!o.source.empty()) {
    std::string ip = o.source;
    std::uint16_t port = 5060;
    std::size_t colon = ip.rfind(':');
    if (colon != std::string::npos && ip.find(':') == colon) {  // a.b.c.d:port
      port = static_cast<std::uint16_t>(std::stoi(ip.substr(colon + 1)));
      ip.resize(colon);
    }
    if (!classify::PacketSource::parse_ip(ip, raw_src.src_ip, raw_src.family)) {
      std::cerr << "--source: '" << o.source << "' is not an IP address\n";
      return 2;
    }
    raw_src.src_port = port;
  }
  raw_src.vlan = o.vlan;
  raw_src.dst_port = o.dst_port;

  const bool closed = set->malformed_policy() == rules::MalformedPolicy::fail_closed;
  // The data plane's first stage, before reassembly and SIP.
  control::InputOptions in = o.in;
  in.denied = [&set](const net::DecodedPacket& d, bool has_l4, std::string& entry) {
    const std::uint32_t e = set->find_deny(d.src.data(), d.vlan_count ? static_cast<std::int32_t>(d.outer_vlan) : -1,
                                           has_l4 ? d.dst_port : 0);
    if (e == rules::kNoDeny) return false;
    entry = "entry " + std::string(set->deny_id(e));
    return true;
  };

  static sip::Message msg;
  std::size_t invites = 0;
  int rc = 0;
  for (const std::string& path : o.inputs) {
    control::InputStats stats;
    std::string err;
    bool ok = control::read_sip_input(
        path, in, stats,
        [&](const control::SipPayload& p) {
          // " (TCP, frames 3+4)": where a reassembled message came from.
          std::string from;
          if (!p.frames.empty()) {
            from = p.reassembled ? " (IP fragments, frames " : " (TCP segments, frames ";
            for (std::size_t i = 0; i < p.frames.size(); ++i) from += (i ? "+" : "") + std::to_string(p.frames[i]);
            from += ")";
          }
          const std::string head = "== " + text::printable(p.origin) + from + ": ";
          if (p.from_pcap) replay->advance(p.time_us / 1000);
          if (as_json && p.not_inspected != control::NotInspected::no) return;
          if (p.not_inspected != control::NotInspected::no) {
            std::cout << head << "not inspected: " << control::describe(p.not_inspected)
                      << (p.detail.empty() ? "" : " (" + text::printable(p.detail) + ")") << " -> "
                      << control::dataplane_action(p.not_inspected, closed) << "\n\n";
            return;
          }
          classify::PacketSource src = raw_src;
          if (p.from_pcap) {
            const net::DecodedPacket& d = p.packet;
            src.src_ip = d.src;
            src.dst_ip = d.dst;
            src.family = d.ip_version == 6 ? classify::IpFamily::ipv6 : classify::IpFamily::ipv4;
            src.src_port = d.src_port;
            src.dst_port = d.dst_port;
            src.vlan = d.vlan_count ? d.outer_vlan : classify::kNoVlan;
            src.transport = p.stream ? classify::Transport::tcp : classify::Transport::udp;
          }
          // One message (the input framed TCP as the data plane does), as
          // deep as the data plane parses it: a UDP message under fail_open
          // at verdict depth (docs/sip-parser.md, "Parse depth").
          const sip::ParseError e =
              sip::parse_message(p.bytes, msg, p.stream ? sip::Transport::stream : sip::Transport::datagram,
                                 !p.stream && !closed ? sip::Depth::verdict : sip::Depth::full);
          if (as_json && e != sip::ParseError::none) return;
          if (e == sip::ParseError::empty) {
            // CRLFs only: a keep-alive (RFC 5626 §3.5.1), forwarded under both policies.
            if (o.all) std::cout << head << "CRLF keep-alive -> forwarded untouched\n\n";
            return;
          }
          if (e != sip::ParseError::none) {
            std::cout << head << "malformed SIP (" << sip::to_string(e) << ": " << sip::describe(e) << ") -> "
                      << (!closed                  ? "forwarded (fail_open)"
                          : p.stream && p.unframed ? "connection reset: nothing after it can be framed (fail_closed)"
                                                   : "dropped (fail_closed)")
                      << "\n\n";
            return;
          }
          const bool invite = msg.is_request && msg.method == sip::Method::invite;
          if (invite) {
            ++invites;
            const classify::Verdict v = classify::classify(*set, msg, src, scratch, replay->context());
            if (as_json) {
              // Bytes from the capture: dump_json escapes what is not UTF-8.
              std::cout << text::dump_json(verdict_json(*set, p, msg, v)) << "\n";
              return;
            }
            std::cout << head << "INVITE " << text::printable(msg.request_uri_text) << "  Call-ID "
                      << text::printable(msg.call_id) << "\n";
            classify::Explanation ex = classify::explain(*set, msg, src, scratch);
            std::cout << classify::to_text(ex, *set);
            if (v.detector != classify::kNoDetector)
              std::cout << "detection: detector " << text::printable(set->detector_name(v.detector)) << " at "
                        << detect::to_string(v.detector_level) << " (count " << v.detector_count << " in its window)"
                        << (v.report_only ? ", report mode: the call passes" : "") << " -> verdict "
                        << kActionNames[static_cast<unsigned>(v.action)] << " by rule " << text::printable(v.rule_id)
                        << "\n";
            if (v.action == rules::ActionKind::reject) {
              const sip::ParseError r = sip::parse_top_via(p.bytes, msg);
              if (r != sip::ParseError::none)
                std::cout << "no response: " << sip::describe(r)
                          << " (read only for a response); the data plane drops the INVITE (reply_malformed)\n";
            }
            std::cout << "\n";
          } else if (o.all && !as_json) {
            replay->call_event(msg);
            std::cout << head
                      << (msg.is_request ? text::printable(msg.method_text)
                                         : std::to_string(msg.status_code) + " response")
                      << " -> not an INVITE, forwarded untouched\n\n";
          } else {
            replay->call_event(msg);
          }
        },
        err);
    if (!ok) {
      std::cerr << text::printable(err) << '\n';
      rc = 1;
    }
  }
  if (invites == 0 && rc == 0) std::cerr << "no INVITE found in the input\n";
  return rc;
}

}  // namespace

void add_rules_command(CLI::App& app, int& rc) {
  CLI::App* rules =
      app.add_subcommand("rules", "Rule sets: check, compile, diff, explain (and reload/rollback/history)");
  rules->require_subcommand(1);

  auto check_args = std::make_shared<std::pair<std::string, std::string>>("", "text");
  CLI::App* check = rules->add_subcommand("check", "Validate and compile a rule set; print a summary or every error");
  check->add_option("FILE", check_args->first, "YAML rule set")->required()->check(CLI::ExistingFile);
  check
      ->add_option("--format", check_args->second,
                   "text (default) or json: one JSON object (ok, diagnostics, stats) on stdout")
      ->check(CLI::IsMember({"text", "json"}));
  check->callback([check_args, &rc] { rc = run_check(check_args->first, check_args->second); });

  auto comp = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* compile = rules->add_subcommand("compile", "Compile a rule set into an artifact the data plane loads");
  compile->add_option("FILE", comp->first, "YAML rule set")->required()->check(CLI::ExistingFile);
  compile->add_option("-o,--output", comp->second, "Artifact file to write")->required();
  compile->callback([comp, &rc] { rc = run_compile(comp->first, comp->second); });

  auto da = std::make_shared<DiffArgs>();
  CLI::App* df = rules->add_subcommand("diff", "What changes between two rule sets (rules, lists, numbers)");
  df->add_option("OLD", da->old_file, "Rule set now in force (with --running: the rule set to compare)")
      ->required()
      ->check(CLI::ExistingFile);
  df->add_option("NEW", da->new_file, "Rule set to compare")->check(CLI::ExistingFile);
  df->add_flag("--running", da->running,
               "Compare NEW with the rule file the running sipwall-control watches (asked over its socket)");
  df->add_option("--sample", da->sample, "Numbers shown per list and direction (default 10)");
  df->add_option("--lists-from", da->lists_from,
                 "Folder NEW's relative list files are read from (default: NEW's folder), e.g. the live rules folder "
                 "when NEW is staged elsewhere")
      ->check(CLI::ExistingDirectory);
  df->add_option("--format", da->format, "text (default) or json: one JSON object (ok, diagnostics, diff) on stdout")
      ->check(CLI::IsMember({"text", "json"}));
  add_control_socket(df, da->so);
  add_timeout(df, da->so, "Seconds to wait for sipwall-control (--running)");
  df->callback([da, &rc] { rc = run_diff(*da); });

  auto eo = std::make_shared<ExplainOptions>();
  CLI::App* ex = rules->add_subcommand("explain", "For each INVITE: fields, numbers, trunk, matching rules, verdict");
  ex->add_option("--rules", eo->rules, "YAML rule set or compiled artifact")->required()->check(CLI::ExistingFile);
  add_input_argument(*ex, eo->inputs);
  ex->add_option("--source", eo->source, "For raw files: source IP[:port] the message came from (trunk lookup)");
  ex->add_option("--vlan", eo->vlan, "For raw files: VLAN id it came on");
  ex->add_option("--dst-port", eo->dst_port, "For raw files: local port it arrived on (default 5060)");
  ex->add_flag("--all", eo->all, "Also list messages that are not INVITEs");
  ex->add_option("--format", eo->format,
                 "text (default): the explanation of each INVITE; json: one JSON object per INVITE (call_id, "
                 "action, rule, detector, ...) with detector state kept over the capture, on its timestamps")
      ->check(CLI::IsMember({"text", "json"}));
  add_capture_options(*ex, eo->in);
  ex->callback([eo, &rc] { rc = run_explain(*eo); });
}

}  // namespace sipwall::cli
