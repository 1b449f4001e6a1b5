// Link following for a bump in the wire (issue 17): when one port of a pair
// loses link, its partner is taken down too, so the router on the partner's
// side sees its link drop and fails over instead of sending into a box that
// cannot deliver; when the link returns the partner is brought back.
//
// The decisions, without DPDK: the main lcore feeds what it read from each
// port (rte_eth_link_get_nowait) and applies what comes out
// (rte_eth_dev_set_link_down/up), then tells the result. Unit-tested.
//
// * A port we took down reads "down" because of us: its own reading is
//   ignored until we bring it up again.
// * A port brought up (and every port at start) gets `settle` to come up
//   (autonegotiation takes seconds on real NICs) before its "down" counts,
//   so bringing one side up cannot bounce the other.
// * A partner the driver cannot take down is tried once per loss of link
//   (reported by the caller; counted and logged).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace sipwall::dataplane {

class LinkFollow {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Act : std::uint8_t { take_down, bring_up };
  struct Action {
    Act act;
    std::uint16_t port;   // the port to change
    std::uint16_t cause;  // the partner whose link changed
  };

  // `partner[i]`: the port paired with i, or kNone; `follow[i]`: whether i's
  // pair follows link (the pair's link_follow). Ports start "up", settling.
  static constexpr std::uint16_t kNone = 0xFFFF;
  LinkFollow(std::vector<std::uint16_t> partner, std::vector<bool> follow, std::chrono::milliseconds settle,
             Clock::time_point now);

  // One reading per port (`up[i]`), in. What to do, out.
  std::vector<Action> poll(const std::vector<bool>& up, Clock::time_point now);
  // The outcome of an action poll() asked for.
  void done(const Action& a, bool ok, Clock::time_point now);

  bool forced_down(std::uint16_t port) const { return ports_[port].forced; }

 private:
  struct Port {
    std::uint16_t partner = kNone;
    bool follow = false;
    bool forced = false;               // we took it down
    bool gave_up = false;              // its partner's driver refused: not again for this loss
    Clock::time_point settle_until{};  // its "down" does not count before this
  };
  std::vector<Port> ports_;
  std::chrono::milliseconds settle_;
};

}  // namespace sipwall::dataplane
