#include "perf/rules/synthetic.h"

#include <algorithm>

#include "rules/number/e164_key.h"

namespace sipwall::perf {

namespace {

// Bijective scramble of [0, 10^10): i-th list number without storing a set.
constexpr std::uint64_t kSpace = 10'000'000'000ULL;
std::uint64_t scramble(std::uint64_t i, std::uint64_t seed) {
  // x -> a*x + b mod 10^10 is a bijection when gcd(a, 10) = 1.
  const std::uint64_t a = 7'777'777'777ULL + 2 * (seed % 1000);  // odd, not a multiple of 5
  const std::uint64_t b = 1'234'567'891ULL * seed;
  __extension__ using u128 = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<u128>(a) * i + b) % kSpace);
}

std::string mobile(std::uint64_t x) {  // 86 1 + 10 digits; second digit 3..9
  std::string d = std::to_string(x);
  d.insert(0, 10 - d.size(), '0');
  d[0] = static_cast<char>('3' + (d[0] - '0') % 7);
  return "861" + d;
}

rules::SourceLocation at(std::uint32_t line) {
  return {"synthetic.yaml", line, 3};
}

rules::MatchExpr leaf(rules::Predicate p) {
  rules::MatchExpr m;
  m.where = p.where;
  m.predicate = std::move(p);
  return m;
}

rules::MatchExpr in_list(rules::Field f, const std::string& list) {
  rules::Predicate p;
  p.field = f;
  p.op = rules::Op::in_list;
  p.list = list;
  p.where = at(1);
  return leaf(std::move(p));
}

rules::MatchExpr named(rules::Field f, const std::string& name) {
  rules::Predicate p;
  p.field = f;
  p.op = rules::Op::equals;
  p.values = {name};
  p.where = at(1);
  return leaf(std::move(p));
}

rules::Rule rule(std::string id, rules::MatchExpr m, rules::ActionKind k, std::int32_t prio, std::uint32_t order) {
  rules::Rule r;
  r.id = std::move(id);
  r.match = std::move(m);
  r.action.kind = k;
  r.action.reject_code = 603;
  r.action.tag_header = "X-Sipwall-Risk";
  r.action.tag_value = "score={score}; rule={rule}";
  r.action.score = 70;
  r.priority = prio;
  r.file_order = order;
  r.where = at(100 + order);
  return r;
}

}  // namespace

std::string block_number(const SyntheticSpec& spec, std::uint64_t i) {
  return mobile(scramble(i, spec.seed));
}

rules::RuleSet make_rule_set(const SyntheticSpec& spec) {
  rules::RuleSet rs;
  rs.name = "synthetic";
  rs.version = "bench-1";
  rs.source_file = "synthetic.yaml";
  rs.dial_plan = number::DialPlan::china();
  rs.guard_rails.emergency = {"110", "119", "120"};

  // Caller block lists (complaints-0..k).
  const std::uint32_t k = std::max<std::uint32_t>(spec.exact_lists, 1);
  std::vector<std::vector<number::E164Key>> keys(k);
  for (auto& v : keys) v.reserve(spec.numbers / k + 1);
  for (std::uint64_t i = 0; i < spec.numbers; ++i) keys[i % k].push_back(number::pack(block_number(spec, i)));
  for (std::uint32_t l = 0; l < k; ++l) {
    rules::NumberList list;
    list.name = "complaints-" + std::to_string(l);
    list.kind = rules::ListKind::exact;
    std::sort(keys[l].begin(), keys[l].end());
    keys[l].erase(std::unique(keys[l].begin(), keys[l].end()), keys[l].end());
    list.numbers = std::move(keys[l]);
    list.where = at(10 + l);
    rs.lists.push_back(std::move(list));
  }
  // Callee do-not-call list.
  {
    rules::NumberList list;
    list.name = "dnc";
    for (std::uint64_t i = 0; i < spec.dnc; ++i)
      list.numbers.push_back(number::pack(mobile(scramble(i, spec.seed + 17))));
    std::sort(list.numbers.begin(), list.numbers.end());
    list.numbers.erase(std::unique(list.numbers.begin(), list.numbers.end()), list.numbers.end());
    list.where = at(20);
    rs.lists.push_back(std::move(list));
  }
  std::mt19937_64 rng(spec.seed);
  {
    rules::NumberList list;
    list.name = "premium";
    list.kind = rules::ListKind::prefix;
    for (std::uint64_t i = 0; i < spec.prefixes; ++i) {
      // 3..9 digits after a country code from a handful: nested and disjoint mixes.
      static const char* cc[] = {"86", "1", "44", "880", "234", "63", "92"};
      std::string p = cc[rng() % 7];
      const std::size_t extra = 3 + rng() % 7;
      for (std::size_t j = 0; j < extra; ++j) p += static_cast<char>('0' + rng() % 10);
      list.prefixes.push_back(p);
    }
    list.where = at(21);
    rs.lists.push_back(std::move(list));
  }
  {
    rules::NumberList list;
    list.name = "blocks";
    list.kind = rules::ListKind::range;
    for (std::uint64_t i = 0; i < spec.ranges; ++i) {
      const std::uint64_t base = 8620'0000'000ULL + (rng() % 1'000'000) * 1000;  // 86 20 xxxx x000
      list.ranges.push_back({std::to_string(base), std::to_string(base + 999)});
    }
    list.where = at(22);
    rs.lists.push_back(std::move(list));
  }
  // Trunks: 10.<t>.0.0/16; every 4th is international with UK caller ranges,
  // every 4th+1 a call centre.
  for (std::uint32_t t = 0; t < spec.trunks; ++t) {
    rules::Trunk tr;
    tr.name = "trunk-" + std::to_string(t);
    tr.trunk_class = t % 4 == 0 ? "international" : t % 4 == 1 ? "call_center" : "peer";
    rules::TrunkSource s;
    s.addr[10] = s.addr[11] = 0xFF;
    s.addr[12] = 10;
    s.addr[13] = static_cast<std::uint8_t>(t);
    s.prefix_len = 96 + 16;
    s.is_ipv4 = true;
    s.text = "10." + std::to_string(t) + ".0.0/16";
    s.where = at(30);
    tr.sources.push_back(s);
    if (t % 4 == 0) tr.caller_prefixes = {"44"};
    tr.where = at(30 + t);
    rs.trunks.push_back(std::move(tr));
  }

  std::uint32_t order = 0;
  using rules::ActionKind;
  using rules::Field;
  if (spec.minimal) {
    for (std::uint32_t l = 0; l < k; ++l) {
      rs.rules.push_back(rule("complaints-" + std::to_string(l),
                              in_list(Field::caller, "complaints-" + std::to_string(l)), ActionKind::reject, 50,
                              order++));
    }
    rs.rules.push_back(rule("cc-tag", named(Field::trunk_class, "call_center"), ActionKind::tag, 0, order++));
    return rs;
  }
  rs.rules.push_back(rule("trace-trunk-3", named(Field::trunk, "trunk-3"), ActionKind::trace, 100, order++));
  for (std::uint32_t l = 0; l < k; ++l) {
    rs.rules.push_back(rule("complaints-" + std::to_string(l),
                            in_list(Field::caller, "complaints-" + std::to_string(l)), ActionKind::reject, 50,
                            order++));
  }
  {
    rules::MatchExpr m;
    m.kind = rules::MatchExpr::Kind::all;
    m.children.push_back(named(Field::trunk_class, "call_center"));
    m.children.push_back(in_list(Field::ruri, "dnc"));
    rs.rules.push_back(rule("dnc", std::move(m), ActionKind::reject, 40, order++));
  }
  {
    rules::MatchExpr m;
    m.kind = rules::MatchExpr::Kind::all;
    m.children.push_back(named(Field::trunk_class, "international"));
    rules::Predicate p;
    p.op = rules::Op::caller_in_trunk_ranges;
    p.expect = false;
    p.where = at(2);
    m.children.push_back(leaf(p));
    rs.rules.push_back(rule("spoofed", std::move(m), ActionKind::drop, 30, order++));
  }
  rs.rules.push_back(rule("premium", in_list(Field::ruri, "premium"), ActionKind::drop, 0, order++));
  rs.rules.push_back(rule("blocks", in_list(Field::ruri, "blocks"), ActionKind::tag, 0, order++));

  if (spec.regexes > 0) {
    // User-Agent families as dialers and scanners write them, plus display
    // names: 3/4 on User-Agent, 1/4 on the display name.
    static const char* stems[] = {"dialer", "autocall", "robo", "sipcli", "predictive", "blaster", "vox", "campaign"};
    rules::Predicate ua;
    ua.field = Field::user_agent;
    ua.op = rules::Op::regex;
    ua.where = at(3);
    rules::Predicate dn = ua;
    dn.field = Field::display_name;
    for (std::uint64_t i = 0; i < spec.regexes; ++i) {
      std::string p = "(?i)" + std::string(stems[i % 8]) + "[-_ ]?v?" + std::to_string(i) + "\\b";
      if (i % 4 == 3) {
        dn.values.push_back(p);
        dn.value_where.push_back(at(4));
      } else {
        ua.values.push_back(p);
        ua.value_where.push_back(at(4));
      }
    }
    rs.rules.push_back(rule("ua-patterns", leaf(ua), ActionKind::drop, 20, order++));
    rs.rules.push_back(rule("name-patterns", leaf(dn), ActionKind::drop, 20, order++));
  }
  return rs;
}

std::vector<std::unique_ptr<Call>> make_calls(const SyntheticSpec& spec, std::size_t count, unsigned hit_percent,
                                              std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const char* agents[] = {"Yealink SIP-T46S 66.86.0.15", "Grandstream GXP2170 1.0.11.3", "Asterisk PBX 18.10.0",
                                 "FreeSWITCH-mod_sofia/1.10.9", "Cisco-SIPGateway/IOS-15.x",    "Huawei IMS 5.0"};
  std::vector<std::unique_ptr<Call>> calls;
  calls.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto c = std::make_unique<Call>();
    const bool hit = rng() % 100 < hit_percent;
    const std::string from =
        hit ? block_number(spec, rng() % std::max<std::uint64_t>(spec.numbers, 1)) : mobile(rng() % kSpace);
    const std::string to = mobile(rng() % kSpace);
    const std::string tag = std::to_string(rng());
    c->text = "INVITE sip:+" + to +
              "@ims.example.net;user=phone SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" +
              tag +
              "\r\n"
              "Max-Forwards: 69\r\n"
              "From: \"Caller\" <sip:+" +
              from + "@ims.example.net;user=phone>;tag=" + tag +
              "\r\n"
              "To: <sip:+" +
              to +
              "@ims.example.net;user=phone>\r\n"
              "P-Asserted-Identity: <sip:+" +
              from +
              "@ims.example.net;user=phone>\r\n"
              "Call-ID: " +
              tag +
              "@10.0.0.1\r\n"
              "CSeq: 1 INVITE\r\n"
              "Contact: <sip:+" +
              from +
              "@10.0.0.1:5060>\r\n"
              "User-Agent: " +
              agents[rng() % 6] +
              "\r\n"
              "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE\r\n"
              "Supported: 100rel, timer\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: 0\r\n\r\n";
    if (sip::parse_message(c->text, c->msg) != sip::ParseError::none) continue;
    c->src.src_ip[10] = c->src.src_ip[11] = 0xFF;
    c->src.src_ip[12] = 10;
    c->src.src_ip[13] = static_cast<std::uint8_t>(rng() % (spec.trunks + spec.trunks / 4 + 1));  // some from no trunk
    c->src.src_ip[15] = 1;
    c->src.dst_port = 5060;
    calls.push_back(std::move(c));
  }
  return calls;
}

}  // namespace sipwall::perf
