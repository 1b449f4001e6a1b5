#include "rules/loader/regex_cost.h"

namespace sipwall::rules::loader {

namespace {

// Inside the walk: positions written out, and positions as written.
struct Cost {
  std::uint64_t positions = 0;
  std::uint64_t base = 0;
};

// Far above any limit, far below overflow: sums and products saturate here.
constexpr std::uint64_t kCap = std::uint64_t{1} << 40;

std::uint64_t add(std::uint64_t a, std::uint64_t b) noexcept {
  return a + b > kCap ? kCap : a + b;
}
std::uint64_t mul(std::uint64_t a, std::uint64_t b) noexcept {
  if (a == 0 || b == 0) return 0;
  return a > kCap / b ? kCap : a * b;
}

bool digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// A recursive-descent walk over PCRE syntax as Hyperscan takes it, counting
// positions. Nesting is bounded by the pattern's length, which the rule
// file's size bounds; a depth limit keeps the recursion shallow anyway.
class Walker {
 public:
  explicit Walker(std::string_view p) noexcept : p_(p) {}

  Cost pattern() noexcept { return alternation(0); }
  // After pattern(): a ')' with no '(' ends the walk early; step over it.
  bool skip_stray() noexcept {
    if (at_end() || p_[i_] != ')') return false;
    ++i_;
    return true;
  }

 private:
  static constexpr unsigned kMaxDepth = 256;

  bool at_end() const noexcept { return i_ >= p_.size(); }

  // branch ( '|' branch )*
  Cost alternation(unsigned depth) noexcept {
    Cost total = sequence(depth);
    while (!at_end() && p_[i_] == '|') {
      ++i_;
      const Cost b = sequence(depth);
      total.positions = add(total.positions, b.positions);
      total.base = add(total.base, b.base);
    }
    return total;
  }

  // (atom quantifier?)* up to '|' or ')'
  Cost sequence(unsigned depth) noexcept {
    Cost total;
    while (!at_end() && p_[i_] != '|' && p_[i_] != ')') {
      Cost a = atom(depth);
      quantify(a);
      total.positions = add(total.positions, a.positions);
      total.base = add(total.base, a.base);
    }
    return total;
  }

  Cost atom(unsigned depth) noexcept {
    const char c = p_[i_++];
    switch (c) {
      case '^':
      case '$':
        return {0, 0};
      case '\\':
        escape();
        return {1, 1};
      case '[':
        char_class();
        return {1, 1};
      case '(': {
        if (i_ < p_.size() && p_[i_] == '?') {
          // (?#comment), (?flags) and (?flags:...), (?=...) and friends.
          if (i_ + 1 < p_.size() && p_[i_ + 1] == '#') {
            while (!at_end() && p_[i_] != ')') ++i_;
            if (!at_end()) ++i_;
            return {0, 0};
          }
          std::size_t j = i_ + 1;
          while (j < p_.size() && p_[j] != ')' && p_[j] != ':' && p_[j] != '=' && p_[j] != '!' && p_[j] != '<' &&
                 p_[j] != '>') {
            ++j;
          }
          if (j < p_.size() && p_[j] == ')') {  // (?i): flags only
            i_ = j + 1;
            return {0, 0};
          }
          i_ = j < p_.size() ? j + 1 : j;
          if (i_ < p_.size() && p_[i_ - 1] == '<' && (p_[i_] == '=' || p_[i_] == '!')) ++i_;
        }
        Cost inner = depth < kMaxDepth ? alternation(depth + 1) : Cost{kCap, 0};
        if (depth >= kMaxDepth) i_ = p_.size();
        if (!at_end() && p_[i_] == ')') ++i_;
        return inner;
      }
      default:
        return {1, 1};
    }
  }

  void escape() noexcept {
    if (at_end()) return;
    const char c = p_[i_++];
    if (c == 'Q') {  // \Q...\E: literal text, one position a character (counted as one atom here)
      while (i_ + 1 < p_.size() && !(p_[i_] == '\\' && p_[i_ + 1] == 'E')) {
        ++i_;
        ++extra_;
      }
      i_ = i_ + 1 < p_.size() ? i_ + 2 : p_.size();
      return;
    }
    // \x{...}, \o{...}, \p{...}, \P{...}, \N{...}
    if ((c == 'x' || c == 'o' || c == 'p' || c == 'P' || c == 'N') && i_ < p_.size() && p_[i_] == '{') {
      while (!at_end() && p_[i_] != '}') ++i_;
      if (!at_end()) ++i_;
    }
  }

  void char_class() noexcept {
    if (!at_end() && p_[i_] == '^') ++i_;
    if (!at_end() && p_[i_] == ']') ++i_;  // a leading ']' is a member
    while (!at_end() && p_[i_] != ']') {
      if (p_[i_] == '\\') {
        ++i_;
        if (!at_end()) ++i_;
      } else if (p_[i_] == '[' && i_ + 1 < p_.size() && p_[i_ + 1] == ':') {  // [:alpha:]
        const std::size_t end = p_.find(":]", i_ + 2);
        i_ = end == std::string_view::npos ? p_.size() : end + 2;
      } else {
        ++i_;
      }
    }
    if (!at_end()) ++i_;
  }

  // Reads {m}, {m,} or {m,n} at i_; false (i_ unchanged) if it is not one.
  bool bounds(std::uint64_t& lo, std::uint64_t& hi, bool& unbounded) noexcept {
    std::size_t j = i_ + 1;
    auto number = [&](std::uint64_t& v) {
      const std::size_t start = j;
      v = 0;
      while (j < p_.size() && digit(p_[j])) v = add(mul(v, 10), static_cast<std::uint64_t>(p_[j++] - '0'));
      return j > start;
    };
    if (!number(lo)) return false;
    hi = lo;
    unbounded = false;
    if (j < p_.size() && p_[j] == ',') {
      ++j;
      if (!number(hi)) unbounded = true;
    }
    if (j >= p_.size() || p_[j] != '}') return false;
    i_ = j + 1;
    return true;
  }

  void quantify(Cost& a) noexcept {
    a.positions = add(a.positions, extra_);
    a.base = add(a.base, extra_);
    extra_ = 0;
    while (!at_end()) {
      const char c = p_[i_];
      if (c == '*' || c == '+' || c == '?') {
        ++i_;  // a loop or an option: no copies
      } else if (c == '{') {
        std::uint64_t lo = 0, hi = 0;
        bool unbounded = false;
        if (!bounds(lo, hi, unbounded)) return;  // a literal '{'
        // {m,n} writes out n copies; {m,} m copies and a loop.
        std::uint64_t copies = unbounded ? add(lo, 1) : (hi > lo ? hi : lo);
        if (copies == 0) copies = 1;
        a.positions = mul(a.positions, copies);  // `base` stays: the positions as written
      } else {
        return;
      }
      if (!at_end() && (p_[i_] == '?' || p_[i_] == '+')) ++i_;  // lazy / possessive
    }
  }

  std::string_view p_;
  std::size_t i_ = 0;
  std::uint64_t extra_ = 0;  // characters of a \Q...\E beyond its first
};

}  // namespace

RegexCost regex_cost(std::string_view pattern) noexcept {
  Walker w(pattern);
  Cost c;
  while (true) {
    const Cost part = w.pattern();
    c.positions = add(c.positions, part.positions);
    c.base = add(c.base, part.base);
    // A stray ')' ends a top-level alternation early: go on after it.
    if (!w.skip_stray()) break;
  }
  return RegexCost{c.positions, c.positions > c.base ? c.positions - c.base : 0};
}

}  // namespace sipwall::rules::loader
