// Regex atoms -> one Hyperscan database per scan target (field or header),
// with Hyperscan's errors mapped back to the pattern's place in the YAML.
#include <hs/hs.h>

#include <cstring>

#include "rules/compiler/compiler_internal.h"

namespace sipwall::rules::compiler {

namespace {

constexpr unsigned kFlags = HS_FLAG_SINGLEMATCH;

std::string target_name(const Builder& b, const ScanTarget& t) {
  if (t.field == Field::header && t.header < b.d.headers.size()) {
    const StrRef n = b.d.headers[t.header].name;
    return "header " + b.d.strings.substr(n.off, n.len);
  }
  return std::string(to_string(t.field));
}

std::string hs_message(const hs_compile_error_t* err) {
  std::string m = err != nullptr && err->message != nullptr ? err->message : "compile failed";
  if (!m.empty() && m.back() == '.') m.pop_back();
  return m;
}

// Compiles one pattern alone: empty if Hyperscan accepts it.
std::string check_one(const std::string& pattern) {
  if (pattern.find('\0') != std::string::npos) return "the pattern contains a NUL byte";
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  const hs_error_t rc = hs_compile(pattern.c_str(), kFlags, HS_MODE_BLOCK, nullptr, &db, &err);
  std::string msg = rc == HS_SUCCESS ? std::string() : hs_message(err);
  if (err != nullptr) hs_free_compile_error(err);
  if (db != nullptr) hs_free_database(db);
  return msg;
}

}  // namespace

void compile_patterns(Builder& b) {
  CompiledRuleSetData& d = b.d;
  // Slots: contiguous per target, in target order, so a worker clears one
  // target's result bits with one range before scanning it. Every pattern
  // gets its own Hyperscan id (its index in d.patterns) and the match
  // callback maps it to its slot: giving all patterns of one predicate the
  // same id makes Hyperscan merge them and compile ~20x slower (measured:
  // 750 patterns, 1.2 s with distinct ids, 27 s with one).
  std::uint32_t slot = 0;
  for (std::uint32_t t = 0; t < d.targets.size(); ++t) {
    ScanTarget& target = d.targets[t];
    target.slot_begin = slot;
    std::vector<std::string> exprs;
    std::vector<unsigned> ids;
    std::vector<const SourceLocation*> wheres;
    for (const PendingRegex& r : b.regexes) {
      if (r.target != t) continue;
      d.atoms[r.atom].a = slot;
      for (std::size_t i = 0; i < r.patterns.size(); ++i) {
        exprs.push_back(r.patterns[i]);
        ids.push_back(static_cast<unsigned>(d.patterns.size()));
        wheres.push_back(&r.where[i]);
        PatternSource ps;
        ps.expression = b.str(r.patterns[i]);
        ps.slot = slot;
        ps.flags = kFlags;
        ps.where = b.where(r.where[i]);
        d.patterns.push_back(ps);
      }
      ++slot;
    }
    target.slot_end = slot;
    target.pattern_count = static_cast<std::uint32_t>(exprs.size());
    b.stats.patterns += exprs.size();

    std::vector<const char*> cexprs;
    bool nul = false;
    for (const std::string& e : exprs) {
      cexprs.push_back(e.c_str());
      nul = nul || e.find('\0') != std::string::npos;
    }
    std::vector<unsigned> flags(exprs.size(), kFlags);
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    const hs_error_t rc =
        nul ? HS_COMPILER_ERROR
            : hs_compile_multi(cexprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                               HS_MODE_BLOCK, nullptr, &db, &err);
    if (rc == HS_SUCCESS) {
      d.dbs.emplace_back(db);
      if (err != nullptr) hs_free_compile_error(err);
      continue;
    }
    // Hyperscan stops at the first bad pattern; report every one, each at
    // its own place, by compiling them one at a time.
    const std::string whole = hs_message(err);
    const int failed_index = err != nullptr ? err->expression : -1;
    if (err != nullptr) hs_free_compile_error(err);
    std::size_t reported = 0;
    for (std::size_t i = 0; i < exprs.size(); ++i) {
      const std::string m = check_one(exprs[i]);
      if (m.empty()) continue;
      b.error(*wheres[i], "regex '" + exprs[i] + "' on " + target_name(b, target) + ": " + m);
      ++reported;
    }
    if (reported == 0) {  // only the database as a whole is refused (e.g. too large)
      const SourceLocation& w = failed_index >= 0 && static_cast<std::size_t>(failed_index) < wheres.size()
                                    ? *wheres[static_cast<std::size_t>(failed_index)]
                                    : *wheres[0];
      b.error(w, "the patterns on " + target_name(b, target) + " do not compile together: " + whole);
    }
    d.dbs.emplace_back(nullptr);
  }
  d.regex_slots = slot;
  b.stats.pattern_databases = d.targets.size();
}

}  // namespace sipwall::rules::compiler
