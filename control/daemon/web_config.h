// The /metrics web configuration file (`metrics.web_config`), in the style
// of Prometheus' own web config (exporter-toolkit):
//
//   basic_auth_users:
//     prometheus: $2y$10$...        # bcrypt ($2a$/$2b$/$2y$), or $5$... (sha256-crypt)
//   tls_server_config:              # optional: HTTPS
//     cert_file: metrics.crt        # PEM, the chain; relative to this file's folder
//     key_file: metrics.key
//
// Passwords are stored as crypt(3) hashes only (libxcrypt), each checked at
// start, so a hash the library cannot verify is a configuration error, not a
// refused scrape.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sipwall::control {

struct WebConfig {
  std::map<std::string, std::string> users;  // name -> crypt(3) hash
  std::string tls_cert_file, tls_key_file;   // both or neither; checked readable
};

// False with `errors` (file:line:col: message) if the file is unreadable,
// malformed, names neither users nor TLS, holds a hash that is not
// bcrypt/sha256-crypt, or names a certificate or key it cannot read.
bool load_web_config(const std::string& path, WebConfig& out, std::vector<std::string>& errors);

}  // namespace sipwall::control
