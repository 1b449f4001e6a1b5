// /metrics basic auth: the header, base64, crypt(3) hashes, the cache of
// values that passed and the bound on hash checks per second.
#include "control/daemon/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <string>

using sipwall::control::BasicAuth;
using Clock = std::chrono::steady_clock;

namespace {

std::string hash_of(const char* password, const char* setting) {
  crypt_data d{};
  const char* h = ::crypt_r(password, setting, &d);
  return h ? h : "";
}

std::string basic(const std::string& user_pass) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < user_pass.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(user_pass[i]) << 16) |
                       (static_cast<unsigned char>(user_pass[i + 1]) << 8) |
                       static_cast<unsigned char>(user_pass[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (user_pass.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(user_pass[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (user_pass.size() - i == 2) {
    const unsigned v =
        (static_cast<unsigned char>(user_pass[i]) << 16) | (static_cast<unsigned char>(user_pass[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return "Basic " + out;
}

}  // namespace

TEST(BasicAuth, Base64) {
  std::string out;
  EXPECT_TRUE(BasicAuth::base64_decode("cHJvbTpzZWNyZXQ=", out));
  EXPECT_EQ(out, "prom:secret");
  EXPECT_TRUE(BasicAuth::base64_decode("YQ==", out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(BasicAuth::base64_decode("YQ=", out));       // not a multiple of 4
  EXPECT_FALSE(BasicAuth::base64_decode("Y=Q=", out));      // '=' inside
  EXPECT_FALSE(BasicAuth::base64_decode("YQ==YQ==", out));  // '=' before the end
  EXPECT_FALSE(BasicAuth::base64_decode("Y*Q=", out));
}

TEST(BasicAuth, HeaderValue) {
  EXPECT_EQ(BasicAuth::header_value("GET /metrics HTTP/1.1\r\nHost: x\r\nAUTHORIZATION:  Basic abc \r\nA: b\r\n"),
            "Basic abc");
  EXPECT_EQ(BasicAuth::header_value("GET /metrics HTTP/1.1\nauthorization: Basic x\n"), "Basic x");
  EXPECT_EQ(BasicAuth::header_value("GET /authorization: HTTP/1.1\r\nHost: x\r\n"), "");  // not in the request line
}

TEST(BasicAuth, Sha256CryptAndBcrypt) {
  for (const char* setting : {"$5$saltsalt", "$2y$04$abcdefghijklmnopqrstuu"}) {
    const std::string h = hash_of("secret", setting);
    ASSERT_FALSE(h.empty()) << setting;
    BasicAuth auth({{"prom", h}});
    const auto now = Clock::now();
    EXPECT_EQ(auth.check("", now), BasicAuth::Result::missing);
    EXPECT_EQ(auth.check(basic("prom:wrong"), now), BasicAuth::Result::refused) << setting;
    EXPECT_EQ(auth.check(basic("other:secret"), now), BasicAuth::Result::refused) << setting;
    EXPECT_EQ(auth.check(basic("prom:secret"), now), BasicAuth::Result::ok) << setting;
    EXPECT_EQ(auth.check("Bearer abc", now), BasicAuth::Result::refused);
    EXPECT_EQ(auth.check("Basic !!!!", now), BasicAuth::Result::refused);
    EXPECT_EQ(auth.check(basic("promsecret"), now), BasicAuth::Result::refused);  // no colon
  }
}

TEST(BasicAuth, BoundedHashChecksButKnownScrapersPass) {
  BasicAuth auth({{"prom", hash_of("secret", "$5$saltsalt")}}, 3);
  const auto t0 = Clock::now();
  ASSERT_EQ(auth.check(basic("prom:secret"), t0), BasicAuth::Result::ok);  // check 1, remembered
  EXPECT_EQ(auth.check(basic("prom:a"), t0), BasicAuth::Result::refused);  // 2
  EXPECT_EQ(auth.check(basic("prom:b"), t0), BasicAuth::Result::refused);  // 3
  EXPECT_EQ(auth.check(basic("prom:c"), t0), BasicAuth::Result::busy);     // over the bound: no hashing
  EXPECT_EQ(auth.check(basic("prom:secret"), t0), BasicAuth::Result::ok);  // remembered: no hashing needed
  EXPECT_EQ(auth.check(basic("prom:c"), t0 + std::chrono::seconds(1)), BasicAuth::Result::refused);  // a new second
}
