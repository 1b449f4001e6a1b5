#include "dataplane/classify/classify.h"

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/classify/explain.h"
#include "rules/compiler/compiler.h"
#include "tests/unit/dataplane/classify/sip_fixtures.h"
#include "tests/unit/rules/compiled/rule_builders.h"
#include "tests/unit/rules/compiled/set_lookup.h"

using namespace sipwall;
using namespace sipwall::classify;
using namespace sipwall::classify::test;
using namespace sipwall::rules::test;
using rules::ActionKind;
using rules::Field;

namespace {

class Classify : public ::testing::Test {
 protected:
  // Compiles `b` and prepares a scratch for it.
  void use(const SetBuilder& b) {
    rules::CompileResult r = rules::compile(b.rs);
    std::string errs;
    for (const auto& d : r.diagnostics) errs += rules::format(d) + "\n";
    ASSERT_TRUE(r.ok()) << errs;
    set_ = std::move(r.set);
    std::string err;
    ASSERT_TRUE(scratch_.prepare(*set_, &err)) << err;
  }
  Verdict run(const Invite& i, const PacketSource& src = from_ip("10.1.2.3")) {
    Parsed p(i);
    return classify::classify(*set_, p.msg(), src, scratch_);
  }
  std::string rule_of(const Invite& i, const PacketSource& src = from_ip("10.1.2.3")) {
    const Verdict v = run(i, src);
    return v.decided_by == DecidedBy::rule ? std::string(v.rule_id) : "<" + std::string(to_string(v.decided_by)) + ">";
  }

  std::unique_ptr<rules::CompiledRuleSet> set_;
  Scratch scratch_;
};

Invite caller(const std::string& from_user) {
  Invite i;
  i.from = "<sip:" + from_user + "@peer.example.com>;tag=x";
  return i;
}

}  // namespace

TEST_F(Classify, CallerFromListRejectsWith608) {
  SetBuilder b;
  b.exact("harassment", {"+8613900139000"})
      .rule("harass", in_list(Field::caller, "harassment"), reject(608, "Harassment", "https://jc.example/x"));
  use(b);
  const Verdict v = run(Invite{});
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_EQ(v.decided_by, DecidedBy::rule);
  EXPECT_EQ(v.rule_id, "harass");
  EXPECT_EQ(v.rule, 0U);
  EXPECT_TRUE(v.has_match);
  EXPECT_EQ(v.match_field, Field::caller);
  EXPECT_EQ(set_->list_name(v.match_list), "harassment");
  EXPECT_EQ(v.reject_code, 608);
  EXPECT_EQ(v.reject_phrase, "Rejected");
  EXPECT_EQ(v.reason_line, "Reason: SIP;cause=608;text=\"Harassment\"");
  EXPECT_EQ(v.call_info_line, "Call-Info: <https://jc.example/x>;purpose=jwscard");
  EXPECT_EQ(v.caller.text(), "+8613900139000");
  EXPECT_EQ(v.callee.text(), "+8613800138000");
  EXPECT_EQ(v.flags, 0);
  // National format in From normalises to the same number.
  EXPECT_EQ(rule_of(caller("13900139000")), "harass");
  EXPECT_EQ(rule_of(caller("+8613900139001")), "<default>");
  EXPECT_EQ(run(caller("+8613900139001")).action, ActionKind::pass);
}

TEST_F(Classify, CallerIsFirstNumericPaiElseFrom) {
  SetBuilder b;
  b.exact("l", {"+8613700137000"}).rule("c", in_list(Field::caller, "l"), act(ActionKind::drop));
  use(b);
  Invite i;
  EXPECT_EQ(rule_of(i), "<default>");  // From is not in the list
  i.pai = {"<tel:+8613700137000>"};
  EXPECT_EQ(rule_of(i), "c");
  EXPECT_EQ(run(i).caller.text(), "+8613700137000");
  i.pai = {"\"Anon\" <sip:anonymous@anonymous.invalid>", "<tel:+8613700137000>"};
  EXPECT_EQ(rule_of(i), "c");  // the first PAI that is a number
  i.pai = {"<tel:+8613600136000>", "<tel:+8613700137000>"};
  EXPECT_EQ(rule_of(i), "<default>");  // caller = first numeric PAI only
  i.pai = {"<sip:anonymous@anonymous.invalid>"};
  i.from = "<sip:+8613700137000@x>;tag=1";
  EXPECT_EQ(rule_of(i), "c");  // no numeric PAI: From
}

TEST_F(Classify, EachNumberFieldReadsItsOwnHeader) {
  SetBuilder b;
  b.exact("l", {"+8613700137000"})
      .rule("from", in_list(Field::from, "l"), act(ActionKind::drop))
      .rule("pai", in_list(Field::pai, "l"), act(ActionKind::drop))
      .rule("to", in_list(Field::to, "l"), act(ActionKind::drop))
      .rule("ruri", in_list(Field::ruri, "l"), act(ActionKind::drop))
      .rule("div", in_list(Field::diversion, "l"), act(ActionKind::drop));
  use(b);
  Invite i;
  EXPECT_EQ(rule_of(i), "<default>");
  Invite f = i;
  f.from = "<sip:+8613700137000@x>;tag=1";
  EXPECT_EQ(rule_of(f), "from");
  Invite p = i;
  p.pai = {"<tel:+8613600136000>", "<sip:+8613700137000@x;user=phone>"};  // any PAI value
  EXPECT_EQ(rule_of(p), "pai");
  Invite t = i;
  t.to = "<sip:+8613700137000@core>";
  EXPECT_EQ(rule_of(t), "to");
  Invite r = i;
  r.ruri = "sip:+8613700137000@core";
  EXPECT_EQ(rule_of(r), "ruri");
  Invite d = i;
  d.diversion = {"<sip:+8613500135000@x>;reason=unconditional", "<tel:+8613700137000>;reason=busy"};
  EXPECT_EQ(rule_of(d), "div");
  const Verdict v = run(d);
  EXPECT_EQ(v.match_field, Field::diversion);
}

TEST_F(Classify, PrefixRangeAndEqualsOnNumbers) {
  SetBuilder b;
  b.prefixes("premium", {"86168"})
      .ranges("block", {{"8675512340000", "8675512349999"}})
      .rule("p", in_list(Field::ruri, "premium"), act(ActionKind::drop))
      .rule("r", in_list(Field::ruri, "block"), act(ActionKind::drop))
      .rule("ip", prefix(Field::ruri, {"+86170"}), act(ActionKind::drop))
      .rule("ir", range(Field::ruri, {{"8613800000000", "8613800000099"}}), act(ActionKind::drop))
      .rule("eq", equals(Field::ruri, {"8613911112222"}), act(ActionKind::drop));
  use(b);
  auto callee = [&](const std::string& n) {
    Invite i;
    i.ruri = "sip:" + n + "@core";
    return rule_of(i);
  };
  EXPECT_EQ(callee("+8616812345678"), "p");
  EXPECT_EQ(callee("+8616912345678"), "<default>");
  EXPECT_EQ(callee("075512345678"), "r");  // national form, inside the range
  EXPECT_EQ(callee("075512350000"), "<default>");
  EXPECT_EQ(callee("+8617012345678"), "ip");
  EXPECT_EQ(callee("+8613800000042"), "ir");
  EXPECT_EQ(callee("+8613800000100"), "<default>");
  EXPECT_EQ(callee("13911112222"), "eq");
  EXPECT_EQ(callee("13911112223"), "<default>");
  const Verdict v = run([&] {
    Invite i;
    i.ruri = "sip:+8617012345678@core";
    return i;
  }());
  EXPECT_EQ(v.match_field, Field::ruri);
  EXPECT_NE(v.match_list, kNoList);  // the generated list of the inline prefix
  EXPECT_EQ(set_->list(v.match_list).origin, rules::ListOrigin::inline_values);
}

TEST_F(Classify, NestedPrefixListsAllMatch) {
  SetBuilder b;
  b.prefixes("china", {"86"})
      .prefixes("mobile", {"8613"})
      .rule("both", all({in_list(Field::caller, "china"), in_list(Field::caller, "mobile")}), act(ActionKind::drop));
  use(b);
  EXPECT_EQ(rule_of(caller("+8613912345678")), "both");
  EXPECT_EQ(rule_of(caller("+8675512345678")), "<default>");
}

TEST_F(Classify, ShortCodesAreNotCaughtByE164Prefixes) {
  SetBuilder b;
  b.prefixes("nanp", {"1"}).rule("us", in_list(Field::ruri, "nanp"), act(ActionKind::drop));
  use(b);
  Invite i;
  i.ruri = "sip:120@core";  // China emergency (ambulance), a short code
  EXPECT_EQ(rule_of(i), "<default>");
  i.ruri = "sip:+12125550100@core";
  EXPECT_EQ(rule_of(i), "us");
}

TEST_F(Classify, TextFields) {
  SetBuilder b;
  b.rule("ua", regex(Field::user_agent, {"(?i)sipvicious", "friendly-scanner"}), act(ActionKind::drop))
      .rule("dn", regex(Field::display_name, {"^Bank"}), act(ActionKind::drop))
      .rule("subj", header_regex("Subject", {"loan"}), act(ActionKind::drop))
      .rule("xeq", header_equals("X-Campaign", {"robo-7"}), act(ActionKind::drop))
      .rule("prio", present(Field::header, "Priority"), act(ActionKind::drop))
      .rule("uap", present(Field::user_agent), act(ActionKind::trace));
  use(b);
  Invite i;
  EXPECT_EQ(rule_of(i), "<default>");
  Invite u = i;
  u.user_agent = "SIPVicious 0.3";
  EXPECT_EQ(rule_of(u), "ua");
  u.user_agent = "Yealink";
  EXPECT_EQ(rule_of(u), "<default>");
  EXPECT_EQ(run(u).trace_rule_id, "uap");
  Invite d = i;
  d.from = "\"Bank of X\" <sip:+8613900139000@x>;tag=1";
  EXPECT_EQ(rule_of(d), "dn");
  d.pai = {"\"Alice\" <tel:+8613900139000>"};  // display name of the caller identity (PAI)
  EXPECT_EQ(rule_of(d), "<default>");
  Invite s = i;
  s.extra = {"s: cheap loan offer"};  // compact form of Subject
  EXPECT_EQ(rule_of(s), "subj");
  Invite x = i;
  x.extra = {"X-Campaign: robo-7x", "x-campaign: robo-7"};  // any instance, name in any case
  EXPECT_EQ(rule_of(x), "xeq");
  x.extra = {"X-Campaign: robo-7x"};
  EXPECT_EQ(rule_of(x), "<default>");
  Invite p = i;
  p.extra = {"Priority: urgent"};
  EXPECT_EQ(rule_of(p), "prio");
}

// The regex result bits are cleared once per message, at its first scan,
// when an earlier scan matched (Scratch): a match never carries over to the
// next message, also when two messages are in flight on one scratch (the
// worker's UDP overlap: the second is started before the first's verdict),
// nor between the targets of one message (a rule reading two targets).
TEST_F(Classify, RegexResultsNeverCarryOverToTheNextMessage) {
  SetBuilder b;
  b.rule("both", all({regex(Field::display_name, {"^Promo"}), regex(Field::user_agent, {"dialer"})}),
         act(ActionKind::drop))
      .rule("ua", regex(Field::user_agent, {"scanner"}), act(ActionKind::drop))
      .rule("dn", regex(Field::display_name, {"^Bank"}), act(ActionKind::reject));
  use(b);
  Invite plain;
  plain.user_agent = "Yealink";
  Invite scanner = plain;
  scanner.user_agent = "friendly-scanner";
  Invite bank = plain;
  bank.from = "\"Bank of X\" <sip:+8613900139000@x>;tag=1";
  Invite promo = plain;
  promo.from = "\"Promo\" <sip:+8613900139000@x>;tag=1";
  Invite promo_dialer = promo;
  promo_dialer.user_agent = "dialer 2.0";
  Invite dialer = plain;
  dialer.user_agent = "dialer 2.0";

  // One after the other: each verdict only from its own bits.
  EXPECT_EQ(rule_of(scanner), "ua");
  EXPECT_EQ(rule_of(plain), "<default>");
  EXPECT_EQ(rule_of(bank), "dn");
  EXPECT_EQ(rule_of(scanner), "ua");
  EXPECT_EQ(rule_of(bank), "dn");  // the User-Agent bit of the message before is gone
  EXPECT_EQ(rule_of(promo_dialer), "both");
  EXPECT_EQ(rule_of(promo), "<default>");   // the dialer bit is gone
  EXPECT_EQ(rule_of(dialer), "<default>");  // and so is the Promo one
  EXPECT_EQ(rule_of(plain), "<default>");

  // Two in flight on one scratch, in the worker's order; the last two
  // verdicts are taken with no start between them, as at the end of a burst.
  const Invite order[] = {scanner, plain, promo_dialer, promo, bank, dialer, promo};
  const char* want[] = {"ua", "<default>", "both", "<default>", "dn", "<default>", "<default>"};
  std::vector<std::unique_ptr<Parsed>> parsed;
  for (const Invite& i : order) parsed.push_back(std::make_unique<Parsed>(i));
  const PacketSource src = from_ip("10.1.2.3");
  InFlight f[2];
  f[0].start(*set_, parsed[0]->msg(), src, scratch_);
  for (std::size_t k = 0; k < std::size(order); ++k) {
    if (k + 1 < std::size(order)) f[(k + 1) % 2].start(*set_, parsed[k + 1]->msg(), src, scratch_);
    const Verdict v = f[k % 2].verdict();
    const std::string got =
        v.decided_by == DecidedBy::rule ? std::string(v.rule_id) : "<" + std::string(to_string(v.decided_by)) + ">";
    EXPECT_EQ(got, want[k]) << "message " << k;
  }
}

TEST_F(Classify, RegexOnNumberText) {
  SetBuilder b;
  b.rule("plus", regex(Field::caller, {"^\\+8617[0-1]"}), act(ActionKind::drop))
      .rule("raw", regex(Field::from, {"^anonymous$"}), act(ActionKind::drop));
  use(b);
  EXPECT_EQ(rule_of(caller("+8617012345678")), "plus");
  EXPECT_EQ(rule_of(caller("17112345678")), "plus");  // normalised first
  EXPECT_EQ(rule_of(caller("+8617212345678")), "<default>");
  EXPECT_EQ(rule_of(caller("anonymous")), "raw");  // not a number: the user part as written
}

TEST_F(Classify, TrunksAndClasses) {
  SetBuilder b;
  b.trunk("intl", "international", {SetBuilder::source("10.1.0.0/16")})
      .trunk("cc", "call_center", {SetBuilder::source("10.2.0.0/16"), SetBuilder::source("2001:db8::/32")})
      .trunk("vl", "peer", {SetBuilder::source("10.3.0.0/16", 100)})
      .rule("t", equals(Field::trunk, {"intl"}), act(ActionKind::trace))
      .rule("c", equals(Field::trunk_class, {"call_center"}), act(ActionKind::drop))
      .rule("v", equals(Field::trunk, {"vl"}), reject(603))
      .rule("any", present(Field::trunk), tag("X-Trunk", "yes", 1));
  use(b);
  const Verdict a = run(Invite{}, from_ip("10.1.9.9"));
  EXPECT_EQ(a.trunk, *find_trunk(*set_, "intl"));
  EXPECT_EQ(a.trace_rule_id, "t");
  EXPECT_EQ(a.rule_id, "any");
  EXPECT_EQ(a.tag_line, "X-Trunk: yes");
  EXPECT_EQ(rule_of(Invite{}, from_ip("10.2.0.1")), "c");
  EXPECT_EQ(rule_of(Invite{}, from_ip("2001:db8:1::5")), "c");
  EXPECT_EQ(rule_of(Invite{}, from_ip("10.3.0.1", 100)), "v");
  EXPECT_EQ(rule_of(Invite{}, from_ip("10.3.0.1", 200)), "<default>");  // wrong VLAN: no trunk
  EXPECT_EQ(rule_of(Invite{}, from_ip("10.3.0.1")), "<default>");
  EXPECT_EQ(run(Invite{}, from_ip("172.16.0.1")).trunk, kNoTrunk);
}

TEST_F(Classify, CallerInTrunkRanges) {
  SetBuilder b;
  b.trunk("intl", "international", {SetBuilder::source("10.1.0.0/16")}, {}, {{"442000000000", "442099999999"}})
      .trunk("dom", "access", {SetBuilder::source("10.2.0.0/16")}, {"8613"})
      .trunk("open", "peer", {SetBuilder::source("10.3.0.0/16")})
      .rule("spoofed", trunk_ranges(false), act(ActionKind::drop))
      .rule("genuine", trunk_ranges(true), tag("X-Caller", "verified", 0));
  use(b);
  EXPECT_EQ(rule_of(caller("+442079460000"), from_ip("10.1.0.1")), "genuine");
  EXPECT_EQ(rule_of(caller("+4420794600001"), from_ip("10.1.0.1")), "spoofed");  // longer: outside the range
  EXPECT_EQ(rule_of(caller("+8613912345678"), from_ip("10.1.0.1")), "spoofed");  // domestic on intl
  EXPECT_EQ(rule_of(caller("+8613912345678"), from_ip("10.2.0.1")), "genuine");
  EXPECT_EQ(rule_of(caller("+8675512345678"), from_ip("10.2.0.1")), "spoofed");
  EXPECT_EQ(rule_of(caller("anonymous"), from_ip("10.2.0.1")), "spoofed");  // not E.164: outside
  // No ranges, or no trunk: neither expectation holds.
  EXPECT_EQ(rule_of(caller("+8613912345678"), from_ip("10.3.0.1")), "<default>");
  EXPECT_EQ(rule_of(caller("+8613912345678"), from_ip("192.0.2.99")), "<default>");
  const Verdict v = run(caller("+8613912345678"), from_ip("10.1.0.1"));
  EXPECT_EQ(set_->list_name(v.match_list), "trunk intl caller ranges");
}

// Issue 17: a trunk that opts in (caller_from: [pai, rpid, from]) takes the
// caller from Remote-Party-ID when no P-Asserted-Identity holds a number;
// other trunks never read it; [rpid, pai, from] puts it first.
TEST_F(Classify, CallerFromRemotePartyIdWhereTheTrunkSaysSo) {
  SetBuilder b;
  b.exact("l", {"+8613700137000"}).rule("c", in_list(Field::caller, "l"), act(ActionKind::drop));
  b.trunk("legacy", "peer", {SetBuilder::source("10.1.0.0/16")});
  b.rs.trunks.back().caller_from = {rules::CallerSource::pai, rules::CallerSource::rpid, rules::CallerSource::from};
  b.trunk("rpid-first", "peer", {SetBuilder::source("10.2.0.0/16")});
  b.rs.trunks.back().caller_from = {rules::CallerSource::rpid, rules::CallerSource::pai, rules::CallerSource::from};
  b.trunk("modern", "peer", {SetBuilder::source("10.3.0.0/16")});
  use(b);
  Invite i;  // From +8613900139000, not in the list
  i.extra = {"Remote-Party-ID: \"Bob\" <sip:+8613700137000@gw.example.com>;party=calling;screen=yes"};
  EXPECT_EQ(rule_of(i, from_ip("10.1.0.1")), "c");
  EXPECT_EQ(run(i, from_ip("10.1.0.1")).caller.text(), "+8613700137000");
  EXPECT_EQ(rule_of(i, from_ip("10.3.0.1")), "<default>");   // no caller_from: PAI, then From
  EXPECT_EQ(rule_of(i, from_ip("192.0.2.1")), "<default>");  // no trunk: the default
  i.pai = {"<tel:+8613600136000>"};
  EXPECT_EQ(rule_of(i, from_ip("10.1.0.1")), "<default>");  // a numeric PAI comes first
  EXPECT_EQ(rule_of(i, from_ip("10.2.0.1")), "c");          // unless rpid is listed first
  i.pai = {"<sip:anonymous@anonymous.invalid>"};
  EXPECT_EQ(rule_of(i, from_ip("10.1.0.1")), "c");  // PAI without a number: RPID
  // The called party's RPID is not the caller.
  i.pai.clear();
  i.extra = {"Remote-Party-ID: <sip:+8613700137000@gw.example.com>;party=called"};
  EXPECT_EQ(rule_of(i, from_ip("10.1.0.1")), "<default>");
  // explain names it.
  i.extra = {"Remote-Party-ID: <sip:+8613700137000@gw.example.com>;party=calling"};
  Parsed p(i);
  const Explanation x = explain(*set_, p.msg(), from_ip("10.1.0.1"), scratch_);
  const std::string text = to_text(x, *set_);
  EXPECT_NE(text.find("rpid (caller)"), std::string::npos) << text;
}

TEST_F(Classify, BooleanStructureAndWitness) {
  SetBuilder b;
  b.exact("dnc", {"+8613800138000"})
      .trunk("cc", "call_center", {SetBuilder::source("10.2.0.0/16")})
      .rule("dnc", all({equals(Field::trunk_class, {"call_center"}), in_list(Field::ruri, "dnc")}), reject(603, "DNC"))
      .rule("notcc",
            all({not_(equals(Field::trunk_class, {"call_center"})),
                 any({prefix(Field::ruri, {"8699"}), regex(Field::user_agent, {"bot"})})}),
            act(ActionKind::drop));
  use(b);
  const Verdict v = run(Invite{}, from_ip("10.2.0.1"));
  EXPECT_EQ(v.rule_id, "dnc");
  EXPECT_EQ(v.match_field, Field::ruri);  // the list predicate is the reason, not the class
  EXPECT_EQ(set_->list_name(v.match_list), "dnc");
  Invite i;
  i.ruri = "sip:+8613800138001@core";
  EXPECT_EQ(rule_of(i, from_ip("10.2.0.1")), "<default>");
  i.user_agent = "bot/1";
  EXPECT_EQ(rule_of(i, from_ip("10.2.0.1")), "<default>");  // not(call_center) fails
  const Verdict w = run(i, from_ip("10.9.0.1"));
  EXPECT_EQ(w.rule_id, "notcc");
  EXPECT_EQ(w.match_field, Field::user_agent);  // the any() branch that held; the negated one never reports
}

TEST_F(Classify, PrecedenceAndTerminalActions) {
  SetBuilder b;
  b.exact("l", {"+8613900139000"})
      .rule("first", in_list(Field::caller, "l"), act(ActionKind::drop))
      .rule("trace", present(Field::caller), act(ActionKind::trace), 50)
      .rule("allow", in_list(Field::caller, "l"), act(ActionKind::pass), 10)
      .rule("tag", in_list(Field::caller, "l"), tag("X-R", "{rule}", 3), 10);
  use(b);
  const Verdict v = run(Invite{});
  EXPECT_EQ(v.rule_id, "allow");  // priority 10 beats file order; pass is terminal
  EXPECT_EQ(v.action, ActionKind::pass);
  EXPECT_EQ(v.trace_rule_id, "trace");  // trace records and evaluation continues
  const Verdict miss = run(caller("+8613900139001"));
  EXPECT_EQ(miss.decided_by, DecidedBy::default_action);
  EXPECT_EQ(miss.trace_rule_id, "trace");
}

TEST_F(Classify, DefaultAction) {
  SetBuilder b;
  b.rule("never", equals(Field::caller, {"1"}), act(ActionKind::pass)).default_action(reject(603, "Not allowed"));
  use(b);
  const Verdict v = run(Invite{});
  EXPECT_EQ(v.decided_by, DecidedBy::default_action);
  EXPECT_EQ(v.action, ActionKind::reject);
  EXPECT_EQ(v.reject_code, 603);
  EXPECT_EQ(v.reason_line, "Reason: SIP;cause=603;text=\"Not allowed\"");
  EXPECT_EQ(v.rule, kNoRule);
  EXPECT_TRUE(v.rule_id.empty());
}

TEST_F(Classify, GuardRailsWinOverEveryRule) {
  SetBuilder b;
  b.exact("vip", {"+8613900139000"})
      .exact("hotline", {"+8640012345678"})
      .rule("all", present(Field::caller), act(ActionKind::drop), 1000);
  b.rs.guard_rails.emergency = {"110", "119", "120"};
  b.rs.guard_rails.allow_callers = {"vip"};
  b.rs.guard_rails.allow_callees = {"hotline"};
  use(b);
  auto to = [](const std::string& ruri, const std::string& from) {
    Invite i;
    i.ruri = ruri;
    i.from = "<sip:" + from + "@x>;tag=1";
    return i;
  };
  EXPECT_EQ(run(to("sip:110@core", "+8613700000001")).decided_by, DecidedBy::emergency);
  EXPECT_EQ(run(to("sip:110@core", "+8613700000001")).action, ActionKind::pass);
  EXPECT_EQ(run(to("tel:119", "+8613700000001")).decided_by, DecidedBy::emergency);
  EXPECT_EQ(run(to("urn:service:sos.police", "+8613700000001")).decided_by, DecidedBy::emergency);
  EXPECT_EQ(run(to("sip:+8613800138000@core", "+8613900139000")).decided_by, DecidedBy::allow_caller);
  EXPECT_EQ(run(to("sip:+86-400-1234-5678@core", "+8613700000001")).decided_by, DecidedBy::allow_callee);
  EXPECT_EQ(rule_of(to("sip:+8613800138000@core", "+8613700000001")), "all");
  // To: 110 with a numbered R-URI is not an emergency call.
  Invite spoof = to("sip:+8613800138000@core", "+8613700000001");
  spoof.to = "<sip:110@core>";
  EXPECT_EQ(rule_of(spoof), "all");
  // ... but with no number in the R-URI the To number is the callee.
  Invite bare = spoof;
  bare.ruri = "sip:core.example.com";
  EXPECT_EQ(run(bare).decided_by, DecidedBy::emergency);
}

TEST_F(Classify, NumberPresent) {
  SetBuilder b;
  b.rule("div", present(Field::diversion), act(ActionKind::drop))
      .rule("pai", present(Field::pai), act(ActionKind::trace));
  use(b);
  Invite i;
  EXPECT_EQ(rule_of(i), "<default>");
  EXPECT_TRUE(run(i).trace_rule_id.empty());
  i.pai = {"<sip:anonymous@anonymous.invalid>"};
  EXPECT_EQ(run(i).trace_rule_id, "pai");
  i.diversion = {"<sip:+8613500135000@x>"};
  EXPECT_EQ(rule_of(i), "div");
}

TEST_F(Classify, UnpreparedScratchFlagsAndSkipsPatterns) {
  SetBuilder b;
  b.rule("ua", regex(Field::user_agent, {"bot"}), act(ActionKind::drop));
  use(b);
  Scratch empty;
  Invite i;
  i.user_agent = "bot";
  Parsed p(i);
  const Verdict v = classify::classify(*set_, p.msg(), from_ip("10.0.0.1"), empty);
  EXPECT_EQ(v.decided_by, DecidedBy::default_action);
  EXPECT_TRUE(v.flags & kScratchTooSmall);
  EXPECT_FALSE(empty.ready_for(*set_));
  ASSERT_TRUE(empty.prepare(*set_));
  EXPECT_TRUE(empty.ready_for(*set_));
  EXPECT_EQ(classify::classify(*set_, p.msg(), from_ip("10.0.0.1"), empty).rule_id, "ua");
}

TEST_F(Classify, ExplainShowsEveryMatchAndAgreesWithClassify) {
  SetBuilder b;
  b.exact("harassment", {"+8613900139000"})
      .prefixes("china", {"86"})
      .trunk("intl", "international", {SetBuilder::source("10.1.0.0/16")}, {"44"})
      .rule("trace-all", present(Field::caller), act(ActionKind::trace), 100)
      .rule("harass", in_list(Field::caller, "harassment"), reject(608, "Harassment"), 50)
      .rule("spoof", trunk_ranges(false), act(ActionKind::drop), 10)
      .rule("never", equals(Field::caller, {"1"}), act(ActionKind::drop));
  use(b);
  Invite i;
  i.pai = {"<tel:+8613900139000>"};
  i.user_agent = "Test/1";
  Parsed p(i);
  const PacketSource src = from_ip("10.1.1.1");
  const Explanation x = classify::explain(*set_, p.msg(), src, scratch_);
  const Verdict v = classify::classify(*set_, p.msg(), src, scratch_);
  EXPECT_EQ(x.verdict.rule, v.rule);
  EXPECT_EQ(x.verdict.action, v.action);
  EXPECT_EQ(x.verdict.rule_id, "harass");
  ASSERT_EQ(x.matched.size(), 3U);
  EXPECT_EQ(x.matched[0].id, "trace-all");
  EXPECT_FALSE(x.matched[0].decided);
  EXPECT_EQ(x.matched[1].id, "harass");
  EXPECT_TRUE(x.matched[1].decided);
  EXPECT_EQ(x.matched[2].id, "spoof");
  EXPECT_TRUE(x.matched[2].overridden);
  EXPECT_EQ(set_->trunk_name(x.trunk), "intl");
  // Numbers: From, PAI (the caller), To, R-URI, with their lists.
  bool saw_pai = false;
  for (const auto& n : x.numbers) {
    if (n.field == Field::pai) {
      saw_pai = true;
      EXPECT_TRUE(n.is_caller);
      EXPECT_EQ(n.number.text(), "+8613900139000");
      ASSERT_EQ(n.lists.size(), 2U);  // harassment + china
    }
    if (n.field == Field::ruri) {
      EXPECT_TRUE(n.is_callee);
    }
  }
  EXPECT_TRUE(saw_pai);
  const std::string text = classify::to_text(x, *set_);
  EXPECT_NE(text.find("trunk: intl (class international)"), std::string::npos) << text;
  EXPECT_NE(
      text.find("verdict: reject 608 Rejected \"Harassment\" by rule 'harass' because caller in list 'harassment'"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("[matched, not applied]"), std::string::npos) << text;
}
