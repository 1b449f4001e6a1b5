// The contract between the two parse depths (sip_message.h, Depth), checked
// on one input: what a Depth::verdict parse followed by parse_deferred()
// gives must be what a Depth::full parse gives. Shared by the unit tests, the
// corpus tests and the parser's fuzz target.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dataplane/sip/sip_message.h"
#include "tests/unit/dataplane/sip/field_diff.h"

namespace sipwall::sip::test {

namespace depth_detail {

using test::diff_na;
using test::diff_uri;
using test::diff_via;
using test::same;

#define SIPWALL_DIFF(cond, what) \
  if (cond) return what

// The first field in which two successful parses of one buffer differ, or "".
inline std::string diff_message(const Message& a, const Message& b) {
  SIPWALL_DIFF(a.is_request != b.is_request || a.method != b.method || !same(a.method_text, b.method_text), "method");
  SIPWALL_DIFF(!same(a.request_uri_text, b.request_uri_text), "request_uri_text");
  if (std::string d = diff_uri(a.request_uri, b.request_uri); !d.empty()) return "request_uri." + d;
  SIPWALL_DIFF(a.status_code != b.status_code || !same(a.reason_phrase, b.reason_phrase), "status");
  SIPWALL_DIFF(!same(a.start_line, b.start_line), "start_line");
  SIPWALL_DIFF(a.header_count != b.header_count, "header_count");
  for (std::uint16_t i = 0; i < a.header_count; ++i) {
    const Header& x = a.headers[i];
    const Header& y = b.headers[i];
    SIPWALL_DIFF(!same(x.name, y.name) || !same(x.value, y.value) || x.id != y.id,
                 "headers[" + std::to_string(i) + "]");
  }
  if (std::string d = diff_na(a.from, b.from); !d.empty()) return "from." + d;
  if (std::string d = diff_na(a.to, b.to); !d.empty()) return "to." + d;
  if (std::string d = diff_na(a.contact, b.contact); !d.empty()) return "contact." + d;
  SIPWALL_DIFF(a.pai_count != b.pai_count || a.pai_overflow != b.pai_overflow, "pai_count");
  for (std::uint8_t i = 0; i < a.pai_count; ++i) {
    if (std::string d = diff_na(a.pai[i], b.pai[i]); !d.empty()) return "pai." + d;
  }
  if (std::string d = diff_na(a.remote_party_id, b.remote_party_id); !d.empty()) return "remote_party_id." + d;
  SIPWALL_DIFF(!same(a.rpid_screen, b.rpid_screen) || !same(a.rpid_privacy, b.rpid_privacy), "rpid params");
  SIPWALL_DIFF(a.diversion_count != b.diversion_count || a.diversion_overflow != b.diversion_overflow ||
                   a.diversion_from_history_info != b.diversion_from_history_info,
               "diversion_count");
  for (std::uint8_t i = 0; i < a.diversion_count; ++i) {
    if (std::string d = diff_na(a.diversion[i], b.diversion[i]); !d.empty()) return "diversion." + d;
  }
  SIPWALL_DIFF(!same(a.call_id, b.call_id), "call_id");
  SIPWALL_DIFF(
      a.cseq.number != b.cseq.number || !same(a.cseq.method, b.cseq.method) || a.cseq.present != b.cseq.present,
      "cseq");
  if (std::string d = diff_via(a.via, b.via); !d.empty()) return "via." + d;
  SIPWALL_DIFF(
      !same(a.user_agent, b.user_agent) || !same(a.identity, b.identity) || !same(a.content_type, b.content_type),
      "user_agent/identity/content_type");
  SIPWALL_DIFF(a.max_forwards != b.max_forwards || a.has_max_forwards != b.has_max_forwards, "max_forwards");
  SIPWALL_DIFF(a.content_length != b.content_length || a.has_content_length != b.has_content_length, "content_length");
  SIPWALL_DIFF(
      a.headers_end != b.headers_end || a.body_offset != b.body_offset || !same(a.body, b.body) || a.length != b.length,
      "framing");
  SIPWALL_DIFF(a.error_offset != b.error_offset, "error_offset");
  SIPWALL_DIFF(a.deferred != b.deferred, "deferred");
  return "";
}

#undef SIPWALL_DIFF

// Whether byte `offset` of `buf` lies in a header line (folded lines
// included) of Via, Contact or Max-Forwards: the values a verdict parse
// defers. Read from the raw bytes, not from a parse.
inline bool in_deferred_line(std::string_view buf, std::size_t offset) {
  if (offset >= buf.size()) return false;
  std::size_t s = offset;
  for (;;) {
    while (s > 0 && buf[s - 1] != '\n') --s;
    if (s > 0 && (buf[s] == ' ' || buf[s] == '\t')) {
      --s;  // a continuation line: the header starts on a line above
      continue;
    }
    break;
  }
  std::size_t e = s;
  while (e < buf.size() && buf[e] != ':' && buf[e] != ' ' && buf[e] != '\t' && buf[e] != '\r' && buf[e] != '\n') ++e;
  std::string name(buf.substr(s, e - s));
  for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return name == "via" || name == "v" || name == "contact" || name == "m" || name == "max-forwards";
}

}  // namespace depth_detail

// "" if the two depths agree on `buf`, else what differs:
//  * a full parse that succeeds: the verdict parse succeeds, parse_deferred()
//    succeeds, and every field is the same (same views of the same buffer);
//  * the verdict parse never refuses what the full parse accepts, and where
//    it refuses, it does so with the full parse's error and offset unless
//    the full parse stopped earlier, in a value the verdict parse defers;
//  * a verdict parse that succeeds where the full parse fails: the full
//    parse failed in a deferred value, and parse_deferred() returns exactly
//    its error and offset;
//  * parse_top_via() gives the full parse's top Via, or its error where the
//    top Via is what the full parse stopped at; parse_deferred() after it
//    gives what parse_deferred() gives alone.
inline std::string check_depths(std::string_view buf, Transport t) {
  using namespace depth_detail;
  auto full = std::make_unique<Message>();
  auto verdict = std::make_unique<Message>();
  const ParseError ef = parse_message(buf, *full, t, Depth::full);
  const ParseError ev = parse_message(buf, *verdict, t, Depth::verdict);
  if (full->deferred) return "a full parse left deferred set";
  if (ev != ParseError::none) {
    if (ef == ParseError::none) return "the verdict parse refused what the full parse accepts";
    if (verdict->deferred) return "a failed verdict parse left deferred set";
    if (ev == ef && verdict->error_offset == full->error_offset) return "";
    // Otherwise the full parse stopped first, in a value the verdict parse
    // does not read.
    if (!in_deferred_line(buf, full->error_offset)) {
      return "different errors (" + std::string(to_string(ef)) + " / " + std::string(to_string(ev)) +
             ") and the full parse's is not in a deferred line";
    }
    return "";
  }
  if (!verdict->deferred) return "a verdict parse did not set deferred";
  // parse_top_via() (what a response needs) on a copy, then the rest.
  auto top = std::make_unique<Message>(*verdict);
  const ParseError et = parse_top_via(buf, *top);
  if (et == ParseError::none) {
    if (!top->via.present || !top->deferred) return "parse_top_via() left no Via or cleared deferred";
    if (ef == ParseError::none && !diff_via(top->via, full->via).empty()) return "parse_top_via() gave another Via";
  } else {
    if (ef == ParseError::none) return "parse_top_via() refused what the full parse accepts";
    if (top->header_count != 0 || top->deferred) return "a failed parse_top_via() left views of the message";
    const bool same_error = et == ef && top->error_offset == full->error_offset;
    const bool full_stopped_earlier =
        full->error_offset < top->error_offset && in_deferred_line(buf, full->error_offset);
    if (!same_error && !full_stopped_earlier) {
      return "parse_top_via() gave " + std::string(to_string(et)) + ", the full parse " + std::string(to_string(ef));
    }
  }
  const ParseError ed = parse_deferred(buf, *verdict);
  if (verdict->deferred) return "parse_deferred() left deferred set";
  if (et == ParseError::none) {
    // The rest after parse_top_via(): what parse_deferred() alone gives.
    const ParseError er = parse_deferred(buf, *top);
    if (er != ed) return "parse_deferred() after parse_top_via() gave another result";
    if (ed == ParseError::none) {
      if (std::string d = diff_message(*verdict, *top); !d.empty()) return "after parse_top_via(), fields differ: " + d;
    } else if (top->error_offset != verdict->error_offset) {
      return "parse_deferred() after parse_top_via() gave another error offset";
    }
  }
  if (ef == ParseError::none) {
    if (ed != ParseError::none) return "parse_deferred() refused what the full parse accepts";
    if (std::string d = diff_message(*full, *verdict); !d.empty()) return "fields differ: " + d;
    if (parse_deferred(buf, *verdict) != ParseError::none) return "a second parse_deferred() failed";
    if (std::string d = diff_message(*full, *verdict); !d.empty()) return "a second parse_deferred() changed " + d;
    return "";
  }
  if (ed != ef) {
    return "parse_deferred() gave " + std::string(to_string(ed)) + ", the full parse " + std::string(to_string(ef));
  }
  if (verdict->error_offset != full->error_offset) return "parse_deferred() gave another error offset";
  if (!in_deferred_line(buf, full->error_offset)) return "the full parse failed outside a deferred line";
  if (verdict->header_count != 0 || verdict->via.present || verdict->from.present || !verdict->call_id.empty()) {
    return "a failed parse_deferred() left views of the message";
  }
  return "";
}

}  // namespace sipwall::sip::test
