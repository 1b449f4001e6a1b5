// INVITEs written as text and parsed with the real parser, and packet sources.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dataplane/classify/packet_source.h"
#include "dataplane/sip/sip_message.h"

namespace sipwall::classify::test {

struct Invite {
  std::string ruri = "sip:+8613800138000@core.example.com";
  std::string from = "<sip:+8613900139000@peer.example.com>;tag=a1";
  std::string to = "<sip:+8613800138000@core.example.com>";
  std::vector<std::string> pai;        // header values
  std::vector<std::string> diversion;  // header values
  std::string user_agent;
  std::vector<std::string> extra;  // whole header lines

  std::string text() const {
    std::string m = "INVITE " + ruri + " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 10.1.0.5:5060;branch=z9hG4bK776asdhds\r\n";
    m += "Max-Forwards: 70\r\n";
    m += "From: " + from + "\r\n";
    m += "To: " + to + "\r\n";
    for (const auto& p : pai) m += "P-Asserted-Identity: " + p + "\r\n";
    for (const auto& d : diversion) m += "Diversion: " + d + "\r\n";
    m += "Call-ID: a84b4c76e66710@10.1.0.5\r\n";
    m += "CSeq: 314159 INVITE\r\n";
    m += "Contact: <sip:caller@10.1.0.5>\r\n";
    if (!user_agent.empty()) m += "User-Agent: " + user_agent + "\r\n";
    for (const auto& e : extra) m += e + "\r\n";
    m += "Content-Length: 0\r\n\r\n";
    return m;
  }
};

// Owns the text the message's views point into; never moves.
class Parsed {
 public:
  explicit Parsed(std::string text) : text_(std::move(text)) { error_ = sip::parse_message(text_, msg_); }
  explicit Parsed(const Invite& i) : Parsed(i.text()) {}
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  const sip::Message& msg() const {
    EXPECT_EQ(error_, sip::ParseError::none) << sip::to_string(error_) << "\n" << text_;
    return msg_;
  }

 private:
  std::string text_;
  sip::Message msg_;
  sip::ParseError error_;
};

inline PacketSource from_ip(const std::string& ip, std::int32_t vlan = kNoVlan, std::uint16_t dst_port = 5060) {
  PacketSource s;
  EXPECT_TRUE(PacketSource::parse_ip(ip, s.src_ip, s.family)) << ip;
  IpFamily dst_family;
  PacketSource::parse_ip("192.0.2.1", s.dst_ip, dst_family);
  s.src_port = 5060;
  s.dst_port = dst_port;
  s.vlan = vlan;
  return s;
}

}  // namespace sipwall::classify::test
