// Watch filters (dataplane/watch/watch_filter.h): what the control socket
// and the config may say, and which calls a set matches.
#include "dataplane/watch/watch_filter.h"

#include <gtest/gtest.h>

namespace sipwall::watch {
namespace {

std::optional<WatchFilter> parse(std::string_view kind, std::string_view value) {
  std::string why;
  auto f = parse_watch_filter(kind, value, why);
  EXPECT_EQ(f.has_value(), why.empty()) << why;
  return f;
}

TEST(WatchFilter, AcceptsEachKind) {
  EXPECT_EQ(parse("all", "")->kind, WatchKind::all);
  EXPECT_EQ(parse("trunk", "carrier-a")->value, "carrier-a");
  EXPECT_EQ(parse("rule", "block-608")->kind, WatchKind::rule);
  EXPECT_EQ(parse("detector", "bombing")->kind, WatchKind::detector);
  EXPECT_EQ(parse("caller", "+8613800138000")->kind, WatchKind::caller);
  EXPECT_EQ(parse("callee", "+1")->kind, WatchKind::callee);
}

TEST(WatchFilter, RefusesWhatIsNotAFilter) {
  for (auto [kind, value] :
       std::initializer_list<std::pair<std::string_view, std::string_view>>{{"", "x"},
                                                                            {"Caller", "+8613800138000"},
                                                                            {"all", "x"},
                                                                            {"trunk", ""},
                                                                            {"trunk", "a b"},
                                                                            {"trunk", std::string_view("a\0b", 3)},
                                                                            {"rule", "\x1b[31m"},
                                                                            {"rule", "\xc3\xa9"},
                                                                            {"caller", "8613800138000"},
                                                                            {"caller", "+"},
                                                                            {"caller", "+86 138"},
                                                                            {"caller", "+1234567890123456"},
                                                                            {"callee", "+86a"}}) {
    std::string why;
    EXPECT_FALSE(parse_watch_filter(kind, value, why)) << kind << " " << value;
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(why.find('\x1b'), std::string::npos);
  }
  std::string why;
  EXPECT_FALSE(parse_watch_filter("trunk", std::string(kMaxFilterValue + 1, 'a'), why));
  EXPECT_TRUE(parse_watch_filter("trunk", std::string(kMaxFilterValue, 'a'), why));
}

TEST(WatchSet, MatchesByVerdict) {
  WatchSet s;
  s.used = 0b1011;
  s.filters[0] = *parse("caller", "+8613800138000");
  s.filters[1] = *parse("trunk", "carrier-a");
  s.filters[2] = *parse("all", "");  // not used: bit 2 clear
  s.filters[3] = *parse("detector", "bombing");
  CallView c;
  EXPECT_EQ(s.match(c), 0);
  c.caller = "+8613800138000";
  EXPECT_EQ(s.match(c), 0b0001);
  c.trunk = "carrier-a";
  c.detector = "bombing";
  EXPECT_EQ(s.match(c), 0b1011);
  c.caller = "+8613800138001";
  EXPECT_EQ(s.match(c), 0b1010);
  WatchFilter all = *parse("all", "");
  EXPECT_TRUE(matches(all, CallView{}));
  EXPECT_FALSE(matches(*parse("rule", "r1"), CallView{}));
}

TEST(WatchSet, MarksOfAnEarlierFilterInTheSlotAreNotValid) {
  WatchSet s;
  s.generation = 7;
  s.used = 0b0011;
  s.since[0] = 3;  // slot 0's filter since generation 3
  s.since[1] = 7;  // slot 1's filter put in by this set
  EXPECT_EQ(s.still_valid(0b0011, 7), 0b0011);
  EXPECT_EQ(s.still_valid(0b0011, 5), 0b0001);  // marked for slot 1's previous filter
  EXPECT_EQ(s.still_valid(0b0011, 2), 0);
  EXPECT_EQ(s.still_valid(0b0100, 7), 0);  // slot 2 no longer in force
}

}  // namespace
}  // namespace sipwall::watch
