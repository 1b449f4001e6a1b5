// The canonical byte form of a CompiledRuleSet: a list of tagged sections,
// each a flat array of plain structs. The artifact writes exactly these
// sections (plus the Hyperscan databases) and the content checksum hashes
// exactly these bytes, so the two can never drift apart. Internal to
// rules/compiled and rules/compiler.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rules/compiled/access.h"

namespace sipwall::rules::sections {

enum Tag : std::uint32_t {
  meta = 1,
  dial_plan,
  strings,
  rules,
  actions,
  lists,
  exact_bit_list,
  prefix_bit_list,
  range_bit_list,
  trunks,
  classes,
  emergency,
  allow_callers,
  allow_callees,
  exact_keys,
  exact_values,
  prefix_starts,
  prefix_values,
  range_starts,
  range_values,
  exact_sets,
  prefix_sets,
  range_sets,
  trunk_segments,
  trunk_candidates,
  atoms,
  atom_info,
  code,
  targets,
  patterns,
  headers,
  text_values,
  id_pool,
  content_end,  // first tag after the required content
  // Optional content (after content_end so the tags above keep their values;
  // an artifact written before they existed has none, and loads as a set
  // with no such entries).
  deny_entries = 0x100,
  deny_segments,
  deny_candidates,
  detectors,             // DetectorRecord per detector (rules/detect, docs/rules.md "Detectors")
  optional_end,          // first tag that is not content
  hs_database = 0x1000,  // + target index
};

// Scalars of CompiledRuleSetData and of its tables, as one POD.
struct Meta {
  std::uint64_t checksum = 0;  // 0 while the checksum itself is computed
  std::uint64_t exact_home_buckets = 0;
  std::uint64_t exact_size = 0;
  StrRef name, version, source_file;
  std::uint32_t default_action = 0;
  std::uint32_t named_lists = 0;
  std::uint32_t number_fields = 0;
  std::uint32_t text_fields = 0;
  std::uint32_t regex_slots = 0;
  std::uint32_t exact_set_bits = 0;
  std::uint32_t prefix_set_bits = 0;
  std::uint32_t range_set_bits = 0;
  std::uint8_t malformed = 0;
  std::uint8_t pad[7] = {};
};

// One detector as stored: detect::DetectorSpec has padding, so it is not
// written raw; its fields are, in this padding-free record.
struct DetectorRecord {
  std::uint64_t definition_hash = 0;
  StrRef name;
  std::uint8_t key = 0;
  std::uint8_t count = 0;
  std::uint8_t report_only = 0;
  std::uint8_t pad = 0;
  std::uint32_t window_ms = 0;
  std::uint32_t warn = 0;
  std::uint32_t block = 0;
  std::uint32_t within_ms = 0;
  std::uint32_t min_attempts = 0;
  std::uint32_t block_for_ms = 0;
  std::uint32_t capacity = 0;
};
static_assert(sizeof(DetectorRecord) == 48);

inline DetectorRecord to_record(const detect::DetectorSpec& s, StrRef name) noexcept {
  DetectorRecord r;
  r.definition_hash = s.definition_hash;
  r.name = name;
  r.key = static_cast<std::uint8_t>(s.key);
  r.count = static_cast<std::uint8_t>(s.count);
  r.report_only = s.report_only ? 1 : 0;
  r.window_ms = s.window_ms;
  r.warn = s.warn;
  r.block = s.block;
  r.within_ms = s.within_ms;
  r.min_attempts = s.min_attempts;
  r.block_for_ms = s.block_for_ms;
  r.capacity = s.capacity;
  return r;
}

// The record's fields into a spec. False if a byte is outside its type
// (an enum or bool out of range, padding not zero); validate() checks the rest.
inline bool from_record(const DetectorRecord& r, detect::DetectorSpec& s) noexcept {
  if (r.key > static_cast<std::uint8_t>(detect::DetectKey::trunk) ||
      r.count > static_cast<std::uint8_t>(detect::DetectCount::asr) || r.report_only > 1 || r.pad != 0) {
    return false;
  }
  s = detect::DetectorSpec{};
  s.definition_hash = r.definition_hash;
  s.key = static_cast<detect::DetectKey>(r.key);
  s.count = static_cast<detect::DetectCount>(r.count);
  s.report_only = r.report_only != 0;
  s.window_ms = r.window_ms;
  s.warn = r.warn;
  s.block = r.block;
  s.within_ms = r.within_ms;
  s.min_attempts = r.min_attempts;
  s.block_for_ms = r.block_for_ms;
  s.capacity = r.capacity;
  return true;
}

// Every type written raw must have no padding, or its bytes (and so the
// checksum) would depend on garbage.
template <class T>
inline constexpr bool kFlat = std::is_trivially_copyable_v<T>&& std::has_unique_object_representations_v<T>;

static_assert(kFlat<Meta> && kFlat<StrRef> && kFlat<Atom> && kFlat<ScanTarget> && kFlat<HeaderName> &&
              kFlat<ActionInfo> && kFlat<RuleInfo> && kFlat<ListInfo> && kFlat<TrunkInfo> && kFlat<AtomInfo> &&
              kFlat<ListRef> && kFlat<PatternSource> && kFlat<TrunkSegment> && kFlat<TrunkCandidate> &&
              kFlat<DenyEntry> && kFlat<DetectorRecord>);

Meta make_meta(const CompiledRuleSetData& d, bool with_checksum) noexcept;
// The dial plan field by field (it has padding and grows with the number
// library, so it is not written raw). decode_plan is false on malformed bytes.
// A field added to number::DialPlan must be added to both.
std::string encode_plan(const number::DialPlan& p);
bool decode_plan(std::string_view bytes, number::DialPlan& out) noexcept;

template <class T>
std::span<const std::uint8_t> bytes_of(const T* p, std::size_t n) noexcept {
  static_assert(kFlat<T>);
  return {reinterpret_cast<const std::uint8_t*>(p), n * sizeof(T)};
}
template <class V>
std::span<const std::uint8_t> bytes_of(const V& v) noexcept {
  return bytes_of(v.data(), v.size());
}

// Calls f(tag, bytes) for every content section, in tag order.
template <class F>
void for_each_content(const CompiledRuleSetData& d, bool with_checksum, F&& f) {
  const Meta m = make_meta(d, with_checksum);
  const std::string plan = encode_plan(d.dial_plan);
  f(meta, bytes_of(&m, 1));
  f(dial_plan, bytes_of(plan));
  f(strings, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(d.strings.data()), d.strings.size()));
  f(rules, bytes_of(d.rules));
  f(actions, bytes_of(d.actions));
  f(lists, bytes_of(d.lists));
  f(exact_bit_list, bytes_of(d.bit_list[0]));
  f(prefix_bit_list, bytes_of(d.bit_list[1]));
  f(range_bit_list, bytes_of(d.bit_list[2]));
  f(trunks, bytes_of(d.trunks));
  f(classes, bytes_of(d.classes));
  f(emergency, bytes_of(d.emergency));
  f(allow_callers, bytes_of(d.allow_callers));
  f(allow_callees, bytes_of(d.allow_callees));
  f(exact_keys, bytes_of(d.exact.raw_keys()));
  f(exact_values, bytes_of(d.exact.raw_values()));
  const std::vector<std::uint64_t>& pstarts = d.prefix_map.starts();
  f(prefix_starts, bytes_of(pstarts));
  f(prefix_values, bytes_of(d.prefix_map.raw_values()));
  const std::vector<std::uint64_t>& rstarts = d.range_map.starts();
  f(range_starts, bytes_of(rstarts));
  f(range_values, bytes_of(d.range_map.raw_values()));
  f(exact_sets, bytes_of(d.sets[0].raw()));
  f(prefix_sets, bytes_of(d.sets[1].raw()));
  f(range_sets, bytes_of(d.sets[2].raw()));
  f(trunk_segments, bytes_of(d.trunk_table.raw_segments()));
  f(trunk_candidates, bytes_of(d.trunk_table.raw_candidates()));
  f(atoms, bytes_of(d.atoms));
  f(atom_info, bytes_of(d.atom_info));
  f(code, bytes_of(d.code));
  f(targets, bytes_of(d.targets));
  f(patterns, bytes_of(d.patterns));
  f(headers, bytes_of(d.headers));
  f(text_values, bytes_of(d.text_values));
  f(id_pool, bytes_of(d.id_pool));
  // Written only when there are entries, so a set without deny_sources has
  // the same bytes (and checksum) as before the sections existed.
  if (!d.deny.empty()) {
    f(deny_entries, bytes_of(d.deny));
    f(deny_segments, bytes_of(d.deny_table.raw_segments()));
    f(deny_candidates, bytes_of(d.deny_table.raw_candidates()));
  }
  // Likewise: a set without detectors keeps its old bytes and checksum.
  if (!d.detectors.empty()) {
    std::vector<DetectorRecord> recs;
    recs.reserve(d.detectors.size());
    for (std::size_t i = 0; i < d.detectors.size(); ++i) {
      recs.push_back(to_record(d.detectors[i], i < d.detector_names.size() ? d.detector_names[i] : StrRef{}));
    }
    f(detectors, bytes_of(recs));
  }
}

}  // namespace sipwall::rules::sections
