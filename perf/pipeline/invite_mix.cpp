#include "perf/pipeline/invite_mix.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "dataplane/net/checksum.h"

namespace sipwall::perf {

const char* const kCallerFormatNames[7] = {"+E.164",        "00-intl", "national-0",   "bare-mobile",
                                           "tel:+86-x-y-z", "%2B",     "phone-context"};

const char* to_string(MixKind k) noexcept {
  switch (k) {
    case MixKind::clean:
      return "clean";
    case MixKind::caller_hit:
      return "caller-hit";
    case MixKind::prefix_hit:
      return "prefix-hit";
    case MixKind::agent_hit:
      return "agent-hit";
    case MixKind::name_hit:
      return "name-hit";
  }
  return "?";
}

National random_mobile(std::uint64_t& rng) noexcept {
  National n;
  std::uint64_t r = xorshift(rng);
  n[0] = '1';
  n[1] = static_cast<char>('3' + r % 7);
  r /= 7;
  for (int i = 2; i < 10; ++i) {
    n[static_cast<std::size_t>(i)] = static_cast<char>('0' + r % 10);
    r /= 10;
  }
  // Odd last digit: gen_ruleset.py lists only numbers ending in an even one,
  // so a random caller is never on the list by chance.
  n[10] = static_cast<char>('1' + 2 * (r % 5));
  return n;
}

bool national_of(const std::string& e164, National& out) noexcept {
  if (e164.size() != 14 || e164.compare(0, 3, "+86") != 0 || e164[3] != '1') return false;
  for (std::size_t i = 0; i < 11; ++i) {
    char c = e164[3 + i];
    if (c < '0' || c > '9') return false;
    out[i] = c;
  }
  return true;
}

void fix_ipv6_udp_checksum(std::uint8_t* frame, std::uint16_t l3) noexcept {
  const std::uint8_t* ip = frame + l3;
  std::uint8_t* udp = frame + l3 + 40;
  const std::uint16_t len = static_cast<std::uint16_t>(udp[4] << 8 | udp[5]);
  std::uint32_t ps = net::csum_pseudo_v6(ip + 8, ip + 24, 17, len);
  std::uint16_t c = net::l4_checksum(ps, udp, len, 17);
  udp[6] = static_cast<std::uint8_t>(c >> 8);
  udp[7] = static_cast<std::uint8_t>(c);
}

namespace {

// Placeholders in the SIP text for the digits the generator rewrites.
constexpr char kCallerMark = '\x01';
constexpr char kCalleeMark = '\x02';

struct Rng {
  std::uint64_t s;
  std::uint64_t next() noexcept { return xorshift(s); }
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  unsigned below(unsigned n) noexcept { return static_cast<unsigned>(next() % n); }
  std::string hex(unsigned n) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) out += d[next() & 15];
    return out;
  }
};

// Picks an index by cumulative weights.
unsigned pick(Rng& r, std::initializer_list<double> w) {
  double x = r.unit(), acc = 0;
  unsigned i = 0;
  for (double v : w) {
    acc += v;
    if (x < acc) return i;
    ++i;
  }
  return i - 1;
}

const char* const kAgents[] = {"Carrier-SBC/4.2",
                               "Asterisk PBX 18.20.0",
                               "FPBX-16.0.40(18.20.0)",
                               "Cisco-SIPGateway/IOS-15.7.3",
                               "Huawei SoftCo 9.0",
                               "Ribbon SBC 10.1.2",
                               "Oracle ESBC 9.1.0 GA",
                               "FreeSWITCH-mod_sofia/1.10.9",
                               "Kamailio (5.6.4 (x86_64/linux))",
                               "ZTE ZXUN SSS V4.10"};
const char* const kNames[] = {
    "Zhang Wei",        "Li Na",      "Wang Fang", "Liu Yang",         "Chen Jing", "Zhao Lei",
    "Customer Service", "Front Desk", "Huang Min", "Sunrise Logistics"};

const std::string kCaller11(11, kCallerMark);
const std::string kCallee11(11, kCalleeMark);

// The caller's user part / URI in format `f` (kCallerFormatNames).
std::string caller_uri(unsigned f, const std::string& host) {
  const std::string& c = kCaller11;
  switch (f) {
    case 0:
      return "sip:+86" + c + "@" + host + ";user=phone";
    case 1:
      return "sip:0086" + c + "@" + host + ";user=phone";
    case 2:
      return "sip:0" + c + "@" + host + ";user=phone";
    case 3:
      return "sip:" + c + "@" + host + ";user=phone";
    case 4:
      return "tel:+86-" + c.substr(0, 3) + "-" + c.substr(3, 4) + "-" + c.substr(7);
    case 5:
      return "sip:%2B86" + c + "@" + host;
    default:
      return "sip:" + c + ";phone-context=+86@" + host + ";user=phone";
  }
}

struct Endpoints {
  bool v6 = false;
  bool vlan = false;
  std::uint8_t src[16] = {}, dst[16] = {};
  std::uint16_t sport = 5060;
  std::string host, core;  // as written in SIP (IPv6 in brackets)
};

Endpoints endpoints(Rng& r, const MixSpec& spec) {
  Endpoints e;
  if (r.unit() < spec.ipv6) {
    e.v6 = true;
    const std::uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 0, 0,
                                0,    0,    0,    0,    0, 0,    0, static_cast<std::uint8_t>(1 + r.below(250))};
    const std::uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    std::memcpy(e.src, s, 16);
    std::memcpy(e.dst, d, 16);
    char h[64];
    std::snprintf(h, sizeof h, "[2001:db8:a::%x]", s[15]);
    e.host = h;
    e.core = "[2001:db8:c0::10]";
    return e;
  }
  std::uint8_t a, b, c, d;
  if (r.unit() < spec.vlan) {  // access trunk behind VLAN 100
    e.vlan = true;
    a = 100, b = 64, c = static_cast<std::uint8_t>(r.below(256)), d = static_cast<std::uint8_t>(1 + r.below(254));
    e.sport = static_cast<std::uint16_t>(20000 + r.below(40000));
  } else {
    switch (pick(r, {0.40, 0.15, 0.15, 0.30})) {
      case 0:
        a = 192, b = 0, c = 2;
        break;  // peer-a
      case 1:
        a = 198, b = 51, c = 100;
        break;  // intl-gw
      case 2:
        a = 203, b = 0, c = 113;
        break;  // cc-trunk
      default:  // access-2
        a = 100, b = 65, c = static_cast<std::uint8_t>(r.below(256));
        e.sport = static_cast<std::uint16_t>(20000 + r.below(40000));
        break;
    }
    d = static_cast<std::uint8_t>(1 + r.below(254));
  }
  e.src[0] = a, e.src[1] = b, e.src[2] = c, e.src[3] = d;
  e.dst[0] = 10, e.dst[1] = 10, e.dst[2] = 0, e.dst[3] = 10;
  char h[32];
  std::snprintf(h, sizeof h, "%u.%u.%u.%u", a, b, c, d);
  e.host = h;
  e.core = "10.10.0.10";
  return e;
}

std::string sdp(Rng& r, const Endpoints& e) {
  const char* v = e.v6 ? "6" : "4";
  std::string media = e.v6 ? e.host.substr(1, e.host.size() - 2) : e.host;
  std::string sess = std::to_string(100000 + r.below(900000));
  std::string s = "v=0\r\no=- " + sess + " " + sess + " IN IP" + v + " " + media + "\r\ns=-\r\nc=IN IP" + v + " " +
                  media + "\r\nt=0 0\r\nm=audio " + std::to_string(20000 + 2 * r.below(5000)) +
                  " RTP/AVP 8 0 18 101\r\n"
                  "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n"
                  "a=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
                  "a=ptime:20\r\n";
  if (r.unit() < 0.5) s += "a=maxptime:40\r\n";
  if (r.unit() < 0.3) s += "a=rtcp:" + std::to_string(20001 + 2 * r.below(5000)) + "\r\n";
  s += "a=sendrecv\r\n";
  return s;
}

void put16(std::vector<std::uint8_t>& f, std::size_t at, std::uint16_t v) {
  f[at] = static_cast<std::uint8_t>(v >> 8);
  f[at + 1] = static_cast<std::uint8_t>(v);
}

// Ethernet [+ 802.1Q] + IPv4/IPv6 + UDP around `sip`.
std::vector<std::uint8_t> frame_of(const Endpoints& e, const std::string& sip, std::uint16_t ip_id, std::uint16_t& l3) {
  std::vector<std::uint8_t> f = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (e.vlan) f.insert(f.end(), {0x81, 0x00, 0x00, 100});
  f.push_back(e.v6 ? 0x86 : 0x08);
  f.push_back(e.v6 ? 0xDD : 0x00);
  l3 = static_cast<std::uint16_t>(f.size());
  const std::uint16_t udp_len = static_cast<std::uint16_t>(8 + sip.size());
  if (e.v6) {
    f.insert(f.end(), {0x60, 0, 0, 0, 0, 0, 17, 64});
    put16(f, l3 + 4, udp_len);
    f.insert(f.end(), e.src, e.src + 16);
    f.insert(f.end(), e.dst, e.dst + 16);
  } else {
    f.insert(f.end(), {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0});
    put16(f, l3 + 2, static_cast<std::uint16_t>(20 + udp_len));
    put16(f, l3 + 4, ip_id);
    f.insert(f.end(), e.src, e.src + 4);
    f.insert(f.end(), e.dst, e.dst + 4);
    put16(f, l3 + 10, net::ipv4_header_checksum(f.data() + l3));
  }
  const std::size_t l4 = f.size();
  f.resize(l4 + 8);
  put16(f, l4, e.sport);
  put16(f, l4 + 2, 5060);
  put16(f, l4 + 4, udp_len);
  // IPv4: checksum 0 ("none", RFC 768) so rewriting digits needs no update;
  // IPv6 (mandatory checksum): set after the digits are written.
  f.insert(f.end(), sip.begin(), sip.end());
  return f;
}

}  // namespace

std::vector<InviteTemplate> build_mix(const MixSpec& spec, MixSummary& sum) {
  Rng r{spec.seed * 0x9E3779B97F4A7C15ULL + 1};
  // The kinds, in exact proportions, then shuffled.
  std::vector<MixKind> kinds;
  auto add = [&](MixKind k, double share) {
    auto n = static_cast<std::size_t>(share * spec.templates + 0.5);
    kinds.insert(kinds.end(), n, k);
  };
  add(MixKind::caller_hit, spec.caller_hit);
  add(MixKind::prefix_hit, spec.prefix_hit);
  add(MixKind::agent_hit, spec.agent_hit);
  add(MixKind::name_hit, spec.name_hit);
  if (kinds.size() > spec.templates) kinds.resize(spec.templates);
  kinds.resize(spec.templates, MixKind::clean);
  for (std::size_t i = kinds.size(); i > 1; --i) std::swap(kinds[i - 1], kinds[r.below(static_cast<unsigned>(i))]);

  std::vector<InviteTemplate> out;
  out.reserve(spec.templates);
  sum = MixSummary{};
  std::size_t n_callee = 0;
  for (unsigned t = 0; t < spec.templates; ++t) {
    InviteTemplate tp;
    tp.kind = kinds[t];
    Endpoints e = endpoints(r, spec);
    const bool compact = r.unit() < spec.compact;
    const bool pai = r.unit() < spec.pai;
    const unsigned fmt = pick(r, {0.35, 0.10, 0.05, 0.25, 0.10, 0.05, 0.10});
    const bool anonymous_from = pai && r.unit() < 0.3;
    std::string disp;
    if (tp.kind == MixKind::name_hit && !spec.hit_names.empty()) {
      disp = spec.hit_names[r.below(static_cast<unsigned>(spec.hit_names.size()))];
    } else if (r.unit() < 0.5) {
      disp = kNames[r.below(std::size(kNames))];
    }
    std::string agent = kAgents[r.below(std::size(kAgents))];
    if (tp.kind == MixKind::agent_hit && !spec.hit_agents.empty())
      agent = spec.hit_agents[r.below(static_cast<unsigned>(spec.hit_agents.size()))];

    // Callee: a mobile the generator rewrites, or a fixed number inside a premium prefix.
    std::string ruri, to;
    bool ruri_tel = false;
    if (tp.kind == MixKind::prefix_hit && !spec.hit_callees.empty()) {
      const std::string& c = spec.hit_callees[n_callee++ % spec.hit_callees.size()];
      std::string user = r.unit() < 0.5 ? c : "0" + c.substr(3);  // +E.164 or national 0
      ruri = "sip:" + user + "@" + e.core + ";user=phone";
      to = "<" + ruri + ">";
    } else {
      switch (pick(r, {0.40, 0.30, 0.15, 0.15})) {
        case 0:
          ruri = "sip:+86" + kCallee11 + "@" + e.core + ";user=phone";
          break;
        case 1:
          ruri = "sip:" + kCallee11 + "@" + e.core + ";user=phone";
          break;
        case 2:
          ruri = "tel:+86" + kCallee11;
          ruri_tel = true;
          break;
        default:
          ruri = "sip:0086" + kCallee11 + "@" + e.core + ";user=phone";
          break;
      }
      to = "<" + ruri + ">";
    }

    const std::string call_id = r.hex(24) + "@" + (e.v6 ? std::string("sbc6.trunk.example") : e.host);
    const std::string quoted = disp.empty() ? "" : "\"" + disp + "\" ";
    std::string from = anonymous_from ? "\"Anonymous\" <sip:anonymous@anonymous.invalid>"
                                      : quoted + "<" + caller_uri(fmt, e.host) + ">";
    const char* n_via = compact ? "v" : "Via";
    const char* n_from = compact ? "f" : "From";
    const char* n_to = compact ? "t" : "To";
    const char* n_cid = compact ? "i" : "Call-ID";
    const char* n_contact = compact ? "m" : "Contact";
    const char* n_ctype = compact ? "c" : "Content-Type";
    const char* n_clen = compact ? "l" : "Content-Length";

    std::string body = sdp(r, e);
    // Lean: small size aims leave the optional headers out (the rng is still
    // drawn, so the rest of the template stays as it would be).
    const bool lean = spec.sip_bytes > 0 && spec.sip_bytes < 800;
    std::string s = "INVITE " + ruri + " SIP/2.0\r\n";
    s += std::string(n_via) + ": SIP/2.0/UDP " + e.host + ":" + std::to_string(e.sport) + ";branch=z9hG4bK" +
         r.hex(16) + ";rport\r\n";
    if (r.unit() < 0.3 && !lean) s += "Record-Route: <sip:" + e.core + ";lr;ftag=" + r.hex(8) + ">\r\n";
    s += "Max-Forwards: " + std::to_string(60 + r.below(10)) + "\r\n";
    s += std::string(n_from) + ": " + from + ";tag=" + r.hex(10) + "\r\n";
    s += std::string(n_to) + ": " + to + "\r\n";
    s += std::string(n_cid) + ": " + call_id + "\r\n";
    s += "CSeq: " + std::to_string(1 + r.below(20)) + " INVITE\r\n";
    s += std::string(n_contact) + ": <sip:" + (anonymous_from ? "gw" + r.hex(6) : kCaller11) + "@" + e.host + ":" +
         std::to_string(e.sport) + ";transport=udp>\r\n";
    if (pai) {
      s += "P-Asserted-Identity: " + quoted + "<sip:+86" + kCaller11 + "@" + e.host + ";user=phone>\r\n";
      if (r.unit() < 0.5) s += "P-Asserted-Identity: <tel:+86" + kCaller11 + ">\r\n";
      if (anonymous_from) s += "Privacy: id\r\n";
    }
    if (r.unit() < 0.5 && !lean)
      s += "P-Charging-Vector: icid-value=" + r.hex(32) +
           ";icid-generated-at=" + (e.v6 ? e.host.substr(1, e.host.size() - 2) : e.host) + "\r\n";
    if (!lean) {
      s += "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, INFO\r\n";
      s += "Supported: 100rel, timer, replaces\r\n";
      s += "Session-Expires: 1800;refresher=uac\r\nMin-SE: 90\r\n";
    }
    s += "User-Agent: " + agent + "\r\n";
    if (r.unit() < 0.2 && !lean) s += "Accept: application/sdp\r\n";
    std::string ctype = std::string(n_ctype) + ": application/sdp\r\n";
    auto clen = [&](std::size_t n) { return std::string(n_clen) + ": " + std::to_string(n) + "\r\n\r\n"; };
    if (spec.sip_bytes > 0 && s.size() + ctype.size() + clen(body.size()).size() + body.size() > spec.sip_bytes) {
      body.clear();  // still too big: an INVITE without an offer (late SDP)
      ctype.clear();
    }
    const std::size_t natural = s.size() + ctype.size() + clen(body.size()).size() + body.size();
    if (spec.sip_bytes > natural + 9)  // "X-Pad: " + CRLF = 9 bytes around the filler
      s += "X-Pad: " + std::string(spec.sip_bytes - natural - 9, 'p') + "\r\n";
    s += ctype + clen(body.size()) + body;

    tp.ipv6 = e.v6;
    tp.frame = frame_of(e, s, static_cast<std::uint16_t>(r.next()), tp.l3_offset);
    // Find the placeholders, then give them a first number.
    for (std::size_t i = tp.frame.size() - s.size(); i < tp.frame.size(); ++i) {  // the SIP text only
      if (tp.frame[i] == static_cast<std::uint8_t>(kCallerMark))
        tp.caller_digits.push_back(static_cast<std::uint16_t>(i));
      if (tp.frame[i] == static_cast<std::uint8_t>(kCalleeMark))
        tp.callee_digits.push_back(static_cast<std::uint16_t>(i));
    }
    {
      const std::string cid_line = std::string(n_cid) + ": " + call_id;
      const auto at = std::search(tp.frame.end() - static_cast<std::ptrdiff_t>(s.size()), tp.frame.end(),
                                  cid_line.begin(), cid_line.end());
      tp.call_id_offset = static_cast<std::uint16_t>(at - tp.frame.begin() +
                                                     static_cast<std::ptrdiff_t>(cid_line.size() - call_id.size()));
    }
    put_number(tp.frame.data(), tp.caller_digits, random_mobile(r.s));
    put_number(tp.frame.data(), tp.callee_digits, random_mobile(r.s));
    if (tp.ipv6) fix_ipv6_udp_checksum(tp.frame.data(), tp.l3_offset);
    std::uint32_t h = 2166136261u;  // FNV-1a over the source address and port: the "RSS" hash
    for (std::uint8_t b : e.src) h = (h ^ b) * 16777619u;
    h = (h ^ e.sport) * 16777619u;
    tp.flow_hash = h;

    sum.by_kind[static_cast<unsigned>(tp.kind)]++;
    sum.ipv6 += e.v6;
    sum.vlan += e.vlan;
    sum.pai += pai;
    sum.compact += compact;
    if (!anonymous_from) sum.caller_formats[fmt]++;
    sum.ruri_tel += ruri_tel;
    sum.avg_sip += static_cast<double>(s.size());
    out.push_back(std::move(tp));
  }
  sum.frames = out.size();
  sum.min_len = SIZE_MAX;
  for (const auto& tp : out) {
    sum.min_len = std::min(sum.min_len, tp.frame.size());
    sum.max_len = std::max(sum.max_len, tp.frame.size());
    sum.avg_len += static_cast<double>(tp.frame.size());
  }
  if (!out.empty()) {
    sum.avg_len /= static_cast<double>(out.size());
    sum.avg_sip /= static_cast<double>(out.size());
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

bool load_hits(const std::string& dir, MixSpec& spec, std::vector<National>& callers) {
  for (const std::string& s : read_lines(dir + "/hit-callers.txt")) {
    National n;
    if (national_of(s, n)) callers.push_back(n);
  }
  spec.hit_callees = read_lines(dir + "/hit-callees.txt");
  spec.hit_agents = read_lines(dir + "/hit-agents.txt");
  spec.hit_names = read_lines(dir + "/hit-names.txt");
  return !callers.empty() && !spec.hit_callees.empty() && !spec.hit_agents.empty() && !spec.hit_names.empty();
}

}  // namespace sipwall::perf
