// The text of the SIP response that the `reject` action sends for an INVITE:
// 603 Decline or 608 Rejected (RFC 8688), built from the parsed request into a
// caller buffer. No allocation; the request views are only read.
//
//   SIP/2.0 608 Rejected
//   Via: <every Via value of the request, in order>        RFC 3261 §8.2.6.2
//   From: <as in the request>
//   To: <as in the request>;tag=<derived if it had none>   RFC 3261 §8.2.6.2
//   Call-ID: / CSeq: <as in the request>
//   Reason: SIP;cause=608;text="<rule text>"               RFC 3326
//   Call-Info: <URI>;purpose=jwscard                       RFC 8688 §3.1, 608 only
//   Server: <server>                                       optional
//   Content-Length: 0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipwall::sip {
struct Message;
}

namespace sipwall::net {

struct ResponseParts;

struct SipResponseOptions {
  std::uint16_t code = 603;        // 603 Decline, 608 Rejected (also 403/480/486/603/607)
  std::string_view reason_text;    // Reason text= (quotes/backslashes escaped); empty: the reason phrase
  std::string_view call_info_uri;  // 608: adds Call-Info <URI>;purpose=jwscard when non-empty
  std::string_view server;         // Server: header when non-empty
  std::uint64_t tag_seed = 0;      // mixed into the derived To-tag (per deployment)
  // RFC 3261 §18.2.1 / RFC 3581 on the top Via: when `received` is non-empty
  // (the request's source address, IPv6 without brackets) it is added as
  // ;received= if the sent-by host differs or rport is present, and an empty
  // ;rport gets the value `rport` (the source port). Empty: Via copied verbatim.
  std::string_view received;
  std::uint16_t rport = 0;
  // The options' own lines, rendered once (render_response_parts) from the
  // same code, reason_text, call_info_uri and server: when set, the response
  // copies them instead of validating and escaping those texts again for
  // every request. Null: rendered on each call (same bytes).
  const ResponseParts* parts = nullptr;
};

// The bytes of a response that depend on the options only, not on the
// request: the status line ("SIP/2.0 603 Decline\r\n") and the tail (Reason,
// Call-Info, Server and "Content-Length: 0" lines and the empty line). Views
// into the buffer given to render_response_parts().
struct ResponseParts {
  std::string_view status_line;
  std::string_view tail;
};

// Renders the parts of `o` into out[0, cap) (status line, then tail, back to
// back). False if the code is unknown or cap is too small. Texts are
// sanitised as build_sip_response() does. Call it where the options are
// fixed (a rule set's reject actions are rendered when the set is loaded).
bool render_response_parts(const SipResponseOptions& o, char* out, std::size_t cap, ResponseParts& parts) noexcept;

// Reason phrase for the codes above ("Decline", "Rejected", ...), empty if unknown.
std::string_view reason_phrase(std::uint16_t code) noexcept;

// nullptr if the options are usable, else a message saying what is wrong
// (unknown code, CR/LF/controls in a text, a Call-Info URI that is not a bare
// absolute URI). Call it when the configuration is loaded.
const char* check_response_options(const SipResponseOptions& o) noexcept;

// Writes the response to `req` into out[0, cap). Returns the bytes written, or
// 0 if cap is too small, the code is unknown, or the request lacks a Via, From,
// To, Call-ID or CSeq. Texts that fail check_response_options() are sanitised
// (control characters dropped); a bad Call-Info URI or Server value is omitted.
std::size_t build_sip_response(const sip::Message& req, const SipResponseOptions& o, char* out,
                               std::size_t cap) noexcept;

// The To-tag the response uses when the request had none: 16 hex digits from
// a hash of the seed, Call-ID, From-tag, top Via branch and CSeq number, so a
// retransmitted INVITE gets the same tag (and the same bytes).
void derive_to_tag(const sip::Message& req, std::uint64_t seed, char (&tag)[16]) noexcept;

// The port RFC 3261 §18.2.2 / RFC 3581 would send the response to: the
// packet's source port if the top Via has rport, else the sent-by port, else
// 5060 (5061 for TLS). sipwall itself answers to the packet's source port (see
// docs/packet-handling.md); this is for callers that want the Via rule.
std::uint16_t via_response_port(const sip::Message& req, std::uint16_t source_port) noexcept;

}  // namespace sipwall::net
