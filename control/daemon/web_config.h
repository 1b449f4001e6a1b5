// The /metrics web configuration file (`metrics.web_config`), in the style
// of Prometheus' own web config (exporter-toolkit):
//
//   basic_auth_users:
//     prometheus: $2y$10$...        # bcrypt ($2a$/$2b$/$2y$), or $5$... (sha256-crypt)
//
// Passwords are stored as crypt(3) hashes only (libxcrypt), each checked at
// start, so a hash the library cannot verify is a configuration error, not a
// refused scrape. TLS (Prometheus' tls_server_config) is not
// offered: the key is refused with what to do instead.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sipwall::control {

struct WebConfig {
  std::map<std::string, std::string> users;  // name -> crypt(3) hash
};

// False with `errors` (file:line:col: message) if the file is unreadable,
// malformed, names no user, or holds a hash that is not bcrypt/sha256-crypt.
bool load_web_config(const std::string& path, WebConfig& out, std::vector<std::string>& errors);

}  // namespace sipwall::control
