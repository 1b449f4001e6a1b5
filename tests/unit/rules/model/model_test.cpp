// The model's helpers: names, locations, diagnostics, text forms, comparison.
#include <gtest/gtest.h>

#include <array>
#include <sstream>
#include <string_view>

#include "rules/model/compare.h"
#include "rules/model/diagnostic.h"
#include "rules/model/model_text.h"

namespace sipwall::rules {
namespace {

TEST(Model, EnumNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(Field::trunk_class); ++i) {
    const auto f = static_cast<Field>(i);
    EXPECT_EQ(field_from_string(to_string(f)), f);
  }
  EXPECT_EQ(field_from_string("callee"), std::nullopt);
  EXPECT_EQ(to_string(Field::user_agent), "user_agent");
  EXPECT_EQ(to_string(Op::in_list), "in");
  EXPECT_EQ(to_string(ActionKind::reject), "reject");
  EXPECT_EQ(to_string(MalformedPolicy::fail_closed), "fail_closed");
  EXPECT_EQ(list_kind_from_string("range"), ListKind::range);
  EXPECT_EQ(list_kind_from_string("ranges"), std::nullopt);
  EXPECT_TRUE(is_number_field(Field::diversion));
  EXPECT_FALSE(is_number_field(Field::header));
  EXPECT_TRUE(is_text_field(Field::display_name));
  EXPECT_FALSE(is_text_field(Field::trunk));
  EXPECT_TRUE(is_terminal(ActionKind::tag));
  EXPECT_FALSE(is_terminal(ActionKind::trace));
}

// The action names are one list (SIPWALL_ACTION_KINDS in rule_model.h):
// rule files, stats keys, traces and metrics all say these words, in this
// order, and the data plane's verdict counters are kActionKindCount long.
TEST(Model, ActionNamesAreTheEnumInOrder) {
  const std::array<std::string_view, 5> want = {"pass", "drop", "reject", "tag", "trace"};
  ASSERT_EQ(kActionKindCount, want.size());
  for (std::size_t i = 0; i < kActionKindCount; ++i) {
    EXPECT_EQ(kActionNames[i], want[i]);
    EXPECT_EQ(to_string(static_cast<ActionKind>(i)), want[i]);
  }
  static_assert(static_cast<std::size_t>(ActionKind::reject) == 2);
}

TEST(Model, LocationsAndDiagnostics) {
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 3, 7}), "a.yaml:3:7");
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 3, 0}), "a.yaml:3");
  EXPECT_EQ(to_string(SourceLocation{"a.yaml", 0, 0}), "a.yaml");
  const Diagnostic e{Severity::error, {"a.yaml", 3, 7}, "bad"};
  const Diagnostic w{Severity::warning, {"a.yaml", 4, 1}, "odd"};
  EXPECT_EQ(format(e), "a.yaml:3:7: bad");
  EXPECT_EQ(format(w), "a.yaml:4:1: warning: odd");
  std::ostringstream os;
  os << w;
  EXPECT_EQ(os.str(), "a.yaml:4:1: warning: odd");
  EXPECT_EQ(count_errors({e, w, e}), 2u);
  EXPECT_EQ(count_warnings({e, w, e}), 1u);
}

TEST(Model, NumberText) {
  EXPECT_EQ(format_key(number::pack("8613800138000")), "+8613800138000");
  EXPECT_EQ(format_key(number::pack("110")), "110");  // short codes have no '+'
  EXPECT_EQ(format_range({"862160000000", "862160009999"}), "+862160000000..+862160009999");
}

MatchExpr pred(Field f, Op op, std::vector<std::string> values = {}, std::string list = {}) {
  MatchExpr m;
  m.predicate.field = f;
  m.predicate.op = op;
  m.predicate.values = std::move(values);
  m.predicate.list = std::move(list);
  return m;
}

MatchExpr node(MatchExpr::Kind k, std::vector<MatchExpr> children) {
  MatchExpr m;
  m.kind = k;
  m.children = std::move(children);
  return m;
}

TEST(Model, MatchAndActionText) {
  MatchExpr h = pred(Field::header, Op::regex, {"a\"b"});
  h.predicate.header_name = "X-Foo";
  const MatchExpr m =
      node(MatchExpr::Kind::all,
           {pred(Field::caller, Op::in_list, {}, "harassment"), pred(Field::trunk_class, Op::equals, {"call_center"}),
            node(MatchExpr::Kind::not_, {pred(Field::pai, Op::present)}),
            pred(Field::ruri, Op::equals, {"8613700137000", "110"}), pred(Field::from, Op::prefix, {"8610"}), h});
  EXPECT_EQ(to_string(m),
            "all(caller in harassment, trunk_class equals [call_center], "
            "not(pai present), ruri equals [+8613700137000, 110], "
            "from prefix [+8610], header X-Foo regex [\"a\\\"b\"])");
  Action a;
  a.kind = ActionKind::reject;
  a.reject_code = 608;
  a.reason_text = "Rejected";
  a.call_info = "https://x/a.jwt";
  EXPECT_EQ(to_string(a), "reject 608 \"Rejected\" call_info https://x/a.jwt");
  a = Action{};
  a.kind = ActionKind::tag;
  a.tag_header = "X-Risk";
  a.tag_value = "{score}";
  a.score = 70;
  EXPECT_EQ(to_string(a), "tag X-Risk \"{score}\" score 70");
  EXPECT_EQ(to_string(Action{}), "pass");
}

TEST(Model, SameIgnoresLocations) {
  MatchExpr a = pred(Field::caller, Op::prefix, {"86"});
  MatchExpr b = a;
  b.where = {"x.yaml", 9, 9};
  b.predicate.where = {"x.yaml", 9, 9};
  b.predicate.value_where = {{"x.yaml", 9, 10}};
  EXPECT_TRUE(same(a, b));
  b.predicate.values = {"861"};
  EXPECT_FALSE(same(a, b));
  MatchExpr h1 = pred(Field::header, Op::present), h2 = h1;
  h1.predicate.header_name = "X-Foo";
  h2.predicate.header_name = "x-foo";  // header names are case-insensitive
  EXPECT_TRUE(same(h1, h2));
  Action x, y;
  x.kind = y.kind = ActionKind::reject;
  x.reason_text = "a";
  y.reason_text = "b";
  EXPECT_FALSE(same(x, y));
  x.kind = y.kind = ActionKind::drop;  // parameters of other kinds do not matter
  EXPECT_TRUE(same(x, y));
}

}  // namespace
}  // namespace sipwall::rules
