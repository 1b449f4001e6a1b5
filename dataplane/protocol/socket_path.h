// A Unix socket path must fit sockaddr_un::sun_path (108 bytes with its NUL
// on Linux). The config checks of both daemons call this, so a path that
// cannot be bound fails `--check` with a clear message instead of the start.
#pragma once

#include <optional>
#include <string>

namespace sipwall::protocol {

// The longest path bind() and connect() take.
std::size_t max_socket_path();

// Why `path` cannot be a Unix socket path, or nullopt if it can.
std::optional<std::string> socket_path_problem(const std::string& path);

}  // namespace sipwall::protocol
