// sipwallctl fleet: many appliances on one Redis (docs/fleet.md).
//   fleet publish RULES.yaml [--wait S]   compile here, store in Redis, the fleet loads it
//   fleet status [--json]                 every appliance: fleet version, checksum, last seen, state
// Exit status: 0 ok, 1 refused (the rule set does not compile, or an
// appliance refused it within --wait), 2 bad arguments, 3 Redis unreachable.
#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/cli/commands.h"
#include "control/cli/dial_plan_options.h"
#include "control/client/time_util.h"
#include "control/client/user_at_host.h"
#include "control/fleet/bundle_files.h"
#include "control/fleet/fleet_blocks.h"
#include "control/fleet/fleet_store.h"
#include "rules/compiler/compiler.h"
#include "rules/io/file_input.h"
#include "rules/loader/loader.h"
#include "rules/number/normalize.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

struct RedisOptions {
  std::string address = "127.0.0.1:6379";
  std::string user;
  std::string password_file;
  std::string prefix = "sipwall:";
  double timeout_s = 5;
};

void add_redis_options(CLI::App* c, RedisOptions& o) {
  c->add_option("--redis", o.address, "the fleet's Redis, host:port")
      ->envname("SIPWALL_FLEET_REDIS")
      ->capture_default_str();
  c->add_option("--redis-user", o.user, "Redis ACL user")->envname("SIPWALL_FLEET_REDIS_USER");
  c->add_option("--redis-password-file", o.password_file, "a file holding the Redis password")
      ->envname("SIPWALL_FLEET_REDIS_PASSWORD_FILE");
  c->add_option("--prefix", o.prefix, "the fleet's key prefix")->envname("SIPWALL_FLEET_PREFIX")->capture_default_str();
  c->add_option("--timeout", o.timeout_s, "seconds per Redis call")
      ->check(CLI::Range(0.01, 600.0))
      ->capture_default_str();
}

// A connected link, or nullopt with the reason printed.
std::unique_ptr<fleet::RedisLink> open_redis(const RedisOptions& o) {
  fleet::RedisAddress a;
  std::string why;
  if (!fleet::parse_redis_address(o.address, a, &why)) {
    std::cerr << "--redis: " << why << "\n";
    return nullptr;
  }
  a.user = o.user;
  a.timeout_ms = static_cast<int>(o.timeout_s * 1000);
  if (!o.password_file.empty()) {
    std::string pw;
    if (!io::read_whole_file(o.password_file, io::kConfigFile, pw, why)) {
      std::cerr << why << "\n";
      return nullptr;
    }
    if (auto nl = pw.find_first_of("\r\n"); nl != std::string::npos) pw.resize(nl);
    a.password = pw;
  }
  auto link = std::make_unique<fleet::RedisLink>(a);
  if (!link->connect()) {
    std::cerr << link->error() << "\n";
    return nullptr;
  }
  return link;
}

std::string hex16(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string publisher() {
  return control::user_at_host();
}

std::string field(const fleet::ApplianceRow& r, const char* k) {
  auto it = r.fields.find(k);
  return it == r.fields.end() ? std::string() : text::printable(it->second, 512);
}

// --------------------------------------------------------------------------
// publish

// What the fleet's appliances said about version `seq` within `wait_s`:
// 0 all run it, 1 one refused it or did not answer in time.
int wait_for(fleet::RedisLink& r, const fleet::FleetKeys& k, std::uint64_t seq, double wait_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  const std::string want = std::to_string(seq);
  std::vector<fleet::ApplianceRow> rows;
  std::string err;
  for (;;) {
    if (!read_appliances(r, k, rows, err)) {
      std::cerr << err << "\n";
      return kUnreachable;
    }
    std::size_t live = 0, answered = 0;
    for (const auto& row : rows) {
      if (row.expired) continue;
      live++;
      if (field(row, "handled_seq") == want && field(row, "state") != "applying") answered++;
    }
    if (answered == live || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int rc = kOk;
  std::size_t live = 0;
  for (const auto& row : rows) {
    if (row.expired) continue;
    live++;
    const std::string st = field(row, "state");
    const bool runs = field(row, "seq") == want && (st == "ok" || st == "mismatch");
    if (runs)
      std::cout << "  " << row.id << ": runs version " << want
                << (st == "mismatch" ? " (" + field(row, "reason") + ")" : "") << "\n";
    else if (field(row, "handled_seq") == want && st == "pending")
      std::cout << "  " << row.id << ": compiled it, waits for its data plane: " << field(row, "reason") << "\n";
    else if (field(row, "handled_seq") == want && st == "refused")
      std::cout << "  " << row.id << ": REFUSED it, still runs version " << field(row, "seq") << ": "
                << field(row, "reason") << "\n";
    else
      std::cout << "  " << row.id << ": no answer within " << wait_s << " s (state " << st << ")\n";
    if (!runs) rc = kFailed;
  }
  if (live == 0) std::cout << "  no appliance reports to this Redis\n";
  return rc;
}

int run_publish(const std::string& path, const RedisOptions& o, double wait_s) {
  // Compiled here first: a set that does not compile never reaches the fleet.
  rules::LoadResult lr = rules::load_rule_set(path);
  for (const auto& d : lr.diagnostics) std::cerr << rules::format(d) << '\n';
  if (!lr.ok()) {
    std::cerr << path << ": " << rules::count_errors(lr.diagnostics) << " error(s); nothing published\n";
    return kFailed;
  }
  rules::CompileResult cr = rules::compile(*lr.rule_set);
  for (const auto& d : cr.diagnostics) std::cerr << rules::format(d) << '\n';
  if (!cr.ok()) {
    std::cerr << path << ": " << rules::count_errors(cr.diagnostics)
              << " error(s) while compiling; nothing published\n";
    return kFailed;
  }
  std::vector<std::string> lists;
  for (const auto& l : lr.rule_set->lists)
    for (const auto& f : l.files)
      if (std::find(lists.begin(), lists.end(), f) == lists.end()) lists.push_back(f);
  fleet::LocalBundle b;
  std::string err;
  if (!fleet::read_local_bundle(path, lists, b, err)) {
    std::cerr << err << "\n";
    return kFailed;
  }
  fleet::Manifest& m = b.manifest;
  m.name = cr.set->name();
  m.version = cr.set->version();
  m.checksum = hex16(cr.set->checksum());
  m.published_at = control::iso8601_ms(control::now_ns());
  m.publisher = publisher();

  auto link = open_redis(o);
  if (!link) return kUnreachable;
  const fleet::FleetKeys k{o.prefix};
  if (!fleet::publish_bundle(*link, k, m, b.contents, err)) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  std::cout << "published fleet version " << m.seq << ": rule set " << text::printable(m.name) << " "
            << text::printable(m.version) << " (" << m.checksum << "), " << m.files.size() << " file(s), "
            << m.total_bytes() << " bytes, to " << link->where() << "\n";
  if (wait_s <= 0) return kOk;
  return wait_for(*link, k, m.seq, wait_s);
}

// --------------------------------------------------------------------------
// status

std::string age_text(std::int64_t ms) {
  char buf[32];
  if (ms < 0) ms = 0;
  if (ms < 60000)
    std::snprintf(buf, sizeof buf, "%.1fs ago", static_cast<double>(ms) / 1000.0);
  else if (ms < 3600000)
    std::snprintf(buf, sizeof buf, "%lldm ago", static_cast<long long>(ms / 60000));
  else
    std::snprintf(buf, sizeof buf, "%lldh ago", static_cast<long long>(ms / 3600000));
  return buf;
}

// "4.2s", "12m", "3h": how long until an entry ends.
std::string span_text(std::int64_t ms) {
  std::string s = age_text(ms);
  return s.substr(0, s.size() - 4);  // without " ago"
}

int run_status(const RedisOptions& o, bool as_json) {
  auto link = open_redis(o);
  if (!link) return kUnreachable;
  const fleet::FleetKeys k{o.prefix};
  std::string err;
  std::optional<std::uint64_t> cur = fleet::read_current(*link, k, err);
  if (!cur) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  std::optional<fleet::Manifest> m;
  if (*cur) m = fleet::fetch_manifest(*link, k, *cur, std::uint64_t{1} << 40, err);
  std::vector<fleet::ApplianceRow> rows;
  if (!fleet::read_appliances(*link, k, rows, err)) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  const std::int64_t now_ms = control::now_ns() / 1'000'000;
  // Blocks and global detections in force (expired entries wait for pruning).
  std::vector<fleet::Block> blocks, live;
  std::size_t bad = 0;
  if (!fleet::read_blocks(*link, k, blocks, bad, err)) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  for (fleet::Block& b : blocks)
    if (b.until_ms > now_ms) live.push_back(std::move(b));
  if (as_json) {
    json j{{"redis", link->where()}, {"prefix", o.prefix}, {"current", *cur}};
    if (m)
      j["published"] = json{{"seq", m->seq},
                            {"name", m->name},
                            {"version", m->version},
                            {"checksum", m->checksum},
                            {"published_at", m->published_at},
                            {"publisher", m->publisher},
                            {"files", m->files.size()},
                            {"bytes", m->total_bytes()}};
    json apps = json::array();
    for (const auto& r : rows) {
      json a{{"appliance", r.id}, {"last_seen_ms", r.last_seen_ms}, {"expired", r.expired}};
      for (const auto& [f, v] : r.fields)
        if (f != "last_seen_ms") a[f] = v;  // the sorted set's score, a number, is the one shown
      apps.push_back(std::move(a));
    }
    j["appliances"] = std::move(apps);
    json bl = json::array();
    for (const fleet::Block& b : live)
      bl.push_back(json{{"key", b.key},
                        {"detector", b.detector},
                        {"kind", b.from_view() ? "detection" : "block"},
                        {"level", b.level},
                        {"until_ms", b.until_ms},
                        {"by", b.by},
                        {"at", b.at}});
    j["blocks"] = std::move(bl);
    std::cout << text::dump_json(j) << "\n";
    return kOk;
  }
  std::cout << "fleet " << link->where() << " (prefix " << text::printable(o.prefix) << ")\n";
  if (m)
    std::cout << "published  version " << m->seq << ": " << text::printable(m->name) << " "
              << text::printable(m->version) << " (" << m->checksum << ") at " << text::printable(m->published_at)
              << " by " << text::printable(m->publisher) << "\n";
  else if (*cur)
    std::cout << "published  version " << *cur << ": its bundle cannot be read: " << err << "\n";
  else
    std::cout << "published  nothing yet (sipwallctl fleet publish RULES.yaml)\n";
  std::cout << "\n";
  std::printf("%-16s %-9s %-7s %-20s %-16s %-10s %-12s %s\n", "appliance", "state", "fleet", "rule set", "checksum",
              "data plane", "last seen", "reason");
  for (const auto& r : rows) {
    const std::string state = r.expired ? "LOST" : field(r, "state");
    std::string reason = r.expired ? "no heartbeat for longer than its TTL" : field(r, "reason");
    if (!r.expired && *cur && field(r, "seq") != std::to_string(*cur) && reason.empty()) reason = "behind";
    std::printf("%-16s %-9s %-7s %-20s %-16s %-10s %-12s %s\n", text::printable(r.id).c_str(), state.c_str(),
                field(r, "seq").c_str(), (field(r, "name") + " " + field(r, "version")).c_str(),
                field(r, "checksum").c_str(), field(r, "dataplane").c_str(), age_text(now_ms - r.last_seen_ms).c_str(),
                reason.c_str());
  }
  if (rows.empty()) std::cout << "(no appliance has reported)\n";
  if (!live.empty()) {
    // `fleet block` entries and the fleet view's global detections.
    std::cout << "\n";
    std::printf("%-9s %-20s %-34s %-6s %-10s %s\n", "held", "detector", "key", "level", "ends in", "by");
    for (const fleet::Block& b : live)
      std::printf("%-9s %-20s %-34s %-6s %-10s %s\n", b.from_view() ? "detection" : "block",
                  text::printable(b.detector).c_str(), text::printable(b.key).c_str(), b.level.c_str(),
                  span_text(b.until_ms - now_ms).c_str(), text::printable(b.by, 200).c_str());
  }
  return kOk;
}

// --------------------------------------------------------------------------
// block / lift

// KEY as the data plane reads it: an IP address or a trunk name as given, a
// number in any format normalised to E.164 with the dial plan.
std::optional<std::string> block_key(const std::string& key, const DialPlanOptions& dp) {
  // A pair detector's key, "A -> B" as `detections` shows it: each part normalised.
  if (const std::size_t arrow = key.find(" -> "); arrow != std::string::npos) {
    const std::optional<std::string> a = block_key(key.substr(0, arrow), dp), b = block_key(key.substr(arrow + 4), dp);
    if (!a || !b) return std::nullopt;
    return *a + " -> " + *b;
  }
  unsigned char buf[16];
  if (::inet_pton(AF_INET, key.c_str(), buf) == 1 || ::inet_pton(AF_INET6, key.c_str(), buf) == 1) return key;
  const bool number = !key.empty() && (key[0] == '+' || (key[0] >= '0' && key[0] <= '9') || key.rfind("tel:", 0) == 0);
  if (!number) return key;  // a trunk name
  number::DialPlan plan;
  std::string why;
  if (!build_dial_plan(dp, plan, why)) {
    std::cerr << why << "\n";
    return std::nullopt;
  }
  const number::Number n = number::normalize_written(key, plan);
  if (n.kind != number::NumberKind::e164) {
    std::cerr << text::quote(key) << " is not a number the dial plan makes E.164 (" << number::to_string(n.reason)
              << ")\n";
    return std::nullopt;
  }
  return std::string(n.text());
}

int run_block(const std::string& key_in, const std::string& detector, const std::string& for_text,
              const DialPlanOptions& dp, const RedisOptions& o) {
  const std::optional<std::int64_t> dur = control::parse_duration(for_text);
  if (!dur || *dur <= 0 || *dur > std::int64_t{30} * 86400 * 1'000'000'000) {
    std::cerr << "--for: a duration from 1s to 30d (90s, 10m, 2h, 1d), got " << text::quote(for_text) << "\n";
    return kUsage;
  }
  const std::optional<std::string> key = block_key(key_in, dp);
  if (!key) return kUsage;
  auto link = open_redis(o);
  if (!link) return kUnreachable;
  const std::int64_t now = control::now_ns() / 1'000'000;
  fleet::Block b{*key, detector, now + *dur / 1'000'000, publisher(), control::iso8601_ms(control::now_ns()),
                 "",   "block"};
  std::string err;
  if (!fleet::write_block(*link, fleet::FleetKeys{o.prefix}, b, now, err)) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  std::cout << "fleet block: " << text::printable(*key) << " held in detector " << text::printable(detector)
            << " on every appliance until " << control::iso8601_ms(b.until_ms * 1'000'000) << "\n";
  return kOk;
}

int run_fleet_lift(const std::string& key_in, const std::string& detector, const DialPlanOptions& dp,
                   const RedisOptions& o) {
  const std::optional<std::string> key = block_key(key_in, dp);
  if (!key) return kUsage;
  auto link = open_redis(o);
  if (!link) return kUnreachable;
  std::size_t removed = 0;
  std::string err;
  if (!fleet::remove_blocks(*link, fleet::FleetKeys{o.prefix}, *key,
                            detector.empty() ? std::nullopt : std::optional<std::string>(detector), removed, err)) {
    std::cerr << err << "\n";
    return kUnreachable;
  }
  std::cout << "fleet lift: " << removed << " block(s) of " << text::printable(*key)
            << " removed; every appliance lifts them at its next turn\n";
  return removed ? kOk : kFailed;
}

}  // namespace

void add_fleet_command(CLI::App& app, int& rc) {
  auto* fleet = app.add_subcommand("fleet", "a fleet of appliances on one Redis (docs/fleet.md)");
  fleet->require_subcommand(1);

  static RedisOptions pub_opts, st_opts;
  static std::string pub_file;
  static double wait_s = 0;
  static bool as_json = false;

  auto* pub = fleet->add_subcommand("publish", "compile a rule set here, store it in Redis: every appliance loads it");
  pub->add_option("RULES", pub_file, "the YAML rule file (its list files go with it)")->required();
  pub->add_option("--wait", wait_s, "wait up to S seconds for every appliance to run it (exit 1 if one does not)")
      ->check(CLI::Range(0.0, 3600.0));
  add_redis_options(pub, pub_opts);
  pub->callback([&rc] { rc = run_publish(pub_file, pub_opts, wait_s); });

  auto* st = fleet->add_subcommand("status", "every appliance: fleet version, checksum, last seen, load state");
  st->add_flag("--json", as_json, "one JSON object");
  add_redis_options(st, st_opts);
  st->callback([&rc] { rc = run_status(st_opts, as_json); });

  static RedisOptions bl_opts, li_opts;
  static DialPlanOptions bl_dp, li_dp;
  static std::string bl_key, bl_det, bl_for, li_key, li_det;
  auto* bl = fleet->add_subcommand("block", "hold KEY in a detector on every appliance for a while (docs/fleet.md)");
  bl->add_option("KEY", bl_key,
                 "an E.164 number in any format (the dial plan normalises it), an IP address, a trunk, or 'A -> B' "
                 "for a pair detector")
      ->required();
  bl->add_option("--detector", bl_det, "the detector that holds it (the rules act on its level)")->required();
  bl->add_option("--for", bl_for, "how long: 90s, 10m, 2h, 1d (at most 30d)")->required();
  add_dial_plan_options(*bl, bl_dp);
  add_redis_options(bl, bl_opts);
  bl->callback([&rc] { rc = run_block(bl_key, bl_det, bl_for, bl_dp, bl_opts); });

  auto* li = fleet->add_subcommand("lift", "remove the fleet's blocks of KEY: every appliance lifts them");
  li->add_option("KEY", li_key, "as for fleet block")->required();
  li->add_option("--detector", li_det, "only the block in this detector");
  add_dial_plan_options(*li, li_dp);
  add_redis_options(li, li_opts);
  li->callback([&rc] { rc = run_fleet_lift(li_key, li_det, li_dp, li_opts); });
  (void)kUsage;
}

}  // namespace sipwall::cli
