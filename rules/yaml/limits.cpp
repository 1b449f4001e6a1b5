#include "rules/yaml/limits.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <sstream>
#include <vector>

namespace sipwall::yaml {

namespace {

// Stops the parse at the first problem.
struct LimitHit {
  LimitProblem problem;
};

class LimitChecker final : public YAML::EventHandler {
 public:
  explicit LimitChecker(const Limits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string&) override { leaf(m, a); }
  void OnAnchor(const YAML::Mark& m, const std::string& name) override {
    pending_name_ = name;
    pending_line_ = m.line >= 0 ? static_cast<std::uint32_t>(m.line) + 1 : 0;
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    const Anchor* an = a < anchors_.size() ? &anchors_[a] : nullptr;
    if (an == nullptr || !an->defined) return;  // yaml-cpp refuses undefined aliases itself
    if (an->open) {
      stop(m, "YAML alias '*" + an->name + "' is inside the node its anchor '&" + an->name + "' (line " +
                  std::to_string(an->line) + ") names: a node cannot contain itself");
    }
    add(m, an->size,
        "YAML aliases expand this document to more than " + std::to_string(limits_.max_nodes) +
            " nodes (an alias of aliases of aliases...?); write the parts out or use fewer aliases");
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Anchor {
    std::string name;
    std::uint32_t line = 0;
    std::uint64_t size = 0;  // nodes of the anchored subtree, its aliases expanded
    bool defined = false;
    bool open = false;
  };
  struct Frame {
    std::uint64_t total_at_start;
    YAML::anchor_t anchor;
  };

  [[noreturn]] void stop(const YAML::Mark& m, std::string msg) {
    LimitProblem p;
    p.line = m.line >= 0 ? static_cast<std::uint32_t>(m.line) + 1 : 0;
    p.column = m.column >= 0 ? static_cast<std::uint32_t>(m.column) + 1 : 0;
    p.message = std::move(msg);
    throw LimitHit{std::move(p)};
  }

  // Counts `n` more nodes as a walker would see them. Sizes recorded are at
  // most max_nodes, so the sum cannot wrap.
  void add(const YAML::Mark& m, std::uint64_t n, const std::string& msg) {
    total_ += n;
    if (total_ > limits_.max_nodes) stop(m, msg);
  }

  Anchor& define(const YAML::Mark& m, YAML::anchor_t a) {
    if (a >= anchors_.size()) anchors_.resize(a + 1);
    Anchor& an = anchors_[a];
    an = Anchor{};
    an.name = std::move(pending_name_);
    an.line = pending_line_ != 0 ? pending_line_ : m.line >= 0 ? static_cast<std::uint32_t>(m.line) + 1 : 0;
    an.defined = true;
    pending_name_.clear();
    pending_line_ = 0;
    return an;
  }

  void leaf(const YAML::Mark& m, YAML::anchor_t a) {
    add(m, 1, "more than " + std::to_string(limits_.max_nodes) + " YAML nodes");
    if (a != YAML::NullAnchor) define(m, a).size = 1;
  }

  void open(const YAML::Mark& m, YAML::anchor_t a) {
    if (stack_.size() >= limits_.max_depth) {
      stop(m, "YAML nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    const std::uint64_t at = total_;
    add(m, 1, "more than " + std::to_string(limits_.max_nodes) + " YAML nodes");
    if (a != YAML::NullAnchor) define(m, a).open = true;
    stack_.push_back(Frame{at, a});
  }

  void close() {
    if (stack_.empty()) return;
    const Frame f = stack_.back();
    stack_.pop_back();
    if (f.anchor != YAML::NullAnchor && f.anchor < anchors_.size()) {
      anchors_[f.anchor].open = false;
      anchors_[f.anchor].size = total_ - f.total_at_start;
    }
  }

  const Limits& limits_;
  std::vector<Anchor> anchors_;  // by yaml-cpp's anchor id (1, 2, ...)
  std::vector<Frame> stack_;
  std::string pending_name_;  // from OnAnchor, for the node event that follows
  std::uint32_t pending_line_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace

std::optional<LimitProblem> check_limits(std::string_view text, const Limits& limits) {
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    LimitChecker checker(limits);
    parser.HandleNextDocument(checker);  // YAML::Load reads the first document only
  } catch (LimitHit& hit) {
    return std::move(hit.problem);
  } catch (const YAML::Exception&) {
    return std::nullopt;  // a syntax error: the caller's YAML::Load reports it
  }
  return std::nullopt;
}

}  // namespace sipwall::yaml
