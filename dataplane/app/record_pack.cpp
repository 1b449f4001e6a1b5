#include "dataplane/app/record_pack.h"

#include <cstddef>
#include <cstring>

namespace sipwall::dataplane {

namespace {

// CallRecordWire's text fields in InviteText order.
char* wire_text(protocol::CallRecordWire& r, unsigned i) noexcept {
  switch (i) {
    case kTrunk:
      return r.trunk;
    case kRule:
      return r.rule;
    case kDetector:
      return r.detector;
    case kRulesetVersion:
      return r.ruleset_version;
    case kCaller:
      return r.caller;
    case kCallee:
      return r.callee;
    case kCallerRaw:
      return r.caller_raw;
    case kCalleeRaw:
      return r.callee_raw;
    default:
      return r.call_id;
  }
}

// memcpy for the short texts of a record (at most 64 bytes), inline: two
// overlapping fixed-size moves per size class instead of a call to memcpy
// and its dispatch (nine texts per invite record). Reads only [src, src+n),
// writes only [dst, dst+n).
inline void copy_short(std::uint8_t* dst, const char* src, std::size_t n) noexcept {
  auto move = [&](auto tag) {
    using Block = decltype(tag);
    Block a, b;
    std::memcpy(&a, src, sizeof a);
    std::memcpy(&b, src + n - sizeof b, sizeof b);
    std::memcpy(dst, &a, sizeof a);
    std::memcpy(dst + n - sizeof b, &b, sizeof b);
  };
  struct B32 {
    std::uint64_t w[4];
  };
  struct B16 {
    std::uint64_t w[2];
  };
  if (n >= 32) {
    move(B32{});
  } else if (n >= 16) {
    move(B16{});
  } else if (n >= 8) {
    move(std::uint64_t{});
  } else if (n >= 4) {
    move(std::uint32_t{});
  } else if (n != 0) {
    dst[0] = static_cast<std::uint8_t>(src[0]);
    dst[n / 2] = static_cast<std::uint8_t>(src[n / 2]);
    dst[n - 1] = static_cast<std::uint8_t>(src[n - 1]);
  }
}

static_assert(
    [] {
      for (std::uint8_t m : kInviteTextMax)
        if (m > 64) return false;
      return true;
    }(),
    "copy_short moves at most 64 bytes");

}  // namespace

void pack_texts(std::uint8_t* record, const InviteTexts& t) noexcept {
  auto* head = reinterpret_cast<PackedRecordHead*>(record);
  std::uint8_t* at = record + kRecordUnit;
  for (unsigned i = 0; i < kInviteTextCount; ++i) {
    const std::size_t n = t.text[i].size();
    head->invite.text_len[i] = static_cast<std::uint8_t>(n);
    copy_short(at, t.text[i].data(), n);
    at += n;
  }
}

const char* unpack_record(const std::uint8_t* record, unsigned available, protocol::CallRecordWire& out,
                          unsigned& units) noexcept {
  if (available == 0) return "no unit";
  PackedRecordHead h;
  std::memcpy(&h, record, sizeof h);
  if (h.units == 0 || h.units > kMaxRecordUnits) return "unit count outside 1..kMaxRecordUnits";
  if (h.units > available) return "record longer than the units at hand";
  std::memset(&out, 0, sizeof out);
  out.call_hash = h.call_hash;
  out.start_ms = h.start_ms;
  out.time_ns = h.tsc;
  out.kind = h.kind;
  out.worker = h.worker;
  if (h.kind == static_cast<std::uint8_t>(protocol::CallRecordKind::outcome)) {
    if (h.units != 1) return "an outcome record of more than one unit";
    out.end = h.outcome.end;
    out.final_code = h.outcome.final_code;
    out.seen = h.outcome.seen;
    out.ring_ms = h.outcome.ring_ms;
    out.answer_ms = h.outcome.answer_ms;
    out.talk_ms = h.outcome.talk_ms;
    out.duration_ms = h.outcome.duration_ms;
  } else if (h.kind == static_cast<std::uint8_t>(protocol::CallRecordKind::invite)) {
    const PackedInviteFacts& f = h.invite;
    out.in_port = f.in_port;
    out.ip_version = f.ip_version;
    out.transport = f.transport;
    out.action = f.action;
    out.detector_level = f.detector_level;
    out.src_port = f.src_port;
    out.reject_code = f.reject_code;
    std::memcpy(out.src, f.src, sizeof out.src);
    unsigned bytes = 0;
    for (unsigned i = 0; i < kInviteTextCount; ++i) {
      if (f.text_len[i] > kInviteTextMax[i]) return "a text longer than its field";
      bytes += f.text_len[i];
    }
    if (1 + (bytes + kRecordUnit - 1) / kRecordUnit != h.units) return "texts disagree with the unit count";
    const std::uint8_t* at = record + kRecordUnit;
    for (unsigned i = 0; i < kInviteTextCount; ++i) {
      std::memcpy(wire_text(out, i), at, f.text_len[i]);  // the rest stays NUL
      at += f.text_len[i];
    }
  } else {
    return "unknown record kind";
  }
  units = h.units;
  return nullptr;
}

void copy_units(const RingUnits& to, const std::uint8_t* from) noexcept {
  std::memcpy(to.ptr1, from, std::size_t{to.n1} * kRecordUnit);
  if (to.n1 != to.n)
    std::memcpy(to.ptr2, from + std::size_t{to.n1} * kRecordUnit, std::size_t{to.n - to.n1} * kRecordUnit);
}

unsigned unpack_units(const RingUnits& from, unsigned max_records, std::uint8_t* out, unsigned& used,
                      std::uint64_t& unreadable) noexcept {
  used = 0;
  unsigned records = 0;
  alignas(64) std::uint8_t joined[kMaxRecordUnits * kRecordUnit];
  while (used < from.n && records < max_records) {
    const bool first_part = used < from.n1;
    const std::uint8_t* head = first_part ? from.ptr1 + std::size_t{used} * kRecordUnit
                                          : from.ptr2 + std::size_t{used - from.n1} * kRecordUnit;
    const unsigned units = head[offsetof(PackedRecordHead, units)];
    if (units == 0 || units > kMaxRecordUnits || used + units > from.n) {
      // The ring holds whole records (one bulk enqueue each), so this is a
      // unit count no worker wrote: nothing after it can be framed.
      unreadable += from.n - used;
      used = from.n;
      break;
    }
    if (first_part && used + units > from.n1) {  // across the ring's end: put back together
      const unsigned before = from.n1 - used;
      std::memcpy(joined, head, std::size_t{before} * kRecordUnit);
      std::memcpy(joined + std::size_t{before} * kRecordUnit, from.ptr2, std::size_t{units - before} * kRecordUnit);
      head = joined;
    }
    protocol::CallRecordWire r;
    unsigned taken = 0;
    used += units;
    if (unpack_record(head, units, r, taken) != nullptr) {
      unreadable += units;
      continue;
    }
    std::memcpy(out + std::size_t{records} * sizeof r, &r, sizeof r);
    ++records;
  }
  return records;
}

}  // namespace sipwall::dataplane
