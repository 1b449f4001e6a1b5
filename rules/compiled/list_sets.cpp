#include "rules/compiled/list_sets.h"

#include <algorithm>
#include <cstring>

namespace sipwall::rules {

void ListSets::reset(std::uint32_t bits) {
  bits_ = bits;
  words_ = static_cast<std::uint32_t>((std::uint64_t{bits} + 63) / 64);
  if (words_ == 0) words_ = 1;  // keep set 0 addressable even with no lists
  data_.assign(words_, 0);
  index_.clear();
  index_.emplace(std::string(words_ * sizeof(std::uint64_t), '\0'), 0);
}

bool ListSets::empty(std::uint32_t set) const noexcept {
  for (std::uint64_t w : set_words(set)) {
    if (w != 0) return false;
  }
  return true;
}

std::vector<std::uint32_t> ListSets::bits_of(std::uint32_t set) const {
  std::vector<std::uint32_t> out;
  const auto w = set_words(set);
  for (std::uint32_t i = 0; i < w.size(); ++i) {
    std::uint64_t x = w[i];
    while (x != 0) {
      const std::uint32_t bit = i * 64 + static_cast<std::uint32_t>(__builtin_ctzll(x));
      if (bit < bits_) out.push_back(bit);  // from_raw() refuses others; never name a missing list
      x &= x - 1;
    }
  }
  return out;
}

std::uint32_t ListSets::intern(std::span<const std::uint64_t> w) {
  std::string key(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(std::uint64_t));
  auto [it, added] = index_.emplace(std::move(key), count());
  if (added) data_.insert(data_.end(), w.begin(), w.end());
  return it->second;
}

bool ListSets::from_raw(std::uint32_t bits, std::vector<std::uint64_t> data, ListSets& out) {
  // In 64 bits: (bits + 63) wraps in 32 for bits near 2^32, which made a
  // one-word set claim four billion bits.
  const std::uint64_t words = std::max<std::uint64_t>((std::uint64_t{bits} + 63) / 64, 1);
  if (data.size() < words || data.size() % words != 0) return false;
  for (std::uint64_t i = 0; i < words; ++i) {
    if (data[i] != 0) return false;  // set 0 must be empty
  }
  // No set may hold a bit past `bits`: bits_of() would name a list that
  // does not exist.
  const std::uint64_t used = bits % 64;
  const std::uint64_t spare = bits == 0 ? ~std::uint64_t{0} : used == 0 ? 0 : ~std::uint64_t{0} << used;
  if (spare != 0) {
    for (std::size_t at = words - 1; at < data.size(); at += words) {
      if (data[at] & spare) return false;
    }
  }
  out.bits_ = bits;
  out.words_ = static_cast<std::uint32_t>(words);
  out.data_ = std::move(data);
  out.index_.clear();
  return true;
}

}  // namespace sipwall::rules
