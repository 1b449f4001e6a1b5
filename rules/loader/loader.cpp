// Top level of the loader: the document, its sections in dependency order
// (dial plan before anything with numbers, trunks and lists before the rules
// that name them), the rules, then ordering of the diagnostics.
#include "rules/loader/loader.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "rules/analysis/analysis.h"
#include "rules/io/file_input.h"
#include "rules/loader/loader_internal.h"
#include "rules/loader/suggest.h"
#include "rules/loader/yaml_guard.h"
#include "rules/model/model_text.h"
#include "rules/model/outside_text.h"

namespace sipwall::rules {
namespace loader {
namespace {

constexpr std::array<std::string_view, 11> kTopKeys = {"version",     "name",         "description", "dial_plan",
                                                       "trunks",      "deny_sources", "lists",       "detectors",
                                                       "guard_rails", "defaults",     "rules"};
constexpr std::array<std::string_view, 5> kRuleKeys = {"id", "priority", "description", "match", "action"};

// Main file first, then other files in order of first mention; within a file
// by line and column, with file-level notes (line 0) last.
void sort_diagnostics(std::vector<Diagnostic>& ds, const std::string& main_file) {
  std::unordered_map<std::string, std::size_t> rank{{main_file, 0}};
  for (const Diagnostic& d : ds) rank.emplace(d.where.file, rank.size());
  auto key = [&](const Diagnostic& d) {
    const std::uint64_t line = d.where.line == 0 ? UINT64_MAX : d.where.line;
    return std::tuple(rank[d.where.file], line, d.where.column);
  };
  std::stable_sort(ds.begin(), ds.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
}

// A map none of whose keys is a rule-set key or a near miss of one (a typo
// such as 'verison' still counts) is some other file, e.g. /etc/shadow,
// whose lines "user:hash:...:7:::" parse as keys: its keys are not quoted.
bool looks_like_rule_set(const YAML::Node& root) {
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node k = it->first;
    if (!k.IsScalar()) continue;
    const std::string& key = k.Scalar();
    if (std::find(kTopKeys.begin(), kTopKeys.end(), std::string_view(key)) != kTopKeys.end()) return true;
    if (!closest(key, kTopKeys).empty()) return true;
  }
  return root.size() == 0;
}

}  // namespace

Loader::Loader(std::string display_file, std::filesystem::path base_dir, const LoadOptions& options)
    : file_(std::move(display_file)), base_dir_(std::move(base_dir)), options_(options) {
  const std::filesystem::path shown_dir = std::filesystem::path(file_).parent_path();
  display_dir_ = shown_dir.empty() ? std::string() : shown_dir.string();
  rs_.source_file = file_;
}

bool Loader::check_list_ref(const std::string& name, const SourceLocation& where) {
  if (list_at_.count(name)) return true;
  std::vector<std::string> names;
  for (const auto& [n, _] : list_at_) names.push_back(n);
  std::string msg = "unknown list " + quote_text(name);
  if (const std::string near = closest(name, names); !near.empty()) {
    msg += "; did you mean '" + near + "'?";
  }
  msg += names.empty() ? " (no lists are defined)" : " (lists: " + join_names(names) + ")";
  error(where, std::move(msg));
  return false;
}

// The set's name and version go into status JSON, metrics labels and every
// trace record: one line of printable text.
void Loader::check_identity(const std::string& s, const SourceLocation& where, std::string_view key) {
  constexpr std::size_t kMaxIdentity = 256;
  if (s.size() > kMaxIdentity || !printable_utf8(s)) {
    error(where, "'" + std::string(key) + "' must be one line of printable UTF-8 text of at most " +
                     std::to_string(kMaxIdentity) + " bytes");
  }
}

void Loader::read_rules(const Entry& e) {
  if (!e.value.IsSequence()) {
    error(e.value_at, "'rules' must be a list of rules, got " + describe(e.value));
    return;
  }
  rs_.rules_written_empty = e.value.size() == 0;
  std::unordered_map<std::string, SourceLocation> ids;
  std::uint32_t order = 0;
  for (const YAML::Node& node : e.value) {
    const SourceLocation rule_at = at(node, e.value_at);
    // Name the rule by its id in messages when it has a usable one.
    std::string what = "rule #" + std::to_string(order + 1);
    if (node.IsMap()) {
      // A const lookup of a missing key gives an invalid node: test IsDefined first.
      if (const YAML::Node id = node["id"]; id.IsDefined() && id.IsScalar() && !id.Scalar().empty()) {
        what = "rule " + quote_text(id.Scalar());
      }
    }
    const auto entries = map_entries(node, rule_at, what, kRuleKeys);
    ++order;
    if (!entries) continue;
    Rule rule;
    rule.where = rule_at;
    rule.file_order = order - 1;
    bool ok = true;
    std::string name = what;
    if (const Entry* id = require(*entries, "id", rule_at, what)) {
      if (auto v = scalar(*id, "a rule id"); v && check_name(*v, id->value_at, "rule id")) {
        rule.id = *v;
        name = "rule " + quote_text(*v);
        if (auto [pos, fresh] = ids.emplace(*v, id->value_at); !fresh) {
          error(id->value_at,
                "duplicate rule id " + quote_text(*v) + " (first used at " + to_string(pos->second) + ")");
          ok = false;
        }
      } else {
        ok = false;
      }
    } else {
      ok = false;
    }
    if (const Entry* p = find(*entries, "priority")) {
      if (auto v = integer(*p, -1000000, 1000000)) {
        rule.priority = static_cast<std::int32_t>(*v);
      } else {
        ok = false;
      }
    }
    if (const Entry* d = find(*entries, "description")) {
      if (auto v = scalar(*d, "a string"))
        rule.description = *v;
      else
        ok = false;
    }
    if (const Entry* m = require(*entries, "match", rule_at, name)) {
      if (auto expr = read_match(m->value, m->value_at))
        rule.match = std::move(*expr);
      else
        ok = false;
    } else {
      ok = false;
    }
    if (const Entry* a = require(*entries, "action", rule_at, name)) {
      if (auto act = read_action(*a, false))
        rule.action = std::move(*act);
      else
        ok = false;
    } else {
      ok = false;
    }
    if (ok) rs_.rules.push_back(std::move(rule));
  }
  if (order == 0) warning(e.value_at, "the rule set has no rules; every INVITE gets the default action");
}

LoadResult Loader::run(std::string_view yaml_text) {
  YAML::Node root;
  // Alias cycles, alias bombs and deep nesting are refused before the tree
  // is built and walked (rules/loader/yaml_guard.h).
  if (const auto p = check_yaml_limits(yaml_text)) {
    error(SourceLocation{file_, p->line, p->column}, p->message);
  }
  if (errors_ == 0) {
    try {
      root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::ParserException& ex) {
      std::string msg = "YAML syntax error: " + ex.msg;
      // The most common cause by far: a tab in the indentation.
      std::size_t line_start = 0;
      for (int line = 0; line < ex.mark.line && line_start != std::string_view::npos; ++line) {
        line_start = yaml_text.find('\n', line_start);
        if (line_start != std::string_view::npos) ++line_start;
      }
      if (line_start != std::string_view::npos) {
        const std::string_view line = yaml_text.substr(line_start, yaml_text.find('\n', line_start) - line_start);
        const std::size_t first = line.find_first_not_of(' ');
        if (first != std::string_view::npos && line[first] == '\t') {
          msg += " (YAML indentation must use spaces, not tabs)";
        }
      }
      error(at(ex.mark), msg);
    } catch (const YAML::Exception& ex) {
      error(at(ex.mark), "cannot read YAML: " + ex.msg);
    }
  }
  const SourceLocation top{file_, 1, 1};
  if (errors_ == 0) {
    try {
      if (!root.IsDefined() || root.IsNull()) {
        error(top, "the rule set is empty; it needs at least 'version' and 'dial_plan'");
      } else if (!root.IsMap()) {
        // Not a rule file at all (someone passed /etc/shadow?): say so
        // without quoting what is in it.
        error(top,
              "not a rule set: the file must be a YAML map of keys (version, dial_plan, rules, ...), "
              "but it is " +
                  std::string(root.IsSequence() ? "a list" : "plain text"));
      } else if (!looks_like_rule_set(root)) {
        error(top,
              "not a rule set: none of its top-level keys is, or is close to, one of version, name, "
              "description, dial_plan, trunks, deny_sources, lists, detectors, guard_rails, defaults, rules "
              "(its content is not shown)");
      } else if (const auto entries = map_entries(root, top, "the rule set", kTopKeys)) {
        if (const Entry* v = require(*entries, "version", top, "the rule set")) {
          if (auto s = scalar(*v, "a string")) {
            if (s->empty()) error(v->value_at, "'version' must not be empty");
            check_identity(*s, v->value_at, "version");
            rs_.version = *s;
          }
        }
        if (const Entry* n = find(*entries, "name")) {
          if (auto s = scalar(*n, "a string")) {
            check_identity(*s, n->value_at, "name");
            rs_.name = *s;
          }
        } else {
          rs_.name = std::filesystem::path(file_).stem().string();
        }
        if (const Entry* d = find(*entries, "description")) scalar(*d, "a string");
        if (const Entry* dp = require(*entries, "dial_plan", top, "the rule set")) read_dial_plan(*dp);
        if (const Entry* t = find(*entries, "trunks")) read_trunks(*t);
        if (const Entry* ds = find(*entries, "deny_sources")) read_deny_sources(*ds);
        if (const Entry* l = find(*entries, "lists")) read_lists(*l);
        if (const Entry* dt = find(*entries, "detectors")) read_detectors(*dt);
        read_guard_rails(find(*entries, "guard_rails"), top);
        if (const Entry* d = find(*entries, "defaults")) read_defaults(*d);
        if (const Entry* r = find(*entries, "rules")) {
          read_rules(*r);
        } else {
          warning(top, "the rule set has no 'rules'; every INVITE gets the default action");
        }
      }
    } catch (const YAML::Exception& ex) {
      // Node access should not throw after a successful parse; if it does,
      // say where rather than crash the control plane.
      error(at(ex.mark), "cannot read YAML: " + ex.msg);
    }
  }
  LoadResult result;
  if (errors_ == 0) {
    if (options_.analyze) {
      for (Diagnostic& d : analyze(rs_)) diags_.push_back(std::move(d));
    }
    result.rule_set = std::move(rs_);
  }
  sort_diagnostics(diags_, file_);
  result.diagnostics = std::move(diags_);
  return result;
}

}  // namespace loader

LoadResult load_rule_set_from_string(std::string_view yaml, const std::filesystem::path& path,
                                     const LoadOptions& options) {
  loader::Loader l(path.string(), path.parent_path(), options);
  return l.run(yaml);
}

LoadResult load_rule_set(const std::filesystem::path& path, const LoadOptions& options) {
  std::string text;
  std::string why;
  io::InputFile f;
  if (!f.open(path.string(), io::kRuleFile, why) || !f.read_rest(text, why)) {
    LoadResult r;
    r.diagnostics.push_back(
        {Severity::error, SourceLocation{path.string(), 0, 0}, "cannot read the rule file: " + why});
    return r;
  }
  return load_rule_set_from_string(text, path, options);
}

}  // namespace sipwall::rules
