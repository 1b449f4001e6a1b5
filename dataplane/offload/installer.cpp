#include "dataplane/offload/installer.h"

#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <string>

#include "dataplane/log/log.h"

namespace sipwall::offload {

PortFlowInstaller::PortFlowInstaller(std::uint16_t port_id, std::string port_name, bool deny_side)
    : port_id_(port_id), name_(std::move(port_name)), deny_side_(deny_side) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) == 0 && info.driver_name) status_.driver = info.driver_name;
}

PortFlowInstaller::~PortFlowInstaller() = default;

rte_flow* PortFlowInstaller::try_create(const FlowSpec& spec, std::string& reason) {
  rte_flow_error err{};
  int rc = rte_flow_validate(port_id_, &spec.attr, spec.pattern(), spec.actions(), &err);
  status_.probed = true;
  if (rc == 0) {
    status_.supported = true;
    err = rte_flow_error{};
    if (rte_flow* f = rte_flow_create(port_id_, &spec.attr, spec.pattern(), spec.actions(), &err)) return f;
    rc = -rte_errno;
  } else if (rc != -ENOSYS) {
    status_.supported = true;  // the driver has flow support; it refused this rule
  }
  reason = (rc == -ENOSYS ? std::string("rte_flow not supported by driver ") + status_.driver
                          : std::string(rte_strerror(-rc)));
  if (err.message != nullptr && *err.message != '\0') reason += std::string(": ") + err.message;
  return nullptr;
}

std::uint64_t PortFlowInstaller::query_count(rte_flow* f) {
  rte_flow_query_count q{};
  rte_flow_action count[2]{};
  count[0].type = RTE_FLOW_ACTION_TYPE_COUNT;
  count[1].type = RTE_FLOW_ACTION_TYPE_END;
  rte_flow_error err{};
  if (rte_flow_query(port_id_, f, count, &q, &err) != 0 || !q.hits_set) return 0;
  return q.hits;
}

void PortFlowInstaller::recount() {
  PortOffloadStatus s;
  s.probed = status_.probed;
  s.supported = status_.supported;
  s.driver = status_.driver;
  auto add = [&s](const std::vector<Installed>& v, unsigned& ok, unsigned& total) {
    for (const Installed& i : v) {
      ++total;
      if (i.flow) {
        ++ok;
        continue;
      }
      bool found = false;
      for (auto& [r, n] : s.refusals) {
        if (r == i.reason) {
          ++n;
          found = true;
          break;
        }
      }
      if (!found) s.refusals.emplace_back(i.reason, 1);
    }
  };
  add(steer_, s.steer_offloaded, s.steer_total);
  add(deny_, s.deny_offloaded, s.deny_total);
  status_ = std::move(s);
}

void PortFlowInstaller::log_summary(const char* what) const {
  char line[512];
  std::snprintf(line, sizeof line, "port %s (%s): %s: rte_flow %s; steering %u/%u, deny %u/%u rules in hardware",
                name_.c_str(), status_.driver.c_str(), what,
                !status_.probed     ? "not probed"
                : status_.supported ? "supported"
                                    : "not supported",
                status_.steer_offloaded, status_.steer_total, status_.deny_offloaded, status_.deny_total);
  dplog::info(line);
  for (const auto& [reason, n] : status_.refusals)
    dplog::info("port " + name_ + ": " + std::to_string(n) + " rule(s) kept in software: " + reason);
}

std::vector<PortFlowInstaller::Installed> PortFlowInstaller::offer(std::vector<FlowSpec> specs,
                                                                   const std::string& off) {
  std::vector<Installed> out;
  for (FlowSpec& s : specs) {
    Installed i;
    if (off.empty())
      i.flow = try_create(s, i.reason);
    else
      i.reason = off;  // turned off by the config: the driver is not asked
    i.spec = std::move(s);
    out.push_back(std::move(i));
  }
  return out;
}

void PortFlowInstaller::install_steering(std::vector<FlowSpec> specs) {
  for (Installed& i : steer_) {
    if (i.flow) {
      rte_flow_error err{};
      rte_flow_destroy(port_id_, i.flow, &err);
    }
  }
  steer_ = offer(std::move(specs), steer_off_);
  recount();
  log_summary("steering installed");
}

void PortFlowInstaller::replace_deny(std::vector<FlowSpec> specs, std::map<std::string, std::uint64_t>& retired_hw) {
  if (!deny_side_) return;
  std::vector<Installed> fresh = offer(std::move(specs), deny_off_);
  // Only now the old ones go (see the header for why in this order).
  for (Installed& i : deny_) {
    if (!i.flow) continue;
    retired_hw[i.spec.deny_id] += query_count(i.flow);
    rte_flow_error err{};
    rte_flow_destroy(port_id_, i.flow, &err);
  }
  deny_ = std::move(fresh);
  recount();
  log_summary("deny rules installed");
}

void PortFlowInstaller::query_deny(std::map<std::string, std::uint64_t>& hw) {
  for (Installed& i : deny_) {
    if (i.flow) hw[i.spec.deny_id] += query_count(i.flow);
  }
}

std::vector<std::uint32_t> PortFlowInstaller::offloaded_entries() const {
  std::set<std::uint32_t> all, refused;
  for (const Installed& i : deny_) {
    all.insert(i.spec.deny_entry);
    if (!i.flow) refused.insert(i.spec.deny_entry);
  }
  std::vector<std::uint32_t> out;
  for (std::uint32_t e : all)
    if (!refused.count(e)) out.push_back(e);
  return out;
}

void PortFlowInstaller::destroy_all(std::map<std::string, std::uint64_t>& retired_hw) {
  for (Installed& i : deny_) {
    if (!i.flow) continue;
    retired_hw[i.spec.deny_id] += query_count(i.flow);
    rte_flow_error err{};
    rte_flow_destroy(port_id_, i.flow, &err);
  }
  for (Installed& i : steer_) {
    if (!i.flow) continue;
    rte_flow_error err{};
    rte_flow_destroy(port_id_, i.flow, &err);
  }
  deny_.clear();
  steer_.clear();
}

}  // namespace sipwall::offload
