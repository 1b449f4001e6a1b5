// Internal: parsers for the header values the filter needs. Each works on a
// [p, end) range of a header value (folded line breaks included) and returns a
// ParseError; none of them allocates. `limit` is the end of the caller's
// buffer (>= end): SIMD loads may look past `end` but never past `limit`.
#pragma once

#include <cstdint>

#include "dataplane/sip/sip_message.h"

namespace sipwall::sip::detail {

Method method_from_text(std::string_view t) noexcept;

// header_id() for a name that is a validated token inside a buffer ending at
// `limit`: the perfect hash of sip_header_hash.h (whole 8-byte words).
HeaderId header_id_token(const char* name, std::size_t len, const char* limit) noexcept;

// Where a URI appears decides what may end it.
enum class UriCtx : std::uint8_t {
  whole,      // parse_uri(): the text is exactly one URI
  angle,      // inside <...> (and the Request-URI): stops at the first byte no URI may hold
  addr_spec,  // a bare addr-spec: ';' starts header params, no uri-params or '?' headers
};

// Parses a URI at p; `stop` is the first byte after it. Does not require
// stop == end; the caller checks what follows. `out` must be default-initialised.
ParseError parse_uri_at(const char* p, const char* end, const char* limit, UriCtx ctx, Uri& out,
                        const char*& stop) noexcept;

// One name-addr or addr-spec with its header parameters. When `list` is true a
// top-level ',' ends the element (Contact, P-Asserted-Identity, Diversion...)
// and `next` is left on that ',' (or `end`); otherwise the element must run to
// `end`. `bad` is the reason reported for grammar errors (bad_from, bad_to...);
// the lexical reasons unterminated_quote, unbalanced_angle and bad_escape are
// reported as themselves. `out` must be default-initialised by the caller.
ParseError parse_name_addr(const char* p, const char* end, const char* limit, bool list, ParseError bad, NameAddr& out,
                           const char*& next) noexcept;

// The first via-parm of a Via header value (sent-protocol, sent-by, params).
ParseError parse_via(const char* p, const char* end, const char* limit, Via& out) noexcept;

// "CSeq: 1*DIGIT LWS Method", number < 2**31 (RFC 3261 §8.1.1.5).
ParseError parse_cseq(const char* p, const char* end, const char* limit, CSeq& out) noexcept;

// 1*DIGIT with value <= max; false if empty, not all digits, or too large.
bool parse_decimal(const char* p, const char* end, std::uint32_t max, std::uint32_t& out) noexcept;

}  // namespace sipwall::sip::detail
