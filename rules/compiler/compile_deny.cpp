// deny_sources -> flat DenyEntry records and a TrunkTable over them (the
// "trunk" of a candidate is the entry index). The loader already rejected
// repeated entries and ids; a hand-built model may still carry them, so the
// compiler checks the ids again (counters are keyed by id).
#include <cstring>
#include <unordered_map>

#include "rules/compiler/compiler_internal.h"

namespace sipwall::rules::compiler {

void compile_deny_sources(Builder& b) {
  CompiledRuleSetData& d = b.d;
  std::vector<TrunkPrefix> prefixes;
  std::unordered_map<std::string, const DenySource*> ids;
  for (const DenySource& ds : b.rs.deny_sources) {
    const TrunkSource& s = ds.source;
    if (s.prefix_len > 128) {
      b.error(ds.where, "deny_sources '" + s.text + "': prefix length above 128");
      continue;
    }
    if (ds.id.empty()) {
      b.error(ds.where, "deny_sources entry without an id");
      continue;
    }
    if (const auto [it, added] = ids.emplace(ds.id, &ds); !added) {
      b.error(ds.where,
              "deny_sources id '" + ds.id + "' is used twice (first at " + to_string(it->second->where) + ")");
      continue;
    }
    DenyEntry e;
    std::memcpy(e.addr, s.addr.data(), 16);
    // Zero the host bits so lookup and the flow rules see the same prefix.
    for (unsigned bit = s.prefix_len; bit < 128; ++bit) {
      e.addr[bit / 8] = static_cast<std::uint8_t>(e.addr[bit / 8] & ~(0x80U >> (bit % 8)));
    }
    e.prefix_len = s.prefix_len;
    e.is_ipv4 = s.is_ipv4 ? 1 : 0;
    e.vlan = s.vlan ? static_cast<std::int32_t>(*s.vlan) : kAnyQualifier;
    e.port = s.port ? static_cast<std::int32_t>(*s.port) : kAnyQualifier;
    e.id = b.str(ds.id);
    e.text = b.str(s.text);
    e.where = b.where(ds.where);
    e.description = b.str(ds.description);
    TrunkPrefix p;
    std::memcpy(p.addr.data(), e.addr, 16);
    p.prefix_len = e.prefix_len;
    p.vlan = e.vlan;
    p.port = e.port;
    p.trunk = static_cast<std::uint32_t>(d.deny.size());
    prefixes.push_back(p);
    d.deny.push_back(e);
  }
  d.deny_table = TrunkTable::build(prefixes);
}

}  // namespace sipwall::rules::compiler
