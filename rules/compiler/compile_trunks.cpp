// Trunks -> names, classes, caller-range lists and the source-address table.
#include <algorithm>

#include "rules/compiler/compiler_internal.h"

namespace sipwall::rules::compiler {

namespace {

bool same_prefix(const TrunkPrefix& a, const TrunkPrefix& b) noexcept {
  return a.addr == b.addr && a.prefix_len == b.prefix_len && a.vlan == b.vlan && a.port == b.port;
}

// Zero the host bits so 10.0.0.1/24 and 10.0.0.0/24 compare equal.
void mask_host_bits(TrunkPrefix& p) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bit0 = i * 8;
    if (p.prefix_len >= bit0 + 8) continue;
    const unsigned keep = p.prefix_len > bit0 ? p.prefix_len - bit0 : 0;
    p.addr[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xFF << (8 - keep));
  }
}

}  // namespace

void compile_trunks(Builder& b) {
  CompiledRuleSetData& d = b.d;
  std::vector<TrunkPrefix> prefixes;
  std::vector<const TrunkSource*> origin;
  for (const Trunk& t : b.rs.trunks) {
    if (b.trunk_by_name.count(t.name) != 0) {
      b.error(t.where, "trunk '" + t.name + "' is defined twice");
      continue;
    }
    const auto id = static_cast<std::uint32_t>(d.trunks.size());
    b.trunk_by_name.emplace(t.name, id);
    TrunkInfo ti;
    ti.name = b.str(t.name);
    if (!t.trunk_class.empty()) {
      auto [it, added] = b.class_by_name.emplace(t.trunk_class, static_cast<std::uint32_t>(d.classes.size()));
      if (added) d.classes.push_back(b.str(t.trunk_class));
      ti.class_id = it->second;
    }
    trunk_caller_lists(b, t, ti);
    unsigned shift = 0;
    for (CallerSource s : t.caller_from) {
      if (s == CallerSource::from) break;  // the loader made it the last
      ti.caller_from |= static_cast<std::uint32_t>(s) << shift;
      shift += 4;
    }
    d.trunks.push_back(ti);
    for (const TrunkSource& s : t.sources) {
      if (s.prefix_len > 128) {
        b.error(s.where, "source '" + s.text + "': prefix length above 128");
        continue;
      }
      TrunkPrefix p;
      p.addr = s.addr;
      p.prefix_len = s.prefix_len;
      p.vlan = s.vlan ? static_cast<std::int32_t>(*s.vlan) : kAnyQualifier;
      p.port = s.port ? static_cast<std::int32_t>(*s.port) : kAnyQualifier;
      p.trunk = id;
      mask_host_bits(p);
      // The same prefix with the same qualifiers on two trunks is ambiguous.
      bool dup = false;
      for (std::size_t i = 0; i < prefixes.size(); ++i) {
        if (same_prefix(prefixes[i], p)) {
          dup = true;
          if (prefixes[i].trunk != id) {
            const TrunkInfo& other = d.trunks[prefixes[i].trunk];
            b.error(s.where, "source '" + s.text + "' of trunk '" + t.name + "' is also a source of trunk '" +
                                 std::string(d.strings.substr(other.name.off, other.name.len)) + "' (" +
                                 to_string(origin[i]->where) + ")");
          }
          break;
        }
      }
      if (dup) continue;
      prefixes.push_back(p);
      origin.push_back(&s);
    }
  }
  d.trunk_table = TrunkTable::build(prefixes);
  b.stats.trunks = d.trunks.size();
  b.stats.trunk_sources = prefixes.size();
}

}  // namespace sipwall::rules::compiler
