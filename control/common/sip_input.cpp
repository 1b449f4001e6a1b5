#include "control/common/sip_input.h"

#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "control/common/tcp_follower.h"
#include "rules/io/file_input.h"

namespace sipwall::control {

std::string_view to_string(NotInspected n) noexcept {
  switch (n) {
#define SIPWALL_X(name, text) \
  case NotInspected::name:    \
    return #name;
    SIPWALL_NOT_INSPECTED(SIPWALL_X)
#undef SIPWALL_X
  }
  return "unknown";
}

std::string_view describe(NotInspected n) noexcept {
  switch (n) {
#define SIPWALL_X(name, text) \
  case NotInspected::name:    \
    return text;
    SIPWALL_NOT_INSPECTED(SIPWALL_X)
#undef SIPWALL_X
  }
  return "unknown";
}

std::string_view dataplane_action(NotInspected n, bool fail_closed) noexcept {
  switch (n) {
    case NotInspected::no:
      return "inspected";
    case NotInspected::tcp_partial:
    case NotInspected::tcp_not_holdable:
      return "forwarded uninspected under both policies (tcp_partial)";
    case NotInspected::tcp_timeout:
    case NotInspected::tcp_overflow:
    case NotInspected::tcp_table_full:
    case NotInspected::tcp_end_of_input:
      return fail_closed ? "given up: the connection is reset toward both ends (fail_closed)"
                         : "given up: released uninspected (fail_open)";
    case NotInspected::tcp_aborted:
      return fail_closed ? "freed (fail_closed)" : "released uninspected (fail_open)";
    case NotInspected::tcp_in_fragments:
      return "forwarded re-fragmented, uninspected";
    case NotInspected::fragments_failed:
      return "freed: nothing reaches the core (reassembly_failed)";
    case NotInspected::fragment_header_not_first:
      return fail_closed ? "dropped (fail_closed)" : "forwarded uninspected (fail_open)";
    case NotInspected::source_denied:
      return "dropped (deny_sources)";
  }
  return "unknown";
}

namespace {

// --- bounded input ---------------------------------------------------------------

bool is_pcap_magic(const unsigned char* m) {
  std::uint32_t magic;
  std::memcpy(&magic, m, 4);
  return magic == 0xA1B2C3D4 || magic == 0xD4C3B2A1 || magic == 0xA1B23C4D || magic == 0x4D3CB2A1 ||
         magic == 0x0A0D0D0A;  // classic (us/ns, both orders), pcapng
}

// A regular file (checked on the opened descriptor) or stdin, read through
// one bounded read(): past `cap` bytes it reports the end of the input and
// remembers that there was more.
class Source {
 public:
  bool open(const std::string& path, std::string& error) {
    if (path == "-") {
      stdin_ = true;
      return true;
    }
    std::string why;
    if (!file_.open(path, io::FileKind{"capture", kMaxCaptureBytes}, why)) {
      error = path + ": " + why;
      return false;
    }
    return true;
  }
  bool is_stdin() const noexcept { return stdin_; }
  std::uint64_t file_size() const noexcept { return file_.size(); }
  void set_cap(std::uint64_t cap) noexcept { cap_ = cap; }
  bool over_cap() const noexcept { return over_; }
  const std::string& error() const noexcept { return error_; }

  std::int64_t read(char* buf, std::size_t n) {
    if (consumed_ >= cap_) {
      char probe;
      if (raw_read(&probe, 1) > 0) over_ = true;
      return 0;
    }
    const std::int64_t got = raw_read(buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, cap_ - consumed_)));
    if (got > 0) consumed_ += static_cast<std::uint64_t>(got);
    return got;
  }

 private:
  std::int64_t raw_read(char* buf, std::size_t n) {
    if (!stdin_) return file_.read(buf, n, error_);
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::read(STDIN_FILENO, buf + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        error_ = std::strerror(errno);
        return -1;
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    return static_cast<std::int64_t>(got);
  }

  io::InputFile file_;
  bool stdin_ = false;
  std::uint64_t cap_ = kMaxCaptureBytes;
  std::uint64_t consumed_ = 0;
  bool over_ = false;
  std::string error_;
};

// libpcap reads a FILE: one whose reads go through Source, after the magic
// bytes already taken.
struct CookieState {
  Source* src;
  std::string head;  // bytes read before libpcap took over
};

ssize_t cookie_read(void* c, char* buf, std::size_t n) {
  auto* st = static_cast<CookieState*>(c);
  std::size_t done = 0;
  if (!st->head.empty()) {
    done = std::min(n, st->head.size());
    std::memcpy(buf, st->head.data(), done);
    st->head.erase(0, done);
    if (done == n) return static_cast<ssize_t>(done);
  }
  const std::int64_t got = st->src->read(buf + done, n - done);
  if (got < 0) return done ? static_cast<ssize_t>(done) : -1;
  return static_cast<ssize_t>(done + static_cast<std::size_t>(got));
}

int cookie_close(void*) {
  return 0;
}

}  // namespace

// --- frames to payloads -------------------------------------------------------

class FrameReader::Impl {
 public:
  Impl(std::string path, const InputOptions& o, InputStats& s, const std::function<void(const SipPayload&)>& k)
      : path_(std::move(path)),
        opts_(o),
        stats_(s),
        // Every payload carries the capture time of the frame that completed
        // it (the replay's clock), TCP and reassembled ones included.
        sink_([this, k](const SipPayload& p) {
          if (!p.from_pcap) return k(p);
          SipPayload timed = p;
          timed.time_us = now_us_;
          k(timed);
        }),
        tcp_(path_, o.tcp_hold, std::uint64_t{o.tcp_timeout_ms} * 1000, s, sink_),
        frags_(net::IpReassemblyConfig{o.frag_max_flows, std::uint64_t{o.frag_timeout_ms} * 1000,
                                       std::size_t{64} << 20}) {}

  void frame(std::uint64_t n, std::uint64_t now_us, const std::uint8_t* data, std::size_t len, int linktype) {
    ++stats_.frames;
    now_us_ = now_us;
    housekeeping(now_us);
    net::DecodedPacket d;
    net::DecodeResult r;
    if (!decode(linktype, data, len, d, r)) {
      ++stats_.undecodable;
      return;
    }
    if (linktype == kLinkLinuxSll) {
      data += 16;
      len -= 16;
    }
    if (opts_.denied && d.ip_version != 0 && denied(n, d, r)) return;
    if (r != net::DecodeResult::ok) {
      if (r == net::DecodeResult::not_ip || r == net::DecodeResult::not_udp_tcp)
        ++stats_.not_sip;
      else
        ++stats_.undecodable;
      return;
    }
    if (d.is_fragment) {
      fragment(n, now_us, data, len, d, linktype);
      return;
    }
    deliver(n, now_us, data, d);
  }

  void finish() {
    tcp_.finish();
    frags_.flush();
    report_fragment_failures();
  }

 private:
  // The data plane's worker looks for held TCP flows and fragments whose
  // time ran out every 100 ms; so does this, on the capture's clock.
  void housekeeping(std::uint64_t now_us) {
    if (!started_) {
      started_ = true;
      next_check_ = now_us + kHousekeepingUs;
      return;
    }
    if (now_us < next_check_) return;
    tcp_.expire(now_us);
    frags_.expire(now_us);
    report_fragment_failures();
    next_check_ = now_us + kHousekeepingUs;
  }
  static constexpr std::uint64_t kHousekeepingUs = 100000;

  std::string origin(std::uint64_t n) const { return path_ + "#" + std::to_string(n); }
  bool is_sip_port(std::uint16_t p) const {
    return std::find(opts_.sip_ports.begin(), opts_.sip_ports.end(), p) != opts_.sip_ports.end();
  }
  bool sip_ports(const net::DecodedPacket& d) const { return is_sip_port(d.dst_port) || is_sip_port(d.src_port); }

  static bool decode(int linktype, const std::uint8_t* data, std::size_t len, net::DecodedPacket& d,
                     net::DecodeResult& r) {
    if (linktype == kLinkEthernet) {
      r = net::decode_frame(data, len, d);
    } else if (linktype == DLT_RAW || linktype == kLinkRaw) {
      r = net::decode_ip(data, len, d);
    } else if (linktype == kLinkLinuxSll && len >= 16) {
      r = net::decode_ip(data + 16, len - 16, d);
    } else {
      return false;
    }
    return true;
  }

  // The data plane's first stage: a frame from deny_sources is dropped
  // before reassembly and before SIP (worker.cpp `denied`).
  bool denied(std::uint64_t n, const net::DecodedPacket& d, net::DecodeResult r) {
    const bool has_l4 = r == net::DecodeResult::ok && (d.l4_proto == 17 || d.l4_proto == 6);
    std::string entry;
    if (!opts_.denied(d, has_l4, entry)) return false;
    ++stats_.denied;
    // Reported when it is something parse or explain would have shown.
    const bool sip = r == net::DecodeResult::ok && (d.is_fragment || sip_ports(d));
    if (sip) {
      SipPayload p;
      p.origin = origin(n);
      p.from_pcap = true;
      p.packet = d;
      p.stream = d.l4_proto == 6;
      p.not_inspected = NotInspected::source_denied;
      p.detail = entry;
      ++stats_.not_inspected;
      sink_(p);
    }
    return true;
  }

  void deliver(std::uint64_t n, std::uint64_t now_us, const std::uint8_t* data, const net::DecodedPacket& d) {
    const bool udp = d.l4_proto == 17, tcp = d.l4_proto == 6;
    if (!(udp || tcp) || !sip_ports(d)) {
      ++stats_.not_sip;
      return;
    }
    if (tcp) {
      tcp_.segment(n, now_us, d, d.payload(data));
      return;
    }
    SipPayload p;
    p.origin = origin(n);
    p.from_pcap = true;
    p.packet = d;
    p.bytes.assign(d.payload(data));
    sink_(p);
  }

  void fragment(std::uint64_t n, std::uint64_t now_us, const std::uint8_t* data, std::size_t len,
                const net::DecodedPacket& d, int linktype) {
    ++stats_.fragments;
    pending_[n] = d;
    const net::FragmentStatus st = frags_.add(data, len, d, n, now_us);
    report_fragment_failures();
    if (st != net::FragmentStatus::complete) return;
    ++stats_.reassembled;
    const std::vector<std::uint64_t> tags = frags_.datagram_tags();
    for (std::uint64_t t : tags) pending_.erase(t);
    const std::vector<std::uint8_t>& dg = frags_.datagram();
    net::DecodedPacket whole;
    const net::DecodeResult r = linktype == kLinkEthernet ? net::decode_frame(dg.data(), dg.size(), whole)
                                                          : net::decode_ip(dg.data(), dg.size(), whole);
    SipPayload p;
    p.origin = origin(tags.back());
    p.from_pcap = true;
    p.reassembled = true;
    p.frames = tags;
    if (r != net::DecodeResult::ok) {
      // The data plane frees what its reassembler produced and cannot decode.
      p.packet = d;
      p.not_inspected = NotInspected::fragments_failed;
      p.detail = "the reassembled datagram does not decode: " + std::string(net::to_string(r));
      ++stats_.not_inspected;
      sink_(p);
      return;
    }
    p.packet = whole;
    const bool sip = sip_ports(whole);
    if (whole.l4_proto == 6 && sip) {
      p.stream = true;
      p.not_inspected = NotInspected::tcp_in_fragments;
      p.bytes.assign(whole.payload(dg.data()));
      ++stats_.not_inspected;
      sink_(p);
      return;
    }
    if (whole.l4_proto != 17 || !sip) {
      ++stats_.not_sip;
      return;
    }
    p.bytes.assign(whole.payload(dg.data()));
    sink_(p);
  }

  void report_fragment_failures() {
    for (net::IpReassembler::Failed& f : frags_.take_failed()) {
      ++stats_.incomplete_fragments;
      SipPayload p;
      p.origin = origin(f.tags.back());
      p.from_pcap = true;
      if (auto it = pending_.find(f.tags.front()); it != pending_.end()) p.packet = it->second;
      for (std::uint64_t t : f.tags) pending_.erase(t);
      p.not_inspected = f.why == net::FragmentFailure::header_not_first ? NotInspected::fragment_header_not_first
                                                                        : NotInspected::fragments_failed;
      p.detail = std::string(net::describe(f.why));
      if (f.tags.size() > 1) p.frames = f.tags;
      // Reported only for fragments on a SIP port, or whose port is unknown
      // (a later fragment): the datagram may have been SIP.
      const bool maybe_sip = p.packet.src_port == 0 || sip_ports(p.packet);
      if (!maybe_sip) continue;
      ++stats_.not_inspected;
      sink_(p);
    }
  }

  std::string path_;
  const InputOptions opts_;  // a copy: callers may pass a temporary
  InputStats& stats_;
  std::function<void(const SipPayload&)> sink_;  // a copy: callers may pass a temporary
  TcpFollower tcp_;
  net::IpReassembler frags_;
  std::map<std::uint64_t, net::DecodedPacket> pending_;  // fragments in reassembly, by frame
  bool started_ = false;
  std::uint64_t next_check_ = 0;
  std::uint64_t now_us_ = 0;  // the frame being read
};

FrameReader::FrameReader(std::string origin_base, const InputOptions& opts, InputStats& stats,
                         const std::function<void(const SipPayload&)>& sink)
    : impl_(std::make_unique<Impl>(std::move(origin_base), opts, stats, sink)) {}
FrameReader::~FrameReader() = default;
void FrameReader::frame(std::uint64_t n, std::uint64_t now_us, const std::uint8_t* data, std::size_t len,
                        int linktype) {
  impl_->frame(n, now_us, data, len, linktype);
}
void FrameReader::finish() {
  impl_->finish();
}

namespace {

bool read_capture(Source& src, const std::string& name, std::string head, const InputOptions& opts, InputStats& stats,
                  const std::function<void(const SipPayload&)>& sink, std::string& error) {
  CookieState state{&src, std::move(head)};
  FILE* fp = fopencookie(&state, "r", cookie_io_functions_t{cookie_read, nullptr, nullptr, cookie_close});
  if (fp == nullptr) {
    error = name + ": " + std::strerror(errno);
    return false;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_fopen_offline(fp, errbuf);
  if (pc == nullptr) {
    std::fclose(fp);  // libpcap leaves it open when it refuses it
    error = name + ": " + errbuf;
    return false;
  }
  const int linktype = pcap_datalink(pc);
  FrameReader reader(name, opts, stats, sink);
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  std::uint64_t n = 0;
  int rc;
  while ((rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
    ++n;
    const std::uint64_t now_us =
        static_cast<std::uint64_t>(hdr->ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(hdr->ts.tv_usec);
    reader.frame(n, now_us, data, hdr->caplen, linktype);
  }
  reader.finish();
  bool ok = true;
  if (src.over_cap()) {
    error = name + ": more than the " + io::size_text(kMaxCaptureBytes) + " a capture may have; read up to there";
    ok = false;
  } else if (!src.error().empty()) {
    error = name + ": " + src.error();
    ok = false;
  } else if (rc == -1) {
    error = name + ": " + pcap_geterr(pc);
    ok = false;
  }
  pcap_close(pc);  // closes fp
  return ok;
}

}  // namespace

bool read_sip_input(const std::string& path, const InputOptions& opts, InputStats& stats,
                    const std::function<void(const SipPayload&)>& sink, std::string& error) {
  Source src;
  if (!src.open(path, error)) return false;
  const std::string name = src.is_stdin() ? std::string("stdin") : path;
  std::string head(4, '\0');
  const std::int64_t got = src.read(head.data(), head.size());
  if (got < 0) {
    error = name + ": " + src.error();
    return false;
  }
  head.resize(static_cast<std::size_t>(got));
  if (head.size() == 4 && is_pcap_magic(reinterpret_cast<const unsigned char*>(head.data())))
    return read_capture(src, name, std::move(head), opts, stats, sink, error);

  // A raw SIP message file.
  const std::string too_large =
      ", more than the " + io::size_text(kMaxMessageFileBytes) + " a SIP message file may have";
  if (!src.is_stdin() && src.file_size() > kMaxMessageFileBytes) {
    error = name + ": " + io::size_text(src.file_size()) + too_large;
    return false;
  }
  src.set_cap(kMaxMessageFileBytes);
  SipPayload p;
  p.origin = name;
  p.bytes = std::move(head);
  char buf[65536];
  std::int64_t n;
  while ((n = src.read(buf, sizeof buf)) > 0) p.bytes.append(buf, static_cast<std::size_t>(n));
  if (n < 0) {
    error = name + ": " + src.error();
    return false;
  }
  if (src.over_cap()) {
    error = name + ": larger" + too_large;
    return false;
  }
  sink(p);
  return true;
}

}  // namespace sipwall::control
