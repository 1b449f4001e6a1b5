// CoreTails: the unfinished end of a core-side TCP message, kept until the
// next segment in sequence completes it (docs/detection.md "What the data
// plane does"): joined in order, retransmissions ignored, gaps and overlong
// ends dropped, one flow per slot.
#include "dataplane/tcp/core_tails.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipwall::dataplane::tcp {
namespace {

class Tails : public ::testing::Test {
 protected:
  CoreTails t;
  std::vector<char> buf = std::vector<char>(70000);
  CoreTails::Joined join(std::uint64_t flow, std::uint32_t seq, std::string_view p, std::size_t cap = 70000) {
    return t.join(flow, seq, p, buf.data(), cap);
  }
};

const std::string kHead = "SIP/2.0 200 OK\r\nCall-ID: a@b\r\nContent-Length: 300\r\n";

TEST_F(Tails, CutMessageIsJoinedWithTheNextSegmentInSequence) {
  EXPECT_TRUE(t.keep(7, 1000, kHead));
  EXPECT_EQ(t.size(), 1u);
  const CoreTails::Joined j = join(7, 1000, "\r\nv=0\r\n");
  EXPECT_TRUE(j.joined);
  EXPECT_FALSE(j.lost || j.repeat);
  EXPECT_EQ(std::string(j.bytes), kHead + "\r\nv=0\r\n");
  EXPECT_EQ(t.size(), 0u);  // taken: the caller keeps what is still unfinished
  EXPECT_FALSE(join(7, 1007, "x").joined);
}

TEST_F(Tails, ARetransmissionOfBytesAlreadySeenIsParsedOnce) {
  t.keep(7, 1000, kHead);
  const CoreTails::Joined j = join(7, 900, std::string(100, 'r'));
  EXPECT_TRUE(j.repeat);
  EXPECT_TRUE(join(7, 1000, "\r\n").joined);  // the tail waited
}

TEST_F(Tails, AGapDropsTheTail) {
  t.keep(7, 1000, kHead);
  const CoreTails::Joined j = join(7, 1400, "INVITE sip:x SIP/2.0\r\n");
  EXPECT_TRUE(j.lost);
  EXPECT_FALSE(j.joined);
  EXPECT_EQ(j.bytes, "INVITE sip:x SIP/2.0\r\n");  // parsed on its own
  EXPECT_EQ(t.size(), 0u);
}

TEST_F(Tails, AnOverlongEndIsNotKept) {
  EXPECT_FALSE(t.keep(7, 1000, std::string(CoreTails::kTailBytes + 1, 'h')));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.keep(7, 1000, std::string(CoreTails::kTailBytes, 'h')));
  // Too long to join into the caller's buffer: dropped, the payload alone.
  const CoreTails::Joined j = join(7, 1000, "abc", CoreTails::kTailBytes + 2);
  EXPECT_TRUE(j.lost);
  EXPECT_EQ(j.bytes, "abc");
}

TEST_F(Tails, AnotherFlowInTheSlotTakesIt) {
  const std::uint64_t a = 5, b = 5 + CoreTails::kSlots;  // the same slot
  EXPECT_TRUE(t.keep(a, 1000, kHead));
  EXPECT_FALSE(t.keep(b, 2000, kHead));  // a's tail lost: reported
  EXPECT_FALSE(join(a, 1000, "\r\n").joined);
  EXPECT_TRUE(join(b, 2000, "\r\n").joined);
}

TEST_F(Tails, AWholeLastMessageClearsTheFlowsTail) {
  t.keep(7, 1000, kHead);
  EXPECT_TRUE(t.keep(7, 1000, ""));
  EXPECT_FALSE(join(7, 1000, "\r\n").joined);
  EXPECT_TRUE(t.keep(9, 5, ""));  // nothing kept, nothing lost
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace sipwall::dataplane::tcp
