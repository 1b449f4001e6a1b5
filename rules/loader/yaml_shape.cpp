// Checking the shape of YAML nodes (map / list / scalar, known keys, types)
// with messages that name the key, what was expected and what was found.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "rules/loader/loader_internal.h"
#include "rules/loader/suggest.h"
#include "rules/loader/yaml_guard.h"
#include "rules/model/model_text.h"
#include "rules/model/outside_text.h"

namespace sipwall::rules::loader {

void Loader::error(const SourceLocation& where, std::string message) {
  ++errors_;
  diags_.push_back({Severity::error, where, std::move(message)});
}

void Loader::warning(const SourceLocation& where, std::string message) {
  diags_.push_back({Severity::warning, where, std::move(message)});
}

SourceLocation Loader::at(const YAML::Mark& m) const {
  if (m.is_null() || m.line < 0 || m.column < 0) return SourceLocation{file_, 0, 0};
  return SourceLocation{file_, static_cast<std::uint32_t>(m.line) + 1, static_cast<std::uint32_t>(m.column) + 1};
}

SourceLocation Loader::at(const YAML::Node& n, const SourceLocation& fallback) const {
  // yaml-cpp marks an empty value at the start of the next token, often the
  // next line; the key is the better place to point at.
  if (!n.IsDefined() || n.IsNull() || n.Mark().is_null()) return fallback;
  return at(n.Mark());
}

std::string Loader::describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return quote_text(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

std::optional<std::vector<Entry>> Loader::map_entries(const YAML::Node& node, const SourceLocation& where,
                                                      std::string_view what, std::span<const std::string_view> allowed,
                                                      std::string_view dup_noun) {
  if (!node.IsMap()) {
    error(at(node, where), std::string(what) + " must be a map, got " + describe(node));
    return std::nullopt;
  }
  std::vector<Entry> out;
  std::map<std::string, SourceLocation> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: it-> yields a temporary pair, references into it would dangle.
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    const SourceLocation key_at = at(k, where);
    if (!k.IsScalar()) {
      error(key_at, "a key in " + std::string(what) + " must be a plain name, got " + describe(k));
      continue;
    }
    const std::string& key = k.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
      std::string msg = "unknown key " + quote_text(key) + " in " + std::string(what);
      if (const std::string near = closest(key, allowed); !near.empty()) {
        msg += "; did you mean '" + near + "'?";
      }
      msg += " (allowed: " + join_names(allowed, 64) + ")";
      error(key_at, std::move(msg));
      continue;
    }
    if (auto [pos, fresh] = seen.emplace(key, key_at); !fresh) {
      error(key_at, "duplicate " + std::string(dup_noun) + " " + quote_text(key) + " (first at " +
                        to_string(pos->second) + ")");
      continue;
    }
    out.push_back(Entry{key, v, key_at, at(v, key_at)});
  }
  return out;
}

const Entry* Loader::find(const std::vector<Entry>& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const Entry* Loader::require(const std::vector<Entry>& entries, std::string_view key, const SourceLocation& map_at,
                             std::string_view what) {
  const Entry* e = find(entries, key);
  if (e == nullptr) error(map_at, "missing required key '" + std::string(key) + "' in " + std::string(what));
  return e;
}

std::optional<std::string> Loader::scalar(const Entry& e, std::string_view what) {
  if (e.value.IsScalar()) return e.value.Scalar();
  if (!e.value.IsDefined() || e.value.IsNull()) {
    error(e.value_at, "'" + e.key + "' needs a value (" + std::string(what) + ")");
  } else {
    error(e.value_at, "'" + e.key + "' must be " + std::string(what) + ", got " + describe(e.value));
  }
  return std::nullopt;
}

std::optional<std::int64_t> Loader::integer(const YAML::Node& n, const SourceLocation& where, std::string_view what,
                                            std::int64_t min, std::int64_t max) {
  if (!n.IsScalar()) {
    error(where, "'" + std::string(what) + "' must be an integer, got " + describe(n));
    return std::nullopt;
  }
  const std::string& s = n.Scalar();
  std::int64_t v = 0;
  const char* first = s.data();
  if (!s.empty() && s[0] == '+') ++first;
  const auto r = std::from_chars(first, s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    error(where, "'" + std::string(what) + "' must be an integer, got " + quote_text(s));
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(where, "'" + std::string(what) + "' must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", got " + s);
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> Loader::integer(const Entry& e, std::int64_t min, std::int64_t max) {
  return integer(e.value, e.value_at, e.key, min, max);
}

std::optional<bool> Loader::boolean(const Entry& e) {
  if (e.value.IsScalar()) {
    const std::string& s = e.value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(e.value_at, "'" + e.key + "' must be true or false, got " + describe(e.value));
  return std::nullopt;
}

std::optional<std::vector<Item>> Loader::scalar_list(const Entry& e, std::string_view what) {
  std::vector<Item> out;
  if (e.value.IsScalar()) {
    out.push_back({e.value.Scalar(), e.value_at});
    return out;
  }
  if (!e.value.IsSequence()) {
    error(e.value_at, "'" + e.key + "' must be " + std::string(what) + " or a list of them, got " + describe(e.value));
    return std::nullopt;
  }
  if (e.value.size() == 0) {
    error(e.value_at, "'" + e.key + "' needs at least one value");
    return std::nullopt;
  }
  bool ok = true;
  for (const YAML::Node& item : e.value) {
    const SourceLocation item_at = at(item, e.value_at);
    if (!item.IsScalar()) {
      error(item_at, "each entry of '" + e.key + "' must be " + std::string(what) + ", got " + describe(item));
      ok = false;
      continue;
    }
    out.push_back({item.Scalar(), item_at});
  }
  if (!ok) return std::nullopt;
  return out;
}

bool Loader::check_name(const std::string& name, const SourceLocation& where, std::string_view what) {
  constexpr std::size_t kMaxName = 64;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= kMaxName && alnum(name[0]);
  for (char c : name) ok = ok && (alnum(c) || c == '_' || c == '-' || c == '.');
  if (!ok) {
    error(where, "invalid " + std::string(what) + " '" + name +
                     "': use letters, digits, '_', '-' and '.', starting with a letter or digit, "
                     "at most 64");
  }
  return ok;
}

}  // namespace sipwall::rules::loader

namespace sipwall::rules {

namespace {

// Stops the parse at the first problem.
struct YamlLimitHit {
  YamlProblem problem;
};

class LimitChecker final : public YAML::EventHandler {
 public:
  explicit LimitChecker(const YamlLimits& limits) : limits_(limits) {}

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
    YamlProblem p;
    p.line = m.line >= 0 ? static_cast<std::uint32_t>(m.line) + 1 : 0;
    p.column = m.column >= 0 ? static_cast<std::uint32_t>(m.column) + 1 : 0;
    p.message = std::move(msg);
    throw YamlLimitHit{std::move(p)};
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

  const YamlLimits& limits_;
  std::vector<Anchor> anchors_;  // by yaml-cpp's anchor id (1, 2, ...)
  std::vector<Frame> stack_;
  std::string pending_name_;  // from OnAnchor, for the node event that follows
  std::uint32_t pending_line_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace

std::optional<YamlProblem> check_yaml_limits(std::string_view text, const YamlLimits& limits) {
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    LimitChecker checker(limits);
    parser.HandleNextDocument(checker);  // YAML::Load reads the first document only
  } catch (YamlLimitHit& hit) {
    return std::move(hit.problem);
  } catch (const YAML::Exception&) {
    return std::nullopt;  // a syntax error: the caller's YAML::Load reports it
  }
  return std::nullopt;
}

}  // namespace sipwall::rules
