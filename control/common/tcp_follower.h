// SIP over TCP in a capture, followed as the data plane follows it
// (docs/packet-handling.md §6.6-6.8): every direction of a connection is a
// client->server flow; a segment with payload is inspected as a unit (alone,
// or with the segments its flow holds), framed by net::scan_unit; an
// incomplete message at the end is held in a net::TcpHoldTable with the data
// plane's bounds; the next segment of a holding flow is placed by
// net::plan_held_arrival. What the data plane does with packets (cutting,
// editing, sending) is left out: it does not change what is inspected.
//
// Differences, by design: the data plane inspects only its trunk side, this
// every direction on a SIP port; this assumes mbufs never run out. Time is
// the capture's: the caller runs expire() every 100 ms of it, as the data
// plane's housekeeping does.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "control/common/sip_input.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tcp_reassembly.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::control {

class TcpFollower {
 public:
  // `origin_base` + "#" + frame number names a payload's origin.
  TcpFollower(std::string origin_base, const net::TcpHoldConfig& hold, std::uint64_t timeout_us, InputStats& stats,
              const std::function<void(const SipPayload&)>& sink);
  ~TcpFollower();
  TcpFollower(const TcpFollower&) = delete;
  TcpFollower& operator=(const TcpFollower&) = delete;

  // A TCP segment on a SIP port (decoded, not a fragment) of frame `frame`
  // at `now_us`; `payload` is its payload.
  void segment(std::uint64_t frame, std::uint64_t now_us, const net::DecodedPacket& d, std::string_view payload);
  // Gives up flows held since `timeout_us` or more before `now_us`.
  void expire(std::uint64_t now_us);
  // End of input: what is still held is reported as never completed.
  void finish();

 private:
  struct Seg {
    std::uint64_t frame = 0;
    net::DecodedPacket d;  // its headers; d.tcp_seq is the seq of bytes[0]
    std::string bytes;
  };
  using Segs = std::vector<std::unique_ptr<Seg>>;
  // When a flow started holding, and its key: the flows to give up, oldest
  // first, without walking the whole table on every check.
  struct Since {
    std::uint64_t since = 0;
    std::array<std::uint8_t, 16> src{}, dst{};
    std::uint16_t sport = 0, dport = 0;
    bool operator<(const Since& o) const noexcept {
      return std::tie(since, src, dst, sport, dport) < std::tie(o.since, o.src, o.dst, o.sport, o.dport);
    }
  };
  static Since since_of(const net::TcpHoldFlow& f) noexcept { return {f.since, f.src, f.dst, f.sport, f.dport}; }

  void client_segment(std::unique_ptr<Seg> s, bool holdable);
  void held_flow_segment(net::TcpHoldFlow* f, std::unique_ptr<Seg> s);
  void process_unit(Segs& segs, const std::string& stream, bool holdable, const sip::ParseError* first);
  void hold_new(Segs& pieces);
  Segs take_held(net::TcpHoldFlow* f);
  void give_up(Segs& segs, NotInspected why);
  void emit(const Segs& segs, const std::string& stream, std::uint32_t b, std::uint32_t e, std::size_t index,
            NotInspected why, bool unframed);

  std::string origin_base_;
  net::TcpHoldTable hold_;
  std::set<Since> ages_;
  std::uint64_t timeout_us_;
  std::uint64_t now_ = 0;
  InputStats& stats_;
  std::function<void(const SipPayload&)> sink_;  // a copy: callers may pass a temporary
  std::unique_ptr<sip::Message> msg_;            // large: on the heap
};

}  // namespace sipwall::control
