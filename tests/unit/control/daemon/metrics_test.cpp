#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "control/daemon/metrics_render.h"
#include "control/daemon/prometheus.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

using nlohmann::json;

TEST(Prometheus, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain-rule_1"), "plain-rule_1");
  EXPECT_EQ(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");  // quotes stay in help text
}

TEST(Prometheus, LabelValuesAreValidUtf8) {
  // An id read from an artifact is bytes from outside; the exposition format
  // is UTF-8 (a Prometheus scrape fails on anything else).
  EXPECT_EQ(escape_label_value("rule\xff\"x"), "rule\xEF\xBF\xBD\\\"x");
  EXPECT_EQ(escape_label_value("J\xC3\xBCrgen"), "J\xC3\xBCrgen");
}

TEST(Prometheus, ChecksNames) {
  EXPECT_TRUE(valid_metric_name("sipwall_rx_packets_total"));
  EXPECT_TRUE(valid_metric_name("a:b"));
  EXPECT_FALSE(valid_metric_name("1abc"));
  EXPECT_FALSE(valid_metric_name("a-b"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("rule_id"));
  EXPECT_FALSE(valid_label_name("__name"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_EQ(sanitize_metric_name("tag-skipped.mtu"), "tag_skipped_mtu");
  EXPECT_EQ(sanitize_metric_name("9lives"), "_lives");
}

TEST(Prometheus, WritesHelpTypeAndSamples) {
  MetricsText m;
  m.family("sipwall_rule_hits_total", MetricType::counter, "Hits by rule\nper id");
  m.sample_u64({{"rule_id", "a\"b"}}, 18446744073709551615ull);
  m.sample_u64({{"rule_id", "c"}}, 0);
  m.family("sipwall_dataplane_up", MetricType::gauge, "Up");
  m.sample(1);
  m.family("sipwall_x_seconds", MetricType::gauge, "Seconds");
  m.sample({{"a", "1"}, {"b", "2"}}, 0.0075);
  EXPECT_EQ(m.text(),
            "# HELP sipwall_rule_hits_total Hits by rule\\nper id\n"
            "# TYPE sipwall_rule_hits_total counter\n"
            "sipwall_rule_hits_total{rule_id=\"a\\\"b\"} 18446744073709551615\n"
            "sipwall_rule_hits_total{rule_id=\"c\"} 0\n"
            "# HELP sipwall_dataplane_up Up\n"
            "# TYPE sipwall_dataplane_up gauge\n"
            "sipwall_dataplane_up 1\n"
            "# HELP sipwall_x_seconds Seconds\n"
            "# TYPE sipwall_x_seconds gauge\n"
            "sipwall_x_seconds{a=\"1\",b=\"2\"} 0.0075\n");
}

TEST(Prometheus, CountersAndOnlyCountersEndInTotal) {
  MetricsText m;
  EXPECT_THROW(m.family("sipwall_invites", MetricType::counter, "x"), std::invalid_argument);
  EXPECT_THROW(m.family("sipwall_invites_total", MetricType::gauge, "x"), std::invalid_argument);
  EXPECT_THROW(m.family("bad name", MetricType::gauge, "x"), std::invalid_argument);
}

TEST(Prometheus, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

// A data plane as its control socket describes it (docs/control-protocol.md).
DataplaneSnapshot sample_dataplane() {
  DataplaneSnapshot dp;
  dp.up = true;
  dp.status = json::parse(R"({"ok":true,"v":1,"version":"0.1.0","started_at":"2026-11-28T09:55:55Z","uptime_s":12.5,
    "ruleset":{"name":"demo","version":"2024-06-01.1","checksum":"878b4f889320613f","artifact":"/x.swr",
               "loaded_at":"2026-11-28T09:55:55Z","load_ms":0.26,"rules":7,"trunks":3,"lists":4},
    "workers":[{"index":0,"lcore":1}],
    "ports":[{"name":"trunk","link":"up"},{"name":"core","link":"down"}]})");
  dp.stats = json::parse(R"J({"ok":true,"v":1,"workers":1,"ruleset_version":"2024-06-01.1",
    "reloads":{"ok":2,"failed":1,"last_ms":10.5},
    "counters":{"forwarded":30,"dropped":2,"rejected":3,"absorbed":0,"invites":23,"rx_packets":35,"brand_new":5,"held":2,
                "tag_skipped_mtu":4,"tag_failed":1,"malformed_forwarded":6,"malformed_dropped":0},
    "ports":[{"name":"trunk","rx_packets":35,"rx_bytes":25246,"tx_packets":3,"tx_bytes":900,"nic_imissed":0,
              "nic_ierrors":0,"nic_oerrors":0,"nic_rx_nombuf":0},
             {"name":"core","rx_packets":0,"rx_bytes":0,"tx_packets":30,"tx_bytes":24000,"nic_imissed":1,
              "nic_ierrors":0,"nic_oerrors":0,"nic_rx_nombuf":0}],
    "verdicts":{"pass":10,"drop":2,"reject":9,"tag":1,"trace":1},
    "parse_errors":{"no_call_id":1,"truncated":0},
    "decode_errors":{"not_ip":1},
    "rules":[{"id":"harassment-callers","hits":7},{"id":"odd \"id\"\\x","hits":1},{"id":"(default)","hits":4}],
    "trunks":[{"name":"peer-a","invites":16},{"name":"(none)","invites":2}],
    "detection":{"detectors":[{"name":"call-bombing","key":"caller_callee","count":"invites","report_only":false,
                               "fires":3,"active":2,"hot":5,"keys":900,"capacity":131072,"evictions":7,"hits":12,
                               "report_hits":0},
                              {"name":"one \"ring\"","key":"caller","count":"one_ring","report_only":true,
                               "fires":1,"active":1,"hot":1,"keys":4,"capacity":131072,"evictions":0,"hits":0,
                               "report_hits":21}],
                 "calls":{"size":40,"capacity":131072,"inserted":400,"expired":360,"evicted_live":6,"unknown_events":2},
                 "memory_bytes":123456789,"merges":1000,"last_merge_us":35.5,"merged_keys":6,
                 "merge_dropped_full":0,"reports_taken":50,"reports_dropped":1},
    "worker_load":[{"worker":0,"lcore":1,"busy_cycles":3000000000,"idle_cycles":1000000000,
                    "rx_polls_by_burst":[100,5,3,2,0,0,1],"rx_packets":60}],
    "tsc_hz":2000000000,
    "process":{"cpu_seconds":12.5,"resident_bytes":1048576,"virtual_bytes":4194304,"open_fds":17,"max_fds":65536,
               "start_time_seconds":1764400000},
    "watch":{"stale_copies":2,
             "watches":[{"slot":0,"kind":"hep","filter":"all","active":true},
                        {"slot":1,"kind":"capture","filter":"caller +8613800138000","active":true,"id":4}],
             "hep":{"collector":"192.0.2.50:9060","transport":"tcp","sent":1500,"bytes":900000,"dropped":3,
                    "too_large":1,"not_decoded":0,"connected":true,"connects":2,"connect_failures":5,
                    "queued_bytes":0}},
    "trace_buffered":3,"trace_overflow":0})J");
  return dp;
}

// std::regex trips GCC 12's -Wmaybe-uninitialized under ASan: plain code instead.
// "name{labels} value" or "name value"; returns the name, empty if malformed.
std::string sample_name(const std::string& line) {
  std::size_t sp = line.rfind(' ');
  if (sp == std::string::npos || sp + 1 == line.size()) return "";
  std::string head = line.substr(0, sp);
  std::size_t brace = head.find('{');
  if (brace != std::string::npos && head.back() != '}') return "";
  std::string name = head.substr(0, brace);
  return valid_metric_name(name) ? name : "";
}

// True if some label value is 7 to 15 digits, with or without '+': a phone number.
bool has_number_label(const std::string& text) {
  for (std::size_t q = text.find("=\""); q != std::string::npos; q = text.find("=\"", q + 2)) {
    std::size_t end = text.find('"', q + 2);
    std::string v = text.substr(q + 2, end - q - 2);
    if (!v.empty() && v[0] == '+') v.erase(0, 1);
    if (v.size() >= 7 && v.size() <= 15 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return true;
  }
  return false;
}

// Every sample line as name{labels} -> value.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

TEST(MetricsRender, DataplaneCountersBecomeMetrics) {
  ControlMetrics c;
  c.version = "0.1.0";
  c.reloads_ok = 4;
  c.reloads_failed = 2;
  c.failures_by_stage["compile"] = 2;
  std::string text = render_metrics(c, sample_dataplane());
  auto s = samples(text);
  EXPECT_EQ(s["sipwall_dataplane_up"], "1");
  EXPECT_EQ(s["sipwall_forwarded_total"], "30");
  EXPECT_EQ(s["sipwall_rx_packets_total"], "35");
  EXPECT_EQ(s["sipwall_brand_new_total"], "5");  // a counter this build does not know still shows
  if (text.find("# TYPE sipwall_held gauge") != std::string::npos) {
    EXPECT_EQ(s["sipwall_held"], "2");  // a level in the counter list: a gauge, no _total
  } else {
    EXPECT_EQ(s["sipwall_held_total"], "2");  // a data plane without `held` in its list
  }
  EXPECT_EQ(s["sipwall_port_rx_packets_total{port=\"trunk\"}"], "35");
  EXPECT_EQ(s["sipwall_port_nic_rx_missed_total{port=\"core\"}"], "1");
  EXPECT_EQ(s["sipwall_port_link_up{port=\"core\"}"], "0");
  EXPECT_EQ(s["sipwall_invite_verdicts_total{action=\"reject\"}"], "9");
  // trace is not a final action: its own family, so the actions sum to the INVITEs classified.
  EXPECT_EQ(s.count("sipwall_invite_verdicts_total{action=\"trace\"}"), 0U);
  EXPECT_EQ(s["sipwall_invites_traced_total"], "1");
  EXPECT_EQ(s["sipwall_parse_errors_total{reason=\"no_call_id\"}"], "1");
  EXPECT_EQ(s["sipwall_decode_errors_total{reason=\"not_ip\"}"], "1");
  EXPECT_EQ(s["sipwall_rule_hits_total{rule_id=\"harassment-callers\"}"], "7");
  EXPECT_EQ(s["sipwall_rule_hits_total{rule_id=\"odd \\\"id\\\"\\\\x\"}"], "1");
  EXPECT_EQ(s["sipwall_trunk_invites_total{trunk=\"(none)\"}"], "2");
  EXPECT_EQ(s["sipwall_ruleset_info{name=\"demo\",version=\"2024-06-01.1\",checksum=\"878b4f889320613f\"}"], "1");
  EXPECT_EQ(s["sipwall_dataplane_reloads_total{result=\"failure\"}"], "1");
  EXPECT_EQ(s["sipwall_dataplane_last_reload_duration_seconds"], "0.0105");
  EXPECT_EQ(s["sipwall_control_reloads_total{result=\"success\"}"], "4");
  EXPECT_EQ(s["sipwall_control_reload_failures_total{stage=\"compile\"}"], "2");
  EXPECT_EQ(s["sipwall_control_reload_failures_total{stage=\"dataplane\"}"], "0");
  EXPECT_EQ(s["sipwall_build_info{component=\"dataplane\",version=\"0.1.0\"}"], "1");
  EXPECT_EQ(s["sipwall_dataplane_trace_buffered"], "3");
}

// Counters that split one quantity are one labelled family each; their old
// names stay one release, marked deprecated in their help.
TEST(MetricsRender, SplitCountersAreLabelledFamilies) {
  const std::string text = render_metrics(ControlMetrics{}, sample_dataplane());
  auto s = samples(text);
  EXPECT_EQ(s["sipwall_frames_total{fate=\"forwarded\"}"], "30");
  EXPECT_EQ(s["sipwall_frames_total{fate=\"dropped\"}"], "2");
  EXPECT_EQ(s["sipwall_frames_total{fate=\"rejected\"}"], "3");
  EXPECT_EQ(s["sipwall_frames_total{fate=\"absorbed\"}"], "0");
  EXPECT_EQ(s["sipwall_tag_skipped_total{reason=\"mtu\"}"], "4");
  EXPECT_EQ(s["sipwall_tag_skipped_total{reason=\"refused\"}"], "1");
  EXPECT_EQ(s.count("sipwall_tag_skipped_total{reason=\"tcp\"}"), 0U);  // not in these stats: left out
  EXPECT_EQ(s["sipwall_malformed_handled_total{policy=\"fail_open\"}"], "6");
  EXPECT_EQ(s["sipwall_malformed_handled_total{policy=\"fail_closed\"}"], "0");
  EXPECT_EQ(s.count("sipwall_multiseg_frames_total"), 0U);  // no member reported: no family
  EXPECT_NE(text.find("# TYPE sipwall_frames_total counter"), std::string::npos);
  // The old names, one release more.
  EXPECT_EQ(s["sipwall_forwarded_total"], "30");
  EXPECT_NE(text.find("# HELP sipwall_forwarded_total Deprecated, removed in the next release: use "
                      "sipwall_frames_total{fate=\"forwarded\"}."),
            std::string::npos)
      << text.substr(text.find("# HELP sipwall_forwarded_total"), 200);
  EXPECT_EQ(text.find("# HELP sipwall_invites_total Deprecated"), std::string::npos);  // not split: not deprecated
}

TEST(MetricsRender, DetectionMetricsByDetectorName) {
  auto s = samples(render_metrics(ControlMetrics{}, sample_dataplane()));
  EXPECT_EQ(s["sipwall_detector_fires_total{detector=\"call-bombing\"}"], "3");
  EXPECT_EQ(s["sipwall_detector_active_keys{detector=\"call-bombing\"}"], "2");
  EXPECT_EQ(s["sipwall_detector_evictions_total{detector=\"call-bombing\"}"], "7");
  EXPECT_EQ(s["sipwall_detector_hits_total{detector=\"call-bombing\"}"], "12");
  // A name from the rule set is escaped like any label value.
  EXPECT_EQ(s["sipwall_detector_report_hits_total{detector=\"one \\\"ring\\\"\"}"], "21");
  EXPECT_EQ(s["sipwall_detection_calls"], "40");
  EXPECT_EQ(s["sipwall_detection_calls_capacity"], "131072");
  EXPECT_EQ(s["sipwall_detection_call_evictions_total"], "6");
  EXPECT_EQ(s["sipwall_detection_memory_bytes"], "123456789");
  EXPECT_EQ(s["sipwall_detection_reports_dropped_total"], "1");
}

// Watches and the HEP export (docs/export.md): counts only, never a filter
// (which may hold a number) in a label.
TEST(MetricsRender, WatchAndHepMetricsHoldNoNumbers) {
  const std::string text = render_metrics(ControlMetrics{}, sample_dataplane());
  auto s = samples(text);
  EXPECT_EQ(s["sipwall_watches"], "2");
  EXPECT_EQ(s["sipwall_hep_sent_total"], "1500");
  EXPECT_EQ(s["sipwall_hep_dropped_total"], "4");  // refused or over the buffer, and too large
  EXPECT_EQ(s["sipwall_hep_connected"], "1");
  EXPECT_EQ(s["sipwall_hep_connect_failures_total"], "5");
  EXPECT_EQ(text.find("8613800138000"), std::string::npos);
}

TEST(MetricsRender, EveryFamilyHasOneHelpAndTypeAndCountersEndInTotal) {
  std::string text = render_metrics(ControlMetrics{}, sample_dataplane());
  std::istringstream in(text);
  std::string line;
  std::map<std::string, std::string> type;
  std::set<std::string> help;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(help.insert(name).second) << "two HELP lines for " << name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      std::string t = rest.substr(rest.find(' ') + 1);
      EXPECT_TRUE(type.emplace(name, t).second) << "two TYPE lines for " << name;
      EXPECT_TRUE(help.count(name)) << "TYPE before HELP for " << name;
      bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
      EXPECT_EQ(total, t == "counter") << name;
      // Ours, or the standard process_* names client libraries use.
      EXPECT_TRUE(name.rfind("sipwall_", 0) == 0 || name.rfind("process_", 0) == 0) << name;
      continue;
    }
    std::string name = sample_name(line);
    ASSERT_FALSE(name.empty()) << line;
    // A histogram's series carry a suffix its TYPE line does not.
    for (const char* sfx : {"_bucket", "_sum", "_count"}) {
      const std::string s(sfx);
      if (!type.count(name) && name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          type.count(name.substr(0, name.size() - s.size())) &&
          type[name.substr(0, name.size() - s.size())] == "histogram")
        name.resize(name.size() - s.size());
    }
    EXPECT_TRUE(type.count(name)) << "sample without TYPE: " << line;
    ++n;
  }
  EXPECT_GT(n, 50u);
}

// Issue 17: units in every name (held -> held_segments, the old name one more
// release), each worker's busy/idle time and RX burst sizes, process_* of both
// processes.
TEST(MetricsRender, WorkerLoadProcessAndUnits) {
  const std::string text = render_metrics(ControlMetrics{}, sample_dataplane());
  auto s = samples(text);
  EXPECT_EQ(s["sipwall_held_segments"], "2");
  EXPECT_EQ(s["sipwall_held"], "2");
  EXPECT_NE(text.find("# HELP sipwall_held Deprecated, removed in the next release: use sipwall_held_segments."),
            std::string::npos);
  const std::string w = "{worker=\"0\",lcore=\"1\"";
  EXPECT_EQ(s["sipwall_worker_busy_seconds_total" + w + "}"], "1.5");
  EXPECT_EQ(s["sipwall_worker_idle_seconds_total" + w + "}"], "0.5");
  EXPECT_NE(text.find("# TYPE sipwall_worker_rx_burst_packets histogram"), std::string::npos);
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_bucket" + w + ",le=\"0\"}"], "100");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_bucket" + w + ",le=\"1\"}"], "105");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_bucket" + w + ",le=\"7\"}"], "110");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_bucket" + w + ",le=\"31\"}"], "110");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_bucket" + w + ",le=\"+Inf\"}"], "111");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_count" + w + "}"], "111");
  EXPECT_EQ(s["sipwall_worker_rx_burst_packets_sum" + w + "}"], "60");
  EXPECT_EQ(s["process_cpu_seconds_total{component=\"dataplane\"}"], "12.5");
  EXPECT_EQ(s["process_resident_memory_bytes{component=\"dataplane\"}"], "1048576");
  EXPECT_EQ(s["process_open_fds{component=\"dataplane\"}"], "17");
  EXPECT_EQ(s["process_start_time_seconds{component=\"dataplane\"}"], "1764400000");
  // This process's own, from /proc/self.
  EXPECT_GT(std::stod(s["process_resident_memory_bytes{component=\"control\"}"]), 0);
  EXPECT_GT(std::stod(s["process_open_fds{component=\"control\"}"]), 0);
  EXPECT_GT(std::stod(s["process_start_time_seconds{component=\"control\"}"]), 1.7e9);
}

TEST(MetricsRender, DataplaneDownKeepsControlMetrics) {
  ControlMetrics c;
  c.version = "0.1.0";
  c.polls_failed = 3;
  DataplaneSnapshot dp;  // down
  std::string text = render_metrics(c, dp);
  auto s = samples(text);
  EXPECT_EQ(s["sipwall_dataplane_up"], "0");
  EXPECT_EQ(s["sipwall_control_dataplane_polls_total{result=\"failure\"}"], "3");
  EXPECT_EQ(s["sipwall_build_info{component=\"control\",version=\"0.1.0\"}"], "1");
  EXPECT_EQ(s.count("sipwall_forwarded_total"), 0u);
  EXPECT_EQ(text.find("component=\"dataplane\""), std::string::npos);
}

TEST(MetricsRender, CallRecordMetricsOnlyWithRecordsOn) {
  ControlMetrics c;
  DataplaneSnapshot dp;
  EXPECT_EQ(samples(render_metrics(c, dp)).count("sipwall_call_records_waiting"), 0u);
  c.records_enabled = true;
  c.records_stored = 120;
  c.records_bytes = 4096;
  c.records_waiting = 37;  // held behind a partition drop or the WAL's checkpoint
  auto s = samples(render_metrics(c, dp));
  EXPECT_EQ(s["sipwall_call_records_stored_total"], "120");
  EXPECT_EQ(s["sipwall_call_store_bytes"], "4096");
  EXPECT_EQ(s["sipwall_call_records_waiting"], "37");
}

TEST(MetricsRender, NoPhoneNumberInAnyLabel) {
  // The stats reply never carries numbers; make sure nothing the renderer
  // adds does either: no label value looks like an E.164 number.
  std::string text = render_metrics(ControlMetrics{}, sample_dataplane());
  EXPECT_FALSE(has_number_label(text)) << text;
  EXPECT_TRUE(has_number_label("x{a=\"+8613800138000\"} 1\n"));  // the check itself works
}

TEST(MetricsRender, PromtoolAcceptsIt) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool not installed";
  test::TempDir dir;
  ControlMetrics c;
  c.version = "0.1.0";
  c.have_reload = true;
  c.last_reload_seconds = 0.25;
  test::write_file(dir / "m.txt", render_metrics(c, sample_dataplane()));
  std::string cmd =
      "promtool check metrics < " + (dir / "m.txt").string() + " > " + (dir / "out.txt").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << test::read_file(dir / "out.txt");
}

}  // namespace
}  // namespace sipwall::control
