#include "dataplane/app/ruleset_runtime.h"

#include <exception>

#include "rules/compiled/artifact.h"

namespace sipwall::dataplane {
namespace {
constexpr std::size_t kWordsPerLine = 64 / sizeof(std::uint64_t);
std::size_t padded(std::size_t n) {
  return (n + kWordsPerLine - 1) / kWordsPerLine * kWordsPerLine;
}
}  // namespace

net::SipResponseOptions reject_options(const rules::CompiledRuleSet& set, const rules::ActionInfo& a) noexcept {
  net::SipResponseOptions o;
  o.code = a.reject_code;
  o.reason_text = set.str(a.reason_text);
  // The compiled action carries the rendered Call-Info line; the URI is what is between < >.
  const std::string_view ci = set.str(a.call_info_line);
  const std::size_t lt = ci.find('<'), gt = ci.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    o.call_info_uri = ci.substr(lt + 1, gt - lt - 1);
  }
  o.server = "sipwall";
  return o;
}

std::unique_ptr<RuntimeSet> RuntimeSet::load(const std::string& artifact, unsigned workers, std::string& error,
                                             const DetectOptions& detect) {
  auto t0 = std::chrono::steady_clock::now();
  rules::ArtifactLoadResult r = rules::load_artifact(artifact);
  if (!r.ok()) {
    error = r.message;
    return nullptr;
  }
  std::unique_ptr<RuntimeSet> rs(new RuntimeSet());
  rs->set_ = std::move(r.set);
  rs->workers_ = workers;
  rs->scratch_.resize(workers);
  for (unsigned w = 0; w < workers; ++w) {
    std::string why;
    if (!rs->scratch_[w].prepare(*rs->set_, &why)) {
      error = artifact + ": cannot prepare Hyperscan scratch: " + why;
      return nullptr;
    }
  }
  rs->rule_stride_ = padded(rs->set_->rule_count() + 1);
  rs->trunk_stride_ = padded(rs->set_->trunk_count() + 1);
  rs->rule_hits_.assign(rs->rule_stride_ * workers, 0);
  rs->trunk_calls_.assign(rs->trunk_stride_ * workers, 0);
  rs->deny_stride_ = padded(rs->set_->deny_count() + 1);
  rs->deny_hits_.assign(rs->deny_stride_ * workers, 0);
  // The reject actions' fixed lines, rendered once here rather than for every
  // rejected INVITE: each into a scratch buffer and appended to one text, the
  // views made once the text has stopped growing.
  const rules::CompiledRuleSet& set = *rs->set_;
  const std::size_t actions = set.rule_count() + 1;
  auto action = [&](std::size_t i) -> const rules::ActionInfo& {
    return i < set.rule_count() ? set.rule_action(i) : set.default_action();
  };
  struct Span {
    std::size_t at = 0, status = 0, tail = 0;  // offset in reply_text_, part lengths
  };
  std::vector<Span> spans(actions);
  std::vector<char> scratch(2048);  // reason <= 256, Call-Info URI <= 1024
  rs->reply_text_.clear();
  for (std::size_t i = 0; i < actions; ++i) {
    if (action(i).kind != rules::ActionKind::reject) continue;
    net::ResponseParts parts;
    if (!net::render_response_parts(reject_options(set, action(i)), scratch.data(), scratch.size(), parts)) {
      error = artifact + ": cannot render the response of reject action " + std::to_string(i);
      return nullptr;
    }
    spans[i] = Span{rs->reply_text_.size(), parts.status_line.size(), parts.tail.size()};
    rs->reply_text_.insert(rs->reply_text_.end(), scratch.data(),
                           scratch.data() + parts.status_line.size() + parts.tail.size());
  }
  rs->reply_parts_.assign(actions, net::ResponseParts{});
  for (std::size_t i = 0; i < actions; ++i) {
    if (spans[i].status == 0) continue;
    const char* p = rs->reply_text_.data() + spans[i].at;
    rs->reply_parts_[i] =
        net::ResponseParts{std::string_view(p, spans[i].status), std::string_view(p + spans[i].status, spans[i].tail)};
  }
  // Detection: every worker's tables now, so the packet path never allocates.
  for (const detect::DetectorSpec& d : set.detectors()) {
    detect::DetectorSpec spec = d;
    if (spec.capacity == 0) spec.capacity = detect.capacity;
    rs->specs_.push_back(spec);
  }
  if (!rs->specs_.empty()) {
    for (unsigned w = 0; w < workers; ++w) {
      detect::WorkerOptions o = detect.worker;
      o.worker_index = w;
      o.workers = workers;
      if (const char* why = detect::WorkerDetect::validate(rs->specs_, o)) {
        error = artifact + ": detectors: " + why;
        return nullptr;
      }
      try {
        detect::CallTable* calls = w < detect.call_tables.size() ? detect.call_tables[w] : nullptr;
        rs->detect_.push_back(std::make_unique<detect::WorkerDetect>(rs->specs_, o, calls));
      } catch (const std::exception& e) {
        error = artifact + ": cannot allocate the detectors' tables: " + e.what();
        return nullptr;
      }
    }
  }
  rs->detector_stride_ = padded(rs->specs_.size() + 1);
  rs->detector_hits_.assign(rs->detector_stride_ * workers, 0);
  rs->detector_report_hits_.assign(rs->detector_stride_ * workers, 0);
  rs->detector_action_ = std::make_unique<std::atomic<std::uint8_t>[]>(rs->specs_.size() * 3 + 1);
  static std::atomic<std::uint64_t> loads{0};
  rs->generation_ = ++loads;
  rs->artifact_ = artifact;
  rs->loaded_at_ = std::chrono::system_clock::now();
  rs->load_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return rs;
}

std::uint64_t RuntimeSet::rule_hits_total(std::size_t rule) const noexcept {
  std::uint64_t s = 0;
  for (unsigned w = 0; w < workers_; ++w) s += rule_hits_[w * rule_stride_ + rule];
  return s;
}

std::uint64_t RuntimeSet::trunk_calls_total(std::size_t trunk) const noexcept {
  std::uint64_t s = 0;
  for (unsigned w = 0; w < workers_; ++w) s += trunk_calls_[w * trunk_stride_ + trunk];
  return s;
}

std::uint64_t RuntimeSet::deny_hits_total(std::size_t entry) const noexcept {
  std::uint64_t s = 0;
  for (unsigned w = 0; w < workers_; ++w) s += deny_hits_[w * deny_stride_ + entry];
  return s;
}

std::uint64_t RuntimeSet::detector_hits_total(std::size_t d) const noexcept {
  std::uint64_t s = 0;
  for (unsigned w = 0; w < workers_; ++w) s += detector_hits_[w * detector_stride_ + d];
  return s;
}

std::uint64_t RuntimeSet::detector_report_hits_total(std::size_t d) const noexcept {
  std::uint64_t s = 0;
  for (unsigned w = 0; w < workers_; ++w) s += detector_report_hits_[w * detector_stride_ + d];
  return s;
}

std::uint64_t RuntimeSet::no_trunk_calls_total() const noexcept {
  return trunk_calls_total(set_->trunk_count());
}

std::uint64_t RuntimeSet::invites_total() const noexcept {
  std::uint64_t s = 0;
  for (std::size_t t = 0; t <= set_->trunk_count(); ++t) s += trunk_calls_total(t);
  return s;
}

void RetiredCounters::absorb(const RuntimeSet& old) {
  const rules::CompiledRuleSet& s = old.set();
  for (std::size_t i = 0; i < s.rule_count(); ++i) rule_hits[std::string(s.rule_id(i))] += old.rule_hits_total(i);
  // Slot rule_count() holds the INVITEs the default action decided; stats()
  // reports it as "(default)", so it must survive the reload like the rules.
  rule_hits["(default)"] += old.rule_hits_total(s.rule_count());
  for (std::size_t t = 0; t < s.trunk_count(); ++t)
    trunk_calls[std::string(s.trunk_name(t))] += old.trunk_calls_total(t);
  trunk_calls[""] += old.no_trunk_calls_total();
  for (std::size_t i = 0; i < s.deny_count(); ++i) deny_hits[std::string(s.deny_id(i))] += old.deny_hits_total(i);
  for (std::size_t d = 0; d < old.detector_specs().size(); ++d) {
    const std::string name(s.detector_name(d));
    detector_hits[name] += old.detector_hits_total(d);
    detector_report_hits[name] += old.detector_report_hits_total(d);
  }
}

}  // namespace sipwall::dataplane
