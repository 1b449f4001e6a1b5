// sipwallctl rules lookup NUMBER [--trunk T] [--format table|json]: what the
// RUNNING rule set holds about one number (Kamailio's htable.get).
//
// Where the answer comes from (docs/control.md "rules lookup"): the data
// plane's `status` names the artifact it loaded and its checksum; sipwallctl
// reads that artifact (or, if the file there changed since, the one
// sipwall-control published, when its checksum is the running one) and asks
// it with control::lookup_number, the data plane's own classify code. The
// detections come from the data plane's `detections` command. Nothing is
// added to the data plane's socket and no worker is disturbed.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "control/cli/commands.h"
#include "control/cli/socket_options.h"
#include "control/client/unix_client.h"
#include "control/common/number_lookup.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/loader/loader.h"
#include "rules/model/model_text.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;

struct LookupArgs {
  std::string number, trunk, format = "table", rules;
  Sockets so;
};

std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string hex64(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* origin_name(rules::ListOrigin o) {
  switch (o) {
    case rules::ListOrigin::named:
      return "list";
    case rules::ListOrigin::inline_values:
      return "rule values";
    case rules::ListOrigin::trunk_callers:
      return "trunk callers";
  }
  return "?";
}

struct RunningSet {
  std::unique_ptr<rules::CompiledRuleSet> set;
  std::string artifact;
};

// The artifact whose checksum is the one the data plane runs: the file it
// loaded, else the one sipwall-control published. Exit status in rc.
RunningSet running_set(const Sockets& so, json& dp_status, int& rc) {
  RunningSet out;
  std::string err;
  const int ms = static_cast<int>(so.timeout_s * 1000);
  if (!control::unix_json_call(so.dataplane, {{"v", 1}, {"cmd", "status"}}, dp_status, ms, err)) {
    std::cerr << "sipwallctl rules lookup: " << text::printable(err) << '\n';
    rc = kUnreachable;
    return out;
  }
  const json rs = dp_status.value("ruleset", json());
  if (!rs.is_object()) {
    std::cerr << "sipwallctl rules lookup: the data plane runs no rule set (every INVITE is forwarded)\n";
    rc = kFailed;
    return out;
  }
  const std::string want = str_of(rs, "checksum");
  std::vector<std::string> candidates{str_of(rs, "artifact")};
  json ctl;
  if (control::unix_json_call(so.control, {{"v", 1}, {"cmd", "status"}}, ctl, ms, err) && ctl.is_object() &&
      ctl.contains("ruleset") && ctl["ruleset"].is_object())
    candidates.push_back(str_of(ctl["ruleset"], "artifact"));
  std::string why;
  for (const std::string& path : candidates) {
    if (path.empty()) continue;
    rules::ArtifactLoadResult r = rules::load_artifact(path);
    if (!r.ok()) {
      why += "\n  " + text::printable(r.message);
      continue;
    }
    if (hex64(r.set->checksum()) != want) {
      why += "\n  " + text::printable(path) + ": checksum " + hex64(r.set->checksum()) + ", not the running one";
      continue;
    }
    out.set = std::move(r.set);
    out.artifact = path;
    return out;
  }
  std::cerr << "sipwallctl rules lookup: cannot read the running rule set (checksum " << text::printable(want) << ")"
            << why << "\n(pass --rules FILE to look in a rule file or artifact instead)\n";
  rc = kFailed;
  return out;
}

// The held keys of the data plane's penalty box that contain the number.
bool detections_of(const Sockets& so, const std::string& number, json& out) {
  json r;
  std::string err;
  out = json::array();
  if (!control::unix_json_call(so.dataplane, {{"v", 1}, {"cmd", "detections"}}, r,
                               static_cast<int>(so.timeout_s * 1000), err) ||
      !r.value("ok", false))
    return false;
  for (const json& d : r.value("detections", json::array())) {
    if (control::detection_key_holds(str_of(d, "key"), number)) out.push_back(d);
  }
  return true;
}

json to_json(const control::NumberLookup& l, const rules::CompiledRuleSet& set, const std::string& artifact,
             const json* detections) {
  json lists = json::array();
  for (const auto& h : l.lists) {
    json j{{"name", h.name},
           {"kind", std::string(rules::to_string(h.kind))},
           {"origin", origin_name(h.origin)},
           {"where", h.where}};
    if (!h.prefix.empty()) j["prefix"] = h.prefix;
    lists.push_back(std::move(j));
  }
  json hits = json::array();
  for (const auto& h : l.rules)
    hits.push_back({{"as", h.role},
                    {"rule", h.rule_id},
                    {"action", h.action},
                    {"field", h.field},
                    {"list", h.list.empty() ? json(nullptr) : json(h.list)},
                    {"decides", h.decided},
                    {"overridden", h.overridden},
                    {"report_only", h.report_only},
                    {"where", h.where}});
  json verdicts = json::object();
  for (const auto& v : l.verdicts) verdicts[v.role] = {{"action", v.action}, {"decided_by", v.decided_by}};
  return json{{"number", std::string(l.number.text())},
              {"kind", std::string(number::to_string(l.number.kind))},
              {"written", l.written},
              {"ruleset",
               {{"name", std::string(set.name())},
                {"version", std::string(set.version())},
                {"checksum", hex64(set.checksum())},
                {"source", artifact}}},
              {"trunk", l.trunk.empty() ? json(nullptr) : json(l.trunk)},
              {"emergency", l.emergency},
              {"allow_caller", l.allow_caller},
              {"allow_callee", l.allow_callee},
              {"lists", lists},
              {"rules", hits},
              {"verdicts", verdicts},
              {"detections", detections ? *detections : json(nullptr)}};
}

void print_table(const json& j) {
  // Names, ids and keys come from rule files and the network: printable().
  auto p = [](const json& v) { return text::printable(v.is_string() ? v.get<std::string>() : v.dump()); };
  const json& rs = j["ruleset"];
  std::cout << p(j["number"]) << " (" << p(j["kind"]) << ", written " << p(j["written"]) << ") in rule set "
            << p(rs["name"]) << " " << p(rs["version"]) << " " << p(rs["checksum"])
            << (j["trunk"].is_null() ? std::string() : ", from trunk " + p(j["trunk"])) << "\n";
  std::cout << "lists:" << (j["lists"].empty() ? " none\n" : "\n");
  for (const json& l : j["lists"]) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-28s %-7s %-14s %-18s %s\n", p(l["name"]).c_str(), p(l["kind"]).c_str(),
                  p(l["origin"]).c_str(), l.contains("prefix") ? ("prefix " + p(l["prefix"])).c_str() : "",
                  p(l["where"]).c_str());
    std::cout << line;
  }
  std::cout << "guard rails: emergency " << (j["emergency"].get<bool>() ? "YES" : "no") << ", caller allow list "
            << (j["allow_caller"].get<bool>() ? "YES" : "no") << ", callee allow list "
            << (j["allow_callee"].get<bool>() ? "YES" : "no") << "\n";
  std::cout << "rules:" << (j["rules"].empty() ? " none\n" : "\n");
  for (const json& r : j["rules"]) {
    std::string why = p(r["field"]) + (r["list"].is_null() ? "" : " in " + p(r["list"]));
    std::string state = r["decides"].get<bool>()       ? "decides"
                        : r["overridden"].get<bool>()  ? "overridden"
                        : r["report_only"].get<bool>() ? "report only"
                                                       : "matches";
    char line[512];
    std::snprintf(line, sizeof line, "  as %-7s %-26s %-7s %-30s %-11s %s\n", p(r["as"]).c_str(), p(r["rule"]).c_str(),
                  p(r["action"]).c_str(), why.c_str(), state.c_str(), p(r["where"]).c_str());
    std::cout << line;
  }
  for (const char* role : {"caller", "callee"}) {
    const json& v = j["verdicts"][role];
    std::cout << "an INVITE with only this number, as the " << role << ": " << p(v["action"]) << " by "
              << p(v["decided_by"]) << "\n";
  }
  if (j["detections"].is_null()) {
    std::cout << "detections: not asked (--rules)\n";
    return;
  }
  std::cout << "detections:" << (j["detections"].empty() ? " none held\n" : "\n");
  for (const json& d : j["detections"])
    std::cout << "  " << p(d.value("detector", json(""))) << "  " << p(d.value("key", json(""))) << "  count "
              << d.value("count", 0) << "  " << p(d.value("level", json(""))) << "  expires "
              << p(d.value("expires", json(""))) << "\n";
}

int run_lookup(const LookupArgs& a) {
  std::unique_ptr<rules::CompiledRuleSet> set;
  std::string source;
  const bool running = a.rules.empty();
  if (running) {
    json dp;
    int rc = kOk;
    RunningSet r = running_set(a.so, dp, rc);
    if (!r.set) return rc;
    set = std::move(r.set);
    source = r.artifact;
  } else if (rules::is_artifact_file(a.rules)) {
    rules::ArtifactLoadResult r = rules::load_artifact(a.rules);
    if (!r.ok()) {
      std::cerr << text::printable(r.message) << '\n';
      return kFailed;
    }
    set = std::move(r.set);
    source = a.rules;
  } else {
    rules::LoadResult lr = rules::load_rule_set(a.rules);
    rules::CompileResult cr;
    if (lr.ok()) cr = rules::compile(*lr.rule_set);
    if (!lr.ok() || !cr.ok()) {
      for (const auto& d : lr.diagnostics) std::cerr << rules::format(d) << '\n';
      for (const auto& d : cr.diagnostics) std::cerr << rules::format(d) << '\n';
      std::cerr << a.rules << ": does not compile\n";
      return kFailed;
    }
    set = std::move(cr.set);
    source = a.rules;
  }
  std::uint32_t trunk = classify::kNoTrunk;
  if (!a.trunk.empty()) {
    std::string names;
    for (std::size_t i = 0; i < set->trunk_count(); ++i) {
      if (set->trunk_name(i) == a.trunk) trunk = static_cast<std::uint32_t>(i);
      names += (names.empty() ? "" : ", ") + std::string(set->trunk_name(i));
    }
    if (trunk == classify::kNoTrunk) {
      std::cerr << "sipwallctl rules lookup: no trunk '" << text::printable(a.trunk) << "' in rule set "
                << text::printable(set->version()) << " (trunks: " << text::printable(names.empty() ? "none" : names)
                << ")\n";
      return kUsage;
    }
  }
  control::NumberLookup l;
  std::string why;
  if (!control::lookup_number(*set, a.number, trunk, l, &why)) {
    std::cerr << "sipwallctl rules lookup: " << text::printable(why) << '\n';
    return kUsage;
  }
  json detections;
  bool have_detections = false;
  if (running) {
    have_detections = detections_of(a.so, std::string(l.number.text()), detections);
    if (!have_detections) std::cerr << "warning: the data plane did not list its detections\n";
  }
  const json j = to_json(l, *set, source, have_detections ? &detections : nullptr);
  if (a.format == "json")
    std::cout << text::dump_json(j, 2) << '\n';
  else
    print_table(j);
  // Like grep: 0 when something holds the number, 1 when nothing does. A
  // rule's own values (prefix "+86") count only through the rule matching.
  const bool in_list = std::any_of(l.lists.begin(), l.lists.end(), [](const control::ListHit& h) {
    return h.origin != rules::ListOrigin::inline_values;
  });
  const bool held = in_list || !l.rules.empty() || l.emergency || l.allow_caller || l.allow_callee ||
                    (have_detections && !detections.empty());
  return held ? kOk : kFailed;
}

}  // namespace

void add_lookup_command(CLI::App& app, int& rc) {
  CLI::App* rules = app.get_subcommand("rules");
  auto la = std::make_shared<LookupArgs>();
  CLI::App* lookup = rules->add_subcommand(
      "lookup", "Which lists, prefixes, rules and detections of the RUNNING rule set hold a number");
  lookup->add_option("NUMBER", la->number, "The number in any form the dial plan normalises")->required();
  lookup->add_option("--trunk", la->trunk, "The trunk the call would come from (rules that name trunks)");
  lookup->add_option("--format", la->format, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
  lookup->add_option("--rules", la->rules, "Look in this rule file or artifact instead of the running set")
      ->check(CLI::ExistingFile);
  add_dataplane_socket(lookup, la->so);
  add_control_socket(lookup, la->so);
  add_timeout(lookup, la->so, "Seconds to wait for each socket");
  lookup->callback([la, &rc] { rc = run_lookup(*la); });
}

}  // namespace sipwall::cli
