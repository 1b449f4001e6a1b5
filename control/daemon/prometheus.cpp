#include "control/daemon/prometheus.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "rules/text/safe_text.h"

namespace sipwall::control {

std::string escape_label_value(std::string_view v) {
  // The format wants UTF-8: ids from an artifact are bytes from outside, so
  // invalid sequences become U+FFFD (text/safe_text.h) before escaping.
  const std::string utf8 = text::to_valid_utf8(v);
  std::string out;
  out.reserve(utf8.size());
  for (char c : utf8) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {
bool name_char(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}
}  // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

std::string sanitize_metric_name(std::string_view name) {
  std::string out(name);
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!name_char(out[i], i == 0, false)) out[i] = '_';
  if (out.empty()) out = "_";
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double (0.0075, not 0.0074999999999999997).
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void MetricsText::family(std::string_view name, MetricType type, std::string_view help) {
  if (!valid_metric_name(name)) throw std::invalid_argument("bad metric name: " + std::string(name));
  bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
  if ((type == MetricType::counter) != total)
    throw std::invalid_argument("counters (and only counters) end in _total: " + std::string(name));
  const std::string_view unit_suffixes[] = {"_bucket", "_sum", "_count"};
  if (type == MetricType::histogram)
    for (std::string_view sfx : unit_suffixes)
      if (name.size() > sfx.size() && name.substr(name.size() - sfx.size()) == sfx)
        throw std::invalid_argument("a histogram's name must not end in " + std::string(sfx));
  name_ = name;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == MetricType::counter ? " counter\n" : type == MetricType::gauge ? " gauge\n" : " histogram\n";
}

void MetricsText::sample(const Labels& labels, double value) {
  out_ += name_;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!valid_label_name(k)) throw std::invalid_argument("bad label name: " + k);
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void MetricsText::series(std::string_view suffix, const Labels& labels, double value) {
  const std::string family = name_;
  name_ += suffix;
  sample(labels, value);
  name_ = family;
}

void MetricsText::sample_u64(const Labels& labels, std::uint64_t value) {
  // Exact for any 64-bit counter (a double would round above 2^53).
  sample(labels, 0);
  out_.resize(out_.size() - 2);  // drop "0\n"
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace sipwall::control
