// "did you mean ...?" for misspelt keys, words and names, and the lists of
// what is allowed that follow it in messages (reader.h, the rule loader).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sipwall::yaml {

// Edit distance (insert, delete, substitute, swap two neighbours).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo,
// else empty.
std::string closest(std::string_view word, std::span<const std::string> candidates);
std::string closest(std::string_view word, std::span<const std::string_view> candidates);

// "a, b, c" (at most `max` names, then ", ...").
std::string join_names(std::span<const std::string> names, std::size_t max = 12);
std::string join_names(std::span<const std::string_view> names, std::size_t max = 12);

}  // namespace sipwall::yaml
