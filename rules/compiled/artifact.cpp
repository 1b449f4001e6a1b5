#include "rules/compiled/artifact.h"

#include <fcntl.h>
#include <hs/hs.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "rules/compiled/access.h"
#include "rules/compiled/sections.h"
#include "rules/io/file_input.h"

#ifndef SIPWALL_VERSION
#define SIPWALL_VERSION "unknown"
#endif

static_assert(std::endian::native == std::endian::little,
              "the artifact format is little-endian; add byte swapping to port it");

namespace sipwall::rules {

std::string_view to_string(ArtifactError e) noexcept {
  switch (e) {
    case ArtifactError::none:
      return "ok";
    case ArtifactError::io:
      return "i/o error";
    case ArtifactError::bad_magic:
      return "not a sipwall rule-set artifact";
    case ArtifactError::unsupported_format:
      return "unsupported artifact format version";
    case ArtifactError::truncated:
      return "truncated";
    case ArtifactError::checksum_mismatch:
      return "checksum mismatch";
    case ArtifactError::platform_mismatch:
      return "built for another platform";
    case ArtifactError::malformed:
      return "malformed content";
  }
  return "unknown";
}

namespace {

struct FileHeader {
  char magic[8];
  std::uint32_t format_version;
  std::uint32_t header_bytes;
  std::uint64_t payload_bytes;
  std::uint64_t checksum;
  std::uint64_t content_checksum;
  std::uint64_t hs_cpu_features;
  std::int64_t created_unix;
  std::uint32_t hs_tune;
  std::uint32_t section_count;
  char rule_set_version[64];
  char hs_version[64];
  char build_info[64];
};
static_assert(sizeof(FileHeader) == 256);
static_assert(sections::kFlat<FileHeader>);

struct SectionHead {
  std::uint32_t tag;
  std::uint32_t zero;
  std::uint64_t bytes;
};
static_assert(sizeof(SectionHead) == 16);

void copy_text(char (&dst)[64], std::string_view s) noexcept {
  std::memset(dst, 0, sizeof(dst));
  std::memcpy(dst, s.data(), std::min(s.size(), sizeof(dst) - 1));
}

std::string text_of(const char (&src)[64]) {
  return std::string(src, strnlen(src, sizeof(src)));
}

std::string build_info() {
  std::string s = "sipwall " SIPWALL_VERSION "; ";
#if defined(__clang__)
  s += "clang " __clang_version__;
#elif defined(__GNUC__)
  s += "gcc " __VERSION__;
#endif
#if defined(__x86_64__)
  s += "; x86_64";
#elif defined(__aarch64__)
  s += "; aarch64";
#endif
  return s;
}

hs_platform_info_t host_platform() noexcept {
  hs_platform_info_t p{};
  if (hs_populate_platform(&p) != HS_SUCCESS) p = hs_platform_info_t{};
  return p;
}

std::uint64_t header_checksum(FileHeader h, std::uint64_t payload_hash) noexcept {
  h.checksum = 0;
  return XXH3_64bits_withSeed(&h, sizeof(h), payload_hash);
}

std::string errno_text() {
  return std::strerror(errno);
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof(b), "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::string features_text(std::uint64_t f) {
  std::string s;
  auto add = [&](std::uint64_t bit, const char* name) {
    if (f & bit) {
      if (!s.empty()) s += "+";
      s += name;
    }
  };
  add(HS_CPU_FEATURES_AVX2, "avx2");
  add(HS_CPU_FEATURES_AVX512, "avx512");
  add(HS_CPU_FEATURES_AVX512VBMI, "avx512vbmi");
  return s.empty() ? "generic" : s;
}

// Writes the file through a small buffer, hashing the payload on the way.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) { XXH3_64bits_reset(state_); }
  ~Writer() { XXH3_freeState(state_); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  bool raw(const void* p, std::size_t n) {
    const auto* c = static_cast<const char*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd_, c, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      c += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  bool payload(const void* p, std::size_t n) {
    XXH3_64bits_update(state_, p, n);
    bytes_ += n;
    return raw(p, n);
  }
  bool section(std::uint32_t tag, std::span<const std::uint8_t> b) {
    const SectionHead h{tag, 0, b.size()};
    static const std::uint8_t zeros[8] = {};
    ++sections_;
    return payload(&h, sizeof(h)) && payload(b.data(), b.size()) && payload(zeros, (8 - b.size() % 8) % 8);
  }
  std::uint64_t digest() const { return XXH3_64bits_digest(state_); }
  std::uint64_t bytes() const { return bytes_; }
  std::uint32_t sections() const { return sections_; }

 private:
  int fd_;
  XXH3_state_t* state_ = XXH3_createState();
  std::uint64_t bytes_ = 0;
  std::uint32_t sections_ = 0;
};

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

ArtifactSaveResult save_artifact(const CompiledRuleSet& set, const std::string& path) {
  ArtifactSaveResult res;
  const CompiledRuleSetData& d = CompiledRuleSetAccess::data(set);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    res.error = tmp + ": cannot create: " + errno_text();
    return res;
  }
  auto fail = [&](const std::string& why) {
    res.error = path + ": " + why;
    ::close(fd);
    ::unlink(tmp.c_str());
    return res;
  };

  FileHeader h{};
  std::memcpy(h.magic, kArtifactMagic, sizeof(h.magic));
  h.format_version = kArtifactFormatVersion;
  h.header_bytes = sizeof(FileHeader);
  h.content_checksum = d.checksum;
  const hs_platform_info_t plat = host_platform();
  h.hs_cpu_features = plat.cpu_features;
  h.hs_tune = plat.tune;
  h.created_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  copy_text(h.rule_set_version, set.version());
  copy_text(h.hs_version, hs_version());
  copy_text(h.build_info, build_info());

  Writer w(fd);
  if (!w.raw(&h, sizeof(h))) return fail("write failed: " + errno_text());
  bool ok = true;
  sections::for_each_content(d, true, [&](std::uint32_t tag, std::span<const std::uint8_t> b) {
    if (ok) ok = w.section(tag, b);
  });
  if (!ok) return fail("write failed: " + errno_text());
  for (std::size_t i = 0; i < d.dbs.size(); ++i) {
    char* bytes = nullptr;
    std::size_t len = 0;
    if (hs_serialize_database(d.dbs[i].get(), &bytes, &len) != HS_SUCCESS) {
      return fail("hs_serialize_database failed for database " + std::to_string(i));
    }
    ok = w.section(sections::hs_database + static_cast<std::uint32_t>(i),
                   {reinterpret_cast<const std::uint8_t*>(bytes), len});
    std::free(bytes);
    if (!ok) return fail("write failed: " + errno_text());
  }
  h.payload_bytes = w.bytes();
  h.section_count = w.sections();
  h.checksum = header_checksum(h, w.digest());
  if (::pwrite(fd, &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h))) {
    return fail("write failed: " + errno_text());
  }
  if (::fsync(fd) != 0) return fail("fsync failed: " + errno_text());
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    res.error = path + ": close failed: " + errno_text();
    return res;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    res.error = path + ": rename failed: " + errno_text();
    ::unlink(tmp.c_str());
    return res;
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  res.ok = true;
  res.bytes = sizeof(h) + h.payload_bytes;
  return res;
}

namespace {

ArtifactLoadResult failure(ArtifactLoadResult r, ArtifactError e, std::string_view name, const std::string& why) {
  r.set.reset();
  r.error = e;
  r.message = std::string(name) + ": " + std::string(to_string(e));
  if (!why.empty()) r.message += " (" + why + ")";
  return r;
}

// Header checks shared by load and info. Returns false (and fills r) on error.
bool check_header(std::string_view bytes, std::string_view name, FileHeader& h, ArtifactLoadResult& r) {
  r.info.file_bytes = bytes.size();
  if (bytes.size() >= sizeof(kArtifactMagic) &&
      std::memcmp(bytes.data(), kArtifactMagic, sizeof(kArtifactMagic)) != 0) {
    r = failure(std::move(r), ArtifactError::bad_magic, name, "");
    return false;
  }
  if (bytes.size() < sizeof(FileHeader)) {
    r = failure(std::move(r), ArtifactError::truncated, name,
                std::to_string(bytes.size()) + " bytes, the header alone is " + std::to_string(sizeof(FileHeader)));
    return false;
  }
  std::memcpy(&h, bytes.data(), sizeof(h));
  r.info.format_version = h.format_version;
  if (h.format_version != kArtifactFormatVersion || h.header_bytes != sizeof(FileHeader)) {
    r = failure(
        std::move(r), ArtifactError::unsupported_format, name,
        "format " + std::to_string(h.format_version) + ", this build reads " + std::to_string(kArtifactFormatVersion));
    return false;
  }
  r.info.rule_set_version = text_of(h.rule_set_version);
  r.info.hs_version = text_of(h.hs_version);
  r.info.build_info = text_of(h.build_info);
  r.info.hs_cpu_features = h.hs_cpu_features;
  r.info.hs_tune = h.hs_tune;
  r.info.content_checksum = h.content_checksum;
  r.info.payload_bytes = h.payload_bytes;
  r.info.created_unix = h.created_unix;
  return true;
}

template <class T, class V>
bool take(const std::map<std::uint32_t, std::string_view>& secs, std::uint32_t tag, V& out) {
  static_assert(sections::kFlat<T>);
  const auto it = secs.find(tag);
  if (it == secs.end() || it->second.size() % sizeof(T) != 0) return false;
  out.resize(it->second.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), it->second.data(), it->second.size());
  return true;
}

// The serialised form of a Hyperscan database is a 32-byte header (magic,
// version, bytecode length, platform, CRC32C of the bytecode) and the
// bytecode. hs_serialized_database_info() reads the scan mode at offset 12
// of the bytecode, so it may only be called once the header has been checked
// and the bytes are long enough for that read.
constexpr std::size_t kHsSerialHeader = 32;
constexpr std::size_t kHsInfoReads = kHsSerialHeader + 16;

std::string hs_info_text(char* info) {
  std::string s = info != nullptr ? info : "";
  std::free(info);
  return s;
}

// Untrusted bytes -> a block-mode database for this platform, or `why`.
// Hyperscan checks the magic, version, length, platform and the CRC of the
// bytecode; the bytecode itself is machine code for the engine that nothing
// outside Hyperscan can check (docs/operations.md "Artifacts").
bool load_database(std::string_view b, HsDatabasePtr& out, ArtifactError& kind, std::string& why) {
  kind = ArtifactError::malformed;
  std::size_t size = 0;
  hs_error_t e = hs_serialized_database_size(b.data(), b.size(), &size);
  if (e != HS_SUCCESS) {
    if (e == HS_DB_VERSION_ERROR) kind = ArtifactError::platform_mismatch;
    why = "not a serialised Hyperscan database of this version (error " + std::to_string(e) + ")";
    return false;
  }
  // The header says its length is exactly these bytes; what it takes in
  // memory is that plus the in-memory header.
  if (b.size() < kHsInfoReads || size > b.size() + 4096) {
    why = "a database of " + std::to_string(b.size()) + " bytes is impossible";
    return false;
  }
  char* info = nullptr;
  if (hs_serialized_database_info(b.data(), b.size(), &info) != HS_SUCCESS) {
    why = "hs_serialized_database_info refuses it";
    return false;
  }
  std::string text = hs_info_text(info);
  if (text.find("Mode: BLOCK") == std::string::npos) {
    why = "not a block-mode database (" + text + ")";
    return false;
  }
  hs_database_t* db = nullptr;
  e = hs_deserialize_database(b.data(), b.size(), &db);
  if (e != HS_SUCCESS) {
    if (e == HS_DB_VERSION_ERROR || e == HS_DB_PLATFORM_ERROR) kind = ArtifactError::platform_mismatch;
    why = "hs_deserialize_database error " + std::to_string(e) + "; database is: " + text;
    return false;
  }
  out.reset(db);
  info = nullptr;
  if (hs_database_info(db, &info) != HS_SUCCESS || hs_info_text(info).find("Mode: BLOCK") == std::string::npos) {
    why = "the loaded database is not a block-mode database";
    out.reset();
    return false;
  }
  return true;
}

// deny_sources sections are optional (absent: no entries); when present all
// three must be, and the table may only name existing entries.
bool load_deny_sections(const std::map<std::uint32_t, std::string_view>& secs, CompiledRuleSetData& d) {
  const bool any = secs.count(sections::deny_entries) || secs.count(sections::deny_segments) ||
                   secs.count(sections::deny_candidates);
  if (!any) return true;
  std::vector<TrunkSegment> segs;
  std::vector<TrunkCandidate> cands;
  return take<DenyEntry>(secs, sections::deny_entries, d.deny) &&
         take<TrunkSegment>(secs, sections::deny_segments, segs) &&
         take<TrunkCandidate>(secs, sections::deny_candidates, cands) &&
         TrunkTable::from_raw(std::move(segs), std::move(cands), static_cast<std::uint32_t>(d.deny.size()),
                              d.deny_table);
}

// The detectors section is optional (absent: no detectors). Its records
// become specs here; validate() then checks every spec, name and bound,
// whatever the checksum says.
bool load_detector_section(const std::map<std::uint32_t, std::string_view>& secs, CompiledRuleSetData& d) {
  if (!secs.count(sections::detectors)) return true;
  std::vector<sections::DetectorRecord> recs;
  if (!take<sections::DetectorRecord>(secs, sections::detectors, recs)) return false;
  if (recs.empty() || recs.size() > detect::kMaxDetectors) return false;
  for (const sections::DetectorRecord& r : recs) {
    detect::DetectorSpec s;
    if (!sections::from_record(r, s)) return false;
    d.detectors.push_back(s);
    d.detector_names.push_back(r.name);
  }
  return true;
}

// Header, size and checksum: the bytes are an artifact exactly as written.
bool check_bytes(std::string_view bytes, std::string_view name, FileHeader& h, ArtifactLoadResult& r) {
  if (!check_header(bytes, name, h, r)) return false;
  const std::uint64_t have = bytes.size() - sizeof(FileHeader);
  if (have < h.payload_bytes) {
    // Not header + payload: that sum wraps for a hostile payload_bytes.
    r = failure(std::move(r), ArtifactError::truncated, name,
                std::to_string(bytes.size()) + " bytes, the header says " + std::to_string(sizeof(FileHeader)) +
                    " + a payload of " + std::to_string(h.payload_bytes));
    return false;
  }
  if (have > h.payload_bytes) {
    r = failure(std::move(r), ArtifactError::malformed, name,
                std::to_string(have - h.payload_bytes) + " bytes after the payload");
    return false;
  }
  const std::string_view payload = bytes.substr(sizeof(FileHeader));
  const std::uint64_t sum = header_checksum(h, XXH3_64bits(payload.data(), payload.size()));
  if (sum != h.checksum) {
    r = failure(std::move(r), ArtifactError::checksum_mismatch, name,
                "stored " + hex(h.checksum) + ", computed " + hex(sum));
    return false;
  }
  return true;
}

// --- loading, phase by phase (load_artifact_bytes) --------------------------------

// The Hyperscan databases are machine code for one library version and CPU
// feature set: an artifact built elsewhere is refused before its sections
// are read.
bool check_platform(const FileHeader& h, std::string_view name, ArtifactLoadResult& r) {
  const std::string here_hs = hs_version();
  if (r.info.hs_version != here_hs) {
    r = failure(std::move(r), ArtifactError::platform_mismatch, name,
                "built with Hyperscan " + r.info.hs_version + ", this is " + here_hs);
    return false;
  }
  const hs_platform_info_t plat = host_platform();
  if ((h.hs_cpu_features & ~plat.cpu_features) != 0) {
    r = failure(std::move(r), ArtifactError::platform_mismatch, name,
                "built for CPU features " + features_text(h.hs_cpu_features) + ", this CPU has " +
                    features_text(plat.cpu_features));
    return false;
  }
  return true;
}

// A payload's sections by tag, each the view of its bytes (padding excluded).
using SectionMap = std::map<std::uint32_t, std::string_view>;

// Walks the `count` sections of `payload`. False (and `why`) if one runs past
// the end, a tag repeats or bytes follow the last one.
bool split_sections(std::string_view payload, std::uint32_t count, SectionMap& secs, std::string& why) {
  std::size_t pos = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    SectionHead sh{};
    if (payload.size() - pos < sizeof(sh)) {
      why = "section header past the end";
      return false;
    }
    std::memcpy(&sh, payload.data() + pos, sizeof(sh));
    pos += sizeof(sh);
    // Size first, then the padding: sh.bytes + padding wraps near 2^64.
    const std::uint64_t left = payload.size() - pos;
    if (sh.bytes > left || (8 - sh.bytes % 8) % 8 > left - sh.bytes) {
      why = "section past the end";
      return false;
    }
    const std::uint64_t padded = sh.bytes + (8 - sh.bytes % 8) % 8;
    if (!secs.emplace(sh.tag, payload.substr(pos, sh.bytes)).second) {
      why = "duplicate section";
      return false;
    }
    pos += padded;
  }
  if (pos != payload.size()) {
    why = "bytes after the last section";
    return false;
  }
  return true;
}

// The sections that are not copied straight into CompiledRuleSetData: the
// meta record, and the tables as stored, before build_tables() checks them
// and turns them into their runtime form.
struct RawTables {
  std::vector<sections::Meta> meta;
  std::string plan, strings;
  AlignedVector<std::uint64_t> exact_keys;
  std::vector<std::uint32_t> exact_values, prefix_values, range_values;
  std::vector<std::uint64_t> prefix_starts, range_starts, exact_sets, prefix_sets, range_sets;
  std::vector<TrunkSegment> segs;
  std::vector<TrunkCandidate> cands;
};

// Every required section, into `d` (the flat arrays) or `raw`. False if one
// is missing or its size is not a whole number of records.
bool take_sections(const SectionMap& secs, CompiledRuleSetData& d, RawTables& raw) {
  return take<sections::Meta>(secs, sections::meta, raw.meta) && raw.meta.size() == 1 &&
         take<char>(secs, sections::dial_plan, raw.plan) && take<char>(secs, sections::strings, raw.strings) &&
         take<RuleInfo>(secs, sections::rules, d.rules) && take<ActionInfo>(secs, sections::actions, d.actions) &&
         take<ListInfo>(secs, sections::lists, d.lists) &&
         take<std::uint32_t>(secs, sections::exact_bit_list, d.bit_list[0]) &&
         take<std::uint32_t>(secs, sections::prefix_bit_list, d.bit_list[1]) &&
         take<std::uint32_t>(secs, sections::range_bit_list, d.bit_list[2]) &&
         take<TrunkInfo>(secs, sections::trunks, d.trunks) && take<StrRef>(secs, sections::classes, d.classes) &&
         take<number::E164Key>(secs, sections::emergency, d.emergency) &&
         take<ListRef>(secs, sections::allow_callers, d.allow_callers) &&
         take<ListRef>(secs, sections::allow_callees, d.allow_callees) &&
         take<std::uint64_t>(secs, sections::exact_keys, raw.exact_keys) &&
         take<std::uint32_t>(secs, sections::exact_values, raw.exact_values) &&
         take<std::uint64_t>(secs, sections::prefix_starts, raw.prefix_starts) &&
         take<std::uint32_t>(secs, sections::prefix_values, raw.prefix_values) &&
         take<std::uint64_t>(secs, sections::range_starts, raw.range_starts) &&
         take<std::uint32_t>(secs, sections::range_values, raw.range_values) &&
         take<std::uint64_t>(secs, sections::exact_sets, raw.exact_sets) &&
         take<std::uint64_t>(secs, sections::prefix_sets, raw.prefix_sets) &&
         take<std::uint64_t>(secs, sections::range_sets, raw.range_sets) &&
         take<TrunkSegment>(secs, sections::trunk_segments, raw.segs) &&
         take<TrunkCandidate>(secs, sections::trunk_candidates, raw.cands) &&
         take<Atom>(secs, sections::atoms, d.atoms) && take<AtomInfo>(secs, sections::atom_info, d.atom_info) &&
         take<std::uint32_t>(secs, sections::code, d.code) && take<ScanTarget>(secs, sections::targets, d.targets) &&
         take<PatternSource>(secs, sections::patterns, d.patterns) &&
         take<HeaderName>(secs, sections::headers, d.headers) &&
         take<StrRef>(secs, sections::text_values, d.text_values) &&
         take<std::uint32_t>(secs, sections::id_pool, d.id_pool);
}

// The meta record into `d`, and the stored tables into their runtime form
// (each from_raw checks its own shape). False if anything is inconsistent;
// `raw`'s tables are moved from.
bool build_tables(RawTables& raw, const FileHeader& h, CompiledRuleSetData& d) {
  const sections::Meta& m = raw.meta[0];
  d.strings = std::move(raw.strings);
  d.name = m.name;
  d.version = m.version;
  d.source_file = m.source_file;
  d.checksum = m.checksum;
  d.malformed = static_cast<MalformedPolicy>(m.malformed);
  d.default_action = m.default_action;
  d.named_lists = m.named_lists;
  d.number_fields = m.number_fields;
  d.text_fields = m.text_fields;
  d.regex_slots = m.regex_slots;
  return m.malformed <= static_cast<std::uint8_t>(MalformedPolicy::fail_closed) &&
         sections::decode_plan(raw.plan, d.dial_plan) && m.checksum == h.content_checksum &&
         ListSets::from_raw(m.exact_set_bits, std::move(raw.exact_sets), d.sets[0]) &&
         ListSets::from_raw(m.prefix_set_bits, std::move(raw.prefix_sets), d.sets[1]) &&
         ListSets::from_raw(m.range_set_bits, std::move(raw.range_sets), d.sets[2]) &&
         ExactTable::from_raw(std::move(raw.exact_keys), std::move(raw.exact_values), m.exact_home_buckets,
                              m.exact_size, d.exact) &&
         IntervalMap::from_segments(std::move(raw.prefix_starts), std::move(raw.prefix_values), d.sets[1].count(),
                                    d.prefix_map) &&
         IntervalMap::from_segments(std::move(raw.range_starts), std::move(raw.range_values), d.sets[2].count(),
                                    d.range_map) &&
         TrunkTable::from_raw(std::move(raw.segs), std::move(raw.cands), static_cast<std::uint32_t>(d.trunks.size()),
                              d.trunk_table);
}

// The Hyperscan databases, one per scan target. False with the kind of
// failure and `why` for the first that does not load.
bool load_databases(const SectionMap& secs, CompiledRuleSetData& d, ArtifactError& kind, std::string& why) {
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    const auto it = secs.find(sections::hs_database + static_cast<std::uint32_t>(i));
    if (it == secs.end()) {
      kind = ArtifactError::malformed;
      why = "missing Hyperscan database " + std::to_string(i);
      return false;
    }
    HsDatabasePtr db;
    std::string db_why;
    if (!load_database(it->second, db, kind, db_why)) {
      why = "Hyperscan database " + std::to_string(i) + ": " + db_why;
      return false;
    }
    d.dbs.push_back(std::move(db));
  }
  return true;
}

}  // namespace

ArtifactLoadResult check_artifact_bytes(std::string_view bytes, std::string_view name) {
  ArtifactLoadResult r;
  FileHeader h{};
  check_bytes(bytes, name, h, r);
  return r;
}

// Checked bytes -> a rule set, in the order a reader meets the file: the
// header (size, checksum), the platform, the section directory, the tables,
// the Hyperscan databases, the deny_sources tables, then validate() over the
// whole set (docs/operations.md "Artifacts").
ArtifactLoadResult load_artifact_bytes(std::string_view bytes, std::string_view name) {
  ArtifactLoadResult r;
  FileHeader h{};
  if (!check_bytes(bytes, name, h, r)) return r;
  if (!check_platform(h, name, r)) return r;
  SectionMap secs;
  std::string why;
  if (!split_sections(bytes.substr(sizeof(FileHeader)), h.section_count, secs, why)) {
    return failure(std::move(r), ArtifactError::malformed, name, why);
  }
  auto set = std::make_unique<CompiledRuleSet>();
  CompiledRuleSetData& d = CompiledRuleSetAccess::data(*set);
  RawTables raw;
  if (!take_sections(secs, d, raw)) {
    return failure(std::move(r), ArtifactError::malformed, name, "missing or odd-sized section");
  }
  if (!build_tables(raw, h, d)) return failure(std::move(r), ArtifactError::malformed, name, "inconsistent tables");
  ArtifactError kind = ArtifactError::malformed;
  if (!load_databases(secs, d, kind, why)) return failure(std::move(r), kind, name, why);
  if (!load_deny_sections(secs, d)) {
    return failure(std::move(r), ArtifactError::malformed, name, "inconsistent deny_sources sections");
  }
  if (!load_detector_section(secs, d)) {
    return failure(std::move(r), ArtifactError::malformed, name, "malformed detectors section");
  }
  if (!validate(d, why)) return failure(std::move(r), ArtifactError::malformed, name, why);
  derive_match_index(d);
  r.set = std::move(set);
  return r;
}

ArtifactLoadResult load_artifact(const std::string& path) {
  ArtifactLoadResult r;
  io::InputFile f;
  std::string why;
  if (!f.open(path, io::kArtifactFile, why)) return failure(std::move(r), ArtifactError::io, path, why);
  // The header first: a file that is not an artifact, or whose size is not
  // what its header says, is refused before the rest is read (a 2 GB file of
  // anything must not cost 2 GB and a minute to refuse).
  std::string buf(sizeof(FileHeader), '\0');
  const std::int64_t n = f.read(buf.data(), buf.size(), why);
  if (n < 0) return failure(std::move(r), ArtifactError::io, path, why);
  buf.resize(static_cast<std::size_t>(n));
  FileHeader h{};
  if (!check_header(buf, path, h, r)) return r;
  r.info.file_bytes = f.size();
  const std::uint64_t body = f.size() - sizeof(FileHeader);
  if (body < h.payload_bytes) {
    return failure(std::move(r), ArtifactError::truncated, path,
                   std::to_string(f.size()) + " bytes, the header says " + std::to_string(sizeof(FileHeader)) +
                       " + a payload of " + std::to_string(h.payload_bytes));
  }
  if (body > h.payload_bytes) {
    return failure(std::move(r), ArtifactError::malformed, path,
                   std::to_string(body - h.payload_bytes) + " bytes after the payload");
  }
  if (!f.read_rest(buf, why)) return failure(std::move(r), ArtifactError::io, path, why);
  return load_artifact_bytes(buf, path);
}

ArtifactLoadResult read_artifact_info(const std::string& path) {
  ArtifactLoadResult r;
  io::InputFile f;
  std::string why;
  if (!f.open(path, io::kArtifactFile, why)) return failure(std::move(r), ArtifactError::io, path, why);
  char buf[sizeof(FileHeader)];
  const std::int64_t n = f.read(buf, sizeof(buf), why);
  if (n < 0) return failure(std::move(r), ArtifactError::io, path, why);
  FileHeader h{};
  if (!check_header(std::string_view(buf, static_cast<std::size_t>(n)), path, h, r)) return r;
  r.info.file_bytes = f.size();
  return r;
}

bool is_artifact_file(const std::string& path) {
  io::InputFile f;
  std::string why;
  char magic[sizeof(kArtifactMagic)] = {};
  // Any size: only the magic is read here; load_artifact() applies the limit
  // (and so says "more than the 2 GiB an artifact may have").
  constexpr io::FileKind kPeek{"file", ~std::uint64_t{0}};
  return f.open(path, kPeek, why) && f.read(magic, sizeof(magic), why) == sizeof(magic) &&
         std::memcmp(magic, kArtifactMagic, sizeof(magic)) == 0;
}

}  // namespace sipwall::rules
