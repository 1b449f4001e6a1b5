#include "control/daemon/incomplete_guard.h"

#include <gtest/gtest.h>

namespace sipwall::control {
namespace {

using nlohmann::json;

json running(std::uint64_t rules, json lists = json::object()) {
  return json{{"rules", rules}, {"list_entries", std::move(lists)}};
}

TEST(IncompleteSave, NothingRunningNothingToLose) {
  CompileOutput next;  // no rules, nothing written
  EXPECT_FALSE(incomplete_save(next, json()));
  EXPECT_FALSE(incomplete_save(next, running(0)));
}

TEST(IncompleteSave, LosingEveryRuleIsRefusedUnlessWrittenOut) {
  CompileOutput next;
  next.rules = 0;
  std::optional<std::string> why = incomplete_save(next, running(7));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("running one has 7"), std::string::npos) << *why;
  EXPECT_NE(why->find("rules: []"), std::string::npos) << *why;
  next.rules_written_empty = true;
  EXPECT_FALSE(incomplete_save(next, running(7)));
}

TEST(IncompleteSave, FewerRulesIsAnEdit) {
  CompileOutput next;
  next.rules = 1;
  EXPECT_FALSE(incomplete_save(next, running(7)));
}

TEST(IncompleteSave, AListFileThatIsNowEmptyIsRefusedWhenTheListHadEntries) {
  CompileOutput next;
  next.rules = 7;
  next.empty_list_files = {"harassment\t/etc/sipwall/rules/lists/harassment.txt"};
  std::optional<std::string> why = incomplete_save(next, running(7, json{{"harassment", 1200000}, {"dnc", 0}}));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("list 'harassment'"), std::string::npos) << *why;
  EXPECT_NE(why->find("harassment.txt is empty"), std::string::npos) << *why;
  EXPECT_NE(why->find("1200000"), std::string::npos) << *why;
  // A list that was empty before, or new, may stay empty.
  next.empty_list_files = {"dnc\t/x/dnc.txt", "new\t/x/new.txt"};
  EXPECT_FALSE(incomplete_save(next, running(7, json{{"harassment", 1200000}, {"dnc", 0}})));
  // An older store's meta without list counts: only the rule check applies.
  next.empty_list_files = {"harassment\t/x/h.txt"};
  EXPECT_FALSE(incomplete_save(next, json{{"rules", 7}}));
}

TEST(IncompleteSave, HostileMetaIsIgnoredNotTrusted) {
  CompileOutput next;
  next.empty_list_files = {"a\t/x"};
  EXPECT_FALSE(incomplete_save(next, json{{"rules", "many"}, {"list_entries", json::array({1, 2})}}));
  EXPECT_FALSE(incomplete_save(next, json{{"rules", -3}, {"list_entries", json{{"a", "x"}}}}));
}

}  // namespace
}  // namespace sipwall::control
