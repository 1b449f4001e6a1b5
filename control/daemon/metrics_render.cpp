#include "control/daemon/metrics_render.h"

#include "control/client/time_util.h"
#include "control/daemon/prometheus.h"
#include "dataplane/protocol/counter_list.h"  // the data plane's counter list and help text
#include "dataplane/protocol/process_stats.h"

namespace sipwall::control {
namespace {

using nlohmann::json;

// Counters as the JSON parser hands them over (unsigned), or built by hand (signed).
std::uint64_t as_u64(const json& v) {
  return v.is_number_integer() && v.get<std::int64_t>() >= 0 ? v.get<std::uint64_t>() : 0;
}

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0 ? it->get<std::uint64_t>() : 0;
}

double num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const char* counter_help(const std::string& name) {
#define SIPWALL_X(n, help) \
  if (name == #n) return help;
  SIPWALL_DATAPLANE_COUNTERS(SIPWALL_X)
#undef SIPWALL_X
  if (name == "rx_packets") return "frames received on all ports (= forwarded + dropped + rejected + absorbed + held)";
  return nullptr;
}

// Behavioural detection (docs/detection.md): per detector, labelled by the
// detector's name from the rule set and nothing else (never a number or an
// address: those are what `sipwallctl detections` is for).
void detection_metrics(MetricsText& m, const json& s) {
  auto dit = s.find("detection");
  if (dit == s.end() || !dit->is_object()) return;
  const json& d = *dit;
  const json& dets = d.contains("detectors") && d["detectors"].is_array() ? d["detectors"] : json::array();
  struct PerDetector {
    const char* metric;
    MetricType type;
    const char* field;
    const char* help;
  };
  static const PerDetector per[] = {
      {"sipwall_detector_fires_total", MetricType::counter, "fires",
       "Keys a detector put in the penalty box (or raised to a higher level), across workers"},
      {"sipwall_detector_active_keys", MetricType::gauge, "active", "Keys a detector holds in the penalty box now"},
      {"sipwall_detector_hot_keys", MetricType::gauge, "hot", "Keys near a detector's threshold tracked by the merge"},
      {"sipwall_detector_tracked_keys", MetricType::gauge, "keys", "Keys in a detector's tables on all workers"},
      {"sipwall_detector_capacity_keys", MetricType::gauge, "capacity",
       "Keys a detector's tables hold on all workers (fixed when the rule set is loaded)"},
      {"sipwall_detector_evictions_total", MetricType::counter, "evictions",
       "Keys a detector's full tables evicted to make room (their counts were lost: counts are under-estimates)"},
      {"sipwall_detector_hits_total", MetricType::counter, "hits",
       "INVITEs a rule on a detector's state decided (enforced)"},
      {"sipwall_detector_report_hits_total", MetricType::counter, "report_hits",
       "INVITEs a detector in report mode would have decided (the call passed)"},
  };
  for (const PerDetector& f : per) {
    m.family(f.metric, f.type, f.help);
    for (const json& e : dets) m.sample_u64({{"detector", str(e, "name")}}, u64(e, f.field));
  }
  const json& calls = d.contains("calls") && d["calls"].is_object() ? d["calls"] : json::object();
  m.family("sipwall_detection_calls", MetricType::gauge, "Calls followed in the workers' call tables now");
  m.sample_u64({}, u64(calls, "size"));
  m.family("sipwall_detection_calls_capacity", MetricType::gauge, "Calls the workers' call tables hold (fixed)");
  m.sample_u64({}, u64(calls, "capacity"));
  m.family("sipwall_detection_call_evictions_total", MetricType::counter,
           "Calls dropped from a full call table before their outcome was known");
  m.sample_u64({}, u64(calls, "evicted_live"));
  m.family("sipwall_detection_calls_expired_total", MetricType::counter, "Calls that ended or timed out");
  m.sample_u64({}, u64(calls, "expired"));
  m.family("sipwall_detection_memory_bytes", MetricType::gauge,
           "Memory of detection state: every worker's tables and call table, and the merge");
  m.sample_u64({}, u64(d, "memory_bytes"));
  m.family("sipwall_detection_merges_total", MetricType::counter, "Merges of the workers' hot keys on the main lcore");
  m.sample_u64({}, u64(d, "merges"));
  m.family("sipwall_detection_reports_dropped_total", MetricType::counter,
           "Hot-key reports a worker could not queue (its queue was full between merges)");
  m.sample_u64({}, u64(d, "reports_dropped"));
}

// Levels in the data plane's counter list get their unit in the name; the old
// name stays one release (its help says which replaces it).
struct GaugeUnit {
  const char* counter;
  const char* name;        // with the unit
  const char* deprecated;  // the old name, served too until the next release
};
constexpr GaugeUnit kGaugeUnits[] = {{"held", "sipwall_held_segments", "sipwall_held"}};

// Counters of the X-list that split one quantity, served as one labelled
// family each (as parse_errors{reason} is), so one query sums or compares
// them. The one-counter names they had are served too until the next
// release, with a help text that names the series replacing them.
struct CounterFamily {
  const char* name;
  const char* help;
};
constexpr CounterFamily kCounterFamilies[] = {
    {"sipwall_frames_total",
     "Frames by fate: forwarded to the paired port, dropped, rejected (answered 603/608), absorbed into IP "
     "reassembly; with sipwall_held_segments they account for every frame received"},
    {"sipwall_malformed_handled_total",
     "Malformed SIP by the policy applied: fail_open (forwarded) or fail_closed (dropped)"},
    {"sipwall_tag_skipped_total",
     "Tag verdicts forwarded untagged, by reason: the port MTU, IP fragments, a TCP stream that could not be "
     "adjusted, or a header line or layout the tagger refused"},
    {"sipwall_multiseg_frames_total",
     "Frames received in several mbufs, by what happened: linearised and inspected, or too large / no jumbo mbuf "
     "(malformed policy, not inspected)"},
    {"sipwall_sip_parsed_total", "SIP messages parsed, by kind (requests, responses)"},
    {"sipwall_reassembled_datagrams_total", "Datagrams reassembled from IP fragments, by fate"},
    {"sipwall_watch_copies_lost_total",
     "Copies of watched calls' packets lost (the packets were forwarded), by reason: the worker's watch ring was "
     "full, or the watch pool was empty"},
    {"sipwall_link_partner_actions_total",
     "What link_follow did to a port whose partner lost or regained link: taken down, brought up, or could not be "
     "taken down (the driver cannot)"},
    {"sipwall_tcp_segments_dropped_total",
     "TCP segments dropped while a flow was held (the client resends), by reason: after a gap (out of order), or "
     "a retransmission of bytes being held"},
};
struct LabelledCounter {
  const char* counter;  // its name in the X-list
  const char* family;   // one of kCounterFamilies
  const char* label;
  const char* value;
};
constexpr LabelledCounter kLabelledCounters[] = {
    {"forwarded", "sipwall_frames_total", "fate", "forwarded"},
    {"dropped", "sipwall_frames_total", "fate", "dropped"},
    {"rejected", "sipwall_frames_total", "fate", "rejected"},
    {"absorbed", "sipwall_frames_total", "fate", "absorbed"},
    {"malformed_forwarded", "sipwall_malformed_handled_total", "policy", "fail_open"},
    {"malformed_dropped", "sipwall_malformed_handled_total", "policy", "fail_closed"},
    {"tag_skipped_mtu", "sipwall_tag_skipped_total", "reason", "mtu"},
    {"tag_skipped_fragmented", "sipwall_tag_skipped_total", "reason", "fragmented"},
    {"tag_skipped_tcp", "sipwall_tag_skipped_total", "reason", "tcp"},
    {"tag_failed", "sipwall_tag_skipped_total", "reason", "refused"},
    {"multiseg_linearised", "sipwall_multiseg_frames_total", "result", "linearised"},
    {"multiseg_too_large", "sipwall_multiseg_frames_total", "result", "too_large"},
    {"multiseg_no_mbuf", "sipwall_multiseg_frames_total", "result", "no_mbuf"},
    {"sip_requests", "sipwall_sip_parsed_total", "kind", "request"},
    {"sip_responses", "sipwall_sip_parsed_total", "kind", "response"},
    {"reassembled_forwarded", "sipwall_reassembled_datagrams_total", "fate", "forwarded"},
    {"reassembled_dropped", "sipwall_reassembled_datagrams_total", "fate", "dropped"},
    {"watch_ring_full", "sipwall_watch_copies_lost_total", "reason", "ring_full"},
    {"watch_no_mbuf", "sipwall_watch_copies_lost_total", "reason", "no_mbuf"},
    {"link_partner_taken_down", "sipwall_link_partner_actions_total", "action", "taken_down"},
    {"link_partner_brought_up", "sipwall_link_partner_actions_total", "action", "brought_up"},
    {"link_partner_down_failed", "sipwall_link_partner_actions_total", "action", "down_failed"},
    {"tcp_out_of_order_dropped", "sipwall_tcp_segments_dropped_total", "reason", "out_of_order"},
    {"tcp_retransmit_dropped", "sipwall_tcp_segments_dropped_total", "reason", "retransmit"},
};

const LabelledCounter* labelled_counter(const std::string& name) {
  for (const LabelledCounter& l : kLabelledCounters)
    if (name == l.counter) return &l;
  return nullptr;
}

// The labelled families of kCounterFamilies from the stats' counters (a
// counter the data plane does not report is left out of its family).
void counter_families(MetricsText& m, const json& counters) {
  for (const CounterFamily& f : kCounterFamilies) {
    bool opened = false;
    for (const LabelledCounter& l : kLabelledCounters) {
      if (std::string_view(l.family) != f.name) continue;
      auto it = counters.find(l.counter);
      if (it == counters.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) continue;
      if (!opened) m.family(f.name, MetricType::counter, f.help);
      opened = true;
      m.sample_u64({{l.label, l.value}}, it->get<std::uint64_t>());
    }
  }
}

// process_* as Prometheus client libraries name them, one sample per
// component (control, dataplane).
void process_metrics(MetricsText& m, const std::vector<std::pair<std::string, protocol::ProcessStats>>& ps) {
  if (ps.empty()) return;
  struct Field {
    const char* name;
    MetricType type;
    const char* help;
    double (*get)(const protocol::ProcessStats&);
  };
  static const Field fields[] = {
      {"process_cpu_seconds_total", MetricType::counter, "User and system CPU time the process used, in seconds",
       [](const protocol::ProcessStats& p) { return p.cpu_seconds; }},
      {"process_resident_memory_bytes", MetricType::gauge, "Resident memory of the process, in bytes",
       [](const protocol::ProcessStats& p) { return static_cast<double>(p.resident_bytes); }},
      {"process_virtual_memory_bytes", MetricType::gauge, "Virtual memory of the process, in bytes",
       [](const protocol::ProcessStats& p) { return static_cast<double>(p.virtual_bytes); }},
      {"process_open_fds", MetricType::gauge, "Open file descriptors of the process",
       [](const protocol::ProcessStats& p) { return static_cast<double>(p.open_fds); }},
      {"process_max_fds", MetricType::gauge, "The process's limit of open file descriptors (0: none)",
       [](const protocol::ProcessStats& p) { return static_cast<double>(p.max_fds); }},
      {"process_start_time_seconds", MetricType::gauge, "Unix time the process started, in seconds",
       [](const protocol::ProcessStats& p) { return p.start_time_seconds; }},
  };
  for (const Field& f : fields) {
    m.family(f.name, f.type, f.help);
    for (const auto& [component, p] : ps) m.sample({{"component", component}}, f.get(p));
  }
}

// Each worker's loop (stats "worker_load"): time busy (turns that received
// packets) and idle, in seconds of TSC, and its RX polls by burst size as a
// histogram (le 0 = an empty poll).
void worker_metrics(MetricsText& m, const json& s) {
  auto wl = s.find("worker_load");
  const double hz = num(s, "tsc_hz");
  if (wl == s.end() || !wl->is_array() || hz <= 0) return;
  auto labels = [](const json& w) {
    return Labels{{"worker", std::to_string(u64(w, "worker"))}, {"lcore", std::to_string(u64(w, "lcore"))}};
  };
  m.family("sipwall_worker_busy_seconds_total", MetricType::counter,
           "Time a worker spent in loop turns that received packets (TSC), in seconds");
  for (const json& w : *wl) m.sample(labels(w), static_cast<double>(u64(w, "busy_cycles")) / hz);
  m.family("sipwall_worker_idle_seconds_total", MetricType::counter,
           "Time a worker spent in loop turns that received nothing (polling), in seconds");
  for (const json& w : *wl) m.sample(labels(w), static_cast<double>(u64(w, "idle_cycles")) / hz);
  // Bucket b of the reply holds bursts of 2^(b-1) .. 2^b - 1 packets (b 0: none).
  static constexpr const char* kLe[] = {"0", "1", "3", "7", "15", "31", "+Inf"};
  m.family("sipwall_worker_rx_burst_packets", MetricType::histogram,
           "Packets per RX poll of a worker (one poll per queue per loop turn; le=\"0\": empty polls)");
  for (const json& w : *wl) {
    const json& b =
        w.contains("rx_polls_by_burst") && w["rx_polls_by_burst"].is_array() ? w["rx_polls_by_burst"] : json::array();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < std::size(kLe); ++i) {
      cumulative += i < b.size() ? as_u64(b[i]) : 0;
      Labels l = labels(w);
      l.emplace_back("le", kLe[i]);
      m.series("_bucket", l, static_cast<double>(cumulative));
    }
    m.series("_sum", labels(w), static_cast<double>(u64(w, "rx_packets")));
    m.series("_count", labels(w), static_cast<double>(cumulative));
  }
}

// Watches and the HEP export (docs/export.md): counts only. A watch's filter
// may hold a number, so it is never a label.
void watch_metrics(MetricsText& m, const json& s) {
  auto wit = s.find("watch");
  if (wit == s.end() || !wit->is_object()) return;
  const json& w = *wit;
  m.family("sipwall_watches", MetricType::gauge, "Watches in force (captures and the HEP export)");
  m.sample_u64({}, w.contains("watches") && w["watches"].is_array() ? w["watches"].size() : 0);
  auto hit = w.find("hep");
  if (hit == w.end() || !hit->is_object()) return;
  const json& h = *hit;
  m.family("sipwall_hep_sent_total", MetricType::counter, "HEP packets sent to the collector");
  m.sample_u64({}, u64(h, "sent"));
  m.family("sipwall_hep_dropped_total", MetricType::counter,
           "HEP packets not sent: refused by the socket, over the TCP buffer, or too large for HEP");
  m.sample_u64({}, u64(h, "dropped") + u64(h, "too_large"));
  if (h.contains("connected")) {
    m.family("sipwall_hep_connected", MetricType::gauge, "1 while the TCP connection to the HEP collector is up");
    m.sample_u64({}, h["connected"].is_boolean() && h["connected"].get<bool>() ? 1 : 0);
    m.family("sipwall_hep_connect_failures_total", MetricType::counter,
             "Failed or lost TCP connections to the HEP collector (retried with back-off)");
    m.sample_u64({}, u64(h, "connect_failures"));
  }
}

void dataplane_metrics(MetricsText& m, const DataplaneSnapshot& dp) {
  const json& st = dp.status;
  const json& s = dp.stats;

  m.family("sipwall_dataplane_uptime_seconds", MetricType::gauge, "Seconds since sipwall-dataplane started");
  m.sample(num(st, "uptime_s"));

  if (auto rs = st.find("ruleset"); rs != st.end() && rs->is_object()) {
    m.family("sipwall_ruleset_info", MetricType::gauge, "The rule set the data plane runs (value always 1)");
    m.sample({{"name", str(*rs, "name")}, {"version", str(*rs, "version")}, {"checksum", str(*rs, "checksum")}}, 1);
    if (auto t = parse_iso8601(str(*rs, "loaded_at"))) {
      m.family("sipwall_ruleset_loaded_timestamp_seconds", MetricType::gauge,
               "Unix time the running rule set was loaded by the data plane");
      m.sample(static_cast<double>(*t / 1'000'000'000));
    }
    m.family("sipwall_ruleset_rules", MetricType::gauge, "Rules in the running rule set");
    m.sample(num(*rs, "rules"));
  }

  const json& reloads = s.contains("reloads") ? s["reloads"] : json::object();
  m.family("sipwall_dataplane_reloads_total", MetricType::counter,
           "Rule-set loads the data plane performed, by result (since it started)");
  m.sample_u64({{"result", "success"}}, u64(reloads, "ok"));
  m.sample_u64({{"result", "failure"}}, u64(reloads, "failed"));
  m.family("sipwall_dataplane_last_reload_duration_seconds", MetricType::gauge,
           "Duration of the data plane's last successful load (read, verify, publish, grace period)");
  m.sample(num(reloads, "last_ms") / 1000.0);

  m.family("sipwall_workers", MetricType::gauge, "Worker lcores of the data plane");
  m.sample(num(s, "workers"));

  // Scalar counters: the data plane's X-list. A few entries of that list
  // are levels, not totals (their help text says "gauge", e.g. `held`): they
  // become gauges without _total, or rate() would read every drop as a reset.
  if (auto c = s.find("counters"); c != s.end() && c->is_object()) {
    for (auto& [name, value] : c->items()) {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) continue;
      // source_denied is the software part of the labelled family below.
      // (With no entries it stays a plain 0, so the name always exists.)
      if (name == "source_denied" && s.contains("deny_sources") && s["deny_sources"].is_array() &&
          !s["deny_sources"].empty())
        continue;
      const char* help = counter_help(name);
      std::string h = help ? help : "data plane counter " + name;
      bool gauge = h.find("gauge") != std::string::npos;
      const GaugeUnit* unit = nullptr;
      for (const GaugeUnit& g : kGaugeUnits)
        if (gauge && name == g.counter) unit = &g;
      if (unit) {
        m.family(unit->name, MetricType::gauge, h);
        m.sample_u64({}, value.get<std::uint64_t>());
        m.family(unit->deprecated, MetricType::gauge,
                 std::string("Deprecated, removed in the next release: use ") + unit->name + ". " + h);
        m.sample_u64({}, value.get<std::uint64_t>());
        continue;
      }
      if (const LabelledCounter* l = labelled_counter(name); l != nullptr && !gauge)
        h = std::string("Deprecated, removed in the next release: use ") + l->family + "{" + l->label + "=\"" +
            l->value + "\"}. " + h;
      m.family("sipwall_" + sanitize_metric_name(name) + (gauge ? "" : "_total"),
               gauge ? MetricType::gauge : MetricType::counter, h);
      m.sample_u64({}, value.get<std::uint64_t>());
    }
    counter_families(m, *c);
  }

  if (auto ports = st.find("ports"); ports != st.end() && ports->is_array()) {
    m.family("sipwall_port_link_up", MetricType::gauge, "1 if the port's link is up");
    for (const json& p : *ports) m.sample({{"port", str(p, "name")}}, str(p, "link") == "up" ? 1 : 0);
  }
  if (auto ports = s.find("ports"); ports != s.end() && ports->is_array()) {
    struct PortCounter {
      const char* key;
      const char* metric;
      const char* help;
    };
    static constexpr PortCounter kPort[] = {
        {"rx_packets", "sipwall_port_rx_packets_total", "Frames received on the port (counted by the workers)"},
        {"rx_bytes", "sipwall_port_rx_bytes_total", "Bytes received on the port (counted by the workers)"},
        {"tx_packets", "sipwall_port_tx_packets_total", "Frames sent on the port (counted by the workers)"},
        {"tx_bytes", "sipwall_port_tx_bytes_total", "Bytes sent on the port (counted by the workers)"},
        {"nic_imissed", "sipwall_port_nic_rx_missed_total", "Frames the NIC dropped because the RX queue was full"},
        {"nic_ierrors", "sipwall_port_nic_rx_errors_total", "Erroneous frames the NIC received"},
        {"nic_oerrors", "sipwall_port_nic_tx_errors_total", "Frames the NIC failed to send"},
        {"nic_rx_nombuf", "sipwall_port_nic_rx_nombuf_total", "RX mbuf allocation failures"},
    };
    for (const PortCounter& pc : kPort) {
      m.family(pc.metric, MetricType::counter, pc.help);
      for (const json& p : *ports) m.sample_u64({{"port", str(p, "name")}}, u64(p, pc.key));
    }
  }

  if (auto v = s.find("verdicts"); v != s.end() && v->is_object()) {
    // One final action per classified INVITE, so the samples sum to the
    // INVITEs classified (sipwall_invites_total - sipwall_no_ruleset_total).
    // `trace` is not a final action: a trace rule records and evaluation goes
    // on, so it has its own family instead of overlapping pass.
    m.family("sipwall_invite_verdicts_total", MetricType::counter,
             "INVITEs by final action; the actions sum to the INVITEs classified");
    for (auto& [action, n] : v->items())
      if (action != "trace") m.sample_u64({{"action", action}}, as_u64(n));
    if (auto t = v->find("trace"); t != v->end()) {
      m.family("sipwall_invites_traced_total", MetricType::counter,
               "INVITEs a trace rule recorded, whatever their final action");
      m.sample_u64({}, as_u64(*t));
    }
  }
  if (auto pe = s.find("parse_errors"); pe != s.end() && pe->is_object()) {
    m.family("sipwall_parse_errors_total", MetricType::counter, "SIP messages the parser rejected, by reason");
    for (auto& [reason, n] : pe->items()) m.sample_u64({{"reason", reason}}, as_u64(n));
  }
  if (auto de = s.find("decode_errors"); de != s.end() && de->is_object()) {
    m.family("sipwall_decode_errors_total", MetricType::counter, "Frames whose L2-L4 decoding failed, by reason");
    for (auto& [reason, n] : de->items()) m.sample_u64({{"reason", reason}}, as_u64(n));
  }
  if (auto r = s.find("rules"); r != s.end() && r->is_array()) {
    m.family("sipwall_rule_hits_total", MetricType::counter,
             "INVITEs decided by each rule id (kept across reloads; (default): no rule matched)");
    for (const json& e : *r) m.sample_u64({{"rule_id", str(e, "id")}}, u64(e, "hits"));
  }
  if (auto ds = s.find("deny_sources"); ds != s.end() && ds->is_array() && !ds->empty()) {
    // One family for both places a denied source's frame can die: the NIC
    // (rte_flow COUNT) or the worker's first stage. Their sum is what the
    // entry denied; docs/hardware.md.
    m.family("sipwall_source_denied_total", MetricType::counter,
             "Frames dropped by a deny_sources entry, where=hardware (rte_flow) or software (first worker stage)");
    for (const json& e : *ds) {
      m.sample_u64({{"entry", str(e, "id")}, {"where", "software"}}, u64(e, "software"));
      m.sample_u64({{"entry", str(e, "id")}, {"where", "hardware"}}, u64(e, "hardware"));
    }
    m.family("sipwall_source_denied_offloaded_ports", MetricType::gauge,
             "Trunk ports holding every rte_flow rule of a deny_sources entry (0: software only)");
    for (const json& e : *ds) {
      if (e.value("in_ruleset", false)) m.sample_u64({{"entry", str(e, "id")}}, u64(e, "offloaded_ports"));
    }
  }
  if (auto ports = st.find("ports"); ports != st.end() && ports->is_array()) {
    m.family("sipwall_port_rte_flow_supported", MetricType::gauge,
             "1 if the port's driver accepts rte_flow rules (docs/hardware.md)");
    for (const json& p : *ports) {
      const json& o = p.contains("offload") ? p["offload"] : json();
      m.sample({{"port", str(p, "name")}}, o.is_object() && o.value("rte_flow", false) ? 1 : 0);
    }
    m.family("sipwall_port_flow_rules", MetricType::gauge,
             "rte_flow rules per port by kind (steering, deny) and state (hardware: installed; software: refused by "
             "the NIC)");
    for (const json& p : *ports) {
      const json& o = p.contains("offload") ? p["offload"] : json();
      if (!o.is_object()) continue;
      for (const char* kind : {"steering", "deny"}) {
        const json& k = o.contains(kind) ? o[kind] : json::object();
        const std::uint64_t ok = u64(k, "offloaded"), total = u64(k, "total");
        m.sample_u64({{"port", str(p, "name")}, {"kind", kind}, {"state", "hardware"}}, ok);
        m.sample_u64({{"port", str(p, "name")}, {"kind", kind}, {"state", "software"}}, total - ok);
      }
    }
  }
  if (auto t = s.find("trunks"); t != s.end() && t->is_array()) {
    m.family("sipwall_trunk_invites_total", MetricType::counter,
             "INVITEs by source trunk ((none): from no configured trunk)");
    for (const json& e : *t) m.sample_u64({{"trunk", str(e, "name")}}, u64(e, "invites"));
  }
  detection_metrics(m, s);
  worker_metrics(m, s);
  watch_metrics(m, s);
  m.family("sipwall_dataplane_trace_buffered", MetricType::gauge,
           "Trace records the data plane holds that sipwall-control has not collected yet");
  m.sample(num(s, "trace_buffered"));
  m.family("sipwall_dataplane_trace_overflow_total", MetricType::counter,
           "Trace records the data plane discarded because its buffer was full");
  m.sample_u64({}, u64(s, "trace_overflow"));
}

void control_metrics(MetricsText& m, const ControlMetrics& c) {
  m.family("sipwall_control_start_time_seconds", MetricType::gauge, "Unix time sipwall-control started");
  m.sample(c.start_time_s);
  m.family("sipwall_control_reloads_total", MetricType::counter,
           "Reloads and rollbacks sipwall-control performed, by result (failure: the running set stayed)");
  m.sample_u64({{"result", "success"}}, c.reloads_ok);
  m.sample_u64({{"result", "failure"}}, c.reloads_failed);
  m.family("sipwall_control_reload_failures_total", MetricType::counter,
           "Failed reloads by stage: compile (rule files invalid), incomplete (looks like a save in progress), "
           "store (artifact not written), dataplane (unreachable or refused the artifact)");
  for (const char* stage : {"compile", "incomplete", "store", "dataplane"}) {
    auto it = c.failures_by_stage.find(stage);
    m.sample_u64({{"stage", stage}}, it == c.failures_by_stage.end() ? 0 : it->second);
  }
  if (c.have_reload) {
    m.family("sipwall_control_last_reload_success", MetricType::gauge, "1 if the last reload or rollback succeeded");
    m.sample(c.last_reload_ok ? 1 : 0);
    m.family("sipwall_control_last_reload_timestamp_seconds", MetricType::gauge,
             "Unix time the last reload or rollback finished");
    m.sample(c.last_reload_time_s);
    m.family("sipwall_control_last_reload_duration_seconds", MetricType::gauge,
             "Duration of the last reload: compile, store and data-plane load");
    m.sample(c.last_reload_seconds);
    m.family("sipwall_control_last_compile_duration_seconds", MetricType::gauge,
             "Duration of the last rule-set compile (load + validate + compile + write)");
    m.sample(c.last_compile_seconds);
  }
  m.family("sipwall_control_dataplane_polls_total", MetricType::counter,
           "Polls of the data plane (status, stats, trace-drain) by result");
  m.sample_u64({{"result", "success"}}, c.polls_ok);
  m.sample_u64({{"result", "failure"}}, c.polls_failed);
  m.family("sipwall_trace_records_written_total", MetricType::counter, "Trace records written to the trace log");
  m.sample_u64({}, c.trace_records);
  m.family("sipwall_trace_write_errors_total", MetricType::counter,
           "Failed writes or rotations of the trace log (records may be lost)");
  m.sample_u64({}, c.trace_write_errors);
  m.family("sipwall_trace_rotations_total", MetricType::counter, "Rotations of the trace log");
  m.sample_u64({}, c.trace_rotations);
  m.family("sipwall_control_internal_errors_total", MetricType::counter,
           "Exceptions caught at the top of sipwall-control's main loop (logged; the daemon carries on)");
  m.sample_u64({}, c.internal_errors);
  if (c.records_enabled) {
    m.family("sipwall_call_records_stored_total", MetricType::counter, "Call records written to the call store");
    m.sample_u64({}, c.records_stored);
    m.family("sipwall_call_records_bad_frames_total", MetricType::counter,
             "Frames of call records from the data plane refused by the checks (their records dropped)");
    m.sample_u64({}, c.records_bad_frames);
    m.family("sipwall_call_records_store_errors_total", MetricType::counter,
             "Batches of call records the store refused (their records lost)");
    m.sample_u64({}, c.records_store_errors);
    m.family("sipwall_call_records_deleted_total", MetricType::counter,
             "Call records deleted by retention (records.retention_days) and the size cap (records.max_mb)");
    m.sample_u64({}, c.records_deleted);
    m.family("sipwall_call_store_bytes", MetricType::gauge, "Bytes of the call store's database pages in use");
    m.sample_u64({}, c.records_bytes);
    m.family("sipwall_call_records_waiting", MetricType::gauge,
             "Call records received and not stored yet (a batch filling, or behind a partition drop or the WAL's "
             "checkpoint)");
    m.sample_u64({}, c.records_waiting);
  }
}

// The fleet (docs/fleet.md): only with a fleet: section.
void fleet_metrics(MetricsText& m, const fleet::FleetCounters& f) {
  m.family("sipwall_fleet_redis_up", MetricType::gauge, "1 if the fleet's Redis answered the last call");
  m.sample(f.redis_up ? 1 : 0);
  m.family("sipwall_fleet_redis_errors_total", MetricType::counter,
           "Calls to the fleet's Redis that failed (connection refused, timeout); the appliance filters on");
  m.sample_u64({}, f.redis_errors);
  m.family("sipwall_fleet_redis_outages_total", MetricType::counter,
           "Times the fleet's Redis went from reachable to unreachable");
  m.sample_u64({}, f.redis_outages);
  m.family("sipwall_fleet_rulesets_total", MetricType::counter,
           "Published fleet rule sets this appliance dealt with, by result (refused: the running set stayed)");
  m.sample_u64({{"result", "applied"}}, f.applied);
  m.sample_u64({{"result", "refused"}}, f.refused);
  m.family("sipwall_fleet_ruleset_version", MetricType::gauge,
           "The fleet version (publication number) of the rule set this appliance runs; 0: none");
  m.sample_u64({}, f.running_seq);
  m.family("sipwall_fleet_heartbeats_total", MetricType::counter, "Heartbeats written to the fleet's Redis");
  m.sample_u64({}, f.heartbeats);
  m.family("sipwall_fleet_blocks_held", MetricType::gauge, "Fleet-wide blocks this appliance's data plane holds now");
  m.sample_u64({}, f.blocks_held);
  m.family(
      "sipwall_fleet_block_errors_total", MetricType::counter,
      "Fleet-wide blocks the data plane refused to hold (no such detector in its rule set, a key of another kind)");
  m.sample_u64({}, f.block_errors);
  m.family("sipwall_fleet_view_pushes_total", MetricType::counter,
           "Key counts this appliance pushed to the fleet view (keys near a detector's threshold, every view turn)");
  m.sample_u64({}, f.view_pushes);
  m.family("sipwall_fleet_view_reads_total", MetricType::counter,
           "Fleet totals of keys this appliance read back from the fleet view");
  m.sample_u64({}, f.view_reads);
  m.family("sipwall_fleet_view_detections_total", MetricType::counter,
           "Global detections this appliance decided: a key over a detector's threshold summed over the fleet");
  m.sample_u64({}, f.view_detections);
  m.family("sipwall_fleet_view_held", MetricType::gauge,
           "Global detections (of the fleet view) this appliance's data plane holds now");
  m.sample_u64({}, f.view_held);
}

}  // namespace

std::string render_metrics(const ControlMetrics& c, const DataplaneSnapshot& dp) {
  MetricsText m;
  m.family("sipwall_dataplane_up", MetricType::gauge,
           "1 if sipwall-control reached the data plane's control socket at its last poll");
  m.sample(dp.up ? 1 : 0);
  m.family("sipwall_build_info", MetricType::gauge, "Version of each sipwall component (value always 1)");
  m.sample({{"component", "control"}, {"version", c.version}}, 1);
  if (dp.up) m.sample({{"component", "dataplane"}, {"version", str(dp.status, "version")}}, 1);
  control_metrics(m, c);
  if (c.fleet_configured) fleet_metrics(m, c.fleet);
  if (dp.up) dataplane_metrics(m, dp);
  std::vector<std::pair<std::string, protocol::ProcessStats>> ps;
  if (auto self = protocol::read_process_stats()) ps.emplace_back("control", *self);
  if (dp.up && dp.stats.contains("process"))
    if (auto d = protocol::process_stats_from_json(dp.stats["process"])) ps.emplace_back("dataplane", *d);
  process_metrics(m, ps);
  return m.take();
}

}  // namespace sipwall::control
