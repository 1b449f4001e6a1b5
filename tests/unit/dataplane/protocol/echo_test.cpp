// printable() as the control sockets use it: what an error reply may quote
// of the bytes a client sent. The escaping itself is text::printable's
// (tests/unit/rules/text); here: the default cap, and that every byte gives text a
// terminal and a strict JSON serialiser both take.
#include "dataplane/protocol/echo.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipwall::protocol {
namespace {

TEST(Echo, ShowsAtMostkEchoMaxBytesOfARequest) {
  std::string big(50u << 20, 'x');
  EXPECT_EQ(printable(big), std::string(kEchoMax, 'x') + "...(+" + std::to_string(big.size() - kEchoMax) + " bytes)");
}

TEST(Echo, EveryByteValueGivesSafeText) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 17) {
      std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(0xA9)};
      std::string p = printable(s);
      EXPECT_NO_THROW((void)nlohmann::json(p).dump()) << p;
      for (unsigned char c : p) EXPECT_TRUE(c >= 0x20 && c != 0x7F) << "control byte " << int(c) << " in " << p;
    }
  }
}

}  // namespace
}  // namespace sipwall::protocol
