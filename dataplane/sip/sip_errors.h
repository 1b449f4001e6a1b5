// Why a SIP message was rejected. Every rejection has a named reason; the
// data plane counts parse errors per reason, so keep the list stable and add
// to the end of the X-list when a new reason is needed.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipwall::sip {

#define SIPWALL_SIP_PARSE_ERRORS(X)                                                 \
  X(none, "ok")                                                                     \
  X(empty, "empty message")                                                         \
  X(message_too_large, "message larger than the size limit")                        \
  X(line_too_long, "header line longer than the line limit")                        \
  X(too_many_headers, "more header lines than the header limit")                    \
  X(bad_start_line, "start line is neither a request line nor a status line")       \
  X(bad_method, "method is not a token")                                            \
  X(bad_request_uri, "Request-URI is malformed")                                    \
  X(bad_version, "SIP version is malformed")                                        \
  X(unsupported_version, "SIP version is not 2.0")                                  \
  X(bad_status_code, "status code is not three digits")                             \
  X(bad_header_name, "header name is not a token")                                  \
  X(missing_colon, "header line has no colon")                                      \
  X(fold_without_header, "continuation line before the first header")               \
  X(headers_unterminated, "no empty line ends the headers")                         \
  X(bare_cr, "CR not followed by LF")                                               \
  X(control_character, "control character in a header")                             \
  X(duplicate_single_header, "a single-value header appears more than once")        \
  X(missing_from, "From is missing")                                                \
  X(missing_to, "To is missing")                                                    \
  X(missing_call_id, "Call-ID is missing")                                          \
  X(missing_cseq, "CSeq is missing")                                                \
  X(missing_via, "Via is missing")                                                  \
  X(bad_from, "From is malformed")                                                  \
  X(bad_to, "To is malformed")                                                      \
  X(bad_contact, "Contact is malformed")                                            \
  X(bad_identity_header, "P-Asserted-Identity/Remote-Party-ID/Diversion malformed") \
  X(bad_call_id, "Call-ID is malformed")                                            \
  X(bad_cseq, "CSeq is malformed")                                                  \
  X(cseq_method_mismatch, "CSeq method differs from the request method")            \
  X(bad_via, "Via is malformed")                                                    \
  X(bad_max_forwards, "Max-Forwards is not a number in range")                      \
  X(bad_content_length, "Content-Length is not a number in range")                  \
  X(missing_content_length, "Content-Length is required on a stream")               \
  X(body_truncated, "Content-Length is larger than the data")                       \
  X(bad_uri, "URI is malformed")                                                    \
  X(unterminated_quote, "quoted string is not terminated")                          \
  X(unbalanced_angle, "'<' without '>' (or the reverse)")                           \
  X(bad_escape, "%-escape is not two hex digits")

enum class ParseError : std::uint8_t {
#define SIPWALL_X(name, text) name,
  SIPWALL_SIP_PARSE_ERRORS(SIPWALL_X)
#undef SIPWALL_X
      count_
};

// Stable snake_case name (used in JSON, metrics labels and docs).
std::string_view to_string(ParseError e) noexcept;
// One-line human description.
std::string_view describe(ParseError e) noexcept;

}  // namespace sipwall::sip
