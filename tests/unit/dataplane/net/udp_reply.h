// A whole UDP reply frame built the way the data plane builds one
// (dataplane/app/worker.cpp): begin_udp_reply writes the headers, the
// payload goes at payload_offset, finish_reply fills lengths and checksums.
// For the tests, the fuzz target and the benchmark of the reply path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "dataplane/net/packet_decode.h"
#include "dataplane/net/reply_frame.h"

namespace nettest {

inline sipwall::net::ReplyLayout udp_reply(const std::uint8_t* req, const sipwall::net::DecodedPacket& pkt,
                                           std::string_view payload, std::uint8_t* out, std::size_t cap,
                                           const sipwall::net::ReplyOptions& o) {
  sipwall::net::ReplyLayout lay = sipwall::net::begin_udp_reply(req, pkt, out, cap, o);
  if (lay.result != sipwall::net::ReplyResult::ok) return lay;
  // What does not fit is not written; finish_reply then says no_room.
  if (payload.size() <= cap - lay.payload_offset) std::memcpy(out + lay.payload_offset, payload.data(), payload.size());
  return sipwall::net::finish_reply(out, lay, payload.size(), cap, o);
}

}  // namespace nettest
