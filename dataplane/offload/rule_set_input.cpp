#include "dataplane/offload/rule_set_input.h"

#include <cstring>

namespace sipwall::offload {

std::vector<DenyInput> deny_inputs(const rules::CompiledRuleSet& set) {
  std::vector<DenyInput> out;
  out.reserve(set.deny_count());
  for (std::size_t i = 0; i < set.deny_count(); ++i) {
    const rules::DenyEntry& e = set.deny_entry(i);
    DenyInput d;
    std::memcpy(d.addr, e.addr, 16);
    d.prefix_len = e.prefix_len;
    d.is_ipv4 = e.is_ipv4 != 0;
    d.vlan = e.vlan;
    d.port = e.port;
    d.entry = static_cast<std::uint32_t>(i);
    d.id = std::string(set.deny_id(i));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace sipwall::offload
