// SIP over TCP, a unit's first phase: its stream framed message by message;
// every whole message classified and its verdict turned into an edit
// (remove it, tag it); what ends the parse (keep-alive CRLFs, an
// incomplete message to hold, bytes that are no message) recorded.
#pragma once

#include <string_view>

#include "dataplane/classify/verdict.h"
#include "dataplane/net/tcp_unit.h"
#include "dataplane/tcp/path_context.h"
#include "dataplane/tcp/watch_message.h"

namespace sipwall::dataplane::tcp {

// What the parse of a unit found.
struct UnitEdits {
  Edit edits[kMaxEdits];
  unsigned n = 0;               // edits
  unsigned messages = 0;        // whole messages parsed
  std::uint32_t hold_from = 0;  // where an incomplete message at the end starts (= the stream's size: none)
  bool unframeable = false;     // the unit does not start with a message: it goes on uninspected
  bool reset = false;           // fail-closed on bytes that cannot be framed: the connection is reset
};

template <class Host>
void add_edit(Ctx<Host>& x, UnitEdits& u, const Edit& e) {
  if (u.n == kMaxEdits) {
    x.c.tcp_verdict_not_applied++;  // more edits in one unit than we apply: goes on as is
    return;
  }
  u.edits[u.n++] = e;
}

// The whole message [mb, me) just parsed into x.msg: classified, copied if
// its call is watched, and its verdict (drop, reject, tag) added as an edit.
// `ls` is the unit's newest segment (its addresses are the message's).
template <class Host>
void judge_message(Ctx<Host>& x, UnitEdits& u, const Seg<typename Host::Packet>& ls, std::string_view msg_bytes,
                   std::uint32_t mb, std::uint32_t me) {
  using rules::ActionKind;
  const net::DecodedPacket& last = ls.d;
  classify::Verdict v;
  const bool decided = x.host.decide(x.msg, last, x.in, v);
  // Copied before the verdict is applied, as it arrived (docs/export.md).
  watch::WatchMark mark;
  if (x.host.watching()) [[unlikely]] {
    const auto seq = static_cast<std::uint32_t>(last.tcp_seq + (mb - ls.begin));  // mod 2^32
    mark = watch_copy_message(x, ls.frame, last, seq, msg_bytes, decided ? &v : nullptr);
  }
  if (!decided) return;
  Edit ed;
  ed.watch = mark;
  ed.se = net::StreamEdit{mb, me, mb, true};
  if (v.action == ActionKind::drop) {
    ed.kind = EditKind::drop;
    add_edit(x, u, ed);
  } else if (v.action == ActionKind::reject) {
    ed.kind = EditKind::reject;
    if (u.n < kMaxEdits) {
      // Built now: the next parse overwrites the message it answers.
      ed.slot = static_cast<std::uint8_t>(u.n);
      ed.reply_len =
          static_cast<std::uint16_t>(x.host.reject_text(v, x.msg, last, x.st.reply[u.n], sizeof x.st.reply[u.n]));
      if (ed.reply_len == 0) {
        x.c.reply_failed++;
        ed.kind = EditKind::drop;  // cannot answer: remove it silently
      }
    }
    add_edit(x, u, ed);
  } else if (v.action == ActionKind::tag) {
    ed.kind = EditKind::tag;
    ed.se.remove = false;
    ed.se.at = static_cast<std::uint32_t>(mb + x.msg.headers_end);
    ed.tag = net::TagSpec{v.tag_line, v.tag_label, v.tag_verstat};
    // Planned now, on the parsed message (the next parse overwrites it);
    // tag_piece() applies the plan to the piece that holds the message.
    if (!net::plan_tag(x.msg, msg_bytes, ed.tag, ed.plan)) {
      x.c.tag_failed++;  // a header line, label or layout we cannot write: goes on untagged
      return;
    }
    add_edit(x, u, ed);
  }
}

// The policy for a malformed message [b, e) whose length is known.
template <class Host>
void malformed_message(Ctx<Host>& x, UnitEdits& u, std::uint32_t b, std::uint32_t e) {
  if (x.closed) {
    x.c.malformed_dropped++;
    Edit ed;
    ed.se = net::StreamEdit{b, e, b, true};
    ed.kind = EditKind::malformed;
    add_edit(x, u, ed);
  } else {
    x.c.malformed_forwarded++;
  }
}

// Phase 1 of a unit: segs[0, n) with their bytes in `stream`, framed by
// net::scan_unit (the framing sipwallctl uses on captures too); every whole
// message classified into an edit, malformed ones handled by the policy.
// `first` is the parse result of the first message when the caller already
// has it in x.msg. `holdable`: an incomplete message at the end may be held.
template <class Host>
void parse_unit(Ctx<Host>& x, const Seg<typename Host::Packet>* segs, std::size_t n, std::string_view stream,
                bool holdable, const sip::ParseError* first, UnitEdits& u) {
  const Seg<typename Host::Packet>& last = segs[n - 1];
  const bool fin = (last.d.tcp_flags & net::kTcpFin) != 0;
  const auto total = static_cast<std::uint32_t>(stream.size());
  struct Visit {
    Ctx<Host>& x;
    UnitEdits& u;
    const Seg<typename Host::Packet>& last;
    std::string_view stream;
    void message(std::uint32_t b, std::uint32_t e) { judge_message(x, u, last, stream.substr(b, e - b), b, e); }
    void malformed(std::uint32_t b, std::uint32_t e, sip::ParseError err) {
      // Framed (a semantic error, e.g. no Call-ID): the policy applies to this message only.
      x.c.parse_errors[static_cast<unsigned>(err)]++;
      x.c.malformed++;
      malformed_message(x, u, b, e);
    }
  } visit{x, u, last, stream};
  const net::UnitScan r = net::scan_unit(stream, segs, n, fin, holdable, x.msg, first, visit);
  u.messages = r.messages;
  u.hold_from = r.hold_from(total);
  x.c.tcp_reassembled_messages += r.spanning;
  if (r.keepalive) x.c.keepalives++;  // CRLFs after the last message (RFC 5626 §3.5.1): they travel on
  switch (r.end) {
    case net::UnitEnd::complete:
    case net::UnitEnd::hold:
      break;
    case net::UnitEnd::partial:
      x.c.tcp_partial++;  // may not be held here (SYN/RST, or an old retransmission): goes on as is
      break;
    case net::UnitEnd::truncated:
      // The connection ends inside this message: it can never complete.
      x.c.malformed++;
      x.c.parse_errors[static_cast<unsigned>(r.error)]++;
      malformed_message(x, u, r.stop, total);
      break;
    case net::UnitEnd::unframed:
      // A parse error before the length was known: nothing after it can be found.
      x.c.parse_errors[static_cast<unsigned>(r.error)]++;
      x.c.malformed++;
      if (x.closed) {
        x.c.malformed_dropped++;
        u.reset = true;
      } else {
        x.c.malformed_forwarded++;
      }
      break;
    case net::UnitEnd::unframeable:
      // The unit does not start with a message (the middle of one whose
      // start was not seen): not a parse error of a message, not counted as one.
      u.unframeable = true;
      break;
  }
  if (u.messages > 1) x.c.tcp_multi_message++;
}

}  // namespace sipwall::dataplane::tcp
