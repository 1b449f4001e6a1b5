// lists: named number lists (exact numbers, prefixes or ranges), inline or
// from files; and guard_rails, which name lists and emergency numbers.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "rules/loader/list_file.h"
#include "rules/loader/loader_internal.h"
#include "rules/loader/number_text.h"
#include "rules/model/model_text.h"
#include "rules/text/safe_text.h"

namespace sipwall::rules::loader {
namespace {

constexpr std::array<std::string_view, 5> kListKeys = {"kind", "file", "files", "entries", "description"};
constexpr std::array<std::string_view, 3> kKinds = {"exact", "prefix", "range"};
constexpr std::array<std::string_view, 5> kGuardKeys = {"emergency", "allow_callers", "allow_callees",
                                                        "allow_caller_numbers", "allow_callee_numbers"};

}  // namespace

void Loader::read_lists(const Entry& e) {
  const auto lists = map_entries(e.value, e.value_at, "lists", {}, "list name");
  if (!lists) return;
  for (const Entry& le : *lists) {
    if (!check_name(le.key, le.key_at, "list name")) continue;
    // Rules may name the list even if its body has errors: no cascade of
    // "unknown list" errors.
    list_at_.emplace(le.key, le.key_at);
    const std::string what = "list " + text::quote(le.key);
    const std::size_t errors_before = error_count();
    const auto entries = map_entries(le.value, le.value_at, what, kListKeys);
    if (!entries) continue;
    NumberList list;
    list.name = le.key;
    list.where = le.key_at;
    if (const Entry* k = find(*entries, "kind")) {
      if (auto v = scalar(*k, "exact, prefix or range")) {
        if (auto kind = list_kind_from_string(*v)) {
          list.kind = *kind;
        } else {
          std::string msg = "unknown list kind " + text::quote(*v);
          if (const std::string near = closest(*v, kKinds); !near.empty()) {
            msg += "; did you mean '" + near + "'?";
          }
          error(k->value_at, msg + " (kinds: exact, prefix, range)");
          continue;
        }
      } else {
        continue;
      }
    }
    if (const Entry* d = find(*entries, "description")) scalar(*d, "a string");

    std::vector<Item> files;
    const Entry* file = find(*entries, "file");
    const Entry* files_e = find(*entries, "files");
    const Entry* inline_e = find(*entries, "entries");
    if (!file && !files_e && !inline_e) {
      error(le.key_at, what + " has no 'file', 'files' or 'entries'");
      continue;
    }
    if (file) {
      if (auto v = scalar(*file, "a file path")) files.push_back({*v, file->value_at});
    }
    if (files_e) {
      if (auto v = scalar_list(*files_e, "a file path")) files.insert(files.end(), v->begin(), v->end());
    }
    std::size_t inline_count = 0;
    bool bad = false;
    if (inline_e) {
      if (inline_e->value.IsSequence() && inline_e->value.size() == 0) {
        // `entries: []`: an empty list, on purpose (filled by files later).
      } else if (auto items = scalar_list(*inline_e, "a number")) {
        inline_count = items->size();
        if (plan_ok_) {
          std::string err;
          for (const Item& it : *items) {
            if (!add_list_entry(it.text, list, rs_.dial_plan, err)) {
              error(it.at, err);
              bad = true;
            }
          }
        }
      }
    }
    std::size_t file_lines = 0;
    for (const Item& f : files) {
      const std::filesystem::path rel(f.text);
      const std::filesystem::path fs_path = rel.is_absolute() ? rel : base_dir_ / rel;
      const std::string shown = rel.is_absolute() || display_dir_.empty()
                                    ? rel.lexically_normal().string()
                                    : (std::filesystem::path(display_dir_) / rel).lexically_normal().string();
      list.files.push_back(shown);
      if (!plan_ok_) {
        // Numbers cannot be read without a dial plan; still say if the file is missing.
        if (::access(fs_path.c_str(), R_OK) != 0) {
          error(f.at, "cannot read list file '" + shown + "' of list '" + list.name + "': " + std::strerror(errno));
        }
        continue;
      }
      std::vector<Diagnostic> file_diags;
      const ListFileStats st =
          read_list_file(shown, fs_path, list, rs_.dial_plan, f.at, options_.max_errors_per_list_file, file_diags);
      take(std::move(file_diags));
      file_lines += st.entries + st.errors;
      bad = bad || st.errors > 0 || !st.readable;
    }
    if (plan_ok_ && !bad && error_count() == errors_before) {
      const std::size_t dups = finalize_list(list);
      if (dups > 0) {
        warning(le.key_at,
                what + ": " + std::to_string(dups) + " duplicate entr" + (dups == 1 ? "y" : "ies") + " ignored");
      }
      if (list.numbers.empty() && list.prefixes.empty() && list.ranges.empty() && inline_count + file_lines == 0) {
        warning(le.key_at, what + " is empty");
      }
    }
    rs_.lists.push_back(std::move(list));
  }
}

void Loader::read_guard_rails(const Entry* e, const SourceLocation& top) {
  GuardRails& g = rs_.guard_rails;
  g.where = e ? e->key_at : top;
  std::optional<std::vector<Entry>> entries;
  if (e) {
    entries = map_entries(e->value, e->value_at, "guard_rails", kGuardKeys);
    if (!entries) return;
  }
  const Entry* em = entries ? find(*entries, "emergency") : nullptr;
  if (!em) {
    // Not written: every short code of the dial plan is an emergency number.
    for (std::size_t i = 0; i < rs_.dial_plan.short_code_count; ++i) {
      g.emergency.emplace_back(rs_.dial_plan.short_codes[i].view());
    }
  } else if (em->value.IsSequence() && em->value.size() == 0) {
    warning(em->value_at, "'emergency' is empty: rules can block emergency calls");
  } else if (auto items = scalar_list(*em, "a number"); items && plan_ok_) {
    for (const Item& it : *items) {
      NumberText n = parse_number(it.text, rs_.dial_plan);
      if (!n.ok) {
        std::string msg = "emergency number " + n.error;
        if (trim(it.text).size() <= number::kMaxShortCodeDigits) {
          // Most likely a short code the plan does not know ("911" in China).
          msg += "; add it to dial_plan.short_codes (now:";
          for (std::size_t i = 0; i < rs_.dial_plan.short_code_count; ++i) {
            msg += " " + std::string(rs_.dial_plan.short_codes[i].view());
          }
          msg += ")";
        }
        error(it.at, msg);
        continue;
      }
      g.emergency.push_back(std::move(n.digits));
    }
  }
  if (!entries) return;

  auto names = [&](const char* key, std::vector<std::string>& out) {
    const Entry* f = find(*entries, key);
    if (!f) return;
    if (auto items = scalar_list(*f, "a list name")) {
      for (const Item& it : *items) {
        if (check_list_ref(it.text, it.at)) out.push_back(it.text);
      }
    }
  };
  names("allow_callers", g.allow_callers);
  names("allow_callees", g.allow_callees);

  // Inline numbers become a list of their own, so the compiler and `diff`
  // see guard-rail numbers the same way as any list.
  auto inline_numbers = [&](const char* key, const char* list_name, std::vector<std::string>& out) {
    const Entry* f = find(*entries, key);
    if (!f) return;
    auto items = scalar_list(*f, "a number");
    if (!items || !plan_ok_) return;
    NumberList list;
    list.name = list_name;
    list.where = f->key_at;
    std::string err;
    bool ok = true;
    for (const Item& it : *items) {
      if (!add_list_entry(it.text, list, rs_.dial_plan, err)) {
        error(it.at, err);
        ok = false;
      }
    }
    if (!ok) return;
    if (list_at_.count(list_name)) {
      error(f->key_at,
            std::string("a list named '") + list_name + "' already exists (at " + to_string(list_at_[list_name]) + ")");
      return;
    }
    finalize_list(list);
    list_at_.emplace(list_name, f->key_at);
    rs_.lists.push_back(std::move(list));
    out.emplace_back(list_name);
  };
  inline_numbers("allow_caller_numbers", "guard_rails.allow_callers", g.allow_callers);
  inline_numbers("allow_callee_numbers", "guard_rails.allow_callees", g.allow_callees);
}

}  // namespace sipwall::rules::loader
