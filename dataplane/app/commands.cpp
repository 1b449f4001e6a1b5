// Control-socket commands (docs/control-protocol.md). Protocol version 1:
// a request is one JSON object per line, {"v":1,"cmd":"status"}; the reply is
// one JSON object per line with "ok". For people at a shell, a line that is
// not JSON is read as "cmd [arg]" (e.g. `load /var/lib/sipwall/x.swr`).
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dataplane/app/detections.h"
#include "dataplane/app/main_state.h"
#include "dataplane/app/record_export.h"
#include "dataplane/app/setup.h"
#include "dataplane/app/trace_json.h"
#include "dataplane/log/log.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/protocol/dataplane_commands.h"
#include "dataplane/protocol/echo.h"
#include "dataplane/protocol/line_server.h"
#include "dataplane/protocol/process_stats.h"
#include "dataplane/protocol/reply.h"
#include "rules/model/rule_model.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::dataplane {
namespace {

using nlohmann::json;
constexpr int kProtocolVersion = protocol::kVersion;

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hex64(std::uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The one line a rule-set load leaves in the log: what runs now.
std::string load_line(const rules::CompiledRuleSet& s, const std::string& path, double ms) {
  std::uint64_t entries[3] = {};  // named lists' entries by number space: exact, prefix, range
  for (std::size_t i = 0; i < s.named_list_count(); ++i) {
    const auto space = static_cast<std::size_t>(s.list(i).space);
    if (space < 3) entries[space] += s.list(i).entries;
  }
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", ms);
  return "rule set " + std::string(s.version()) + " loaded (checksum " + hex64(s.checksum()) + ", " +
         std::to_string(s.rule_count()) + " rules, " + std::to_string(s.exact_table().size()) + " numbers, " +
         std::to_string(entries[1]) + " prefixes, " + std::to_string(entries[2]) + " ranges (" +
         std::to_string(s.named_list_count()) + " named lists), " + std::to_string(s.patterns().size()) + " regexes, " +
         std::to_string(s.detectors().size()) + " detectors, " + std::to_string(s.trunk_count()) + " trunks, " +
         std::to_string(s.deny_count()) + " deny_sources) from " + path + " in " + took + " ms";
}

json ruleset_json(const RuntimeSet* rs) {
  if (!rs) return nullptr;
  const rules::CompiledRuleSet& s = rs->set();
  return json{
      {"name", std::string(s.name())},
      {"version", std::string(s.version())},
      {"checksum", hex64(s.checksum())},
      {"artifact", rs->artifact_path()},
      {"loaded_at", iso8601(rs->loaded_at())},
      {"load_ms", rs->load_ms()},
      {"rules", s.rule_count()},
      {"trunks", s.trunk_count()},
      {"lists", s.named_list_count()},
      {"deny_sources", s.deny_count()},
      {"malformed_policy", s.malformed_policy() == rules::MalformedPolicy::fail_closed ? "fail_closed" : "fail_open"}};
}

// What rte_flow took on one port (docs/hardware.md, docs/control-protocol.md).
json offload_json(const Dataplane& dp, std::size_t port, const RuntimeSet* rs) {
  if (port >= dp.flows.size() || !dp.flows[port]) return nullptr;
  const offload::PortFlowInstaller& f = *dp.flows[port];
  const offload::PortOffloadStatus& s = f.status();
  json refusals = json::array();
  for (const auto& [reason, n] : s.refusals) refusals.push_back(json{{"rules", n}, {"reason", reason}});
  json entries = json::array();
  if (rs && f.deny_side()) {
    for (std::uint32_t e : f.offloaded_entries()) entries.push_back(std::string(rs->set().deny_id(e)));
  }
  return json{{"driver", s.driver},
              {"rte_flow", s.supported},
              {"probed", s.probed},
              {"steering", json{{"offloaded", s.steer_offloaded}, {"total", s.steer_total}}},
              {"deny", json{{"offloaded", s.deny_offloaded},
                            {"total", s.deny_total},
                            {"applies", f.deny_side()},
                            {"entries_offloaded", entries}}},
              {"refusals", refusals}};
}

// The control socket's own health: what its limits did (docs/control-protocol.md, "Limits").
json control_socket_json(const MainState& st) {
  json j{{"bad_requests", st.bad_requests}};
  if (const protocol::LineServer* s = st.control_server) {
    const protocol::LineServerCounters& c = s->counters();
    j.update(json{{"clients", s->clients()},
                  {"accepted", c.accepted},
                  {"requests", c.requests},
                  {"evicted", c.evicted},
                  {"idle_timeouts", c.idle_timeouts},
                  {"line_timeouts", c.line_timeouts},
                  {"send_timeouts", c.send_timeouts},
                  {"oversized_lines", c.oversized_lines},
                  {"handler_errors", c.handler_errors}});
  }
  return j;
}

// Call records (docs/records.md): the workers' counts (also in `counters`)
// and the sender's, in `status` and `stats`.
json records_stats_json(const MainState& st) {
  if (st.records == nullptr) return json{{"enabled", false}};
  const RecordExporter& x = *st.records;
  WorkerCounters sum;
  sum_counters(st.dp.counters, static_cast<unsigned>(st.dp.workers.size()), sum);
  return json{{"enabled", true},
              {"socket", st.dp.cfg.records_socket},
              {"consumer", x.connected()},
              {"consumers", x.consumers()},
              {"written", sum.call_records},
              {"dropped", sum.call_records_dropped},
              {"sent", x.sent()},
              {"frames", x.frames()},
              {"unsent", x.unsent()},
              {"would_block", x.would_block()},
              {"unreadable", x.unreadable()}};
}

json status(MainState& st) {
  Dataplane& dp = st.dp;
  RuntimeSet* cur = dp.current.load(std::memory_order_acquire);
  json ports = json::array();
  for (std::size_t pi = 0; pi < dp.ports.size(); ++pi) {
    const PortState& p = dp.ports[pi];
    rte_eth_link link{};
    rte_eth_link_get_nowait(p.port_id, &link);
    char mac[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac, sizeof mac, &p.mac);
    ports.push_back(json{{"name", p.cfg.name},
                         {"device", p.cfg.device},
                         {"role", p.cfg.role == PortRole::trunk ? "trunk" : "core"},
                         {"peer", p.peer == kNoPort ? json(nullptr) : json(dp.ports[p.peer].cfg.name)},
                         {"link", link.link_status ? "up" : "down"},
                         {"speed_mbps", link.link_speed},
                         {"mac", mac},
                         {"queues", p.queues},
                         {"mtu", p.cfg.mtu},
                         {"offload", offload_json(dp, pi, cur)}});
  }
  json workers = json::array();
  for (const auto& w : dp.workers) workers.push_back(json{{"index", w->index}, {"lcore", w->lcore}});
  double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started).count();
  return json{{"ok", true},
              {"v", kProtocolVersion},
              {"version", SIPWALL_VERSION},
              {"started_at", iso8601(st.started_wall)},
              {"uptime_s", uptime},
              {"ruleset", ruleset_json(cur)},
              {"previous_artifact", st.previous_artifact},
              {"reloads", json{{"ok", st.reloads_ok},
                               {"failed", st.reloads_failed},
                               {"last_error", st.last_reload_error},
                               {"last_ms", st.last_reload_ms}}},
              {"malformed_policy_without_ruleset", dp.cfg.fail_closed ? "fail_closed" : "fail_open"},
              {"workers", workers},
              {"ports", ports},
              {"records", records_stats_json(st)},
              {"control_socket", control_socket_json(st)}};
}

// Each worker's loop: busy and idle TSC cycles, RX polls by burst size
// (counters.h), and the packets it received (the bursts' sum).
json worker_load_json(const Dataplane& dp) {
  json out = json::array();
  for (std::size_t i = 0; i < dp.workers.size(); ++i) {
    const WorkerCounters& c = dp.counters[i];
    std::uint64_t rx = 0;
    for (unsigned p = 0; p < kMaxPorts; ++p) rx += c.rx_packets[p];
    json polls = json::array();
    for (unsigned b = 0; b < kBurstSizeBuckets; ++b) polls.push_back(c.rx_polls_by_burst[b]);
    out.push_back(json{{"worker", dp.workers[i]->index},
                       {"lcore", dp.workers[i]->lcore},
                       {"busy_cycles", c.busy_cycles},
                       {"idle_cycles", c.idle_cycles},
                       {"rx_polls_by_burst", polls},
                       {"rx_packets", rx}});
  }
  return out;
}

json process_json() {
  auto p = protocol::read_process_stats();
  return p ? protocol::to_json(*p) : json(nullptr);
}

json stats(MainState& st) {
  Dataplane& dp = st.dp;
  WorkerCounters sum;
  sum_counters(dp.counters, static_cast<unsigned>(dp.workers.size()), sum);
  json counters = json::object();
#define SIPWALL_X(name, help) counters[#name] = sum.name;
  SIPWALL_DATAPLANE_COUNTERS(SIPWALL_X)
#undef SIPWALL_X
  std::uint64_t rx = 0;
  json ports = json::array();
  for (std::size_t i = 0; i < dp.ports.size(); ++i) {
    rte_eth_stats es{};
    rte_eth_stats_get(dp.ports[i].port_id, &es);
    rx += sum.rx_packets[i];
    ports.push_back(json{{"name", dp.ports[i].cfg.name},
                         {"rx_packets", sum.rx_packets[i]},
                         {"rx_bytes", sum.rx_bytes[i]},
                         {"tx_packets", sum.tx_packets[i]},
                         {"tx_bytes", sum.tx_bytes[i]},
                         {"nic_imissed", es.imissed},
                         {"nic_ierrors", es.ierrors},
                         {"nic_oerrors", es.oerrors},
                         {"nic_rx_nombuf", es.rx_nombuf}});
  }
  counters["rx_packets"] = rx;
  json verdicts = json::object();
  for (unsigned a = 0; a < kActionCount; ++a) verdicts[std::string(rules::kActionNames[a])] = sum.verdicts[a];
  json parse_errors = json::object();
  for (unsigned e = 1; e < static_cast<unsigned>(sip::ParseError::count_); ++e)
    parse_errors[std::string(sip::to_string(static_cast<sip::ParseError>(e)))] = sum.parse_errors[e];
  json decode_errors = json::object();
  for (unsigned e = 1; e < static_cast<unsigned>(net::DecodeResult::count_); ++e)
    decode_errors[std::string(net::to_string(static_cast<net::DecodeResult>(e)))] = sum.decode_errors[e];

  // Hits by rule id and calls by trunk: retired sets plus the current one.
  std::map<std::string, std::uint64_t> rule_hits = st.retired.rule_hits;
  std::map<std::string, std::uint64_t> trunk_calls = st.retired.trunk_calls;
  RuntimeSet* rs = dp.current.load(std::memory_order_acquire);
  if (rs) {
    const rules::CompiledRuleSet& s = rs->set();
    for (std::size_t i = 0; i < s.rule_count(); ++i) rule_hits[std::string(s.rule_id(i))] += rs->rule_hits_total(i);
    rule_hits["(default)"] += rs->rule_hits_total(s.rule_count());
    for (std::size_t t = 0; t < s.trunk_count(); ++t)
      trunk_calls[std::string(s.trunk_name(t))] += rs->trunk_calls_total(t);
    trunk_calls[""] += rs->no_trunk_calls_total();
  } else {
    rule_hits.erase("(default)");
  }
  json rules = json::array();
  for (auto& [id, n] : rule_hits) rules.push_back(json{{"id", id}, {"hits", n}});

  // deny_sources: software drops (the workers' first stage) and hardware
  // drops (rte_flow COUNT), by entry id, retired sets and rules included.
  std::map<std::string, std::uint64_t> deny_sw = st.retired.deny_hits;
  std::map<std::string, std::uint64_t> deny_hw = dp.deny_hw_retired;
  std::map<std::string, unsigned> deny_offloaded;  // id -> trunk ports holding all its rules
  std::set<std::string> live;                      // ids in the running set
  if (rs) {
    const rules::CompiledRuleSet& s = rs->set();
    for (std::size_t i = 0; i < s.deny_count(); ++i) {
      live.insert(std::string(s.deny_id(i)));
      deny_sw[std::string(s.deny_id(i))] += rs->deny_hits_total(i);
    }
    for (auto& f : dp.flows) {
      if (!f->deny_side()) continue;
      for (std::uint32_t e : f->offloaded_entries()) deny_offloaded[std::string(s.deny_id(e))]++;
    }
  }
  for (auto& f : dp.flows) f->query_deny(deny_hw);
  std::set<std::string> ids = live;
  for (auto& [id, n] : deny_sw) ids.insert(id);
  for (auto& [id, n] : deny_hw) ids.insert(id);
  json deny = json::array();
  for (const std::string& id : ids) {
    deny.push_back(json{{"id", id},
                        {"software", deny_sw[id]},
                        {"hardware", deny_hw[id]},
                        {"offloaded_ports", deny_offloaded[id]},
                        {"in_ruleset", live.count(id) != 0}});
  }
  json trunks = json::array();
  for (auto& [name, n] : trunk_calls) trunks.push_back(json{{"name", name.empty() ? "(none)" : name}, {"invites", n}});
  return json{{"ok", true},
              {"v", kProtocolVersion},
              {"workers", dp.workers.size()},
              {"ruleset_version", rs ? json(std::string(rs->set().version())) : json(nullptr)},
              {"reloads", json{{"ok", st.reloads_ok}, {"failed", st.reloads_failed}, {"last_ms", st.last_reload_ms}}},
              {"counters", counters},
              {"ports", ports},
              {"verdicts", verdicts},
              {"parse_errors", parse_errors},
              {"decode_errors", decode_errors},
              {"rules", rules},
              {"deny_sources", deny},
              {"trunks", trunks},
              {"detection", detection_stats_json(st)},
              {"worker_load", worker_load_json(dp)},
              {"tsc_hz", dp.tsc_hz},
              {"process", process_json()},
              {"watch", st.watch.status_json()},
              {"trace_buffered", st.traces.size()},
              {"trace_overflow", st.traces_overflow},
              {"records", records_stats_json(st)}};
}

json error(const std::string& msg) {
  return protocol::error_json(msg);
}

// watch-start: the filter is checked (watch_filter.h), the bounds capped.
json watch_start(MainState& st, const protocol::Request& req) {
  std::string why;
  auto f = watch::parse_watch_filter(req.text("match").value_or(""), req.text("value").value_or(""), why);
  if (!f) return error(why);
  CaptureBounds b;
  auto bound = [&](const char* field, std::uint64_t& out, std::uint64_t ceiling) {
    if (auto v = req.count(field)) out = std::clamp<std::uint64_t>(*v, 1, ceiling);
  };
  bound("for_ms", b.for_ms, kCaptureMaxForMs);
  bound("max_packets", b.max_packets, kCaptureMaxPackets);
  bound("max_bytes", b.max_bytes, kCaptureMaxBytes);
  auto id = st.watch.start_capture(*f, b, why);
  if (!id) return error(why);
  return json{{"ok", true},
              {"v", kProtocolVersion},
              {"id", *id},
              {"filter", watch::describe(*f)},
              {"for_ms", b.for_ms},
              {"max_packets", b.max_packets},
              {"max_bytes", b.max_bytes}};
}

}  // namespace

std::string load_ruleset(MainState& st, const std::string& path) {
  Dataplane& dp = st.dp;
  auto t0 = std::chrono::steady_clock::now();
  std::string err;
  std::unique_ptr<RuntimeSet> fresh =
      RuntimeSet::load(path, static_cast<unsigned>(dp.workers.size()), err, detect_options(dp));
  if (!fresh) {
    st.reloads_failed++;
    st.last_reload_error = err;
    dplog::warning("rule set refused, the running one stays: " + err);
    return err;
  }
  const std::uint64_t checksum = fresh->set().checksum();
  if (st.quarantined != 0 && checksum == st.quarantined) {
    st.reloads_failed++;
    st.last_reload_error = path + ": this rule set was on trial when the data plane last stopped without a clean " +
                           "shutdown (it may have caused it), so it is refused until the data plane restarts " +
                           "cleanly; compile and publish a corrected set, or remove " + st.on_trial_path() +
                           " and restart to try it again";
    dplog::warning("rule set refused, the running one stays: " + st.last_reload_error);
    return st.last_reload_error;
  }
  RuntimeSet* old = dp.current.exchange(fresh.get(), std::memory_order_acq_rel);
  st.detect.published(fresh.release());
  // Grace period: every worker passes a quiescent point after the store, so
  // none can still be reading `old` when this returns.
  rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
  if (old) {
    st.previous_artifact = old->artifact_path();
    st.retired.absorb(*old);
    // A worker adopts from the old set's detection state at its first loop
    // with the new set, maybe after this: the state outlives `old`.
    st.detect.retire(*old);
    delete old;
  }
  // The new set's deny rules into the NICs that take them (the software
  // stage already has them: it is the set just published).
  install_deny_flows(dp, dp.current.load(std::memory_order_acquire));
  st.reloads_ok++;
  st.last_reload_error.clear();
  st.last_reload_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  dplog::notice(load_line(dp.current.load(std::memory_order_acquire)->set(), path, st.last_reload_ms));
  // Not last-good yet: a set that loads can still take the workers down on
  // its first INVITE, and then every restart would load it again. The main
  // loop promotes it once it has run (promote_last_good, last_good.cpp).
  RuntimeSet* now = dp.current.load(std::memory_order_acquire);
  st.pending_last_good = MainState::PendingLastGood{true, now, path, checksum, std::chrono::steady_clock::now()};
  std::error_code ec;
  if (!std::filesystem::equivalent(path, st.last_good_path(), ec)) mark_on_trial(st, checksum, path);
  return "";
}

namespace {

std::uint64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The three clocks read together; the TSC taken on both sides of the clock
// reads and their midpoint kept, so the pairing error is at most half the
// (sub-microsecond) read window.
TscClock::Reading read_clocks() {
  const std::uint64_t before = rte_rdtsc();
  TscClock::Reading r;
  r.realtime_ns = clock_ns(CLOCK_REALTIME);
  r.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  const std::uint64_t after = rte_rdtsc();
  r.tsc = before + (after - before) / 2;
  return r;
}

}  // namespace

void drain_trace_rings(MainState& st) {
  // The workers stamp records with the TSC; wall time is given here, from an
  // anchor renewed every 100 ms (tsc_clock.h).
  if (st.trace_clock.due(rte_rdtsc())) st.trace_clock.anchor(read_clocks());
  TraceRecord batch[64];
  for (auto& w : st.dp.workers) {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(w->trace_ring, batch, sizeof(TraceRecord), 64, nullptr)) > 0) {
      for (unsigned i = 0; i < n; ++i) {
        if (st.traces.size() >= st.dp.cfg.trace_buffer) {
          st.traces.pop_front();
          st.traces_overflow++;
        }
        batch[i].time_ns = st.trace_clock.wall_ns(batch[i].tsc);
        st.traces.push_back(batch[i]);
      }
    }
  }
}

std::string handle_request(MainState& st, std::string_view line) {
  // Every field is checked against the command table before anything runs
  // (dataplane/protocol/dataplane_commands.cpp); the reply is serialised
  // without ever throwing, whatever bytes a path or a name holds.
  protocol::ParsedRequest parsed = protocol::parse_request(line, protocol::dataplane_protocol());
  if (!parsed.request) {
    st.bad_requests++;
    return protocol::error_line(parsed.error);
  }
  const protocol::Request& req = *parsed.request;
  if (req.cmd == "status") return protocol::dump_line(status(st));
  if (req.cmd == "stats") return protocol::dump_line(stats(st));
  if (req.cmd == "load") {
    const std::string path = req.text("artifact").value_or("");
    RuntimeSet* before = st.dp.current.load();
    std::string previous = before ? std::string(before->set().version()) : "";
    std::string err = load_ruleset(st, path);
    if (!err.empty()) {
      // The message quotes the path the client sent: escaped and capped,
      // here and where `status` shows it again.
      st.last_reload_error = protocol::printable(err, protocol::kMessageMax);
      json e = error(st.last_reload_error);
      e["running_version"] = previous.empty() ? json(nullptr) : json(previous);
      return protocol::dump_line(e);
    }
    RuntimeSet* now = st.dp.current.load();
    return protocol::dump_line(json{{"ok", true},
                                    {"v", kProtocolVersion},
                                    {"version", std::string(now->set().version())},
                                    {"checksum", hex64(now->set().checksum())},
                                    {"previous_version", previous.empty() ? json(nullptr) : json(previous)},
                                    {"load_ms", st.last_reload_ms}});
  }
  if (req.cmd == "trace-drain") {
    drain_trace_rings(st);
    std::size_t max = st.traces.size();
    if (std::uint64_t m = req.count("max").value_or(0); m > 0 && m < max) max = static_cast<std::size_t>(m);
    json recs = json::array();
    for (std::size_t i = 0; i < max; ++i) {
      recs.push_back(trace_json(st.traces.front()));
      st.traces.pop_front();
    }
    // Records carry bytes from packets (Call-ID) and from the rule set, cut
    // to fixed fields: dump_json() replaces whatever is not UTF-8 instead of
    // throwing type_error 316 (issue 12: one INVITE took the process down).
    return text::dump_json(json{{"ok", true},
                                {"v", kProtocolVersion},
                                {"records", recs},
                                {"remaining", st.traces.size()},
                                {"overflow", st.traces_overflow}});
  }
  if (req.cmd == "detections") {
    st.detect.merge_now();  // what the workers act on right now
    return text::dump_json(
        detections_json(st, req.count("all").value_or(0) != 0, req.count("min_percent").value_or(0)));
  }
  if (req.cmd == "detections-lift")
    return text::dump_json(lift_json(st, req.text("key").value_or(""), req.text("detector")));
  if (req.cmd == "watch-start") return protocol::dump_line(watch_start(st, req));
  if (req.cmd == "watch-read") {
    // Up to `max` copies (default 256), about 8 MiB of frames at most: the
    // reply stays well under the line server's reply cap.
    const std::uint64_t max = std::min<std::uint64_t>(req.count("max").value_or(256), 4096);
    auto r = st.watch.read_capture(req.count("id").value_or(0),
                                   static_cast<std::size_t>(std::max<std::uint64_t>(max, 1)), 8u << 20);
    if (!r) return protocol::error_line("no capture with this id (ended and delivered, stopped, or never started)");
    return protocol::dump_line(*r);
  }
  if (req.cmd == "watch-stop") {
    if (!st.watch.stop_capture(req.count("id").value_or(0))) return protocol::error_line("no capture with this id");
    return protocol::dump_line(json{{"ok", true}, {"v", kProtocolVersion}});
  }
  if (req.cmd == "watch-status") {
    json j = st.watch.status_json();
    j["ok"] = true;
    j["v"] = kProtocolVersion;
    return text::dump_json(j);
  }
  if (req.cmd == "detections-hold")
    return text::dump_json(hold_json(
        st, HoldRequest{req.text("key").value_or(""), req.text("detector").value_or(""),
                        req.count("for_ms").value_or(0), req.text("level").value_or(""), req.text("by").value_or("")}));
  // The command table and this function name the same commands.
  st.bad_requests++;
  return protocol::error_line("command '" + protocol::printable(req.cmd) + "' is not implemented");
}

std::string stats_json(MainState& st) {
  return stats(st).dump(2, ' ', false, json::error_handler_t::replace);
}

std::string stats_text(MainState& st) {
  json s = stats(st);
  std::ostringstream out;
  out << "ports:\n";
  for (const auto& p : s["ports"])
    out << "  " << p["name"].get<std::string>() << ": rx " << p["rx_packets"] << " pkts / " << p["rx_bytes"]
        << " bytes, tx " << p["tx_packets"] << " pkts / " << p["tx_bytes"] << " bytes\n";
  out << "verdicts (INVITEs):";
  for (auto& [k, v] : s["verdicts"].items()) out << " " << k << "=" << v;
  out << "\ncounters:\n";
  for (auto& [k, v] : s["counters"].items())
    if (v.get<std::uint64_t>() != 0) out << "  " << k << " " << v << "\n";
  bool any = false;
  for (auto& [k, v] : s["parse_errors"].items()) {
    if (v.get<std::uint64_t>() == 0) continue;
    if (!any) out << "parse errors:\n";
    any = true;
    out << "  " << k << " " << v << "\n";
  }
  out << "rule hits:\n";
  for (const auto& r : s["rules"])
    if (r["hits"].get<std::uint64_t>() != 0) out << "  " << r["id"].get<std::string>() << " " << r["hits"] << "\n";
  bool any_deny = false;
  for (const auto& d : s["deny_sources"]) {
    if (d["software"].get<std::uint64_t>() == 0 && d["hardware"].get<std::uint64_t>() == 0) continue;
    if (!any_deny) out << "denied sources (software / hardware):\n";
    any_deny = true;
    out << "  " << d["id"].get<std::string>() << " " << d["software"] << " / " << d["hardware"] << "\n";
  }
  if (const json& d = s["detection"]; d.is_object()) {
    out << "detectors (fires / held now / hits / report-mode hits / evictions):\n";
    for (const auto& e : d["detectors"])
      out << "  " << text::printable(e["name"].get<std::string>()) << " " << e["fires"] << " / " << e["active"] << " / "
          << e["hits"] << " / " << e["report_hits"] << " / " << e["evictions"] << "\n";
    const json& c = d["calls"];
    out << "call tables: " << c["size"] << " of " << c["capacity"] << " calls, " << c["evicted_live"]
        << " evicted before their outcome; detection memory " << d["memory_bytes"] << " bytes\n";
  }
  out << "INVITEs by trunk:\n";
  for (const auto& t : s["trunks"])
    if (t["invites"].get<std::uint64_t>() != 0)
      out << "  " << t["name"].get<std::string>() << " " << t["invites"] << "\n";
  return out.str();
}

}  // namespace sipwall::dataplane
