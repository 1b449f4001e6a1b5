// Reading a YAML document that came from outside, the one way every YAML
// reader of the project does it: the rule loader (rules/loader), the data
// plane's configuration (dataplane/app/config.cpp) and sipwall-control's
// (control/daemon/control_config.cpp).
//
//  * The file is read through rules/io (a regular file of bounded size) and
//    the text is checked by the YAML guard (limits.h: alias cycles, alias
//    bombs, depth) before a tree is built.
//  * Every problem is a Diagnostic at the file:line:col of the key or value
//    it is about, and reading goes on after one, so one pass reports every
//    mistake in a file; messages() gives them in file order.
//  * Every mapping is read against the keys it may have: an unknown key is
//    "unknown key 'x' in <what>; did you mean 'y'? (allowed: ...)", a key
//    written twice is an error naming the first place.
//  * Typed values (text, true/false, integers in a range, octal modes, one
//    of a few words, lists) say what was expected and what was found; text
//    from the file is quoted with text::quoted (rules/text), never raw.
//
// Reader works on entries (Entry: a key, its value and both places), the
// form the rule loader uses for its nested language; Map wraps one mapping
// with getters that store a valid value into a field, the form the two
// configuration readers use:
//
//   yaml::Reader r(path);
//   const auto root = r.read_file(path, io::kConfigFile);
//   yaml::Map top(r, *root, r.top(), "the configuration", kTopKeys);
//   if (auto tcp = top.map("tcp", kTcpKeys)) tcp->integer("max_flows", c.tcp_max_flows, 16, 1 << 24);
//   if (r.error_count() != 0) report(r.messages());
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rules/io/file_input.h"
#include "rules/model/diagnostic.h"
#include "rules/model/rule_model.h"
#include "rules/yaml/limits.h"

namespace sipwall::yaml {

using rules::Diagnostic;
using rules::Severity;
using rules::SourceLocation;

// One key: value pair of a YAML map.
struct Entry {
  std::string key;
  YAML::Node value;
  SourceLocation key_at;
  SourceLocation value_at;  // the key's place when the value is empty
};

// One scalar of a list (or of "a value or a list of values").
struct Item {
  std::string text;
  SourceLocation at;
};

class Reader {
 public:
  // `file` names the document in every message.
  explicit Reader(std::string file);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& file() const noexcept { return file_; }

  // --- the document ---------------------------------------------------------
  // Reads `path` (a regular file of at most kind.max_bytes) and parses it;
  // nullopt after reporting why not ("cannot read the <kind>: <why>" at the
  // file, a guard refusal or a syntax error at its place).
  std::optional<YAML::Node> read_file(const std::string& path, const io::FileKind& kind, const Limits& limits = {});
  // Parses `text` after the guard; an empty document is a Null node.
  std::optional<YAML::Node> parse(std::string_view text, const Limits& limits = {});

  // --- diagnostics ----------------------------------------------------------
  void error(const SourceLocation& where, std::string message);
  void warning(const SourceLocation& where, std::string message);
  // Diagnostics made elsewhere (e.g. by a list-file reader), taken over.
  void take(std::vector<Diagnostic> ds);
  std::size_t error_count() const noexcept { return errors_; }
  // In file order: this document first, other files in order of first
  // mention; within a file by line and column, file-level notes last.
  std::vector<Diagnostic> take_sorted_diagnostics();
  // The same, each formatted "file:line:col: message" (rules::format).
  std::vector<std::string> messages();

  // Places. yaml-cpp marks an empty value at the start of the next token,
  // often the next line, so a Null node is reported at `fallback`.
  SourceLocation at(const YAML::Mark& m) const;
  SourceLocation at(const YAML::Node& n, const SourceLocation& fallback) const;
  SourceLocation top() const { return SourceLocation{file_, 1, 1}; }
  // 'abc' (quoted, escaped), "a list", "a map" or "nothing".
  static std::string describe(const YAML::Node& n);

  // --- mappings -------------------------------------------------------------
  // The entries of a map, in file order. Unknown keys (when `allowed` is
  // non-empty) and duplicate keys are reported and dropped. nullopt (and an
  // error) if `node` is not a map. `dup_noun` names what a duplicate key is
  // ("key", "list name", "trunk name").
  std::optional<std::vector<Entry>> map_entries(const YAML::Node& node, const SourceLocation& where,
                                                std::string_view what, std::span<const std::string_view> allowed,
                                                std::string_view dup_noun = "key");
  static const Entry* find(const std::vector<Entry>& entries, std::string_view key);
  // Reports a missing required key; returns the entry if present.
  const Entry* require(const std::vector<Entry>& entries, std::string_view key, const SourceLocation& map_at,
                       std::string_view what);

  // --- values (each reports what is wrong and returns nullopt) ---------------
  // A scalar; `what` says what it should be ("a path").
  std::optional<std::string> scalar(const Entry& e, std::string_view what);
  // An integer in [min, max], decimal with an optional sign.
  std::optional<std::int64_t> integer(const Entry& e, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> integer(const YAML::Node& n, const SourceLocation& at, std::string_view key,
                                      std::int64_t min, std::int64_t max);
  // true or false (also True, TRUE, False, FALSE: YAML 1.2's core schema).
  std::optional<bool> boolean(const Entry& e);
  // A file mode in octal, "0660" or 660, at most 0777.
  std::optional<std::uint32_t> octal_mode(const Entry& e);
  // One of `words`; its index.
  std::optional<std::size_t> word(const Entry& e, std::span<const std::string_view> words);
  // A scalar or a list of scalars; an empty list is an error.
  std::optional<std::vector<Item>> scalar_list(const Entry& e, std::string_view what);
  // A list of scalars (an empty list is fine); `what` says what each entry
  // should be.
  std::optional<std::vector<Item>> list(const Entry& e, std::string_view what);

 private:
  friend class Map;
  // integer() with the subject of the message as given ("each entry of 'x'").
  std::optional<std::int64_t> integer_named(const YAML::Node& n, const SourceLocation& at, const std::string& subject,
                                            std::int64_t min, std::int64_t max);

  std::string file_;
  std::vector<Diagnostic> diags_;
  std::size_t errors_ = 0;
};

// One mapping read through a Reader, for configuration sections: unknown
// and duplicate keys are reported when it is made; each getter stores the
// key's value into `out` only if the key is there and its value is valid
// (else `out` keeps its default, and the error is reported) and returns
// whether it stored.
class Map {
 public:
  // A map at `node`; if `node` is not a map that is reported, and the Map
  // is empty (ok() false).
  Map(Reader& r, const YAML::Node& node, const SourceLocation& where, std::string what,
      std::span<const std::string_view> allowed);

  bool ok() const noexcept { return ok_; }
  const SourceLocation& at() const noexcept { return at_; }
  const std::string& what() const noexcept { return what_; }
  const Entry* find(std::string_view key) const { return Reader::find(entries_, key); }
  // Reports a missing key.
  const Entry* require(std::string_view key) { return r_.require(entries_, key, at_, what_); }
  // Where `key`'s value is, else where the map is (for errors about a
  // combination of keys).
  SourceLocation at(std::string_view key) const;

  // The map under `key`, named "<key>" in messages; nullopt if `key` is
  // absent or its value is not a map (reported).
  std::optional<Map> map(std::string_view key, std::span<const std::string_view> allowed);

  enum class Empty : std::uint8_t { refused, allowed };
  bool text(std::string_view key, std::string& out, std::string_view what, Empty empty = Empty::refused);
  bool flag(std::string_view key, bool& out);
  bool mode(std::string_view key, std::uint32_t& out);
  // `out` = words[i] of the word written.
  bool word(std::string_view key, std::span<const std::string_view> words, std::string& out);
  bool texts(std::string_view key, std::vector<std::string>& out, std::string_view what);
  // `T` must hold every value of [min, max].
  template <typename T>
  bool integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    const Entry* e = find(key);
    if (e == nullptr) return false;
    const auto v = r_.integer(*e, min, max);
    if (v) out = static_cast<T>(*v);
    return v.has_value();
  }
  template <typename T>
  bool integers(std::string_view key, std::vector<T>& out, std::int64_t min, std::int64_t max) {
    std::vector<std::int64_t> v;
    if (!integer_list(key, v, min, max)) return false;
    out.assign(v.begin(), v.end());
    return true;
  }

 private:
  bool integer_list(std::string_view key, std::vector<std::int64_t>& out, std::int64_t min, std::int64_t max);

  Reader& r_;
  SourceLocation at_;
  std::string what_;
  std::vector<Entry> entries_;
  bool ok_ = false;
};

}  // namespace sipwall::yaml
