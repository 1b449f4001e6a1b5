#include "dataplane/app/link_watch.h"

#include <rte_ethdev.h>

#include <string>

#include "dataplane/app/dataplane.h"
#include "dataplane/log/log.h"

namespace sipwall::dataplane {
namespace {

std::string driver_of(std::uint16_t port_id) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id, &info) == 0 && info.driver_name != nullptr) return info.driver_name;
  return "?";
}

}  // namespace

LinkWatch::LinkWatch(Dataplane& dp) : dp_(dp) {
  std::vector<std::uint16_t> partner(dp.ports.size(), LinkFollow::kNone);
  std::vector<bool> follow(dp.ports.size(), false);
  for (std::size_t k = 0; k < dp.cfg.pairs.size(); ++k) {
    auto [a, b] = dp.cfg.pairs[k];
    partner[a] = b;
    partner[b] = a;
    follow[a] = follow[b] = k < dp.cfg.pair_link_follow.size() && dp.cfg.pair_link_follow[k];
  }
  follow_ = std::make_unique<LinkFollow>(partner, follow, kSettle, LinkFollow::Clock::now());
  last_up_.assign(dp.ports.size(), true);
}

void LinkWatch::poll() {
  const auto now = LinkFollow::Clock::now();
  if (now < next_) return;
  next_ = now + kInterval;
  WorkerCounters& c = dp_.counters[0];  // main-lcore counters live in row 0; no worker writes them
  std::vector<bool> up(dp_.ports.size(), true);
  for (std::size_t i = 0; i < dp_.ports.size(); ++i) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(dp_.ports[i].port_id, &link) != 0) continue;  // unknown: treated as up
    up[i] = link.link_status == RTE_ETH_LINK_UP;
    if (up[i] != last_up_[i] && !follow_->forced_down(static_cast<std::uint16_t>(i))) {
      if (!up[i]) c.link_down++;
      dplog::log(up[i] ? dplog::Priority::notice : dplog::Priority::warning,
                 "port " + dp_.ports[i].cfg.name + ": link " + (up[i] ? "up" : "down"));
    }
    last_up_[i] = up[i];
  }
  for (const LinkFollow::Action& a : follow_->poll(up, now)) {
    PortState& p = dp_.ports[a.port];
    const std::string& cause = dp_.ports[a.cause].cfg.name;
    if (a.act == LinkFollow::Act::take_down) {
      const int rc = rte_eth_dev_set_link_down(p.port_id);
      follow_->done(a, rc == 0, now);
      if (rc == 0) {
        c.link_partner_taken_down++;
        dplog::warning("port " + cause + " lost link: took its partner " + p.cfg.name +
                       " down so the router behind it fails over (link_follow)");
      } else {
        c.link_partner_down_failed++;
        dplog::err("port " + cause + " lost link, but its partner " + p.cfg.name + " cannot be taken down: " +
                   (rc == -ENOTSUP ? "driver " + driver_of(p.port_id) + " does not support it"
                                   : std::string(rte_strerror(-rc))) +
                   "; traffic toward " + p.cfg.name + " is lost until the link returns");
      }
    } else {
      const int rc = rte_eth_dev_set_link_up(p.port_id);
      follow_->done(a, rc == 0, now);
      if (rc == 0) {
        c.link_partner_brought_up++;
        dplog::notice("port " + cause + " has link again: brought its partner " + p.cfg.name + " back up");
      } else {
        dplog::err("port " + cause + " has link again, but its partner " + p.cfg.name +
                   " cannot be brought up: " + rte_strerror(-rc) + " (retrying)");
      }
    }
  }
}

void LinkWatch::restore() {
  for (std::size_t i = 0; i < dp_.ports.size(); ++i) {
    if (follow_->forced_down(static_cast<std::uint16_t>(i))) rte_eth_dev_set_link_up(dp_.ports[i].port_id);
  }
}

}  // namespace sipwall::dataplane
