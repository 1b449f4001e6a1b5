// A small UDP SIP load generator for the Kamailio comparison (perf/run,
// section 5): sends the pipeline benchmark's INVITE mix (perf/pipeline/
// invite_mix.cpp, the same templates, callers and hit shares) to a SIP server
// over loopback as fast as the server answers, and checks every answer.
//
//   sip_blaster --target 127.0.0.1:5060 --sink-port 5090 --hits DIR
//               [--seconds 5] [--max-invites N] [--window 256] [--json FILE]
//   sip_blaster --echo --seconds 1     # self-test against a built-in responder
//
// Closed loop with a window: at most --window INVITEs are outstanding (sent,
// neither answered nor forwarded), so the server sets the pace and the socket
// buffers never overflow; what it achieves is answers per second. sendmmsg /
// recvmmsg batches keep the blaster's own cost per INVITE small (a few
// hundred ns), far below a SIP server's.
//
// Answers: a response on the sending socket (603 for a listed caller, from
// sl_send_reply), or the INVITE forwarded to --sink-port (a caller not
// listed). Each answer is matched to the INVITE it answers by an id in the
// Via branch, so correctness is checked per packet: a 603 must answer a
// listed caller, a forwarded INVITE must not be one. An outstanding
// INVITE with no answer for --lost-ms counts as lost. With --list-file (the rule
// set's number list) the expected answer follows the caller actually sent: a
// random "clean" caller can be on a 1M list too (p = 1M / 7e9 per INVITE).
// Each INVITE carries its id in the Via branch, so the check is per packet.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataplane/net/packet_decode.h"
#include "perf/pipeline/invite_mix.h"

namespace {

using namespace sipwall::perf;
using Clock = std::chrono::steady_clock;

struct Msg {
  std::string text;                   // the SIP message (UDP payload)
  std::vector<std::uint16_t> caller;  // offsets of the caller digits in text
  std::vector<std::uint16_t> callee;
  MixKind kind = MixKind::clean;
  std::size_t branch = 0;  // offset of the 16 hex digits after "branch=z9hG4bK" (0: none)
};

std::string_view header_value(std::string_view m, std::string_view name, std::string_view compact) {
  std::size_t pos = 0;
  while (pos < m.size()) {
    std::size_t eol = m.find('\n', pos);
    if (eol == std::string_view::npos) eol = m.size();
    std::string_view line = m.substr(pos, eol - pos);
    if (line.empty() || line == "\r") break;
    std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view n = line.substr(0, colon);
      while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
      auto eq = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
          if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
        return true;
      };
      if (eq(n, name) || (!compact.empty() && eq(n, compact))) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.remove_suffix(1);
        return v;
      }
    }
    pos = eol + 1;
  }
  return {};
}

int udp_socket(std::uint16_t port, sockaddr_in& bound) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  socklen_t l = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &l);
  return fd;
}

// --echo: answers every INVITE with "SIP/2.0 200 OK" carrying its Via and Call-ID.
void echo_server(int fd, std::atomic<bool>& stop) {
  char buf[2048];
  timeval tv{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!stop.load()) {
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) continue;
    const std::string_view req(buf, static_cast<std::size_t>(n));
    std::string_view via = header_value(req, "Via", "v");
    std::string r = "SIP/2.0 200 OK\r\nVia: " + std::string(via) +
                    "\r\nCall-ID: " + std::string(header_value(req, "Call-ID", "i")) + "\r\nContent-Length: 0\r\n\r\n";
    sendto(fd, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"UDP SIP INVITE blaster for the Kamailio comparison (sendmmsg, closed loop)"};
  std::string target = "127.0.0.1:5060", hits, json_out;
  unsigned templates = 2048, window = 256, lost_ms = 200;
  std::uint16_t sink_port = 0;
  double seconds = 5;
  std::uint64_t max_invites = 50'000'000, seed = 1;
  bool echo = false;
  std::string list_file;
  app.add_option("--target", target, "SIP server ip:port (IPv4)")->capture_default_str();
  app.add_option("--sink-port", sink_port,
                 "Port on 127.0.0.1 where the server forwards INVITEs it lets pass (0: none)");
  app.add_option("--hits", hits, "Directory from gen_ruleset.py (hit-callers.txt, ...)");
  app.add_option("--templates", templates, "INVITE templates")->capture_default_str();
  app.add_option("--seed", seed, "Seed of the mix")->capture_default_str();
  app.add_option("--seconds", seconds, "Sending time")->capture_default_str();
  app.add_option("--max-invites", max_invites, "Stop after this many INVITEs")->capture_default_str();
  app.add_option("--window", window, "Outstanding INVITEs at most")->capture_default_str();
  app.add_option("--lost-ms", lost_ms, "No answer for this long: the outstanding INVITEs count as lost")
      ->capture_default_str();
  app.add_option("--json", json_out, "Write the results as JSON ('-' = stdout)");
  app.add_option("--list-file", list_file,
                 "Number list of the rule set (any of gen_ruleset.py's formats): listed = expect 603");
  app.add_flag("--echo", echo, "Self-test: answer with a built-in responder (200 OK to every INVITE)");
  CLI11_PARSE(app, argc, argv);
  if (seconds <= 0 || seconds > 600 || window == 0 || window > 65536) {
    std::fprintf(stderr, "sip_blaster: --seconds must be in (0, 600], --window in [1, 65536]\n");
    return 2;
  }

  // The mix, as bench_pipeline builds it.
  MixSpec ms;
  ms.templates = templates;
  ms.seed = seed;
  std::vector<National> hit_callers;
  if (!hits.empty()) load_hits(hits, ms, hit_callers);  // missing files: checked below
  MixSummary summary;
  std::vector<InviteTemplate> tps = build_mix(ms, summary);
  std::vector<Msg> msgs;
  for (const auto& t : tps) {
    sipwall::net::DecodedPacket d;
    if (sipwall::net::decode_frame(t.frame.data(), t.frame.size(), d) != sipwall::net::DecodeResult::ok) continue;
    Msg m;
    m.text = std::string(d.payload(t.frame.data()));
    for (auto o : t.caller_digits) m.caller.push_back(static_cast<std::uint16_t>(o - d.payload_offset));
    for (auto o : t.callee_digits) m.callee.push_back(static_cast<std::uint16_t>(o - d.payload_offset));
    m.kind = t.kind;
    if (auto b = m.text.find("branch=z9hG4bK"); b != std::string::npos && b + 30 <= m.text.size()) m.branch = b + 14;
    msgs.push_back(std::move(m));
  }
  if (msgs.empty()) {
    std::fprintf(stderr, "sip_blaster: the mix has no templates\n");
    return 1;
  }
  if (!hits.empty() && hit_callers.empty()) {
    std::fprintf(stderr, "sip_blaster: no hit callers in %s/hit-callers.txt\n", hits.c_str());
    return 1;
  }

  // The list, as 11-digit national numbers.
  std::unordered_set<std::uint64_t> listed_set;
  auto national_key = [](std::string d) -> std::uint64_t {
    std::string x;
    for (char c : d)
      if (c >= '0' && c <= '9') x += c;
    for (const char* p : {"0086", "86", "0"})
      if (x.size() > 11 && x.rfind(p, 0) == 0) {
        x.erase(0, std::strlen(p));
        break;
      }
    return x.size() == 11 ? std::stoull(x) : 0;
  };
  if (!list_file.empty()) {
    for (const std::string& l : read_lines(list_file))
      if (std::uint64_t k = national_key(l)) listed_set.insert(k);
    if (listed_set.empty()) {
      std::fprintf(stderr, "sip_blaster: no numbers in %s\n", list_file.c_str());
      return 1;
    }
  }
  sockaddr_in me{}, sinkaddr{}, dst{};
  int fd = udp_socket(0, me);
  int sink_fd = sink_port ? udp_socket(sink_port, sinkaddr) : -1;
  if (fd < 0 || (sink_port && sink_fd < 0)) {
    std::fprintf(stderr, "sip_blaster: cannot bind UDP sockets on 127.0.0.1: %s\n", std::strerror(errno));
    return 1;
  }
  std::atomic<bool> stop_echo{false};
  std::thread echo_thread;
  int echo_fd = -1;
  {
    auto colon = target.rfind(':');
    dst.sin_family = AF_INET;
    if (echo) {
      sockaddr_in ea{};
      echo_fd = udp_socket(0, ea);
      dst = ea;
      echo_thread = std::thread(echo_server, echo_fd, std::ref(stop_echo));
    } else if (colon == std::string::npos || inet_pton(AF_INET, target.substr(0, colon).c_str(), &dst.sin_addr) != 1) {
      std::fprintf(stderr, "sip_blaster: --target must be IPv4:port\n");
      return 2;
    } else {
      dst.sin_port = htons(static_cast<std::uint16_t>(std::stoul(target.substr(colon + 1))));
    }
  }

  constexpr unsigned kBatch = 64;
  std::vector<std::string> out(kBatch);
  mmsghdr hdr[kBatch];
  iovec iov[kBatch];
  std::vector<std::vector<char>> rbuf(kBatch, std::vector<char>(4096));
  mmsghdr rh[kBatch];
  iovec riov[kBatch];

  // Per packet: id -> expected answer (true: 603). The id replaces the 16 hex
  // digits of the Via branch ("5ee0" + 12 hex); replies copy the Via, a
  // forwarded INVITE keeps it below the server's own.
  struct Expect {
    bool reject;
  };
  std::unordered_map<std::uint64_t, Expect> pending;
  pending.reserve(window * 2);
  std::uint64_t rng = 0x9E3779B97F4A7C15ULL ^ seed, sent = 0, cursor = 0, lost = 0, next_id = 1;
  std::uint64_t sent_kind[kMixKinds] = {}, forwarded = 0, unmatched = 0, duplicated = 0, answers = 0;
  std::uint64_t listed = 0, replies_603 = 0, misclassified = 0;
  std::map<int, std::uint64_t> codes;
  std::vector<std::string> wrong_samples;  // first few misclassified answers, for the JSON
  auto last_progress = Clock::now();
  const auto t0 = Clock::now();
  const auto t_end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  bool sending = true;
  Clock::time_point t_last_send = t0;
  static const char kHex[] = "0123456789abcdef";

  auto id_of = [](std::string_view m) -> std::uint64_t {
    std::size_t pos = 0;
    while ((pos = m.find("branch=z9hG4bK5ee0", pos)) != std::string_view::npos) {
      pos += 18;
      if (pos + 12 > m.size()) return 0;
      std::uint64_t id = 0;
      bool ok = true;
      for (std::size_t i = 0; i < 12; ++i) {
        const char c = m[pos + i];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) ok = false;
        id = id << 4 | static_cast<unsigned>(v < 0 ? 0 : v);
      }
      if (ok) return id;
    }
    return 0;
  };

  auto receive = [&](int sock, bool is_sink) {
    for (unsigned i = 0; i < kBatch; ++i) {
      riov[i] = {rbuf[i].data(), rbuf[i].size()};
      std::memset(&rh[i], 0, sizeof rh[i]);
      rh[i].msg_hdr.msg_iov = &riov[i];
      rh[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(sock, rh, kBatch, MSG_DONTWAIT, nullptr);
    for (int i = 0; i < n; ++i) {
      std::string_view m(rbuf[static_cast<std::size_t>(i)].data(), rh[i].msg_len);
      const std::uint64_t id = id_of(m);
      auto it = pending.find(id);
      if (it == pending.end()) {
        if (id && id < next_id)
          duplicated++;
        else
          unmatched++;
        continue;
      }
      const bool expect_reject = it->second.reject;
      pending.erase(it);
      answers++;
      bool reject = false;
      if (is_sink || m.rfind("INVITE ", 0) == 0) {
        forwarded++;
      } else if (m.rfind("SIP/2.0 ", 0) == 0 && m.size() > 11) {
        const int code = std::atoi(std::string(m.substr(8, 3)).c_str());
        codes[code]++;
        reject = code == 603;
        replies_603 += reject;
      } else {
        unmatched++;
        continue;
      }
      if (reject != expect_reject && !echo) {
        misclassified++;
        if (wrong_samples.size() < 8) wrong_samples.emplace_back(m);
      }
    }
    if (n > 0) last_progress = Clock::now();
    return n > 0 ? n : 0;
  };

  for (;;) {
    const auto now = Clock::now();
    if (sending && (now >= t_end || sent >= max_invites)) {
      sending = false;
      t_last_send = now;
    }
    if (!sending && (pending.empty() || now - t_last_send > std::chrono::milliseconds(lost_ms + 300))) break;
    if (sending && pending.size() + kBatch <= window) {
      const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, max_invites - sent));
      std::uint64_t ids[kBatch];
      bool rej[kBatch];
      unsigned kinds[kBatch];
      for (unsigned i = 0; i < n; ++i) {
        const Msg& m = msgs[cursor++ % msgs.size()];
        std::string& o = out[i];
        o = m.text;
        const National caller = m.kind == MixKind::caller_hit && !hit_callers.empty()
                                    ? hit_callers[xorshift(rng) % hit_callers.size()]
                                    : random_mobile(rng);
        for (std::size_t k = 0; k < m.caller.size(); ++k) o[m.caller[k]] = caller[k % 11];
        const National callee = random_mobile(rng);
        for (std::size_t k = 0; k < m.callee.size(); ++k) o[m.callee[k]] = callee[k % 11];
        ids[i] = next_id++;
        if (m.branch) {
          o[m.branch] = '5', o[m.branch + 1] = 'e', o[m.branch + 2] = 'e', o[m.branch + 3] = '0';
          for (std::size_t k = 0; k < 12; ++k) o[m.branch + 4 + k] = kHex[(ids[i] >> (4 * (11 - k))) & 15];
        }
        rej[i] = list_file.empty() ? m.kind == MixKind::caller_hit
                                   : listed_set.count(std::stoull(std::string(caller.data(), 11))) > 0;
        kinds[i] = static_cast<unsigned>(m.kind);
        iov[i] = {o.data(), o.size()};
        std::memset(&hdr[i], 0, sizeof hdr[i]);
        hdr[i].msg_hdr.msg_name = &dst;
        hdr[i].msg_hdr.msg_namelen = sizeof dst;
        hdr[i].msg_hdr.msg_iov = &iov[i];
        hdr[i].msg_hdr.msg_iovlen = 1;
      }
      int done = sendmmsg(fd, hdr, n, 0);
      if (done < 0) done = 0;
      if (pending.empty() && done > 0) last_progress = Clock::now();
      for (int i = 0; i < done; ++i) {
        pending.emplace(ids[i], Expect{rej[i]});
        sent_kind[kinds[i]]++;
        listed += rej[i];
      }
      sent += static_cast<unsigned>(done);
    }
    int got = receive(fd, false);
    if (sink_fd >= 0) got += receive(sink_fd, true);
    if (got == 0 && !pending.empty() && Clock::now() - last_progress > std::chrono::milliseconds(lost_ms)) {
      lost += pending.size();  // the server dropped them (overload, or never got them)
      pending.clear();
      last_progress = Clock::now();
    }
    if (got == 0 && (!sending || pending.size() + kBatch > window)) std::this_thread::yield();
  }
  const double elapsed = std::chrono::duration<double>(t_last_send - t0).count();
  lost += pending.size();
  stop_echo.store(true);
  if (echo_thread.joinable()) echo_thread.join();

  nlohmann::json j = {
      {"target", echo ? "echo" : target},
      {"seconds", elapsed},
      {"window", window},
      {"sent", sent},
      {"answers", answers},
      {"answers_per_s", elapsed > 0 ? static_cast<double>(answers) / elapsed : 0},
      {"forwarded", forwarded},
      {"lost", lost},
      {"duplicated", duplicated},
      {"unmatched", unmatched},
      {"expected_by", list_file.empty() ? "template kind (caller-hit)" : "caller on --list-file"},
      {"listed_callers_sent", listed},
      {"replies_603", replies_603},
      {"misclassified", misclassified},
      {"misclassified_samples", wrong_samples},
      {"mix", {{"templates", msgs.size()}, {"sip_bytes_avg", summary.avg_sip}}},
  };
  for (unsigned k = 0; k < kMixKinds; ++k) j["sent_kind"][to_string(static_cast<MixKind>(k))] = sent_kind[k];
  for (auto& [c, n] : codes) j["codes"][std::to_string(c)] = n;
  j["correct"] = lost == 0 && duplicated == 0 && misclassified == 0 && replies_603 == listed;
  if (json_out.empty() || json_out != "-") {
    std::printf(
        "sent %llu INVITEs in %.2f s: %.0f answers/s; forwarded %llu, 603 %llu (listed callers sent %llu), "
        "lost %llu, duplicated %llu, misclassified %llu, unmatched %llu -> %s\n",
        static_cast<unsigned long long>(sent), elapsed, j["answers_per_s"].get<double>(),
        static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(replies_603),
        static_cast<unsigned long long>(listed), static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(duplicated), static_cast<unsigned long long>(misclassified),
        static_cast<unsigned long long>(unmatched),
        echo ? (answers == sent && lost == 0 ? "self-test ok" : "self-test FAILED")
             : (j["correct"].get<bool>() ? "correct" : "NOT correct"));
  }
  if (!json_out.empty()) {
    if (json_out == "-") {
      std::cout << j.dump(2) << "\n";
    } else {
      std::ofstream f(json_out);
      f << j.dump(2) << "\n";
    }
  }
  close(fd);
  if (sink_fd >= 0) close(sink_fd);
  if (echo_fd >= 0) close(echo_fd);
  // Self-test: every INVITE answered, none lost or unmatched.
  if (echo) return sent > 0 && answers == sent && lost == 0 && unmatched == 0 && duplicated == 0 ? 0 : 1;
  return 0;
}
