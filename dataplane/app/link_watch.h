// The main lcore's side of link following (link_follow.h): reads every
// port's link (rte_eth_link_get_nowait, a few times a second), takes a
// partner down or brings it back up (rte_eth_dev_set_link_down/up), counts
// (counter_list.h: link_*) and logs each change.
#pragma once

#include <chrono>
#include <memory>

#include "dataplane/app/link_follow.h"

namespace sipwall::dataplane {

struct Dataplane;

class LinkWatch {
 public:
  // How long a port that was (re)started gets to come up before its "down"
  // counts (autonegotiation on real NICs takes seconds).
  static constexpr std::chrono::milliseconds kSettle{5000};
  static constexpr std::chrono::milliseconds kInterval{100};

  explicit LinkWatch(Dataplane& dp);
  // Called every main-loop turn; acts at most every kInterval.
  void poll();
  // Brings back up every port it took down (at exit: leave the NIC as found).
  void restore();

 private:
  Dataplane& dp_;
  std::unique_ptr<LinkFollow> follow_;
  LinkFollow::Clock::time_point next_{};
  std::vector<bool> last_up_;
};

}  // namespace sipwall::dataplane
