// Helpers for the SIP parser tests: a message builder that starts from a valid
// INVITE and lets a test replace, add or drop header lines.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/sip/sip_message.h"

namespace sipwall::sip::test {

struct MsgBuilder {
  std::string start = "INVITE sip:+15551230000@example.com SIP/2.0";
  std::vector<std::pair<std::string, std::string>> hdrs = {
      {"Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds"},
      {"Max-Forwards", "70"},
      {"To", "<sip:+15551230000@example.com>"},
      {"From", "\"Alice\" <sip:+15559870000@example.org>;tag=1928301774"},
      {"Call-ID", "a84b4c76e66710@pc33.example.org"},
      {"CSeq", "314159 INVITE"},
      {"Contact", "<sip:alice@192.0.2.1:5060>"},
  };
  std::string eol = "\r\n";

  // Replaces every header called `name` (exact spelling) or appends it.
  MsgBuilder& set(const std::string& name, const std::string& value) {
    bool done = false;
    for (auto it = hdrs.begin(); it != hdrs.end();) {
      if (it->first == name) {
        if (done) {
          it = hdrs.erase(it);
          continue;
        }
        it->second = value;
        done = true;
      }
      ++it;
    }
    if (!done) hdrs.emplace_back(name, value);
    return *this;
  }
  MsgBuilder& add(const std::string& name, const std::string& value) {
    hdrs.emplace_back(name, value);
    return *this;
  }
  MsgBuilder& del(const std::string& name) {
    std::erase_if(hdrs, [&](const auto& h) { return h.first == name; });
    return *this;
  }
  MsgBuilder& line(const std::string& start_line) {
    start = start_line;
    return *this;
  }
  // Builds the message; Content-Length is appended unless `content_length`
  // is false (or a test set one itself).
  std::string str(std::string_view body = "", bool content_length = true) const {
    std::string s = start + eol;
    bool has_cl = false;
    for (const auto& [n, v] : hdrs) {
      s += n + ": " + v + eol;
      if (n == "Content-Length" || n == "l") has_cl = true;
    }
    if (content_length && !has_cl) s += "Content-Length: " + std::to_string(body.size()) + eol;
    s += eol;
    s += body;
    return s;
  }
};

// Parses into a heap Message (it is several KB) and keeps the buffer alive.
struct Parsed {
  std::string buf;
  std::unique_ptr<Message> msg = std::make_unique<Message>();
  ParseError err = ParseError::count_;

  explicit Parsed(std::string text, Transport t = Transport::datagram) : buf(std::move(text)) {
    err = parse_message(buf, *msg, t);
  }
  const Message& operator*() const { return *msg; }
  const Message* operator->() const { return msg.get(); }
};

inline std::string name(ParseError e) {
  return std::string(to_string(e));
}

}  // namespace sipwall::sip::test
