#include "control/fleet/bundle.h"

#include <xxhash.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "rules/text/safe_text.h"

namespace sipwall::fleet {
namespace {

using nlohmann::json;

bool is_hex16(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A short printable string field (names, versions, times), or nullopt.
std::optional<std::string> short_text(const json& j, const char* key, std::size_t max, std::string& why) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    why = std::string("manifest: '") + key + "' is missing or not a string";
    return std::nullopt;
  }
  std::string s = it->get<std::string>();
  if (s.size() > max) {
    why = std::string("manifest: '") + key + "' is longer than " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) {
      why = std::string("manifest: '") + key + "' holds a control character";
      return std::nullopt;
    }
  return s;
}

}  // namespace

std::uint64_t Manifest::total_bytes() const noexcept {
  std::uint64_t t = 0;
  for (const auto& f : files) t += f.bytes;
  return t;
}

std::string content_hash(std::string_view content) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(XXH64(content.data(), content.size(), 0)));
  return buf;
}

std::optional<std::string> path_problem(std::string_view path, bool rule_file) {
  if (path.empty()) return "an empty path";
  if (path.size() > kMaxPathBytes) return "a path longer than " + std::to_string(kMaxPathBytes) + " bytes";
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f || c == '\\') return "a path with a control character or a backslash";
  if (path.front() == '/') return "an absolute path (list files must be under the rule file's folder)";
  if (rule_file && path.find('/') != std::string_view::npos) return "a rule file name with a '/'";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) return "a path with an empty component ('//' or a trailing '/')";
    if (part == "." || part == "..") return "a path with a '.' or '..' component (it must stay under the rules folder)";
    if (part.size() > 255) return "a path component longer than 255 bytes";
    start = end + 1;
  }
  return std::nullopt;
}

std::string encode_manifest(const Manifest& m) {
  json files = json::array();
  for (const auto& f : m.files) files.push_back(json{{"path", f.path}, {"bytes", f.bytes}, {"xxh64", f.xxh64}});
  json j{{"format", m.format},       {"seq", m.seq},           {"name", m.name},
         {"version", m.version},     {"checksum", m.checksum}, {"published_at", m.published_at},
         {"publisher", m.publisher}, {"files", files}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Manifest> parse_manifest(std::string_view text, std::uint64_t max_total_bytes, std::string& why) {
  if (text.size() > kMaxManifestBytes) {
    why = "manifest: larger than " + std::to_string(kMaxManifestBytes) + " bytes";
    return std::nullopt;
  }
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    why = "manifest: not a JSON object";
    return std::nullopt;
  }
  Manifest m;
  auto fmt = j.find("format");
  if (fmt == j.end() || !fmt->is_number_integer() || fmt->get<std::int64_t>() != kBundleFormat) {
    why = "manifest: format is not " + std::to_string(kBundleFormat) + " (published by another sipwall version?)";
    return std::nullopt;
  }
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) {
    why = "manifest: 'seq' is missing or not a positive integer";
    return std::nullopt;
  }
  m.seq = seq->get<std::uint64_t>();
  auto name = short_text(j, "name", 256, why);
  auto version = short_text(j, "version", 256, why);
  auto checksum = short_text(j, "checksum", 16, why);
  auto at = short_text(j, "published_at", 64, why);
  auto by = short_text(j, "publisher", 512, why);
  if (!name || !version || !checksum || !at || !by) return std::nullopt;
  if (!is_hex16(*checksum)) {
    why = "manifest: 'checksum' is not 16 hex digits";
    return std::nullopt;
  }
  m.name = *name;
  m.version = *version;
  m.checksum = *checksum;
  m.published_at = *at;
  m.publisher = *by;
  auto files = j.find("files");
  if (files == j.end() || !files->is_array() || files->empty()) {
    why = "manifest: 'files' is missing or empty";
    return std::nullopt;
  }
  if (files->size() > kMaxBundleFiles) {
    why = "manifest: more than " + std::to_string(kMaxBundleFiles) + " files";
    return std::nullopt;
  }
  std::set<std::string> seen;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < files->size(); ++i) {
    const json& f = (*files)[i];
    if (!f.is_object()) {
      why = "manifest: file " + std::to_string(i) + " is not an object";
      return std::nullopt;
    }
    BundleFile bf;
    auto path = f.find("path");
    auto bytes = f.find("bytes");
    auto hash = f.find("xxh64");
    if (path == f.end() || !path->is_string() || bytes == f.end() || !bytes->is_number_unsigned() || hash == f.end() ||
        !hash->is_string()) {
      why = "manifest: file " + std::to_string(i) + " needs path (string), bytes (integer) and xxh64 (string)";
      return std::nullopt;
    }
    bf.path = path->get<std::string>();
    if (auto p = path_problem(bf.path, i == 0)) {
      why = "manifest: file " + text::quote(bf.path) + ": " + *p;
      return std::nullopt;
    }
    if (!seen.insert(bf.path).second) {
      why = "manifest: file " + text::quote(bf.path) + " is listed twice";
      return std::nullopt;
    }
    bf.bytes = bytes->get<std::uint64_t>();
    bf.xxh64 = hash->get<std::string>();
    if (!is_hex16(bf.xxh64)) {
      why = "manifest: file " + text::quote(bf.path) + ": xxh64 is not 16 hex digits";
      return std::nullopt;
    }
    total += bf.bytes;
    if (bf.bytes > max_total_bytes || total > max_total_bytes) {
      why = "manifest: the files add up to more than the " + std::to_string(max_total_bytes >> 20) +
            " MiB this appliance accepts (fleet.max_bundle_mb)";
      return std::nullopt;
    }
    m.files.push_back(std::move(bf));
  }
  return m;
}

bool verify_content(const BundleFile& f, std::string_view content, std::string& why) {
  if (content.size() != f.bytes) {
    why = "file " + text::quote(f.path) + ": " + std::to_string(content.size()) +
          " bytes in Redis, the manifest says " + std::to_string(f.bytes);
    return false;
  }
  if (content_hash(content) != f.xxh64) {
    why = "file " + text::quote(f.path) + ": its XXH64 does not match the manifest";
    return false;
  }
  return true;
}

}  // namespace sipwall::fleet
