#include "dataplane/app/link_follow.h"

namespace sipwall::dataplane {

LinkFollow::LinkFollow(std::vector<std::uint16_t> partner, std::vector<bool> follow, std::chrono::milliseconds settle,
                       Clock::time_point now)
    : settle_(settle) {
  ports_.resize(partner.size());
  for (std::size_t i = 0; i < partner.size(); ++i) {
    ports_[i].partner = partner[i];
    ports_[i].follow = i < follow.size() && follow[i];
    ports_[i].settle_until = now + settle;
  }
}

std::vector<LinkFollow::Action> LinkFollow::poll(const std::vector<bool>& up, Clock::time_point now) {
  std::vector<Action> out;
  for (std::size_t i = 0; i < ports_.size() && i < up.size(); ++i) {
    Port& p = ports_[i];
    if (!p.follow || p.partner == kNone || p.partner >= ports_.size() || p.forced) continue;
    Port& q = ports_[p.partner];
    const auto me = static_cast<std::uint16_t>(i);
    if (up[i]) {
      p.gave_up = false;
      if (q.forced) out.push_back({Act::bring_up, p.partner, me});
      continue;
    }
    if (now < p.settle_until) continue;  // still coming up
    if (!q.forced && !p.gave_up) out.push_back({Act::take_down, p.partner, me});
  }
  return out;
}

void LinkFollow::done(const Action& a, bool ok, Clock::time_point now) {
  Port& p = ports_[a.port];
  if (a.act == Act::take_down) {
    if (ok)
      p.forced = true;
    else
      ports_[a.cause].gave_up = true;
    return;
  }
  if (ok) {
    p.forced = false;
    p.settle_until = now + settle_;
  }
}

}  // namespace sipwall::dataplane
