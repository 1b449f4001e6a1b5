// deny_sources: source prefixes whose traffic the data plane drops before it
// parses any SIP (docs/rules.md "Denied sources"). Entries are written like
// trunk sources -- a bare prefix, or {cidr, vlan, port} -- plus an optional
// id (the counter label) and description. Overlaps between entries are
// allowed (any match drops); an entry written twice is an error, because its
// counters would be split between two labels for no reason.
#include <array>
#include <map>

#include "rules/loader/cidr.h"
#include "rules/loader/loader_internal.h"
#include "rules/model/model_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 5> kDenyKeys = {"cidr", "vlan", "port", "id", "description"};

// The id an entry gets when none is written: the prefix as written plus its
// qualifiers, e.g. "203.0.113.0/24 vlan 100 port 5060".
std::string default_id(const TrunkSource& s) {
  std::string out = s.text;
  if (s.vlan) out += " vlan " + std::to_string(*s.vlan);
  if (s.port) out += " port " + std::to_string(*s.port);
  return out;
}

bool same_match(const TrunkSource& a, const TrunkSource& b) noexcept {
  return a.addr == b.addr && a.prefix_len == b.prefix_len && a.vlan == b.vlan && a.port == b.port;
}

}  // namespace

void Loader::read_deny_sources(const Entry& e) {
  if (!e.value.IsSequence()) {
    error(e.value_at, "'deny_sources' must be a list of source prefixes, got " + describe(e.value));
    return;
  }
  std::map<std::string, SourceLocation> ids;
  for (const YAML::Node& node : e.value) {
    const SourceLocation at_entry = at(node, e.value_at);
    std::optional<std::string> text, id, description;
    std::optional<std::uint16_t> vlan, port;
    bool ok = true;
    if (node.IsScalar()) {
      text = node.Scalar();
    } else if (node.IsMap()) {
      const auto se = map_entries(node, at_entry, "a deny_sources entry", kDenyKeys);
      if (!se) continue;
      if (const Entry* c = require(*se, "cidr", at_entry, "a deny_sources entry")) {
        text = scalar(*c, "an address prefix");
      }
      if (const Entry* v = find(*se, "vlan")) {
        if (auto x = integer(*v, 1, 4094))
          vlan = static_cast<std::uint16_t>(*x);
        else
          ok = false;
      }
      if (const Entry* p = find(*se, "port")) {
        if (auto x = integer(*p, 1, 65535))
          port = static_cast<std::uint16_t>(*x);
        else
          ok = false;
      }
      if (const Entry* i = find(*se, "id")) {
        id = scalar(*i, "an entry id");
        if (!id || !check_name(*id, i->value_at, "deny_sources id")) ok = false;
      }
      if (const Entry* d = find(*se, "description")) {
        description = scalar(*d, "a string");
        if (!description) ok = false;
      }
    } else {
      error(at_entry,
            "a deny_sources entry must be a prefix (\"198.51.100.0/24\") or a map with "
            "'cidr' (and optionally 'vlan', 'port', 'id', 'description'), got " +
                describe(node));
      continue;
    }
    if (!text || !ok) continue;
    CidrText c = parse_cidr(*text);
    if (!c.ok) {
      error(at_entry, "bad deny_sources prefix: " + c.error);
      continue;
    }
    DenySource ds;
    ds.source = std::move(c.source);
    ds.source.vlan = vlan;
    ds.source.port = port;
    ds.source.where = at_entry;
    ds.id = id ? *id : default_id(ds.source);
    ds.description = description.value_or("");
    ds.where = at_entry;
    bool dup = false;
    for (const DenySource& other : rs_.deny_sources) {
      if (same_match(other.source, ds.source)) {
        error(at_entry,
              "deny_sources entry " + default_id(ds.source) + " repeats the entry at " + to_string(other.where));
        dup = true;
        break;
      }
    }
    if (dup) continue;
    if (auto [pos, fresh] = ids.emplace(ds.id, at_entry); !fresh) {
      error(at_entry, "duplicate deny_sources id '" + ds.id + "' (first used at " + to_string(pos->second) + ")");
      continue;
    }
    // A trunk source this entry swallows whole never sends a call to the
    // rules: legal (cutting a trunk off is a use), but worth a word.
    for (const Trunk& t : rs_.trunks) {
      for (const TrunkSource& src : t.sources) {
        const bool vlan_ok = !ds.source.vlan || ds.source.vlan == src.vlan;
        const bool port_ok = !ds.source.port || ds.source.port == src.port;
        if (vlan_ok && port_ok && ds.source.prefix_len <= src.prefix_len && prefixes_overlap(ds.source, src)) {
          warning(at_entry, "deny_sources entry " + ds.id + " covers all of source " + src.text + " of trunk '" +
                                t.name + "' (" + to_string(src.where) + "); no call from it reaches the rules");
        }
      }
    }
    rs_.deny_sources.push_back(std::move(ds));
  }
  if (e.value.size() == 0) warning(e.value_at, "'deny_sources' is empty; no source is denied");
}

}  // namespace sipwall::rules::loader
