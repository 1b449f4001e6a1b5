#include "control/common/number_lookup.h"

#include <algorithm>
#include <string_view>

#include "dataplane/sip/sip_message.h"
#include "rules/compiled/digit_order.h"
#include "rules/model/model_text.h"

namespace sipwall::control {

namespace {

constexpr const char* kActionNames[] = {"pass", "drop", "reject", "tag", "trace"};

std::string action_name(rules::ActionKind a) {
  const auto i = static_cast<unsigned>(a);
  return i < std::size(kActionNames) ? kActionNames[i] : "?";
}

bool is_number(const number::Number& n) {
  return n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code;
}

// True if every prefix-map segment overlapping `span` carries `bit`.
bool covers(const rules::CompiledRuleSet& set, rules::OrderInterval span, std::uint32_t bit) {
  const rules::IntervalMap& map = set.prefix_map();
  const auto& starts = map.starts();
  const auto& values = map.raw_values();
  if (starts.empty()) return false;
  // The segment holding span.lo, then every later one that starts inside.
  std::size_t i = static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), span.lo) - starts.begin());
  i = i == 0 ? 0 : i - 1;
  const rules::ListSets& sets = set.sets(rules::NumberSpace::prefix);
  for (; i < starts.size() && starts[i] <= span.hi; ++i)
    if (values[i] == 0 || !sets.test(values[i], bit)) return false;
  return true;
}

// The shortest leading digits of the number the prefix list holds entirely.
std::string covering_prefix(const rules::CompiledRuleSet& set, std::string_view digits, std::uint32_t bit) {
  const std::size_t n = std::min<std::size_t>(digits.size(), rules::kOrderDigits);
  for (std::size_t len = 1; len <= n; ++len)
    if (covers(set, rules::prefix_interval(digits.substr(0, len)), bit))
      return "+" + std::string(digits.substr(0, len));
  return {};
}

void add_lists(const rules::CompiledRuleSet& set, const number::Number& n, NumberLookup& out) {
  for (std::size_t sp = 0; sp < rules::kNumberSpaces; ++sp) {
    const auto space = static_cast<rules::NumberSpace>(sp);
    std::uint32_t id = 0;
    if (space == rules::NumberSpace::exact)
      id = is_number(n) ? set.exact_table().find(n.key) : 0;
    else if (n.kind == number::NumberKind::e164)  // short codes are in no prefix or range (engine.cpp)
      id = space == rules::NumberSpace::prefix ? set.prefix_map().find(rules::order_key(n.digits.view()))
                                               : set.range_map().find(n.key);
    if (id == 0) continue;
    for (std::uint32_t bit : set.sets(space).bits_of(id)) {
      const std::uint32_t l = set.list_of_bit(space, bit);
      const rules::ListInfo& info = set.list(l);
      ListHit h;
      h.list = l;
      h.name = std::string(set.list_name(l));
      h.kind = info.kind;
      h.origin = info.origin;
      h.where = std::string(set.str(info.where));
      if (space == rules::NumberSpace::prefix) h.prefix = covering_prefix(set, n.digits.view(), bit);
      out.lists.push_back(std::move(h));
    }
  }
  std::sort(out.lists.begin(), out.lists.end(), [](const ListHit& a, const ListHit& b) { return a.list < b.list; });
}

bool caller_field(rules::Field f) {
  return f == rules::Field::caller || f == rules::Field::from || f == rules::Field::pai;
}
bool callee_field(rules::Field f) {
  return f == rules::Field::to || f == rules::Field::ruri;
}

// An INVITE whose only number is `text`, as the caller (From) or the callee
// (Request-URI and To); the other side is a user part that is no number.
std::string invite_text(const std::string& text, bool as_caller) {
  const std::string number_uri = "sip:" + text + "@lookup.invalid;user=phone";
  const std::string other_uri = "sip:lookup@lookup.invalid";
  const std::string& from = as_caller ? number_uri : other_uri;
  const std::string& to = as_caller ? other_uri : number_uri;
  return "INVITE " + to + " SIP/2.0\r\n" +
         "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-lookup\r\n"
         "Max-Forwards: 70\r\n"
         "From: <" +
         from + ">;tag=lookup\r\nTo: <" + to +
         ">\r\n"
         "Call-ID: sipwallctl-rules-lookup\r\n"
         "CSeq: 1 INVITE\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::string decided_by(const classify::Verdict& v) {
  if (v.decided_by == classify::DecidedBy::rule) return std::string(v.rule_id);
  if (v.decided_by == classify::DecidedBy::default_action) return "(default)";
  return "(guard rail: " + std::string(classify::to_string(v.decided_by)) + ")";
}

}  // namespace

bool detection_key_holds(std::string_view key, std::string_view number) {
  if (number.empty()) return false;
  for (std::size_t from = 0;;) {
    const std::size_t arrow = key.find(" -> ", from);
    if (key.substr(from, arrow == std::string_view::npos ? std::string_view::npos : arrow - from) == number)
      return true;
    if (arrow == std::string_view::npos) return false;
    from = arrow + 4;
  }
}

std::optional<classify::PacketSource> trunk_source(const rules::CompiledRuleSet& set, std::uint32_t trunk) {
  const rules::TrunkTable& table = set.trunk_table();
  const auto& cands = table.raw_candidates();
  for (const rules::TrunkSegment& seg : table.raw_segments()) {
    for (std::uint32_t c = seg.begin; c < seg.end && c < cands.size(); ++c) {
      if (cands[c].trunk != trunk) continue;
      classify::PacketSource src;
      for (int i = 0; i < 8; ++i) {
        src.src_ip[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seg.start_hi >> (56 - 8 * i));
        src.src_ip[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(seg.start_lo >> (56 - 8 * i));
      }
      const bool v4 = seg.start_hi == 0 && (seg.start_lo >> 32) == 0xFFFFU;
      src.family = v4 ? classify::IpFamily::ipv4 : classify::IpFamily::ipv6;
      src.vlan = cands[c].vlan;
      src.dst_port = cands[c].port >= 0 ? static_cast<std::uint16_t>(cands[c].port) : 5060;
      src.src_port = 5060;
      // A more specific trunk may own this address: take it only if the
      // table, as the data plane asks it, answers with this trunk.
      if (table.find(src.src_ip.data(), src.vlan, src.dst_port) == trunk) return src;
    }
  }
  return std::nullopt;
}

bool lookup_number(const rules::CompiledRuleSet& set, const std::string& written, std::uint32_t trunk,
                   NumberLookup& out, std::string* why) {
  out = NumberLookup{};
  out.written = written;
  out.number = number::normalize_written(written, set.dial_plan());
  if (!is_number(out.number)) {
    if (why)
      *why = "'" + written + "' is not a number under the rule set's dial plan (" +
             std::string(number::to_string(out.number.reason)) + ")";
    return false;
  }
  classify::PacketSource src;  // no trunk: an address no trunk table holds
  src.src_ip = {0xfe, 0x80};   // fe80::, link-local: never a trunk source in a real set
  src.family = classify::IpFamily::ipv6;
  src.dst_port = 5060;
  if (trunk != classify::kNoTrunk) {
    auto s = trunk_source(set, trunk);
    if (!s) {
      if (why) *why = "trunk '" + std::string(set.trunk_name(trunk)) + "' has no source address of its own";
      return false;
    }
    src = *s;
    out.trunk = std::string(set.trunk_name(trunk));
  }
  add_lists(set, out.number, out);
  out.emergency = out.number.kind == number::NumberKind::short_code || out.number.kind == number::NumberKind::e164
                      ? set.is_emergency(out.number.key)
                      : false;

  classify::Scratch scratch;
  std::string err;
  if (!scratch.prepare(set, &err)) {
    if (why) *why = "cannot prepare Hyperscan scratch: " + err;
    return false;
  }
  const std::string text(out.number.text());
  for (const bool as_caller : {true, false}) {
    const std::string bytes = invite_text(text, as_caller);
    sip::Message msg;
    if (sip::parse_message(bytes, msg) != sip::ParseError::none) {
      if (why) *why = "the number does not fit in a SIP URI";
      return false;
    }
    const classify::Explanation x = classify::explain(set, msg, src, scratch);
    const char* role = as_caller ? "caller" : "callee";
    if (as_caller) out.allow_caller = x.allow_caller;
    if (!as_caller) out.allow_callee = x.allow_callee;
    out.verdicts.push_back({role, action_name(x.verdict.action), decided_by(x.verdict)});
    for (const classify::RuleMatch& m : x.matched) {
      // Only rules this number makes match: the field that held is one the
      // number is in (a rule that matches any INVITE without a caller, or
      // on the trunk alone, says nothing about the number).
      if (!m.has_match) continue;
      const bool mine = as_caller ? caller_field(m.match_field) : callee_field(m.match_field);
      if (!mine) continue;
      RuleHit h;
      h.role = role;
      h.rule_id = std::string(m.id);
      h.action = action_name(m.action);
      h.where = m.rule < set.rule_count() ? std::string(set.str(set.rule(m.rule).where)) : std::string();
      h.field = std::string(rules::to_string(m.match_field));
      if (m.match_list != classify::kNoList) h.list = std::string(set.list_name(m.match_list));
      h.decided = m.decided;
      h.overridden = m.overridden;
      h.report_only = m.report_only;
      out.rules.push_back(std::move(h));
    }
  }
  return true;
}

}  // namespace sipwall::control
