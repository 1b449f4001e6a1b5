// Limits checked on YAML text before it is loaded into a tree and walked.
//
// yaml-cpp resolves an alias to the very node of its anchor. So
// `match: &s {not: *s}` is a node that contains itself (a recursive walk
// never ends: `rules check` died of a stack overflow), and a few kilobytes of
// aliases of aliases ("billion laughs") make a tree that a walker sees as
// billions of nodes (3.9 KB reached 3.9 GB in a minute). The check reads the
// text as a stream of parse events, without building a tree, and refuses:
//   * an alias inside the node its anchor names (a cycle);
//   * a document that, with every alias expanded, has more than max_nodes
//     nodes (an expansion bomb, or simply too big);
//   * collections nested deeper than max_depth.
// yaml::Reader::parse (reader.h) calls it before every YAML::Load, so every
// YAML reader gets it: the rule loader (rules/loader), the data plane's
// configuration (dataplane/app/config.cpp) and sipwall-control's
// (control/daemon/control_config.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipwall::yaml {

struct Limits {
  // A rule set of 20,000 rules is ~400,000 nodes; long number lists belong
  // in list files, not inline.
  std::uint64_t max_nodes = 2'000'000;
  // Rules nest all/any/not up to 32 levels, two YAML levels each, below a
  // handful of levels of rule-set structure.
  std::uint32_t max_depth = 128;
};

struct LimitProblem {
  std::uint32_t line = 0;    // 1-based, where the offending alias or node is
  std::uint32_t column = 0;  // 1-based
  std::string message;
};

// The first problem in the first document of `text`, or nullopt if there is
// none. Text that is not valid YAML gives nullopt too: the caller's own
// YAML::Load reports the syntax error, with its position.
std::optional<LimitProblem> check_limits(std::string_view text, const Limits& limits = {});

}  // namespace sipwall::yaml
