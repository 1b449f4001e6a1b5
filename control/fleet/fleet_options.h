// sipwall-control's `fleet:` section (docs/fleet.md, docs/control.md): where
// the fleet's Redis is, who this appliance is, and how often it talks to it.
#pragma once

#include <cstdint>
#include <string>

namespace sipwall::fleet {

struct FleetOptions {
  bool enabled = false;                  // a fleet: section was given
  std::string redis = "127.0.0.1:6379";  // host:port or [v6]:port
  std::string user;                      // Redis ACL user; empty: the default user
  std::string password_file;             // a file holding the password (first line); empty: no AUTH
  std::string appliance;                 // this appliance's id (required)
  std::string prefix = "sipwall:";       // every key starts with it
  std::uint32_t interval_ms = 500;       // how often the current fleet version is read
  std::uint32_t heartbeat_ms = 1000;     // how often this appliance reports
  std::uint32_t heartbeat_ttl_s = 10;    // its report expires after this
  std::uint32_t timeout_ms = 200;        // per Redis call (connect, each read, each write)
  std::uint32_t retry_max_ms = 10000;    // back-off ceiling while Redis is unreachable
  std::uint32_t max_bundle_mb = 1024;    // a bigger published rule set is refused
  // The fleet view (fleet_view.h): keys at or above this percentage of a
  // detector's lowest threshold are pushed and summed across appliances;
  // 0 turns the view off. The data plane's detection.report_percent should
  // be at most this, or it does not report such keys to its merge.
  std::uint32_t view_percent = 50;
  std::uint32_t view_interval_ms = 1000;  // how often (100 .. 1000)
};

}  // namespace sipwall::fleet
