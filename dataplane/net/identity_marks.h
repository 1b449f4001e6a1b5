// The `tag` action's edits of one SIP message, planned before any byte is
// written (docs/rules.md "tag", docs/packet-handling.md "tag"):
//
//  * the risk header line, inserted before the empty line that ends the headers;
//  * a label in front of the display name of From and of every
//    P-Asserted-Identity value the parser kept: "Alice" <sip:a@h> becomes
//    "[骚扰] Alice" <sip:a@h>; Alice <sip:a@h> becomes "[骚扰] Alice" <sip:a@h>;
//    <sip:a@h> becomes "[骚扰]" <sip:a@h>; the addr-spec sip:a@h;tag=1 becomes
//    "[骚扰]" <sip:a@h>;tag=1 (its ';' parameters are header parameters, RFC
//    3261 §20.10, so they stay outside the brackets); a display name that
//    already starts with the label is left as it is;
//  * a verstat parameter in the same URIs (3GPP TS 24.229 §7.2A.20: a tel URI
//    parameter, so in the user part of a SIP URI whose user is a telephone
//    number: <sip:+8613800138000;verstat=No-TN-Validation@h;user=phone>; at
//    the end of a tel URI; a SIP URI parameter otherwise); an existing verstat
//    (either place) gets the new value instead. An addr-spec given a verstat
//    is put in brackets (a URI with ';' must be, RFC 3261 §20).
//
// A plan is a short sorted list of insertions/replacements at offsets of the
// message; the UDP path applies them in place (tag_insert.h), the TCP path
// renders the span they cover into one replacement for SeqAdjTable::edit().
// Nothing allocates; the plan refers to the spec's strings, not the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/sip/sip_message.h"

namespace sipwall::net {

// What one tag verdict writes (views into the rule set; label/verstat may be empty).
struct TagSpec {
  std::string_view line;     // "X-Sipwall-Risk: score=70; rule=r1" (no terminator)
  std::string_view label;    // "[骚扰]", or empty: no label
  std::string_view verstat;  // "No-TN-Validation", or empty: no verstat
};

// The bytes one mark inserts (L = the label, V = the verstat value).
enum class MarkKind : std::uint8_t {
  header_crlf,            // line CRLF, at the empty line
  header_lf,              // line LF (the message ends its lines with bare LF)
  label_in_quotes,        // L ' '          after the opening quote of a non-empty quoted name
  label_in_empty_quotes,  // L              inside ""
  label_open_token,       // '"' L ' '      before a token display name
  close_quote,            // '"'            after it
  label_before_angle,     // '"' L '"' ' '  at the '<' of a name-addr without display name
  label_open_addr_spec,   // '"' L '"' ' <' before an addr-spec URI
  open_angle,             // '<'            before an addr-spec URI given a verstat but no label
  close_angle,            // '>'            after an addr-spec URI
  verstat_param,          // ";verstat=" V
  verstat_value,          // V              replacing an existing verstat's value
  verstat_assign,         // '=' V          after an existing verstat without a value
};

struct Mark {
  std::uint32_t at = 0;      // offset in the message (its first byte = 0)
  std::uint32_t remove = 0;  // bytes replaced (verstat_value), else 0
  MarkKind kind = MarkKind::header_crlf;
};

// The header line, and up to 3 marks for From and for each kept P-Asserted-Identity value.
inline constexpr std::size_t kMaxMarks = 1 + 3 * (1 + sip::kMaxIdentities);
inline constexpr std::size_t kMaxMarkLabel = 64;    // bytes (rules::kMaxTagLabelBytes)
inline constexpr std::size_t kMaxMarkVerstat = 32;  // bytes ("TN-Validation-Failed" is 20)
inline constexpr std::size_t kMaxMarkLine = 1024;   // bytes (valid_header_line)

struct TagPlan {
  Mark marks[kMaxMarks];
  unsigned n = 0;
  std::uint32_t header_at = 0;  // offset of the empty line (where the header line goes)
  std::uint32_t labels = 0;     // display names labelled
  std::uint32_t verstats = 0;   // URIs given a verstat (added or replaced)

  // Bytes the marks add (may be negative: a replaced verstat was longer).
  std::int64_t growth(const TagSpec& spec) const noexcept;
  // The most the message is longer than at first while the marks are applied
  // one by one from the last to the first (what the buffer must hold).
  std::int64_t peak_growth(const TagSpec& spec) const noexcept;
};

// True if `label` / `verstat` can be written as marks: the label is 1..64
// bytes without control bytes, '"' or '\' (the loader also requires UTF-8
// and no edge spaces); verstat is 1..32 letters, digits and '-'.
bool valid_mark_label(std::string_view label) noexcept;
bool valid_mark_verstat(std::string_view verstat) noexcept;

// Plans `spec` for `msg`, which parse_message() filled from the start of
// `bytes`. False (plan unusable) if the header line, label or verstat is not
// writable, a view of msg lies outside `bytes`, headers_end is not the empty
// line, or the marks would overlap.
bool plan_tag(const sip::Message& msg, std::string_view bytes, const TagSpec& spec, TagPlan& plan) noexcept;

// Bytes mark `m` inserts, and writes them to out (which holds mark_size()).
std::size_t mark_size(const Mark& m, const TagSpec& spec) noexcept;
std::size_t write_mark(const Mark& m, const TagSpec& spec, char* out) noexcept;

// Writes into out[0, cap) the bytes the marks first..last span, with the
// marks applied: the message's byte k is bytes[shift + k] (shift < 0: the
// message starts before `bytes`, e.g. in an earlier TCP segment). Returns the
// length, or 0 if it does not fit cap or the span is not inside `bytes`.
std::size_t render_marks(std::string_view bytes, std::int64_t shift, const TagPlan& plan, unsigned first, unsigned last,
                         const TagSpec& spec, char* out, std::size_t cap) noexcept;

}  // namespace sipwall::net
