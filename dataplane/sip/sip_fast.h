// Internal: fast paths of the field parsers, for header values whose special
// bytes are in a Window (sip_window.h).
//
// Each fast parser follows the grammar of its reference parser in
// sip_fields.cpp / sip_uri.cpp for the shapes real traffic uses, and gives up
// (returns false) on anything else: then the caller resets the output and
// runs the reference parser on the same bytes. So every rejection, its reason
// and its offset come from the reference parsers, and an accepted value must
// come out exactly as the reference parser would give it (checked by a
// differential test over the corpora and by the fuzzer).
//
// On success every field of the output is written (the caller need not
// clear it first); on false it may be partly written, and the caller resets
// it before running the reference parser.
#pragma once

#include "dataplane/sip/sip_message.h"
#include "dataplane/sip/sip_window.h"

namespace sipwall::sip::detail {

// A URI inside < > or the Request-URI (UriCtx::angle): sip, sips, tel.
// Requires w.covers(end).
bool fast_uri(const Window& w, const char* p, const char* end, Uri& out, const char*& stop) noexcept;

// parse_name_addr() for the name-addr form ("display" <uri>;params). The
// addr-spec form is left to the reference parser. Requires w.covers(end).
bool fast_name_addr(const Window& w, const char* p, const char* end, bool list, NameAddr& out,
                    const char*& next) noexcept;

// parse_via() for "SIP/2.0/transport host[:port][;params]". Requires w.covers(end).
bool fast_via(const Window& w, const char* p, const char* end, Via& out) noexcept;

}  // namespace sipwall::sip::detail
