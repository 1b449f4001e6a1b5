#include "dataplane/offload/flow_translate.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipwall::offload {
namespace {

constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

std::string addr_text(const std::uint8_t* a, bool v4) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, sizeof buf);
  return buf;
}

// Do the first `len` bits of `a` and `b` agree?
bool same_bits(const std::uint8_t* a, const std::uint8_t* b, unsigned len) {
  for (unsigned bit = 0; bit < len; ++bit) {
    const std::uint8_t m = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    if ((a[bit / 8] & m) != (b[bit / 8] & m)) return false;
  }
  return true;
}

void one_deny(const DenyInput& e, bool v4, unsigned len, std::uint8_t l4, std::vector<FlowSpec>& out) {
  FlowSpec f;
  f.kind = FlowKind::deny;
  f.attr.priority = kDenyPriority;
  f.deny_entry = e.entry;
  f.deny_id = e.id;
  f.add_eth();
  if (e.vlan >= 0) f.add_vlan(static_cast<std::uint16_t>(e.vlan));
  if (v4)
    f.add_ipv4_src(e.addr + 12, len);
  else
    f.add_ipv6_src(e.addr, len);
  if (l4) f.add_l4(l4, -1, e.port);
  f.add_count();
  f.add_drop();
  f.finish();
  f.description = "deny " + e.id + ": " + (v4 ? "ipv4 src " : "ipv6 src ") + addr_text(e.addr, v4) + "/" +
                  std::to_string(len) + (e.vlan >= 0 ? " vlan " + std::to_string(e.vlan) : "") +
                  (l4 ? std::string(l4 == 17 ? " udp" : " tcp") + " dst " + std::to_string(e.port) : "") +
                  " -> count, drop";
  out.push_back(std::move(f));
}

void per_l4(const DenyInput& e, bool v4, unsigned len, std::vector<FlowSpec>& out) {
  if (e.port < 0) {
    one_deny(e, v4, len, 0, out);
  } else {
    one_deny(e, v4, len, 17, out);
    one_deny(e, v4, len, 6, out);
  }
}

}  // namespace

std::vector<FlowSpec> steering_flows(const SteeringInput& in) {
  std::vector<FlowSpec> out;
  std::vector<std::uint16_t> queues;
  for (std::uint16_t q = 0; q < in.queues; ++q) queues.push_back(q);
  auto add = [&](std::uint8_t proto, std::uint16_t port) {
    for (int v = 0; v < 2; ++v) {
      for (int side = 0; side < 2; ++side) {  // 0: destination port, 1: source port
        FlowSpec f;
        f.kind = FlowKind::steer;
        f.attr.priority = kSteerPriority;
        f.add_eth();
        if (v == 0)
          f.add_ipv4_any();
        else
          f.add_ipv6_any();
        f.add_l4(proto, side ? port : -1, side ? -1 : port);
        if (in.queues > 1)
          f.add_rss(queues, in.rss_types, in.rss_key);
        else
          f.add_queue(0);
        f.finish();
        f.description = std::string("steer ") + (v == 0 ? "ipv4 " : "ipv6 ") + (proto == 17 ? "udp " : "tcp ") +
                        (side ? "src " : "dst ") + std::to_string(port) + " -> " +
                        (in.queues > 1 ? "rss " + std::to_string(in.queues) + " queues" : "queue 0");
        out.push_back(std::move(f));
      }
    }
  };
  for (std::uint16_t p : in.udp_ports) add(17, p);
  for (std::uint16_t p : in.tcp_ports) add(6, p);
  return out;
}

void deny_flows_for(const DenyInput& e, std::vector<FlowSpec>& out) {
  const unsigned len = e.prefix_len > 128 ? 128 : e.prefix_len;
  if (e.is_ipv4) {
    per_l4(e, true, len >= 96 ? len - 96 : 0, out);
    return;
  }
  per_l4(e, false, len, out);
  // The part of ::ffff:0:0/96 the prefix covers, as an IPv4 rule.
  if (len <= 96) {
    if (same_bits(e.addr, kMapped, len)) per_l4(e, true, 0, out);
  } else if (std::memcmp(e.addr, kMapped, 12) == 0) {
    per_l4(e, true, len - 96, out);
  }
}

std::vector<FlowSpec> deny_flows(const std::vector<DenyInput>& entries) {
  std::vector<FlowSpec> out;
  for (const DenyInput& e : entries) deny_flows_for(e, out);
  return out;
}

}  // namespace sipwall::offload
