// HTTP basic authentication of /metrics scrapes against crypt(3) hashes
// (web_config.h). A bcrypt check costs tens of milliseconds on the metrics
// thread, so:
//  * an Authorization value that passed is remembered (the 16 latest), and
//    a scraper sending it again is let in without hashing;
//  * at most `max_checks_per_s` hash checks a second: past that a request
//    with an unknown value is refused without hashing (a local flood of
//    wrong passwords cannot keep the thread busy; a scraper already
//    remembered is not affected).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sipwall::control {

class BasicAuth {
 public:
  enum class Result { ok, missing, refused, busy };

  explicit BasicAuth(std::map<std::string, std::string> users, unsigned max_checks_per_s = 20);
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const noexcept { return !users_.empty(); }
  // `authorization`: the value of the request's Authorization header (empty
  // if it had none).
  Result check(std::string_view authorization, std::chrono::steady_clock::time_point now);

  // The request head's Authorization value ("" if none); header names are
  // case-insensitive, the first one counts.
  static std::string_view header_value(std::string_view head);
  // RFC 4648 base64 (padding required); false on anything else.
  static bool base64_decode(std::string_view in, std::string& out);

 private:
  bool verify(const std::string& user, const std::string& password);

  std::map<std::string, std::string> users_;
  unsigned max_checks_per_s_;
  std::deque<std::string> passed_;  // Authorization values that passed, newest last
  std::chrono::steady_clock::time_point window_start_{};
  unsigned checks_in_window_ = 0;
  struct CryptBuffer;
  std::unique_ptr<CryptBuffer> buf_;
};

}  // namespace sipwall::control
