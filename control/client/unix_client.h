// A client for the JSON-lines Unix sockets (the data plane's, docs/
// control-protocol.md, and sipwall-control's, docs/control.md): one request
// line out, one reply line back, every step bounded by a timeout so a hung
// peer can never hang the caller.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sipwall::control {

class UnixJsonClient {
 public:
  UnixJsonClient() = default;
  ~UnixJsonClient();
  UnixJsonClient(const UnixJsonClient&) = delete;
  UnixJsonClient& operator=(const UnixJsonClient&) = delete;

  // Connects to `path`. False with error() = "path: reason" if nobody listens.
  bool connect(const std::string& path, int timeout_ms);
  // Sends `request` as one line and waits up to `timeout_ms` for one reply
  // line. False (connection closed) on timeout, EOF, I/O error or a reply
  // that is not a JSON object.
  bool request(const nlohmann::json& request, nlohmann::json& reply, int timeout_ms);
  void close();
  bool connected() const noexcept { return fd_ >= 0; }
  const std::string& error() const noexcept { return error_; }
  // The last failure was the server closing the connection (EOF, EPIPE,
  // ECONNRESET), e.g. a busy server evicting it: worth one more try.
  bool closed_by_peer() const noexcept { return closed_by_peer_; }

 private:
  int fd_ = -1;
  std::string path_;
  std::string in_;
  std::string error_;
  bool closed_by_peer_ = false;
};

// For a permission error on `path` (a socket, or a file the services
// write): " (only root and members of group 'G', the group of P, may use it:
// ...)" naming the group that owns it or, if it cannot be reached, its
// folder. Empty if neither can be looked at.
std::string permission_hint(const std::string& path);

// One request on a fresh connection (what sipwallctl does).
bool unix_json_call(const std::string& path, const nlohmann::json& request, nlohmann::json& reply, int timeout_ms,
                    std::string& error);

}  // namespace sipwall::control
