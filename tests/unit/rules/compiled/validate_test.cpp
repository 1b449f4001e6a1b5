// validate(): a compiled set whose indices point outside their arrays (or
// whose code could loop) is refused, so a bad artifact cannot make a worker
// read out of bounds or spin.
#include <gtest/gtest.h>

#include "rules/compiled/access.h"
#include "rules/compiler/compiler.h"
#include "tests/unit/rules/compiled/rule_builders.h"

using namespace sipwall::rules;
using namespace sipwall::rules::test;

namespace {

CompileResult sample() {
  SetBuilder b;
  b.exact("l", {"+8613800138000"})
      .prefixes("p", {"8613"})
      .trunk("t", "peer", {SetBuilder::source("10.0.0.0/8")}, {"86"})
      .rule("a", all({in_list(Field::caller, "l"), any({in_list(Field::ruri, "p"), regex(Field::user_agent, {"x"})})}),
            act(ActionKind::drop))
      .rule("b", trunk_ranges(false), act(ActionKind::drop));
  return compile(b.rs);
}

}  // namespace

TEST(Validate, CompiledSetsAreValid) {
  CompileResult r = sample();
  ASSERT_TRUE(r.ok());
  std::string why;
  EXPECT_TRUE(validate(CompiledRuleSetAccess::data(*r.set), why)) << why;
}

TEST(Validate, RefusesEachKindOfBrokenIndex) {
  auto broken = [](auto&& mutate) {
    CompileResult r = sample();
    CompiledRuleSetData& d = CompiledRuleSetAccess::data(*r.set);
    mutate(d);
    std::string why;
    const bool ok = validate(d, why);
    return ok ? std::string("accepted") : why;
  };
  // A backward jump (a loop) and a jump past the end.
  EXPECT_NE(broken([](CompiledRuleSetData& d) {
              for (std::size_t pc = 0; pc < d.code.size(); ++pc) {
                if (op::code_of(d.code[pc]) == op::jf) {
                  d.code[pc] = op::make(op::jf, static_cast<std::uint32_t>(pc));
                  break;
                }
              }
            }).find("jumps backwards"),
            std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.code.back() = op::make(op::true_); }).find("END"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) {
              d.rules[0].code = static_cast<std::uint32_t>(d.code.size());
            }).find("rule code out of range"),
            std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.atoms[0].b = 999; }).find("out of range"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.code[0] = op::make(op::atom, 5000); }).find("missing atom"),
            std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.rules[1].action = 77; }).find("rule action"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.trunks[0].class_id = 9; }).find("trunk class"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.patterns[0].slot = 40; }).find("pattern"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.rules[0].id.off = 1u << 30; }).find("string"), std::string::npos);
  EXPECT_NE(broken([](CompiledRuleSetData& d) { d.dbs.clear(); }).find("database"), std::string::npos);
}
