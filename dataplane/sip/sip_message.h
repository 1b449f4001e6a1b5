// The parsed view of one SIP message. Every std::string_view points into the
// caller's buffer: nothing is copied, nothing is allocated, and the views are
// valid only while that buffer is. See docs/sip-parser.md for the limits and
// for what is accepted liberally.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/sip/sip_errors.h"
#include "dataplane/sip/sip_uri.h"

namespace sipwall::sip {

// Explicit limits (documented in docs/sip-parser.md). A message that exceeds
// one is rejected with the matching ParseError, never truncated silently.
inline constexpr std::size_t kMaxMessageSize = 65535;  // bytes, start line to end of body
inline constexpr std::size_t kMaxLineLength = 8192;    // bytes in one (unfolded) header line
inline constexpr std::size_t kMaxHeaders = 96;         // header field lines
inline constexpr std::size_t kMaxIdentities = 4;       // P-Asserted-Identity values kept
inline constexpr std::size_t kMaxDiversions = 4;       // Diversion / History-Info values kept

enum class Method : std::uint8_t {
  unknown,
  invite,
  ack,
  bye,
  cancel,
  options,
  register_,
  prack,
  subscribe,
  notify,
  publish,
  info,
  refer,
  message,
  update,
};
std::string_view to_string(Method m) noexcept;

// Headers the parser knows by name (long and compact forms). Everything else
// is HeaderId::other and still reachable through Message::header(name).
enum class HeaderId : std::uint8_t {
  other,
  via,
  from,
  to,
  call_id,
  cseq,
  contact,
  max_forwards,
  content_length,
  content_type,
  content_encoding,
  subject,
  supported,
  event,
  refer_to,
  allow_events,
  referred_by,
  session_expires,
  identity,
  accept_contact,
  reject_contact,
  request_disposition,
  p_asserted_identity,
  remote_party_id,
  diversion,
  history_info,
  user_agent,
  route,
  record_route,
  require,
  proxy_require,
  expires,
  count_,
};
std::string_view to_string(HeaderId id) noexcept;
// The value of header parameter `name` (case-insensitive) in `params` (as
// NameAddr::params: "a=1;b;c=x", no leading ';'); found = false if absent.
std::string_view header_param(std::string_view params, std::string_view name, bool& found) noexcept;
// Resolves a header name (case-insensitive, compact forms included) to its id.
HeaderId header_id(std::string_view name) noexcept;

struct Header {
  std::string_view name;   // as written, without surrounding whitespace
  std::string_view value;  // trimmed; may contain folded line breaks (CRLF + WSP), read them as LWS
  HeaderId id = HeaderId::other;
};

// name-addr ("Display" <uri>;params) or addr-spec (uri;params).
struct NameAddr {
  std::string_view display_name;  // without the quotes; quoted-pair escapes left as written
  bool display_quoted = false;
  std::string_view uri_text;  // what was between < > (or the bare addr-spec)
  Uri uri;
  std::string_view params;  // header parameters after the URI, without the first ';'
  std::string_view tag;     // value of the tag parameter, empty if none
  bool present = false;
};

struct Via {
  std::string_view transport;  // UDP, TCP, TLS, SCTP, ... as written
  std::string_view host;       // sent-by host (IPv6 references keep their brackets)
  std::uint16_t port = 0;      // 0 when absent
  std::string_view branch;
  std::string_view params;  // everything after the sent-by, without the first ';'
  std::string_view text;    // the whole first via-parm as written
  bool present = false;
};

struct CSeq {
  std::uint32_t number = 0;
  std::string_view method;
  bool present = false;
};

struct Message {
  // Start line.
  bool is_request = false;
  Method method = Method::unknown;
  std::string_view method_text;  // request method, or for responses empty
  std::string_view request_uri_text;
  Uri request_uri;
  std::uint16_t status_code = 0;   // responses only
  std::string_view reason_phrase;  // responses only
  std::string_view start_line;     // whole first line without CRLF

  // Every header line, in order.
  Header headers[kMaxHeaders];
  std::uint16_t header_count = 0;

  // The fields a filter needs, parsed.
  NameAddr from;
  NameAddr to;
  NameAddr contact;              // first Contact value ('*' leaves uri empty)
  NameAddr pai[kMaxIdentities];  // every P-Asserted-Identity value, in order
  std::uint8_t pai_count = 0;
  // The calling party's Remote-Party-ID (draft-ietf-sip-privacy-04: name-addr
  // ;party=calling;screen=yes|no;privacy=off|full|name|uri): the first value
  // whose party parameter is "calling" or absent; values for the called
  // party (party=called) are validated and skipped. rpid_screen and
  // rpid_privacy are that value's parameters (empty when absent).
  NameAddr remote_party_id;
  std::string_view rpid_screen;
  std::string_view rpid_privacy;
  NameAddr diversion[kMaxDiversions];  // Diversion values, or History-Info entries if none
  std::uint8_t diversion_count = 0;
  std::string_view call_id;
  CSeq cseq;
  Via via;  // top-most Via value
  std::string_view user_agent;
  std::string_view identity;
  std::string_view content_type;
  std::uint32_t max_forwards = 0;
  bool has_max_forwards = false;
  std::uint32_t content_length = 0;
  bool has_content_length = false;
  // Set by a Depth::verdict parse: via, contact and max_forwards (and
  // has_max_forwards) are not filled until parse_deferred() has run.
  bool deferred = false;
  // Internal to parse_top_via(): the top Via's index in headers[], and the
  // special-byte masks the line loop had at hand for its value, so that a
  // response neither looks for it nor classifies it again (base is null
  // where the line went through the general steps).
  std::uint8_t top_via_line = 0;
  struct ValueMasks {
    const char* base = nullptr;
    std::uint64_t bits[2] = {0, 0};
  };
  ValueMasks via_masks;
  bool pai_overflow = false;                 // more P-Asserted-Identity values than kMaxIdentities
  bool diversion_overflow = false;           // more Diversion/History-Info values than kMaxDiversions
  bool diversion_from_history_info = false;  // diversion[] holds History-Info entries

  // Framing, as offsets into the buffer handed to parse_message().
  std::size_t headers_end = 0;  // offset of the empty line that ends the headers
  std::size_t body_offset = 0;  // first byte of the body
  std::string_view body;
  std::size_t length = 0;  // bytes this message occupies (start line to end of body)
                           // plus any CRLFs skipped before the start line

  // On failure: offset in the buffer where the parser found the problem (the
  // start of the offending line, header or value). 0 on success.
  std::size_t error_offset = 0;

  // First value of a header by name, compact forms included; empty if absent.
  std::string_view header(std::string_view name) const noexcept;
  // First header with this id, or nullptr.
  const Header* find(HeaderId id) const noexcept;
  // Next header with this id after `after` (which must point into headers[]),
  // or nullptr. Walks repeated headers: for (h = find(id); h; h = find_next(id, h)).
  const Header* find_next(HeaderId id, const Header* after) const noexcept;
};

enum class Transport : std::uint8_t {
  datagram,  // UDP: no Content-Length means "the rest of the datagram"; trailing bytes allowed
  stream,    // TCP/TLS: Content-Length is mandatory and frames the message
};

// How much of a message parse_message() parses (docs/sip-parser.md, "Parse
// depth").
enum class Depth : std::uint8_t {
  full,  // every field of Message
  // What a verdict needs: the lines of Via, Contact and Max-Forwards are
  // found, checked as lines and entered in headers[] (a message without a
  // Via is still refused), but their values are parsed only by
  // parse_deferred(), which a caller runs before it builds a reply.
  verdict,
};

// Parses one SIP message from the start of `buf`. On success returns
// ParseError::none and fills `out`; out.length tells how many bytes the message
// used (a stream may hold more messages after it). Never reads outside `buf`.
// CRLFs before the start line are skipped (keep-alives); a buffer holding only
// CRLFs returns ParseError::empty with out.length = their count. On a stream,
// headers_unterminated and body_truncated mean "incomplete so far". The
// semantic checks that run after framing (missing_*, cseq_method_mismatch)
// leave out.length set, so a stream reader can skip the message.
ParseError parse_message(std::string_view buf, Message& out, Transport transport = Transport::datagram,
                         Depth depth = Depth::full) noexcept;

// Parses what a Depth::verdict parse of `buf` left (see Message::deferred)
// from the header entries, with the same checks and the same result as a
// Depth::full parse: if that would have failed on one of these values,
// this returns its error and error offset and `out` is cleared as a failed
// parse leaves it. Does nothing for a message that was parsed in full.
ParseError parse_deferred(std::string_view buf, Message& out) noexcept;

// Parses only the top Via of a Depth::verdict parse of `buf`: what a
// response copies. The same result as in a full parse (a malformed top Via
// gives its error and offset, and `out` is cleared); Contact and
// Max-Forwards stay unparsed (`deferred` stays set; parse_deferred() does
// the rest). Does nothing when the top Via is already parsed.
ParseError parse_top_via(std::string_view buf, Message& out) noexcept;

// Parses one name-addr or addr-spec with header parameters (the value of a
// From/To-like header that is not among the fields above, e.g. Referred-By).
// Views point into `value`. Returns bad_uri for grammar errors, or
// unterminated_quote / unbalanced_angle / bad_escape.
ParseError parse_name_addr(std::string_view value, NameAddr& out) noexcept;

}  // namespace sipwall::sip
