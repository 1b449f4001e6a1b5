// sipwallctl parse: shows what the filter sees in each SIP message of a pcap
// or raw message file, one JSON object per message and line. The messages
// are the data plane's: IP fragments reassembled and SIP over TCP held and
// framed by its own code (control/common/sip_input.h); bytes it would not
// inspect get a line saying so. Every string here is bytes from the message:
// JSON goes out through text::dump_json and table cells through
// text::printable (rules/text/safe_text.h), so no message can end the output
// or drive the terminal.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "control/cli/capture_options.h"
#include "control/cli/commands.h"
#include "control/cli/dial_plan_options.h"
#include "control/common/sip_input.h"
#include "dataplane/sip/sip_message.h"
#include "rules/number/normalize.h"
#include "rules/text/json_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::cli {
namespace {

using nlohmann::json;

json sv(std::string_view v) {
  return v.empty() ? json(nullptr) : json(std::string(v));
}

// The normalised number of a URI as JSON: "+8613800138000", or null.
struct NumberView {
  json e164 = nullptr;
  json detail = nullptr;
};

NumberView number_of(const sip::Uri& uri, bool present, const number::DialPlan& plan) {
  NumberView v;
  if (!present || uri.scheme == sip::UriScheme::none) return v;
  number::Number n = number::normalize(uri.number_text(), uri.phone_context(), plan);
  if (n.kind == number::NumberKind::e164) v.e164 = std::string(n.text());
  v.detail = json{{"raw", std::string(uri.number_text())}, {"kind", std::string(number::to_string(n.kind))}};
  if (n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code)
    v.detail["normalized"] = std::string(n.text());
  if (!uri.phone_context().empty()) v.detail["phone_context"] = std::string(uri.phone_context());
  return v;
}

json name_addr(const sip::NameAddr& na) {
  if (!na.present) return nullptr;
  json j{{"uri", std::string(na.uri_text)}};
  if (!na.display_name.empty()) j["display_name"] = std::string(na.display_name);
  if (!na.tag.empty()) j["tag"] = std::string(na.tag);
  return j;
}

std::string endpoint(const net::DecodedPacket& p, bool src) {
  char buf[64];
  net::format_address(src ? p.src : p.dst, buf, sizeof buf);
  std::string a = buf;
  std::uint16_t port = src ? p.src_port : p.dst_port;
  return (p.ip_version == 6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

// Where a payload came from: source, addresses, transport, reassembly.
json where(const control::SipPayload& in) {
  json j;
  j["source"] = in.origin;
  if (in.from_pcap) {
    j["src"] = endpoint(in.packet, true);
    j["dst"] = endpoint(in.packet, false);
    j["transport"] = in.stream ? "tcp" : "udp";
    if (in.packet.vlan_count > 0) j["vlan"] = in.packet.outer_vlan;
    if (in.packet.vlan_count > 1) j["inner_vlan"] = in.packet.inner_vlan;
    if (in.reassembled) j["reassembled"] = true;
    if (!in.frames.empty()) j["frames"] = in.frames;
  }
  return j;
}

// Bytes the data plane would not inspect: what and why, no message fields.
json describe_not_inspected(const control::SipPayload& in) {
  json j = where(in);
  j["inspected"] = false;
  j["ok"] = false;
  j["error"] = "not_inspected";
  j["reason"] = std::string(control::to_string(in.not_inspected));
  std::string text(control::describe(in.not_inspected));
  if (!in.detail.empty()) text += ": " + in.detail;
  j["error_text"] = text;
  j["bytes"] = in.bytes.size();
  j["method"] = nullptr;
  j["call_id"] = nullptr;
  j["numbers"] = json{{"from", nullptr}, {"to", nullptr}, {"ruri", nullptr}, {"pai", nullptr}};
  return j;
}

json describe(const control::SipPayload& in, const sip::Message& m, sip::ParseError err, const number::DialPlan& plan) {
  json j = where(in);
  if (in.index > 0) j["message_index"] = in.index;
  bool ok = err == sip::ParseError::none;
  j["ok"] = ok;
  j["error"] = ok ? json(nullptr) : json(std::string(sip::to_string(err)));
  if (!ok) {
    j["error_text"] = std::string(sip::describe(err));
    j["method"] = nullptr;
    j["call_id"] = nullptr;
    j["numbers"] = json{{"from", nullptr}, {"to", nullptr}, {"ruri", nullptr}, {"pai", nullptr}};
    return j;
  }
  j["method"] = m.is_request ? json(std::string(m.method_text)) : json(nullptr);
  if (!m.is_request) {
    j["status"] = m.status_code;
    j["reason"] = std::string(m.reason_phrase);
  }
  j["call_id"] = sv(m.call_id);
  j["cseq"] = m.cseq.present ? json(std::to_string(m.cseq.number) + " " + std::string(m.cseq.method)) : json(nullptr);

  NumberView from = number_of(m.from.uri, m.from.present, plan);
  NumberView to = number_of(m.to.uri, m.to.present, plan);
  NumberView ruri = number_of(m.request_uri, m.is_request, plan);
  // pai: the first P-Asserted-Identity value that is a number (a sip: and a
  // tel: value usually carry the same one).
  NumberView pai;
  for (std::size_t i = 0; i < m.pai_count; ++i) {
    NumberView v = number_of(m.pai[i].uri, true, plan);
    if (i == 0 || (pai.e164.is_null() && !v.e164.is_null())) pai = v;
  }
  j["numbers"] = json{{"from", from.e164}, {"to", to.e164}, {"ruri", ruri.e164}, {"pai", pai.e164}};
  json details = json::object();
  if (!from.detail.is_null()) details["from"] = from.detail;
  if (!to.detail.is_null()) details["to"] = to.detail;
  if (!ruri.detail.is_null()) details["ruri"] = ruri.detail;
  if (!pai.detail.is_null()) details["pai"] = pai.detail;
  j["number_details"] = details;

  json f;
  if (m.is_request) f["request_uri"] = std::string(m.request_uri_text);
  f["from"] = name_addr(m.from);
  f["to"] = name_addr(m.to);
  if (m.pai_count) {
    json a = json::array();
    for (std::size_t i = 0; i < m.pai_count; ++i) a.push_back(std::string(m.pai[i].uri_text));
    f["pai"] = a;
  }
  if (m.remote_party_id.present) f["remote_party_id"] = std::string(m.remote_party_id.uri_text);
  if (m.diversion_count) {
    json a = json::array();
    for (std::size_t i = 0; i < m.diversion_count; ++i) a.push_back(std::string(m.diversion[i].uri_text));
    f["diversion"] = a;
  }
  if (m.via.present) {
    f["via"] = json{
        {"transport", std::string(m.via.transport)}, {"host", std::string(m.via.host)}, {"branch", sv(m.via.branch)}};
    if (m.via.port) f["via"]["port"] = m.via.port;
  }
  if (m.contact.present) f["contact"] = std::string(m.contact.uri_text);
  if (!m.user_agent.empty()) f["user_agent"] = std::string(m.user_agent);
  if (!m.identity.empty()) f["identity"] = true;
  if (m.has_max_forwards) f["max_forwards"] = m.max_forwards;
  if (!m.content_type.empty()) f["content_type"] = std::string(m.content_type);
  f["content_length"] = m.has_content_length ? json(m.content_length) : json(nullptr);
  f["body_bytes"] = m.body.size();
  f["headers"] = m.header_count;
  j["fields"] = f;
  return j;
}

// One readable line per message, for people (the JSON form is for tools).
void print_row(const json& j) {
  const json& det = j.contains("number_details") ? j["number_details"] : json::object();
  // E.164 if there is one; a short code the plan maps is shown as such.
  auto num = [&](const char* field) {
    const json& v = j["numbers"][field];
    if (!v.is_null()) return v.get<std::string>();
    if (det.contains(field) && det[field]["kind"] == "short_code")
      return det[field]["normalized"].get<std::string>() + "(sc)";
    return std::string("-");
  };
  std::string what = j.contains("inspected") ? "not inspected: " + j["reason"].get<std::string>()
                     : !j["ok"].get<bool>()  ? "malformed: " + j["error"].get<std::string>()
                     : j["method"].is_null()
                         ? std::to_string(j["status"].get<int>()) + " " + j["reason"].get<std::string>()
                         : j["method"].get<std::string>();
  std::string src = j.contains("src") ? j["src"].get<std::string>() : std::string("-");
  const std::string& source = j["source"].get_ref<const std::string&>();
  std::printf("%-26s %-24s %-18s from %-15s pai %-15s to %-15s ruri %-15s\n",
              text::printable(source.substr(source.rfind('/') + 1)).c_str(), text::printable(src).c_str(),
              text::printable(std::string_view(what).substr(0, text::utf8_cut(what, 18))).c_str(),
              text::printable(num("from")).c_str(), text::printable(num("pai")).c_str(),
              text::printable(num("to")).c_str(), text::printable(num("ruri")).c_str());
}

struct ParseOptions {
  std::vector<std::string> inputs;
  std::string format = "json";
  DialPlanOptions plan;
  control::InputOptions in;
  bool summary = true;
};

int run_parse(const ParseOptions& o) {
  number::DialPlan plan;
  std::string why;
  if (!build_dial_plan(o.plan, plan, why)) {
    std::fprintf(stderr, "sipwallctl parse: %s\n", why.c_str());
    return 2;
  }
  std::uint64_t messages = 0, parsed = 0, not_inspected = 0;
  std::map<std::string, std::uint64_t> errors;
  int rc = 0;
  // The parser keeps views into the payload, so it must outlive `m`'s use.
  static sip::Message m;
  auto print = [&](const json& j) {
    if (o.format == "table")
      print_row(j);
    else
      std::cout << text::dump_json(j) << '\n';
  };
  for (const std::string& path : o.inputs) {
    control::InputStats stats;
    std::string err;
    bool ok = control::read_sip_input(
        path, o.in, stats,
        [&](const control::SipPayload& p) {
          if (p.not_inspected != control::NotInspected::no) {
            ++not_inspected;
            print(describe_not_inspected(p));
            return;
          }
          // One message (the input framed TCP as the data plane does).
          const sip::ParseError e =
              sip::parse_message(p.bytes, m, p.stream ? sip::Transport::stream : sip::Transport::datagram);
          ++messages;
          if (e == sip::ParseError::none)
            ++parsed;
          else
            ++errors[std::string(sip::to_string(e))];
          print(describe(p, m, e, plan));
        },
        err);
    if (!ok) {
      std::fprintf(stderr, "sipwallctl parse: %s\n", text::printable(err).c_str());
      rc = 1;
      continue;
    }
    std::fflush(stdout);
    std::cout.flush();
    if (o.summary && stats.frames) {
      auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
      std::fprintf(stderr,
                   "%s: %llu frames, %llu not SIP, %llu undecodable, %llu fragments "
                   "(%llu datagrams reassembled, %llu incomplete), %llu TCP segments "
                   "(%llu messages in several, %llu dropped as retransmissions or after a gap), "
                   "%llu denied, %llu not inspected\n",
                   text::printable(path).c_str(), u(stats.frames), u(stats.not_sip), u(stats.undecodable),
                   u(stats.fragments), u(stats.reassembled), u(stats.incomplete_fragments), u(stats.tcp_segments),
                   u(stats.tcp_spanning), u(stats.tcp_dropped), u(stats.denied), u(stats.not_inspected));
    }
  }
  std::fflush(stdout);
  std::cout.flush();
  if (o.summary) {
    std::fprintf(stderr, "%llu SIP messages: %llu parsed", static_cast<unsigned long long>(messages),
                 static_cast<unsigned long long>(parsed));
    for (auto& [reason, n] : errors)
      std::fprintf(stderr, ", %llu %s", static_cast<unsigned long long>(n), reason.c_str());
    if (not_inspected)
      std::fprintf(stderr, "; %llu byte runs the data plane would not inspect",
                   static_cast<unsigned long long>(not_inspected));
    std::fprintf(stderr, "\n");
  }
  std::cout.flush();
  return rc;
}

}  // namespace

void add_parse_command(CLI::App& app, int& rc) {
  auto opts = std::make_shared<ParseOptions>();
  CLI::App* cmd =
      app.add_subcommand("parse", "Parse SIP messages from pcap or raw files; print one JSON object per message");
  add_input_argument(*cmd, opts->inputs);
  add_dial_plan_options(*cmd, opts->plan);
  cmd->add_option("--format", opts->format, "json (one object per line, default) or table")
      ->check(CLI::IsMember({"json", "table"}));
  add_capture_options(*cmd, opts->in);
  cmd->add_flag("!--no-summary", opts->summary, "Do not print the per-file summary on stderr");
  cmd->callback([opts, &rc] { rc = run_parse(*opts); });
}

}  // namespace sipwall::cli
