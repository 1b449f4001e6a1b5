// A connection of its own to the call store's file for a thread beside
// CallStore's loop connection (TableDropper, WalCheckpointer): read-write,
// no mutex (one thread uses it). SQLite connections are not shared between
// threads here, so each background job opens its own.
#pragma once

#include <sqlite3.h>

#include <string>

namespace sipwall::control {

// The open connection, or nullptr with `error` set to "PATH: why".
sqlite3* open_store_connection(const std::string& path, std::string& error);

}  // namespace sipwall::control
