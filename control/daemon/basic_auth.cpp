#include "control/daemon/basic_auth.h"

#include <crypt.h>

#include <algorithm>
#include <cstring>

namespace sipwall::control {

struct BasicAuth::CryptBuffer {
  crypt_data data;
};

namespace {

constexpr std::size_t kRemembered = 16;

bool same(std::string_view a, std::string_view b) {
  // Constant time for equal lengths: the hash's length is not secret.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int b64(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

BasicAuth::BasicAuth(std::map<std::string, std::string> users, unsigned max_checks_per_s)
    : users_(std::move(users)), max_checks_per_s_(std::max(1U, max_checks_per_s)), buf_(new CryptBuffer{}) {}

BasicAuth::~BasicAuth() = default;

bool BasicAuth::base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<std::size_t>(k)];
      // '=' only as the last one or two characters of the input.
      v[k] = c == '=' && i + 4 == in.size() && k >= 2 ? -2 : b64(c);
      if (v[k] == -1) return false;
    }
    if (v[2] == -2 && v[3] != -2) return false;
    out.push_back(static_cast<char>((v[0] << 2) | (v[1] >> 4)));
    if (v[2] != -2) out.push_back(static_cast<char>(((v[1] & 15) << 4) | (v[2] >> 2)));
    if (v[3] != -2) out.push_back(static_cast<char>(((v[2] & 3) << 6) | v[3]));
  }
  return true;
}

std::string_view BasicAuth::header_value(std::string_view head) {
  constexpr std::string_view kName = "authorization:";
  std::size_t pos = head.find('\n');  // skip the request line
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    const std::size_t start = pos + 1;
    std::size_t end = head.find('\n', start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= kName.size() && std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
          return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        })) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      return line;
    }
    pos = end;
  }
  return {};
}

bool BasicAuth::verify(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  // An unknown user costs a check too, so timing does not tell names apart.
  const std::string& hash = it != users_.end() ? it->second : users_.begin()->second;
  std::memset(&buf_->data, 0, sizeof buf_->data);
  const char* got = ::crypt_r(password.c_str(), hash.c_str(), &buf_->data);
  const bool ok = got != nullptr && got[0] != '*' && same(got, hash);
  return ok && it != users_.end();
}

BasicAuth::Result BasicAuth::check(std::string_view authorization, std::chrono::steady_clock::time_point now) {
  if (!enabled()) return Result::ok;
  if (authorization.empty()) return Result::missing;
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() <= kScheme.size() || authorization.substr(0, kScheme.size()) != kScheme)
    return Result::refused;
  const std::string value(authorization);
  for (const std::string& p : passed_)
    if (same(p, value)) return Result::ok;
  std::string decoded;
  if (!base64_decode(authorization.substr(kScheme.size()), decoded)) return Result::refused;
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Result::refused;
  if (now - window_start_ >= std::chrono::seconds(1)) {
    window_start_ = now;
    checks_in_window_ = 0;
  }
  if (checks_in_window_ >= max_checks_per_s_) return Result::busy;
  ++checks_in_window_;
  if (!verify(decoded.substr(0, colon), decoded.substr(colon + 1))) return Result::refused;
  passed_.push_back(value);
  if (passed_.size() > kRemembered) passed_.pop_front();
  return Result::ok;
}

}  // namespace sipwall::control
