// Top level of the loader: the document, its sections in dependency order
// (dial plan before anything with numbers, trunks and lists before the rules
// that name them), the rules, then the analysis warnings.
#include "rules/loader/loader.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "rules/analysis/analysis.h"
#include "rules/io/file_input.h"
#include "rules/loader/loader_internal.h"
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules {
namespace loader {
namespace {

constexpr std::array<std::string_view, 11> kTopKeys = {"version",     "name",         "description", "dial_plan",
                                                       "trunks",      "deny_sources", "lists",       "detectors",
                                                       "guard_rails", "defaults",     "rules"};
constexpr std::array<std::string_view, 5> kRuleKeys = {"id", "priority", "description", "match", "action"};

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
    : yaml::Reader(std::move(display_file)), base_dir_(std::move(base_dir)), options_(options) {
  if (options.list_base) base_dir_ = *options.list_base;
  const std::filesystem::path shown_dir =
      options.list_base ? *options.list_base : std::filesystem::path(file()).parent_path();
  display_dir_ = shown_dir.empty() ? std::string() : shown_dir.string();
  rs_.source_file = file();
}

bool Loader::check_list_ref(const std::string& name, const SourceLocation& where) {
  if (list_at_.count(name)) return true;
  std::vector<std::string> names;
  for (const auto& [n, _] : list_at_) names.push_back(n);
  std::string msg = "unknown list " + text::quote(name);
  if (const std::string near = closest(name, names); !near.empty()) {
    msg += "; did you mean '" + near + "'?";
  }
  msg += names.empty() ? " (no lists are defined)" : " (lists: " + join_names(names) + ")";
  error(where, std::move(msg));
  return false;
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

// The set's name and version go into status JSON, metrics labels and every
// trace record: one line of printable text.
void Loader::check_identity(const std::string& s, const SourceLocation& where, std::string_view key) {
  constexpr std::size_t kMaxIdentity = 256;
  if (s.size() > kMaxIdentity || !text::is_printable(s)) {
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
        what = "rule " + text::quote(id.Scalar());
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
        name = "rule " + text::quote(*v);
        if (auto [pos, fresh] = ids.emplace(*v, id->value_at); !fresh) {
          error(id->value_at,
                "duplicate rule id " + text::quote(*v) + " (first used at " + to_string(pos->second) + ")");
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
  return run(parse(yaml_text));
}

LoadResult Loader::run_file(const std::string& path) {
  return run(read_file(path, io::kRuleFile));
}

LoadResult Loader::run(const std::optional<YAML::Node>& parsed) {
  const YAML::Node root = parsed ? *parsed : YAML::Node();
  const SourceLocation top = this->top();
  if (parsed) {
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
          rs_.name = std::filesystem::path(file()).stem().string();
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
  if (error_count() == 0) {
    if (options_.analyze) take(analyze(rs_));
    result.rule_set = std::move(rs_);
  }
  result.diagnostics = take_sorted_diagnostics();
  return result;
}

}  // namespace loader

LoadResult load_rule_set_from_string(std::string_view yaml, const std::filesystem::path& path,
                                     const LoadOptions& options) {
  loader::Loader l(path.string(), path.parent_path(), options);
  return l.run(yaml);
}

LoadResult load_rule_set(const std::filesystem::path& path, const LoadOptions& options) {
  loader::Loader l(path.string(), path.parent_path(), options);
  return l.run_file(path.string());
}

}  // namespace sipwall::rules
