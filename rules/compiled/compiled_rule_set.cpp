#include "rules/compiled/compiled_rule_set.h"

#include <hs/hs.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "rules/compiled/access.h"
#include "rules/compiled/sections.h"

namespace sipwall::rules {

void HsDatabaseDeleter::operator()(hs_database_t* db) const noexcept {
  hs_free_database(db);
}

CompiledRuleSet::CompiledRuleSet() = default;
CompiledRuleSet::~CompiledRuleSet() = default;
CompiledRuleSet::CompiledRuleSet(CompiledRuleSet&&) noexcept = default;
CompiledRuleSet& CompiledRuleSet::operator=(CompiledRuleSet&&) noexcept = default;

std::optional<std::uint32_t> CompiledRuleSet::find_detector(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < d_.detector_names.size(); ++i) {
    if (str(d_.detector_names[i]) == name) return static_cast<std::uint32_t>(i);
  }
  return std::nullopt;
}

std::uint32_t CompiledRuleSet::list_of_bit(NumberSpace space, std::uint32_t bit) const noexcept {
  const auto s = static_cast<std::size_t>(space);
  if (s >= kNumberSpaces) return kNone;
  const auto& v = d_.bit_list[s];
  return bit < v.size() ? v[bit] : kNone;
}

std::string_view CompiledRuleSet::trunk_class_name(std::size_t i) const noexcept {
  const std::uint32_t c = d_.trunks[i].class_id;
  return c < d_.classes.size() ? str(d_.classes[c]) : std::string_view{};
}

bool CompiledRuleSet::emergency_search(number::E164Key key) const noexcept {
  return std::binary_search(d_.emergency.begin(), d_.emergency.end(), key);
}

std::size_t CompiledRuleSet::database_bytes() const noexcept {
  std::size_t total = 0;
  for (const auto& db : d_.dbs) {
    std::size_t n = 0;
    if (db && hs_database_size(db.get(), &n) == HS_SUCCESS) total += n;
  }
  return total;
}

std::size_t CompiledRuleSet::memory_bytes() const noexcept {
  std::size_t total =
      d_.strings.size() + d_.exact.bytes() + d_.prefix_map.bytes() + d_.range_map.bytes() + d_.trunk_table.bytes();
  for (const ListSets& s : d_.sets) total += s.bytes();
  total += d_.rules.size() * sizeof(RuleInfo) + d_.actions.size() * sizeof(ActionInfo) +
           d_.lists.size() * sizeof(ListInfo) + d_.atoms.size() * sizeof(Atom) +
           d_.atom_info.size() * sizeof(AtomInfo) + d_.code.size() * sizeof(std::uint32_t) +
           d_.patterns.size() * sizeof(PatternSource);
  return total + database_bytes();
}

namespace sections {

Meta make_meta(const CompiledRuleSetData& d, bool with_checksum) noexcept {
  Meta m;
  m.checksum = with_checksum ? d.checksum : 0;
  m.exact_home_buckets = d.exact.home_buckets();
  m.exact_size = d.exact.size();
  m.name = d.name;
  m.version = d.version;
  m.source_file = d.source_file;
  m.default_action = d.default_action;
  m.named_lists = d.named_lists;
  m.number_fields = d.number_fields;
  m.text_fields = d.text_fields;
  m.regex_slots = d.regex_slots;
  m.exact_set_bits = d.sets[0].bit_count();
  m.prefix_set_bits = d.sets[1].bit_count();
  m.range_set_bits = d.sets[2].bit_count();
  m.malformed = static_cast<std::uint8_t>(d.malformed);
  return m;
}

namespace {

void put_digits(std::string& out, const number::DigitString& s) {
  const std::uint8_t n = s.len <= number::kMaxDigits ? s.len : 0;
  out.push_back(static_cast<char>(n));
  out.append(s.d.data(), n);
}

struct PlanReader {
  std::string_view b;
  bool ok = true;
  std::uint8_t byte() noexcept {
    if (b.empty()) {
      ok = false;
      return 0;
    }
    const auto v = static_cast<std::uint8_t>(b[0]);
    b.remove_prefix(1);
    return v;
  }
  void digits(number::DigitString& s) noexcept {
    const std::uint8_t n = byte();
    if (!ok || n > number::kMaxDigits || n > b.size()) {
      ok = false;
      return;
    }
    s = number::DigitString{};
    if (n > 0 && !s.assign(b.substr(0, n))) ok = false;
    b.remove_prefix(n);
  }
};

}  // namespace

std::string encode_plan(const number::DialPlan& p) {
  std::string out;
  put_digits(out, p.country_code);
  put_digits(out, p.international_prefix);
  put_digits(out, p.national_prefix);
  out.push_back(static_cast<char>(p.min_national_length));
  out.push_back(static_cast<char>(p.max_national_length));
  out.push_back(static_cast<char>(p.national_first_digits & 0xFF));
  out.push_back(static_cast<char>(p.national_first_digits >> 8));
  const std::size_t nl = std::min<std::size_t>(p.local_pattern_count, p.local_patterns.size());
  out.push_back(static_cast<char>(nl));
  for (std::size_t i = 0; i < nl; ++i) {
    put_digits(out, p.local_patterns[i].lead);
    out.push_back(static_cast<char>(p.local_patterns[i].length));
  }
  const std::size_t ns = std::min<std::size_t>(p.short_code_count, p.short_codes.size());
  out.push_back(static_cast<char>(ns));
  for (std::size_t i = 0; i < ns; ++i) put_digits(out, p.short_codes[i]);
  out.push_back(p.country_code_without_prefix ? 1 : 0);
  return out;
}

bool decode_plan(std::string_view bytes, number::DialPlan& out) noexcept {
  PlanReader r{bytes};
  number::DialPlan p{};
  r.digits(p.country_code);
  r.digits(p.international_prefix);
  r.digits(p.national_prefix);
  p.min_national_length = r.byte();
  p.max_national_length = r.byte();
  p.national_first_digits = r.byte();
  p.national_first_digits = static_cast<std::uint16_t>(p.national_first_digits | (r.byte() << 8));
  p.local_pattern_count = r.byte();
  if (p.local_pattern_count > p.local_patterns.size()) return false;
  for (std::size_t i = 0; r.ok && i < p.local_pattern_count; ++i) {
    r.digits(p.local_patterns[i].lead);
    p.local_patterns[i].length = r.byte();
  }
  p.short_code_count = r.byte();
  if (p.short_code_count > p.short_codes.size()) return false;
  for (std::size_t i = 0; r.ok && i < p.short_code_count; ++i) r.digits(p.short_codes[i]);
  const std::uint8_t flag = r.byte();
  if (!r.ok || !r.b.empty() || flag > 1) return false;
  p.country_code_without_prefix = flag == 1;
  // The same checks the loader applies (lengths within E.164, prefixes that
  // can apply): the normaliser relies on them.
  if (!p.valid(nullptr)) return false;
  out = p;
  return true;
}

}  // namespace sections

std::uint64_t content_checksum(const CompiledRuleSetData& d) {
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  sections::for_each_content(d, false, [&](std::uint32_t tag, std::span<const std::uint8_t> b) {
    const std::uint64_t head[2] = {tag, b.size()};
    XXH3_64bits_update(st, head, sizeof(head));
    XXH3_64bits_update(st, b.data(), b.size());
  });
  const std::uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

}  // namespace sipwall::rules
