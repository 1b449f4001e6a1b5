// The deny_sources and rte_flow metric families sipwall-control renders from
// the data plane's `stats` and `status` replies (control/daemon/metrics_render.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/daemon/metrics_render.h"

namespace sipwall::control {
namespace {

using nlohmann::json;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(DenyMetrics, PerEntryHardwareAndSoftwareAndPortOffload) {
  DataplaneSnapshot dp;
  dp.up = true;
  dp.status = json::parse(R"({"ok":true,"uptime_s":1,"ports":[
    {"name":"trunk","link":"up","offload":{"driver":"mlx5_pci","rte_flow":true,
      "steering":{"offloaded":8,"total":8},"deny":{"offloaded":5,"total":7,"applies":true},"refusals":[]}},
    {"name":"core","link":"up","offload":{"driver":"net_pcap","rte_flow":false,
      "steering":{"offloaded":0,"total":8},"deny":{"offloaded":0,"total":0,"applies":false},"refusals":[]}}]})");
  dp.stats = json::parse(R"({"ok":true,"workers":1,"counters":{"source_denied":7,"dropped":9},
    "deny_sources":[
      {"id":"v4-net","software":5,"hardware":1000,"offloaded_ports":1,"in_ruleset":true},
      {"id":"198.51.100.7 port 5060","software":2,"hardware":0,"offloaded_ports":0,"in_ruleset":true},
      {"id":"gone","software":3,"hardware":4,"offloaded_ports":0,"in_ruleset":false}]})");
  const std::string m = render_metrics(ControlMetrics{}, dp);
  EXPECT_TRUE(has_line(m, "# TYPE sipwall_source_denied_total counter")) << m;
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_total{entry=\"v4-net\",where=\"software\"} 5")) << m;
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_total{entry=\"v4-net\",where=\"hardware\"} 1000")) << m;
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_total{entry=\"198.51.100.7 port 5060\",where=\"software\"} 2"));
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_total{entry=\"gone\",where=\"hardware\"} 4"));
  // The unlabelled counter is not emitted beside the family of the same name.
  EXPECT_FALSE(has_line(m, "sipwall_source_denied_total 7")) << m;
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_offloaded_ports{entry=\"v4-net\"} 1"));
  EXPECT_EQ(m.find("sipwall_source_denied_offloaded_ports{entry=\"gone\"}"), std::string::npos);
  EXPECT_TRUE(has_line(m, "sipwall_port_rte_flow_supported{port=\"trunk\"} 1"));
  EXPECT_TRUE(has_line(m, "sipwall_port_rte_flow_supported{port=\"core\"} 0"));
  EXPECT_TRUE(has_line(m, "sipwall_port_flow_rules{port=\"trunk\",kind=\"deny\",state=\"hardware\"} 5"));
  EXPECT_TRUE(has_line(m, "sipwall_port_flow_rules{port=\"trunk\",kind=\"deny\",state=\"software\"} 2"));
  EXPECT_TRUE(has_line(m, "sipwall_port_flow_rules{port=\"core\",kind=\"steering\",state=\"software\"} 8"));
  // Every family once.
  EXPECT_EQ(m.find("# TYPE sipwall_source_denied_total"), m.rfind("# TYPE sipwall_source_denied_total"));
}

TEST(DenyMetrics, NoEntriesKeepsThePlainCounter) {
  DataplaneSnapshot dp;
  dp.up = true;
  dp.status = json::parse(R"({"ok":true,"ports":[]})");
  dp.stats = json::parse(R"({"ok":true,"counters":{"source_denied":0},"deny_sources":[]})");
  const std::string m = render_metrics(ControlMetrics{}, dp);
  EXPECT_TRUE(has_line(m, "sipwall_source_denied_total 0")) << m;
  EXPECT_EQ(m.find("sipwall_source_denied_offloaded_ports"), std::string::npos);
}

}  // namespace
}  // namespace sipwall::control
