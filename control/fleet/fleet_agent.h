// sipwall-control's side of the fleet (docs/fleet.md): every interval it
// reads the fleet version to run from Redis; a new one is fetched, verified
// (bundle.h), written into the rules folder (bundle_files.h) and reloaded
// through the reload queue, exactly as a local edit would be (history,
// rollback, refusal of a bad set: the running set stays, and the files it
// replaced are put back). Every heartbeat it reports what it runs in a hash
// with a TTL.
//
// Redis is never on the packet path and never holds the control loop for
// long: every call has a timeout, and while Redis is unreachable the agent
// only retries, with back-off, and the appliance goes on with its last rule
// set (fail-static). When Redis is back it reads the current version again,
// which is all there is to resynchronise.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "control/fleet/backoff.h"
#include "control/fleet/bundle.h"
#include "control/fleet/fleet_blocks.h"
#include "control/fleet/fleet_keys.h"
#include "control/fleet/fleet_options.h"
#include "control/fleet/redis_link.h"

namespace sipwall::fleet {

struct FleetCounters {
  bool redis_up = false;
  std::uint64_t redis_errors = 0;   // calls that failed (connection, timeout)
  std::uint64_t redis_outages = 0;  // transitions from reachable to unreachable
  std::uint64_t applied = 0;        // fleet versions now running here
  std::uint64_t refused = 0;        // fleet versions refused here (bad bundle, compile, data plane)
  std::uint64_t heartbeats = 0;
  std::uint64_t running_seq = 0;   // the fleet version this appliance runs (0: none)
  std::uint64_t blocks_held = 0;   // fleet blocks its data plane holds now
  std::uint64_t block_errors = 0;  // holds the data plane refused (unknown detector, key of another kind, ...)
  // The fleet view (fleet_view.h).
  std::uint64_t view_pushes = 0;      // key counts pushed to Redis
  std::uint64_t view_reads = 0;       // fleet totals read back
  std::uint64_t view_detections = 0;  // global detections this appliance found first (written to the blocks hash)
  std::uint64_t view_held = 0;        // global detections its data plane holds now
  std::uint64_t view_keys = 0;        // keys pushed at the last turn
  // Lifts (fleet_lifts.h).
  std::uint64_t lifts_published = 0;  // `detections lift` sent to the fleet from here
  std::uint64_t lifts_applied = 0;    // other appliances' lifts applied to this data plane
};

class FleetAgent {
 public:
  using Clock = std::chrono::steady_clock;

  struct Hooks {
    // The checksum of the rule set the control process published last ("" if none).
    std::function<std::string()> running_checksum;
    // Queue a reload of the rule files; its reply comes back through reload_finished().
    std::function<void()> reload;
    // What the heartbeat says besides the fleet state: name, version,
    // checksum, dataplane (up/down).
    std::function<std::map<std::string, std::string>()> report;
    // One request to the data plane's control socket: its reply, or nullopt
    // when it could not be reached or gave no answer in time.
    std::function<std::optional<nlohmann::json>(const nlohmann::json&)> dataplane_request;
    // Changes when the data plane restarts or its rule set changes: the
    // fleet's blocks are held again then.
    std::function<std::string()> dataplane_identity;
  };

  FleetAgent(FleetOptions opts, std::filesystem::path rules_file, std::filesystem::path state_dir, Hooks hooks);

  // Reads the password file. False with `error`.
  bool open(std::string& error);
  // When tick() wants to run next.
  Clock::time_point due() const noexcept { return opts_.view_percent != 0 && view_due_ < due_ ? view_due_ : due_; }
  // One turn: read the current version (apply it if new), heartbeat; and,
  // every view_interval_ms, the fleet view.
  void tick();
  // The reply of the reload apply() asked for.
  void reload_finished(const nlohmann::json& reply);

  // `detections lift` received by this appliance, already lifted in its own
  // data plane: publish it to the fleet (fleet_lifts.h). The `fleet` object
  // of the reply: {"published": true, "id", "blocks_removed"}, or
  // {"published": false, "error"} when Redis is unreachable (fail-static:
  // the lift stays local, and the log says so).
  nlohmann::json publish_lift(const std::string& key, const std::string& detector, const std::string& by);

  nlohmann::json status_json() const;
  const FleetCounters& counters() const noexcept { return c_; }

 private:
  std::int64_t now_ms() const;
  void redis_failed(const std::string& why);
  void redis_ok();
  void apply(std::uint64_t seq);
  void refuse(std::uint64_t seq, const std::string& reason);
  void heartbeat();
  void sync_blocks(std::uint64_t gen);
  bool apply_lifts();
  void heads_tick();
  void view_tick();

  FleetOptions opts_;
  std::filesystem::path rules_file_, backup_dir_;
  Hooks hooks_;
  FleetKeys keys_;
  RedisLink link_;
  Backoff backoff_;
  FleetCounters c_;
  Clock::time_point due_{};
  Clock::time_point next_heartbeat_{};
  bool redis_known_ = false;  // at least one call was made (the first failure is logged too)
  std::string redis_error_;

  // The fleet version last dealt with (applied, refused or already running):
  // a new `current` differs from it.
  std::uint64_t handled_seq_ = 0;
  std::optional<Manifest> applying_;  // written, reload queued, reply awaited
  std::string state_ = "none";        // none | applying | pending | ok | refused | mismatch
  std::string pending_checksum_;      // pending: what the data plane must run to be ok
  std::string reason_;                // refused / mismatch: why
  std::string since_;                 // when state_ was set (ISO 8601)
  std::uint64_t current_seq_ = 0;     // as last read from Redis
  std::string running_version_;       // of the fleet version applied

  // Global blocks: the generation and data-plane identity they were last
  // applied for, and what was held (field -> until_ms).
  std::uint64_t blocks_gen_ = 0;
  std::optional<std::uint64_t> blocks_applied_gen_;
  std::string blocks_identity_;
  std::map<std::string, std::int64_t> held_;
  std::map<std::string, Block> known_blocks_;  // the blocks hash as last read (field -> block)
  // Lift notes applied here (or published from here), by id: each once. Ids
  // no longer in Redis are forgotten.
  std::set<std::uint64_t> lifts_done_;

  // The fleet view: when it runs next, and the fields ("detector\tkey")
  // this appliance has a share in, withdrawn when their count falls.
  Clock::time_point view_due_{};
  std::set<std::string> pushed_;
  bool view_warned_ = false;
};

}  // namespace sipwall::fleet
