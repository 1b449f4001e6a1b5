#include "rules/yaml/reader.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <tuple>
#include <unordered_map>

#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"
#include "rules/yaml/suggest.h"

namespace sipwall::yaml {
namespace {

// "a, b or c".
std::string one_of(std::span<const std::string_view> words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

// Decimal with an optional sign; nullopt for anything else.
std::optional<std::int64_t> parse_integer(const std::string& s) {
  std::int64_t v = 0;
  const char* first = s.data();
  if (!s.empty() && s[0] == '+') ++first;
  const auto r = std::from_chars(first, s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The most common cause of a YAML syntax error by far: a tab in the
// indentation of the line it happened on.
bool tab_indented(std::string_view text, int line_index) {
  std::size_t line_start = 0;
  for (int line = 0; line < line_index && line_start != std::string_view::npos; ++line) {
    line_start = text.find('\n', line_start);
    if (line_start != std::string_view::npos) ++line_start;
  }
  if (line_start == std::string_view::npos) return false;
  const std::string_view line = text.substr(line_start, text.find('\n', line_start) - line_start);
  const std::size_t first = line.find_first_not_of(' ');
  return first != std::string_view::npos && line[first] == '\t';
}

}  // namespace

Reader::Reader(std::string file) : file_(std::move(file)) {}

// --- the document -------------------------------------------------------------

std::optional<YAML::Node> Reader::read_file(const std::string& path, const io::FileKind& kind, const Limits& limits) {
  std::string text, why;
  io::InputFile f;
  if (!f.open(path, kind, why) || !f.read_rest(text, why)) {
    error(SourceLocation{file_, 0, 0}, "cannot read the " + std::string(kind.name) + ": " + why);
    return std::nullopt;
  }
  return parse(text, limits);
}

std::optional<YAML::Node> Reader::parse(std::string_view text, const Limits& limits) {
  // Alias cycles, alias bombs and deep nesting are refused before the tree
  // is built and walked (limits.h).
  if (const auto p = check_limits(text, limits)) {
    error(SourceLocation{file_, p->line, p->column}, p->message);
    return std::nullopt;
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& ex) {
    std::string msg = "YAML syntax error: " + ex.msg;
    if (tab_indented(text, ex.mark.line)) msg += " (YAML indentation must use spaces, not tabs)";
    error(at(ex.mark), std::move(msg));
  } catch (const YAML::Exception& ex) {
    error(at(ex.mark), "cannot read YAML: " + ex.msg);
  }
  return std::nullopt;
}

// --- diagnostics --------------------------------------------------------------

void Reader::error(const SourceLocation& where, std::string message) {
  ++errors_;
  diags_.push_back({Severity::error, where, std::move(message)});
}

void Reader::warning(const SourceLocation& where, std::string message) {
  diags_.push_back({Severity::warning, where, std::move(message)});
}

void Reader::take(std::vector<Diagnostic> ds) {
  for (Diagnostic& d : ds) {
    if (d.severity == Severity::error) ++errors_;
    diags_.push_back(std::move(d));
  }
}

std::vector<Diagnostic> Reader::take_sorted_diagnostics() {
  std::unordered_map<std::string, std::size_t> rank{{file_, 0}};
  for (const Diagnostic& d : diags_) rank.emplace(d.where.file, rank.size());
  auto key = [&](const Diagnostic& d) {
    const std::uint64_t line = d.where.line == 0 ? UINT64_MAX : d.where.line;
    return std::tuple(rank[d.where.file], line, d.where.column);
  };
  std::stable_sort(diags_.begin(), diags_.end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  return std::move(diags_);
}

std::vector<std::string> Reader::messages() {
  std::vector<std::string> out;
  for (const Diagnostic& d : take_sorted_diagnostics()) out.push_back(rules::format(d));
  return out;
}

SourceLocation Reader::at(const YAML::Mark& m) const {
  if (m.is_null() || m.line < 0 || m.column < 0) return SourceLocation{file_, 0, 0};
  return SourceLocation{file_, static_cast<std::uint32_t>(m.line) + 1, static_cast<std::uint32_t>(m.column) + 1};
}

SourceLocation Reader::at(const YAML::Node& n, const SourceLocation& fallback) const {
  if (!n.IsDefined() || n.IsNull() || n.Mark().is_null()) return fallback;
  return at(n.Mark());
}

std::string Reader::describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return text::quote(n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// --- mappings -----------------------------------------------------------------

std::optional<std::vector<Entry>> Reader::map_entries(const YAML::Node& node, const SourceLocation& where,
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
      std::string msg = "unknown key " + text::quote(key) + " in " + std::string(what);
      if (const std::string near = closest(key, allowed); !near.empty()) msg += "; did you mean '" + near + "'?";
      msg += " (allowed: " + join_names(allowed, 64) + ")";
      error(key_at, std::move(msg));
      continue;
    }
    if (auto [pos, fresh] = seen.emplace(key, key_at); !fresh) {
      error(key_at, "duplicate " + std::string(dup_noun) + " " + text::quote(key) + " (first at " +
                        rules::to_string(pos->second) + ")");
      continue;
    }
    out.push_back(Entry{key, v, key_at, at(v, key_at)});
  }
  return out;
}

const Entry* Reader::find(const std::vector<Entry>& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const Entry* Reader::require(const std::vector<Entry>& entries, std::string_view key, const SourceLocation& map_at,
                             std::string_view what) {
  const Entry* e = find(entries, key);
  if (e == nullptr) error(map_at, "missing required key '" + std::string(key) + "' in " + std::string(what));
  return e;
}

// --- values -------------------------------------------------------------------

std::optional<std::string> Reader::scalar(const Entry& e, std::string_view what) {
  if (e.value.IsScalar()) return e.value.Scalar();
  if (!e.value.IsDefined() || e.value.IsNull()) {
    error(e.value_at, "'" + e.key + "' needs a value (" + std::string(what) + ")");
  } else {
    error(e.value_at, "'" + e.key + "' must be " + std::string(what) + ", got " + describe(e.value));
  }
  return std::nullopt;
}

std::optional<std::int64_t> Reader::integer(const YAML::Node& n, const SourceLocation& where, std::string_view key,
                                            std::int64_t min, std::int64_t max) {
  return integer_named(n, where, "'" + std::string(key) + "'", min, max);
}

std::optional<std::int64_t> Reader::integer_named(const YAML::Node& n, const SourceLocation& where,
                                                  const std::string& subject, std::int64_t min, std::int64_t max) {
  const std::optional<std::int64_t> v = n.IsScalar() ? parse_integer(n.Scalar()) : std::nullopt;
  if (!v) {
    error(where, subject + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                     describe(n));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    error(where,
          subject + " must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + n.Scalar());
    return std::nullopt;
  }
  return v;
}

std::optional<std::int64_t> Reader::integer(const Entry& e, std::int64_t min, std::int64_t max) {
  return integer(e.value, e.value_at, e.key, min, max);
}

std::optional<bool> Reader::boolean(const Entry& e) {
  if (e.value.IsScalar()) {
    const std::string& s = e.value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(e.value_at, "'" + e.key + "' must be true or false, got " + describe(e.value));
  return std::nullopt;
}

std::optional<std::uint32_t> Reader::octal_mode(const Entry& e) {
  if (e.value.IsScalar()) {
    const std::string& s = e.value.Scalar();
    std::uint32_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 8);
    if (!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && v <= 0777) return v;
  }
  error(e.value_at, "'" + e.key + "' must be an octal file mode such as \"0660\", got " + describe(e.value));
  return std::nullopt;
}

std::optional<std::size_t> Reader::word(const Entry& e, std::span<const std::string_view> words) {
  const auto s = scalar(e, one_of(words));
  if (!s) return std::nullopt;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i] == *s) return i;
  }
  std::string msg = "'" + e.key + "' must be " + one_of(words) + ", got " + text::quote(*s);
  if (const std::string near = closest(*s, words); !near.empty()) msg += "; did you mean '" + near + "'?";
  error(e.value_at, std::move(msg));
  return std::nullopt;
}

std::optional<std::vector<Item>> Reader::scalar_list(const Entry& e, std::string_view what) {
  if (e.value.IsScalar()) return std::vector<Item>{{e.value.Scalar(), e.value_at}};
  if (!e.value.IsSequence()) {
    error(e.value_at, "'" + e.key + "' must be " + std::string(what) + " or a list of them, got " + describe(e.value));
    return std::nullopt;
  }
  if (e.value.size() == 0) {
    error(e.value_at, "'" + e.key + "' needs at least one value");
    return std::nullopt;
  }
  return list(e, what);
}

std::optional<std::vector<Item>> Reader::list(const Entry& e, std::string_view what) {
  if (!e.value.IsSequence()) {
    error(e.value_at, "'" + e.key + "' must be a list, got " + describe(e.value));
    return std::nullopt;
  }
  std::vector<Item> out;
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

// --- Map ----------------------------------------------------------------------

Map::Map(Reader& r, const YAML::Node& node, const SourceLocation& where, std::string what,
         std::span<const std::string_view> allowed)
    : r_(r), at_(r.at(node, where)), what_(std::move(what)) {
  if (auto entries = r.map_entries(node, where, what_, allowed)) {
    entries_ = std::move(*entries);
    ok_ = true;
  }
}

SourceLocation Map::at(std::string_view key) const {
  const Entry* e = find(key);
  return e != nullptr ? e->value_at : at_;
}

std::optional<Map> Map::map(std::string_view key, std::span<const std::string_view> allowed) {
  const Entry* e = find(key);
  if (e == nullptr) return std::nullopt;
  Map m(r_, e->value, e->value_at, std::string(key), allowed);
  if (!m.ok()) return std::nullopt;
  return m;
}

bool Map::text(std::string_view key, std::string& out, std::string_view what, Empty empty) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = r_.scalar(*e, what);
  if (!v) return false;
  if (v->empty() && empty == Empty::refused) {
    r_.error(e->value_at, "'" + e->key + "' must not be empty (" + std::string(what) + ")");
    return false;
  }
  out = std::move(*v);
  return true;
}

bool Map::flag(std::string_view key, bool& out) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  const auto v = r_.boolean(*e);
  if (v) out = *v;
  return v.has_value();
}

bool Map::mode(std::string_view key, std::uint32_t& out) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  const auto v = r_.octal_mode(*e);
  if (v) out = *v;
  return v.has_value();
}

bool Map::word(std::string_view key, std::span<const std::string_view> words, std::string& out) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  const auto i = r_.word(*e, words);
  if (i) out = std::string(words[*i]);
  return i.has_value();
}

bool Map::texts(std::string_view key, std::vector<std::string>& out, std::string_view what) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  const auto items = r_.list(*e, what);
  if (!items) return false;
  out.clear();
  for (const Item& it : *items) out.push_back(it.text);
  return true;
}

bool Map::integer_list(std::string_view key, std::vector<std::int64_t>& out, std::int64_t min, std::int64_t max) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  if (!e->value.IsSequence()) {
    r_.error(e->value_at, "'" + e->key + "' must be a list of integers from " + std::to_string(min) + " to " +
                              std::to_string(max) + ", got " + Reader::describe(e->value));
    return false;
  }
  bool ok = true;
  for (const YAML::Node& item : e->value) {
    if (auto v = r_.integer_named(item, r_.at(item, e->value_at), "each entry of '" + e->key + "'", min, max))
      out.push_back(*v);
    else
      ok = false;
  }
  if (!ok) out.clear();
  return ok;
}

}  // namespace sipwall::yaml
