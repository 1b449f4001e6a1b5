#include "control/daemon/web_config.h"

#include <crypt.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
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
      if (const yaml::Entry* tls = yaml::Reader::find(*top, "tls_server_config")) {
        static constexpr std::array<std::string_view, 2> kTlsKeys = {"cert_file", "key_file"};
        if (auto entries = r.map_entries(tls->value, tls->value_at, "tls_server_config", kTlsKeys)) {
          const auto file = [&](std::string_view key, std::string& dest) {
            const yaml::Entry* e = r.require(*entries, key, tls->value_at, "tls_server_config");
            if (!e) return;
            auto v = r.scalar(*e, "a PEM file");
            if (!v) return;
            // Relative to the web config's folder, as Prometheus reads it.
            std::filesystem::path p = *v;
            if (p.is_relative()) p = std::filesystem::path(path).parent_path() / p;
            if (::access(p.c_str(), R_OK) != 0)
              r.error(e->value_at, std::string(key) + ": cannot read " + p.string() + ": " + std::strerror(errno));
            else
              dest = p.string();
          };
          file("cert_file", out.tls_cert_file);
          file("key_file", out.tls_key_file);
        }
      }
      const yaml::Entry* users = yaml::Reader::find(*top, "basic_auth_users");
      if (!users && !yaml::Reader::find(*top, "tls_server_config"))
        r.error(r.top(), "the web configuration names neither basic_auth_users nor tls_server_config");
      if (users) {
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
  out = WebConfig{};
  return false;
}

}  // namespace sipwall::control
