// SIP over TCP, a unit's first phase: its stream parsed message by message;
// every whole message classified and its verdict turned into an edit
// (remove it, tag it); what ends the parse (keep-alive CRLFs, an
// incomplete message to hold, bytes that are no message) recorded.
#pragma once

#include <string_view>

#include "dataplane/classify/verdict.h"
#include "dataplane/tcp/path_context.h"

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

// A parse error in the first line: these bytes are not the start of a SIP
// message at all (the middle of one whose start we did not see).
inline bool error_in_start_line(std::string_view buf, std::size_t error_offset) {
  std::size_t i = 0;
  while (i < buf.size() && (buf[i] == '\r' || buf[i] == '\n')) ++i;
  const std::size_t nl = buf.find('\n', i);
  return nl == std::string_view::npos || error_offset <= nl;
}

template <class Packet>
bool spans_segments(const Seg<Packet>* segs, std::size_t n, std::uint32_t b, std::uint32_t e) {
  for (std::size_t i = 0; i < n; ++i) {
    if (segs[i].begin <= b && b < segs[i].end) return e > segs[i].end;
  }
  return false;
}

template <class Host>
void add_edit(Ctx<Host>& x, UnitEdits& u, const Edit& e) {
  if (u.n == kMaxEdits) {
    x.c.tcp_verdict_not_applied++;  // more edits in one unit than we apply: goes on as is
    return;
  }
  u.edits[u.n++] = e;
}

// The whole message [mb, me) just parsed into x.msg: classified, and its
// verdict (drop, reject, tag) added as an edit. `last` is the unit's newest
// segment (its addresses are the message's).
template <class Host>
void judge_message(Ctx<Host>& x, UnitEdits& u, const net::DecodedPacket& last, std::string_view msg_bytes,
                   std::uint32_t mb, std::uint32_t me) {
  using rules::ActionKind;
  classify::Verdict v;
  if (!x.host.decide(x.msg, last, x.in, v)) return;
  Edit ed;
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

// The stream ends inside the message at `off` (headers or body short).
template <class Host>
void incomplete_message(Ctx<Host>& x, UnitEdits& u, sip::ParseError e, std::uint32_t off, std::uint32_t total, bool fin,
                        bool holdable) {
  if (fin) {
    // The connection ends inside this message: it can never complete.
    x.c.malformed++;
    x.c.parse_errors[static_cast<unsigned>(e)]++;
    malformed_message(x, u, off, total);
  } else if (!holdable) {
    x.c.tcp_partial++;  // may not be held here (SYN/RST, or an old retransmission): goes on as is
  } else {
    u.hold_from = off;
  }
}

// A parse error other than "incomplete" for the bytes `rest` at `off`.
// True if the parse goes on after it (`off` moved past a framed message).
template <class Host>
bool parse_error(Ctx<Host>& x, UnitEdits& u, sip::ParseError e, std::string_view rest, std::uint32_t& off) {
  const sip::Message& msg = x.msg;
  // A framed message (semantic error: length known) is a message; an error
  // in the first line at the start of the unit means these bytes are not
  // the start of one (not a parse error of a message: not counted as one).
  if (off == 0 && msg.length == 0 && error_in_start_line(rest, msg.error_offset)) {
    u.unframeable = true;
    return false;
  }
  x.c.parse_errors[static_cast<unsigned>(e)]++;
  x.c.malformed++;
  if (msg.length > 0 && msg.length <= rest.size()) {
    // Framed (a semantic error, e.g. no Call-ID): the policy applies to this message only.
    const auto end = static_cast<std::uint32_t>(off + msg.length);
    malformed_message(x, u, off, end);
    off = end;
    return true;
  }
  // Unframed: nothing after it can be found.
  if (x.closed) {
    x.c.malformed_dropped++;
    u.reset = true;
  } else {
    x.c.malformed_forwarded++;
  }
  return false;
}

// Phase 1 of a unit: segs[0, n) with their bytes in `stream`. `first` is the
// parse result of the first message when the caller already has it in
// x.msg. `holdable`: an incomplete message at the end may be held.
template <class Host>
void parse_unit(Ctx<Host>& x, const Seg<typename Host::Packet>* segs, std::size_t n, std::string_view stream,
                bool holdable, const sip::ParseError* first, UnitEdits& u) {
  const net::DecodedPacket& last = segs[n - 1].d;
  const bool fin = (last.tcp_flags & net::kTcpFin) != 0;
  const auto total = static_cast<std::uint32_t>(stream.size());
  u.hold_from = total;
  std::uint32_t off = 0;
  while (off < total) {
    const std::string_view rest = stream.substr(off);
    const sip::ParseError e = (off == 0 && first) ? *first : sip::parse_message(rest, x.msg, sip::Transport::stream);
    if (e == sip::ParseError::empty) {
      // The rest is CRLFs: a keep-alive (RFC 5626 §3.5.1); it travels on.
      x.c.keepalives++;
      break;
    }
    if (e == sip::ParseError::none) {
      ++u.messages;
      const auto me = static_cast<std::uint32_t>(off + x.msg.length);
      if (n > 1 && spans_segments(segs, n, off, me)) x.c.tcp_reassembled_messages++;
      judge_message(x, u, last, rest.substr(0, x.msg.length), off, me);
      if (x.msg.length == 0) break;
      off = me;
      continue;
    }
    if (e == sip::ParseError::headers_unterminated || e == sip::ParseError::body_truncated) {
      incomplete_message(x, u, e, off, total, fin, holdable);
      break;
    }
    if (!parse_error(x, u, e, rest, off)) break;
  }
  if (u.messages > 1) x.c.tcp_multi_message++;
}

}  // namespace sipwall::dataplane::tcp
