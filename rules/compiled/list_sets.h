// "List sets": the distinct combinations of lists a number belongs to. A
// number may be in several lists; the tables store one small id per number
// and each combination is stored once, as a bitset over list bits. Set 0 is
// always the empty set (what a miss yields).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace sipwall::rules {

class ListSets {
 public:
  ListSets() = default;
  explicit ListSets(std::uint32_t bits) { reset(bits); }

  void reset(std::uint32_t bits);

  std::uint32_t bit_count() const noexcept { return bits_; }
  std::uint32_t words() const noexcept { return words_; }
  std::uint32_t count() const noexcept { return words_ == 0 ? 1 : static_cast<std::uint32_t>(data_.size() / words_); }

  bool test(std::uint32_t set, std::uint32_t bit) const noexcept {
    if (bit >= bits_) return false;
    return (data_[static_cast<std::size_t>(set) * words_ + bit / 64] >> (bit % 64)) & 1U;
  }
  std::span<const std::uint64_t> set_words(std::uint32_t set) const noexcept {
    return {data_.data() + static_cast<std::size_t>(set) * words_, words_};
  }
  bool empty(std::uint32_t set) const noexcept;
  // Bits of `set`, ascending.
  std::vector<std::uint32_t> bits_of(std::uint32_t set) const;

  // Builder side: the id of this combination, added if new. `w` has words() words.
  std::uint32_t intern(std::span<const std::uint64_t> w);

  std::size_t bytes() const noexcept { return data_.size() * sizeof(std::uint64_t); }
  const std::vector<std::uint64_t>& raw() const noexcept { return data_; }
  static bool from_raw(std::uint32_t bits, std::vector<std::uint64_t> data, ListSets& out);

 private:
  std::uint32_t bits_ = 0;
  std::uint32_t words_ = 0;
  std::vector<std::uint64_t> data_;                       // count() * words_ words; set 0 all zero
  std::unordered_map<std::string, std::uint32_t> index_;  // builder only
};

}  // namespace sipwall::rules
