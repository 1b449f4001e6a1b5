// The data plane's log lines (dataplane/log/log.h): journald priority
// prefixes, one prefixed line per line of a message, outside bytes escaped,
// repeats collapsed into one summary per window (issue 17).
#include "dataplane/log/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipwall::dplog {
namespace {

using namespace std::chrono_literals;

struct Captured {
  std::vector<std::string> lines;
  Logger make(bool journal = true, std::size_t tracked = 64) {
    Logger::Options o;
    o.journal = journal;
    o.tracked = tracked;
    return Logger(o, [this](std::string_view l) { lines.emplace_back(l); });
  }
};

TEST(DataplaneLog, JournalLinesStartWithTheSyslogPriority) {
  Captured c;
  Logger l = c.make();
  const Clock::time_point t0{};
  l.write(Priority::err, "port down", t0);
  l.write(Priority::notice, "rule set loaded", t0);
  l.write(Priority::debug, "two\nlines\n", t0);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"<3>port down", "<5>rule set loaded", "<7>two", "<7>lines"}));
}

TEST(DataplaneLog, TerminalLinesCarryTimeProgramAndPriorityName) {
  Captured c;
  Logger l = c.make(false);
  l.write(Priority::warning, "careful", Clock::time_point{});
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_TRUE(c.lines[0].ends_with("Z sipwall-dataplane warning: careful")) << c.lines[0];
}

TEST(DataplaneLog, OutsideBytesAreEscaped) {
  Captured c;
  Logger l = c.make();
  l.write(Priority::info, std::string("version \x1b[31mred\x07", 18), Clock::time_point{});
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0].find('\x1b'), std::string::npos) << c.lines[0];
  EXPECT_EQ(c.lines[0].find('\x07'), std::string::npos) << c.lines[0];
}

TEST(DataplaneLog, RepeatsAreCountedAndSummarisedWhenTheWindowEnds) {
  Captured c;
  Logger l = c.make();
  const Clock::time_point t0{};
  for (int i = 0; i < 1000; ++i) l.write(Priority::warning, "link down", t0 + i * 10ms);
  l.write(Priority::warning, "something else", t0 + 10s);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"<4>link down", "<4>something else"}));
  l.tick(t0 + 30s);
  ASSERT_EQ(c.lines.size(), 3u);
  EXPECT_EQ(c.lines[2], "<4>link down (repeated 999 more times in 30 s)");
  // A new window: the line again, then counted again.
  l.write(Priority::warning, "link down", t0 + 31s);
  l.write(Priority::warning, "link down", t0 + 32s);
  EXPECT_EQ(c.lines.size(), 4u);
  l.flush(t0 + 33s);
  EXPECT_EQ(c.lines.back(), "<4>link down (repeated 1 more time in 2 s)");
  // "something else" came once: nothing to summarise.
  EXPECT_EQ(c.lines.size(), 5u);
}

TEST(DataplaneLog, TheSameTextAtAnotherPriorityIsAnotherMessage) {
  Captured c;
  Logger l = c.make();
  l.write(Priority::warning, "x", Clock::time_point{});
  l.write(Priority::err, "x", Clock::time_point{});
  EXPECT_EQ(c.lines, (std::vector<std::string>{"<4>x", "<3>x"}));
}

TEST(DataplaneLog, AFullTableSummarisesItsOldestFirst) {
  Captured c;
  Logger l = c.make(true, 2);
  const Clock::time_point t0{};
  l.write(Priority::info, "a", t0);
  l.write(Priority::info, "a", t0 + 1s);
  l.write(Priority::info, "b", t0 + 2s);
  l.write(Priority::info, "c", t0 + 3s);  // "a" leaves the table with its summary
  EXPECT_EQ(c.lines, (std::vector<std::string>{"<6>a", "<6>b", "<6>a (repeated 1 more time in 3 s)", "<6>c"}));
}

}  // namespace
}  // namespace sipwall::dplog
