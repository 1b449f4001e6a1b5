#include "dataplane/protocol/socket_path.h"

#include <sys/un.h>

#include "dataplane/protocol/echo.h"

namespace sipwall::protocol {

std::size_t max_socket_path() {
  return sizeof(sockaddr_un::sun_path) - 1;
}

std::optional<std::string> socket_path_problem(const std::string& path) {
  if (path.empty()) return "the socket path is empty";
  if (path.find('\0') != std::string::npos) return "the socket path contains a NUL byte";
  if (path.size() > max_socket_path())
    return "the socket path is " + std::to_string(path.size()) + " bytes long; a Unix socket path has at most " +
           std::to_string(max_socket_path()) + " (sockaddr_un): " + printable(path, 60);
  return std::nullopt;
}

}  // namespace sipwall::protocol
