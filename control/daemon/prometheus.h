// Prometheus text exposition format 0.0.4: one `# HELP` and one `# TYPE` line
// per metric family, then its samples. Label values and help text are
// escaped as the format requires (\\, \", \n in label values; \\ and \n in
// help), names are checked against [a-zA-Z_:][a-zA-Z0-9_:]*.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipwall::control {

enum class MetricType { counter, gauge, histogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
bool valid_metric_name(std::string_view name) noexcept;
bool valid_label_name(std::string_view name) noexcept;
// Replaces every character a metric name may not hold with '_'.
std::string sanitize_metric_name(std::string_view name);
// A sample value: integers exactly, others with enough digits, NaN/+Inf as the format spells them.
std::string format_value(double v);

class MetricsText {
 public:
  // Starts a family. Counters must be named *_total (checked: a wrong name
  // throws std::invalid_argument, since it is a programming error).
  void family(std::string_view name, MetricType type, std::string_view help);
  // A sample of the family started last.
  void sample(const Labels& labels, double value);
  void sample(double value) { sample({}, value); }
  void sample_u64(const Labels& labels, std::uint64_t value);
  // A histogram's series: `suffix` is "_bucket" (with an "le" label),
  // "_sum" or "_count", appended to the family's name.
  void series(std::string_view suffix, const Labels& labels, double value);
  const std::string& text() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

}  // namespace sipwall::control
