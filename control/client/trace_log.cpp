#include "control/client/trace_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "control/client/time_util.h"
#include "rules/number/normalize.h"
#include "rules/text/json_text.h"

namespace sipwall::control {
namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

template <typename J>
J field_or_null(const json& r, const char* key) {
  auto it = r.find(key);
  if (it == r.end()) return J(nullptr);
  return J(*it);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A needle we may look for in the raw line before parsing it: only if the
// JSON encoder writes it unchanged (no quote, backslash or control byte).
bool plain(const std::string& s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

bool string_field_equals(const json& r, const char* key, const std::string& want) {
  auto it = r.find(key);
  return it != r.end() && it->is_string() && it->get_ref<const std::string&>() == want;
}

}  // namespace

std::string trace_line(const json& r, const std::vector<std::string>& port_names) {
  ordered_json line;
  std::int64_t t = 0;
  if (auto it = r.find("time_ns"); it != r.end() && it->is_number()) t = it->get<std::int64_t>();
  line["time"] = iso8601_ms(t);
  std::string port;
  if (auto it = r.find("in_port"); it != r.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0) {
    std::size_t i = it->get<std::size_t>();
    port = i < port_names.size() ? port_names[i] : "port" + std::to_string(i);
  }
  line["in_port"] = port;
  line["transport"] = field_or_null<ordered_json>(r, "transport");
  line["src_ip"] = field_or_null<ordered_json>(r, "src_ip");
  line["src_port"] = field_or_null<ordered_json>(r, "src_port");
  line["dst_ip"] = field_or_null<ordered_json>(r, "dst_ip");
  line["dst_port"] = field_or_null<ordered_json>(r, "dst_port");
  if (r.contains("vlan")) line["vlan"] = field_or_null<ordered_json>(r, "vlan");
  line["trunk"] = field_or_null<ordered_json>(r, "trunk");
  line["call_id"] = field_or_null<ordered_json>(r, "call_id");
  line["caller"] = field_or_null<ordered_json>(r, "caller");
  line["callee"] = field_or_null<ordered_json>(r, "callee");
  line["rule_id"] = field_or_null<ordered_json>(r, "rule_id");
  line["ruleset_version"] = field_or_null<ordered_json>(r, "ruleset_version");
  line["action"] = field_or_null<ordered_json>(r, "action");
  line["reject_code"] = field_or_null<ordered_json>(r, "reject_code");
  // A Call-ID is whatever bytes the peer sent: never let one invalid UTF-8
  // byte cost the whole record (U+FFFD, the rule of text/safe_text.h).
  return text::dump_json(line);
}

TraceWriter::~TraceWriter() {
  if (fd_ >= 0) ::close(fd_);
}

bool TraceWriter::open(std::string& error) {
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec) {
    error = opt_.dir.string() + ": " + ec.message();
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    error = path().string() + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

bool TraceWriter::rotate(std::string& error) {
  ::close(fd_);
  fd_ = -1;
  fs::path base = path();
  std::error_code ec;
  if (opt_.keep == 0) {
    fs::remove(base, ec);
  } else {
    fs::remove(base.string() + "." + std::to_string(opt_.keep), ec);
    for (unsigned i = opt_.keep - 1; i >= 1; --i) {
      fs::path from = base.string() + "." + std::to_string(i);
      if (fs::exists(from, ec)) fs::rename(from, base.string() + "." + std::to_string(i + 1), ec);
    }
    fs::rename(base, base.string() + ".1", ec);
    if (ec) {
      error = "rotating " + base.string() + ": " + ec.message();
      // Keep writing to the same file rather than losing records.
    }
  }
  ++rotations_;
  std::string open_error;
  if (!open(open_error)) {
    error = open_error;
    return false;
  }
  return ec ? false : true;
}

bool TraceWriter::write(const std::vector<std::string>& lines, std::string& error) {
  if (fd_ < 0 && !open(error)) return false;
  std::string batch;
  bool ok = true;
  auto flush = [&]() {
    if (batch.empty()) return true;
    if (!write_all(fd_, batch.data(), batch.size())) {
      error = path().string() + ": " + std::strerror(errno);
      batch.clear();
      return false;
    }
    size_ += batch.size();
    batch.clear();
    return true;
  };
  for (const std::string& l : lines) {
    std::uint64_t add = l.size() + 1;
    if (size_ + batch.size() > 0 && size_ + batch.size() + add > opt_.max_bytes) {
      if (!flush()) return false;
      std::string rot_error;
      if (!rotate(rot_error)) {
        error = rot_error;
        ok = false;
        if (fd_ < 0) return false;
      }
    }
    batch += l;
    batch += '\n';
    ++lines_;
  }
  return flush() && ok;
}

std::vector<fs::path> trace_files(const fs::path& dir, std::error_code* read_error) {
  std::vector<std::pair<unsigned long, fs::path>> rotated;
  std::error_code ec;
  const std::string prefix = std::string(kTraceFileName) + ".";
  fs::directory_iterator it(dir, ec);
  if (ec && read_error) *read_error = ec;
  for (const auto& e : it) {
    std::string name = e.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string num = name.substr(prefix.size());
    if (!std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; }) || num.size() > 6) continue;
    rotated.emplace_back(std::stoul(num), e.path());
  }
  std::sort(rotated.begin(), rotated.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& r : rotated) out.push_back(r.second);
  fs::path cur = dir / kTraceFileName;
  if (fs::exists(cur, ec)) out.push_back(cur);
  return out;
}

std::optional<std::int64_t> trace_time_ns(const json& r) {
  if (auto it = r.find("time_ns"); it != r.end() && it->is_number_integer()) return it->get<std::int64_t>();
  if (auto it = r.find("time"); it != r.end() && it->is_string())
    return parse_iso8601(it->get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<std::string> normalise_number_query(std::string_view text, const number::DialPlan& plan,
                                                  std::string* why) {
  number::Number n = number::normalize_written(text, plan);
  if (n.kind == number::NumberKind::e164 || n.kind == number::NumberKind::short_code) return std::string(n.text());
  if (why)
    *why = "'" + std::string(text) + "' is not a phone number under the dial plan (" +
           std::string(number::to_string(n.kind)) + ": " + std::string(number::to_string(n.reason)) + ")";
  return std::nullopt;
}

bool trace_matches(const json& r, const TraceQuery& q) {
  if (q.caller && !string_field_equals(r, "caller", *q.caller)) return false;
  if (q.callee && !string_field_equals(r, "callee", *q.callee)) return false;
  if (q.call_id && !string_field_equals(r, "call_id", *q.call_id)) return false;
  if (q.rule_id && !string_field_equals(r, "rule_id", *q.rule_id)) return false;
  if (q.since_ns || q.until_ns) {
    auto t = trace_time_ns(r);
    if (!t) return false;
    if (q.since_ns && *t < *q.since_ns) return false;
    if (q.until_ns && *t > *q.until_ns) return false;
  }
  return true;
}

TraceSearchStats search_trace(const std::vector<fs::path>& files, const TraceQuery& q,
                              const std::function<bool(const json&, const std::string&)>& on_match) {
  TraceSearchStats st;
  // The rarest field the query names, checked on the raw line first: most
  // lines of a big log are skipped without parsing them.
  std::vector<std::string> needles;
  for (const auto* f : {&q.call_id, &q.caller, &q.callee, &q.rule_id})
    if (*f && plain(**f)) needles.push_back("\"" + **f + "\"");
  for (const fs::path& p : files) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      st.unreadable.push_back(p.string() + ": " + std::strerror(errno));
      continue;
    }
    ++st.files;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++st.lines;
      bool skip = false;
      for (const auto& n : needles)
        if (line.find(n) == std::string::npos) {
          skip = true;
          break;
        }
      if (skip) continue;
      json r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object()) {
        ++st.bad_lines;
        continue;
      }
      if (!trace_matches(r, q)) continue;
      ++st.matched;
      if (!on_match(r, line)) return st;
    }
  }
  return st;
}

}  // namespace sipwall::control
