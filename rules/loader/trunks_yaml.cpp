// trunks: name -> class, source prefixes (with optional VLAN and port), and
// the caller numbers the trunk may present. Two trunks that could both claim
// one packet are an error: trunk lookup must never have to guess.
#include <algorithm>
#include <array>

#include "rules/loader/cidr.h"
#include "rules/loader/loader_internal.h"
#include "rules/loader/number_text.h"
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 5> kTrunkKeys = {"class", "sources", "caller_ranges", "caller_from",
                                                        "description"};
constexpr std::array<std::string_view, 3> kSourceKeys = {"cidr", "vlan", "port"};

std::string qualifiers(const TrunkSource& s) {
  std::string out;
  if (s.vlan) out += " vlan " + std::to_string(*s.vlan);
  if (s.port) out += " port " + std::to_string(*s.port);
  return out;
}

}  // namespace

// caller_from: [pai, rpid, from] -- the headers the trunk's caller is taken
// from, in order; each at most once, From last (the one every INVITE has).
void Loader::read_caller_from(const Entry& e, Trunk& trunk) {
  const auto items = scalar_list(e, "a header: pai, rpid or from");
  if (!items) return;
  if (items->empty()) {
    error(e.value_at, "'caller_from' must list the headers the caller is taken from, ending with from");
    return;
  }
  std::vector<CallerSource> order;
  bool ok = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const Item& it = (*items)[i];
    CallerSource s;
    if (it.text == "pai") {
      s = CallerSource::pai;
    } else if (it.text == "rpid") {
      s = CallerSource::rpid;
    } else if (it.text == "from") {
      s = CallerSource::from;
    } else {
      error(it.at, "unknown caller source " + text::quote(it.text) +
                       " (allowed: pai = P-Asserted-Identity, rpid = Remote-Party-ID, from = From)");
      ok = false;
      continue;
    }
    if (std::find(order.begin(), order.end(), s) != order.end()) {
      error(it.at, "caller source " + text::quote(it.text) + " is listed twice");
      ok = false;
      continue;
    }
    if (s == CallerSource::from && i + 1 != items->size()) {
      error(it.at, "'from' must be the last caller source: every INVITE has a From, so nothing after it is read");
      ok = false;
      continue;
    }
    order.push_back(s);
  }
  if (ok && order.back() != CallerSource::from) {
    error(items->back().at, "'caller_from' must end with from (the caller when no other header holds a number)");
    ok = false;
  }
  if (ok) trunk.caller_from = std::move(order);
}

void Loader::read_trunks(const Entry& e) {
  const auto trunks = map_entries(e.value, e.value_at, "trunks", {}, "trunk name");
  if (!trunks) return;
  for (const Entry& te : *trunks) {
    const std::string what = "trunk " + text::quote(te.key);
    if (!check_name(te.key, te.key_at, "trunk name")) continue;
    trunk_at_.emplace(te.key, te.key_at);
    const auto entries = map_entries(te.value, te.value_at, what, kTrunkKeys);
    if (!entries) continue;
    Trunk trunk;
    trunk.name = te.key;
    trunk.where = te.key_at;
    if (const Entry* c = require(*entries, "class", te.key_at, what)) {
      if (auto v = scalar(*c, "a class name"); v && check_name(*v, c->value_at, "trunk class")) {
        trunk.trunk_class = *v;
        classes_.insert(*v);
      }
    }
    if (const Entry* d = find(*entries, "description")) scalar(*d, "a string");
    if (const Entry* s = require(*entries, "sources", te.key_at, what)) {
      if (!s->value.IsSequence() || s->value.size() == 0) {
        error(s->value_at, "'sources' must be a non-empty list of prefixes, got " + describe(s->value));
      } else {
        for (const YAML::Node& node : s->value) {
          const SourceLocation src_at = at(node, s->value_at);
          std::optional<std::string> text;
          std::optional<std::uint16_t> vlan, port;
          bool ok = true;
          if (node.IsScalar()) {
            text = node.Scalar();
          } else if (const auto se = map_entries(node, src_at, "a source of " + what, kSourceKeys)) {
            if (const Entry* c = require(*se, "cidr", src_at, "a source of " + what)) {
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
          } else {
            ok = false;
          }
          if (!text || !ok) continue;
          CidrText c = parse_cidr(*text);
          if (!c.ok) {
            error(src_at, "bad source prefix: " + c.error);
            continue;
          }
          c.source.vlan = vlan;
          c.source.port = port;
          c.source.where = src_at;
          trunk.sources.push_back(std::move(c.source));
        }
      }
    }
    if (const Entry* r = find(*entries, "caller_ranges")) {
      if (auto items = scalar_list(*r, "a number prefix or range"); items && plan_ok_) {
        for (const Item& it : *items) {
          if (looks_like_range(it.text)) {
            RangeText rt = parse_range(it.text, rs_.dial_plan);
            if (!rt.ok) {
              error(it.at, rt.error);
              continue;
            }
            trunk.caller_ranges.push_back(std::move(rt.range));
          } else {
            NumberText p = parse_prefix(it.text, rs_.dial_plan);
            if (!p.ok) {
              error(it.at, p.error);
              continue;
            }
            trunk.caller_prefixes.push_back(std::move(p.digits));
          }
        }
        any_caller_ranges_ = any_caller_ranges_ || !trunk.caller_ranges.empty() || !trunk.caller_prefixes.empty();
      }
    }
    if (const Entry* cf = find(*entries, "caller_from")) read_caller_from(*cf, trunk);
    rs_.trunks.push_back(std::move(trunk));
  }

  // Overlaps between trunks: O(n^2) in sources, fine for the hundreds a box
  // carries. Reported once, at the later source, naming the earlier one.
  for (std::size_t i = 0; i < rs_.trunks.size(); ++i) {
    for (const TrunkSource& b : rs_.trunks[i].sources) {
      for (std::size_t j = 0; j < i; ++j) {
        for (const TrunkSource& a : rs_.trunks[j].sources) {
          if (!may_match_same_packet(a, b)) continue;
          error(b.where, "source " + b.text + qualifiers(b) + " of trunk '" + rs_.trunks[i].name +
                             "' overlaps source " + a.text + qualifiers(a) + " of trunk '" + rs_.trunks[j].name +
                             "' (at " + to_string(a.where) + "); a packet could belong to both trunks");
        }
      }
    }
  }
}

}  // namespace sipwall::rules::loader
