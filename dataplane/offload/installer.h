// Puts flow specs into a port with rte_flow (main lcore only; the workers
// never touch flows). Every rule is probed with rte_flow_validate first; what
// validates is created, what does not stays in software (the worker's deny
// stage and plain RSS) and its reason is kept for `status` and the log.
//
// Deny rules on reload: the new rules are created before the old ones are
// destroyed, so there is no moment at which a denied source's traffic (which
// may be a flood -- the reason it is denied) reaches the workers in bulk.
// An old and a new rule for the same entry may both exist for that moment;
// either counts the packet, and the old rule's count is read
// (rte_flow_query COUNT) right before it is destroyed and kept by entry id,
// so hardware counters survive reloads like the software ones. Packets that
// hit an old rule between that last query and its destruction are dropped
// but not counted (microseconds).
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataplane/offload/flow_spec.h"

namespace sipwall::offload {

struct PortOffloadStatus {
  bool probed = false;
  bool supported = false;  // the driver answered a validate with something other than ENOSYS
  std::string driver;
  unsigned steer_offloaded = 0, steer_total = 0;
  unsigned deny_offloaded = 0, deny_total = 0;
  // Distinct refusal reasons with how many rules each refused, in first-seen order.
  std::vector<std::pair<std::string, unsigned>> refusals;
};

class PortFlowInstaller {
 public:
  PortFlowInstaller(std::uint16_t port_id, std::string port_name, bool deny_side);
  ~PortFlowInstaller();
  PortFlowInstaller(const PortFlowInstaller&) = delete;
  PortFlowInstaller& operator=(const PortFlowInstaller&) = delete;

  // Turns a kind of rule off (the config's offload.steering / offload.deny):
  // its rules are then kept in software with `why` as the reason, without
  // asking the driver. For a NIC whose flow engine misbehaves.
  void disable_steering(std::string why) { steer_off_ = std::move(why); }
  void disable_deny(std::string why) { deny_off_ = std::move(why); }
  void install_steering(std::vector<FlowSpec> specs);
  // Replaces the deny rules (no-op on a port that is not a deny side: only
  // trunk-facing ports get them). Final counts of destroyed rules are added
  // to `retired_hw` by entry id.
  void replace_deny(std::vector<FlowSpec> specs, std::map<std::string, std::uint64_t>& retired_hw);
  // Adds the hardware hit counts of the live deny rules, by entry id.
  void query_deny(std::map<std::string, std::uint64_t>& hw);
  // Entry indexes (of the current set) all of whose rules are in hardware.
  std::vector<std::uint32_t> offloaded_entries() const;
  // Destroys everything (before the port stops).
  void destroy_all(std::map<std::string, std::uint64_t>& retired_hw);

  const PortOffloadStatus& status() const noexcept { return status_; }
  bool deny_side() const noexcept { return deny_side_; }
  const std::string& name() const noexcept { return name_; }

 private:
  struct Installed {
    FlowSpec spec;
    rte_flow* flow = nullptr;  // null: refused, in software only
    std::string reason;
  };
  // Validates and creates `spec`; fills `reason` when refused.
  rte_flow* try_create(const FlowSpec& spec, std::string& reason);
  // try_create for each spec, or none with `off` as the reason when non-empty.
  std::vector<Installed> offer(std::vector<FlowSpec> specs, const std::string& off);
  std::uint64_t query_count(rte_flow* f);
  void recount();
  void log_summary(const char* what) const;

  std::uint16_t port_id_;
  std::string name_;
  bool deny_side_;
  std::string steer_off_, deny_off_;  // non-empty: that kind is disabled, and why
  std::vector<Installed> steer_;
  std::vector<Installed> deny_;
  PortOffloadStatus status_;
};

}  // namespace sipwall::offload
