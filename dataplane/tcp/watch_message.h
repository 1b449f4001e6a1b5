// SIP over TCP, copies of watched calls (docs/export.md): every whole SIP
// message of a watched call, either side, is copied as one TCP segment of
// its own -- the headers of the segment that completed it, its sequence
// number set to the message's first byte, the message as payload (IP length
// and checksums recomputed). A segment may carry messages of other calls and
// a message may span segments: a copy holds exactly one message, which is
// what a HEP packet carries and what a capture of one call may hold.
//
// Called only while a watch is in force (Host::watching()); the host decides
// whether the message's call is watched before anything is built.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/classify/verdict.h"
#include "dataplane/net/packet_decode.h"
#include "dataplane/net/tcp_cut.h"
#include "dataplane/sip/sip_message.h"
#include "dataplane/tcp/path_context.h"
#include "dataplane/tcp/path_state.h"

namespace sipwall::dataplane::tcp {

// The message `bytes` just parsed into x.msg, starting at sequence number
// `seq`, seen in the segment (tmpl, d) that completed it (`bytes` need not
// be in that segment: a message that spans segments is copied from where it
// was put together). `v`: its verdict if it is an INVITE that got one, else
// null. The copy is built in PathState::view, free while a unit is parsed
// and while a core-side segment is handled (core_side.h). Returns the call's
// mark (mask 0: not watched).
template <class Host>
watch::WatchMark watch_copy_message(Ctx<Host>& x, const std::uint8_t* tmpl, const net::DecodedPacket& d,
                                    std::uint32_t seq, std::string_view bytes, const classify::Verdict* v) {
  const watch::WatchMark mark = x.host.watch_mark(x.msg, v);
  if (mark.mask == 0) return mark;
  std::uint8_t* out = x.st.view.get();
  // 0 only for a message too large for one IP packet (near the parser's
  // 64 KiB limit): not copied (docs/export.md).
  const std::size_t len = net::rebuild_tcp_segment(tmpl, d, seq, bytes, false, out, kViewBytes);
  if (len != 0) x.host.watch_copy(mark, out, len, x.in);
  return mark;
}

}  // namespace sipwall::dataplane::tcp
