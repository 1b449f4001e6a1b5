// The SIMD byte classifiers agree with the scalar grammar tables.
#include <gtest/gtest.h>

#include "dataplane/sip/sip_chars.h"

namespace sipwall::sip::detail {
namespace {

TEST(ByteClasses, SimdMatchesTable) {
  EXPECT_TRUE(verify_byte_classes());
}

TEST(ByteClasses, SpotChecks) {
  EXPECT_TRUE(is('a', kToken));
  EXPECT_TRUE(is('%', kToken));
  EXPECT_FALSE(is(':', kToken));
  EXPECT_FALSE(is('@', kUser));
  EXPECT_TRUE(is(';', kUser));
  EXPECT_FALSE(is(';', kUserNoSep));
  EXPECT_FALSE(is('%', kUser));  // escapes are handled by the scanners
  EXPECT_FALSE(is('+', kHost));
  EXPECT_TRUE(is('\x80', kCallId));
  EXPECT_FALSE(is(' ', kCallId));
  EXPECT_TRUE(is('\r', kDisplay));
  EXPECT_FALSE(is(',', kDisplayList));
  EXPECT_FALSE(is('"', kQText));
  EXPECT_TRUE(is('\0', kQText));
}

}  // namespace
}  // namespace sipwall::sip::detail
