#include "control/daemon/web_config.h"

#include <crypt.h>

#include <array>
#include <cstring>
#include <memory>
#include <string_view>

#include "rules/io/file_input.h"
#include "rules/text/safe_text.h"
#include "rules/yaml/reader.h"

namespace sipwall::control {

namespace {

constexpr std::array<std::string_view, 2> kTopKeys = {"basic_auth_users", "tls_server_config"};

// bcrypt and sha256-crypt, whole and well-formed: hashing any password with
// it as the setting gives a hash of the same form (a prefix alone, "$2y$",
// or a truncated hash would not), so every scrape can be checked.
bool usable_hash(const std::string& h, std::string& why) {
  const bool bcrypt = h.rfind("$2a$", 0) == 0 || h.rfind("$2b$", 0) == 0 || h.rfind("$2y$", 0) == 0;
  const bool sha256 = h.rfind("$5$", 0) == 0;
  if (!bcrypt && !sha256) {
    why = "must be a bcrypt ($2y$...) or sha256-crypt ($5$...) hash, not a password";
    return false;
  }
  auto data = std::make_unique<crypt_data>();
  const char* got = ::crypt_r("", h.c_str(), data.get());
  const std::size_t settings = h.rfind('$');
  if (got == nullptr || got[0] == '*' || std::strlen(got) != h.size() ||
      std::string_view(got).substr(0, settings) != std::string_view(h).substr(0, settings) ||
      (bcrypt && h.size() != 60)) {
    why = "is not a whole hash this system's crypt(3) can check";
    return false;
  }
  return true;
}

}  // namespace

bool load_web_config(const std::string& path, WebConfig& out, std::vector<std::string>& errors) {
  yaml::Reader r(path);
  std::optional<YAML::Node> root = r.read_file(path, io::kConfigFile);
  if (root) {
    auto top = r.map_entries(*root, r.top(), "the web configuration", kTopKeys);
    if (top) {
      if (const yaml::Entry* tls = yaml::Reader::find(*top, "tls_server_config"))
        r.error(tls->key_at,
                "tls_server_config: TLS is not offered by sipwall-control; listen on a Unix socket "
                "(metrics.listen: unix:PATH), or put a TLS proxy (stunnel, nginx) in front");
      if (const yaml::Entry* users = r.require(*top, "basic_auth_users", r.top(), "the web configuration")) {
        if (auto entries = r.map_entries(users->value, users->value_at, "basic_auth_users", {}, "user name")) {
          for (const yaml::Entry& u : *entries) {
            auto hash = r.scalar(u, "a bcrypt or sha256-crypt password hash");
            if (!hash) continue;
            std::string why;
            if (u.key.empty() || u.key.find(':') != std::string::npos)
              r.error(u.key_at, "user name " + text::quote(u.key) + " must be non-empty and hold no ':'");
            else if (!usable_hash(*hash, why))
              r.error(u.value_at, "the password of " + text::quote(u.key) + " " + why);
            else
              out.users[u.key] = *hash;
          }
          if (entries->empty()) r.error(users->value_at, "basic_auth_users: name at least one user");
        }
      }
    }
  }
  if (r.error_count() == 0) return true;
  for (std::string& m : r.messages()) errors.push_back(std::move(m));
  out.users.clear();
  return false;
}

}  // namespace sipwall::control
