// One INVITE for the rule-set fuzzers to classify with whatever set they
// managed to load: every number field, a display name, a User-Agent and a
// custom header, so atoms of every kind have something to look at.
#pragma once

#include <string>

#include "dataplane/classify/packet_source.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::fuzz {

struct FixedInvite {
  std::string text =
      "INVITE sip:+8613800138000@core.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.1.0.5:5060;branch=z9hG4bK776asdhds\r\n"
      "Max-Forwards: 70\r\n"
      "From: \"Robo Caller\" <sip:013900139000@peer.example.com>;tag=a1\r\n"
      "To: <sip:+8613800138000@core.example.com>\r\n"
      "P-Asserted-Identity: <sip:+8618600186000@peer.example.com>\r\n"
      "Diversion: <sip:+8613700137000@peer.example.com>;reason=unconditional\r\n"
      "Call-ID: fuzz-1@10.1.0.5\r\n"
      "CSeq: 1 INVITE\r\n"
      "Contact: <sip:caller@10.1.0.5>\r\n"
      "User-Agent: friendly-scanner 1.0\r\n"
      "X-Campaign: robo-42\r\n"
      "Content-Length: 0\r\n\r\n";
  sip::Message msg;
  classify::PacketSource src;
  bool ok = false;

  FixedInvite() {
    ok = sip::parse_message(text, msg) == sip::ParseError::none;
    classify::IpFamily f;
    classify::PacketSource::parse_ip("10.1.0.5", src.src_ip, src.family);
    classify::PacketSource::parse_ip("192.0.2.1", src.dst_ip, f);
    src.src_port = 5060;
    src.dst_port = 5060;
  }
};

}  // namespace sipwall::fuzz
