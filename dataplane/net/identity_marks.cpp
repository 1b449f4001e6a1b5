#include "dataplane/net/identity_marks.h"

#include <cstdint>
#include <cstring>

#include "dataplane/net/tag_insert.h"

namespace sipwall::net {
namespace {

constexpr std::string_view kVerstatName = "verstat";
constexpr std::string_view kVerstatParam = ";verstat=";

bool is_lws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Where the message's views are: offsets into `bytes`, checked.
class Offsets {
 public:
  explicit Offsets(std::string_view bytes) noexcept
      : begin_(reinterpret_cast<std::uintptr_t>(bytes.data())), size_(bytes.size()) {}
  // Offset of p (p may be the end of the bytes). False if p is elsewhere.
  bool of(const char* p, std::uint32_t& out) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    if (p == nullptr || a < begin_ || a - begin_ > size_) return false;
    out = static_cast<std::uint32_t>(a - begin_);
    return true;
  }

 private:
  std::uintptr_t begin_;
  std::size_t size_;
};

// An existing ;verstat parameter in a ';'-separated list (`list` starts after
// its first ';'): the view of its name and of its value (empty: a flag).
bool find_verstat(std::string_view list, std::string_view& name, std::string_view& value) noexcept {
  std::size_t i = 0;
  while (i <= list.size()) {
    std::size_t end = list.find(';', i);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view p = list.substr(i, end - i);
    const std::size_t eq = p.find('=');
    if (iequals(p.substr(0, eq), kVerstatName)) {
      name = p.substr(0, eq);
      value = eq == std::string_view::npos ? p.substr(p.size()) : p.substr(eq + 1);
      return true;
    }
    i = end + 1;
  }
  return false;
}

class Planner {
 public:
  Planner(std::string_view bytes, const TagSpec& spec, TagPlan& plan) noexcept
      : bytes_(bytes), off_(bytes), spec_(spec), plan_(plan) {}

  bool add(std::uint32_t at, std::uint32_t remove, MarkKind kind) noexcept {
    if (plan_.n == kMaxMarks) return false;
    plan_.marks[plan_.n++] = Mark{at, remove, kind};
    return true;
  }

  // The label of a name-addr (an addr-spec's is added by identity()).
  bool label(const sip::NameAddr& na, std::uint32_t angle) noexcept {
    const std::string_view d = na.display_name;
    std::uint32_t at = 0;
    if (na.display_quoted) {
      if (!off_.of(d.data(), at)) return false;
      return add(at, 0, d.empty() ? MarkKind::label_in_empty_quotes : MarkKind::label_in_quotes);
    }
    if (!d.empty()) {
      std::uint32_t end = 0;
      if (!off_.of(d.data(), at) || !off_.of(d.data() + d.size(), end)) return false;
      return add(at, 0, MarkKind::label_open_token) && add(end, 0, MarkKind::close_quote);
    }
    return add(angle, 0, MarkKind::label_before_angle);
  }

  // Already labelled (a second appliance, a re-sent message): once is enough.
  bool labelled(const sip::NameAddr& na) const noexcept {
    const std::string_view label = spec_.label;
    const std::string_view d = na.display_name;
    return !d.empty() && d.substr(0, label.size()) == label && (d.size() == label.size() || d[label.size()] == ' ');
  }

  bool verstat(const sip::NameAddr& na) noexcept {
    const sip::Uri& u = na.uri;
    std::string_view name, value;
    const std::string_view user = u.user;
    const std::size_t semi = user.find(';');
    const bool in_user = semi != std::string_view::npos && find_verstat(user.substr(semi + 1), name, value);
    if (in_user || (!u.params.empty() && find_verstat(u.params, name, value))) {
      std::uint32_t at = 0;
      if (value.data() != name.data() + name.size()) {  // ;verstat=old
        if (!off_.of(value.data(), at)) return false;
        ++plan_.verstats;
        return add(at, static_cast<std::uint32_t>(value.size()), MarkKind::verstat_value);
      }
      if (!off_.of(name.data() + name.size(), at)) return false;  // ;verstat
      ++plan_.verstats;
      return add(at, 0, MarkKind::verstat_assign);
    }
    const char* where = nullptr;
    if (u.scheme == sip::UriScheme::tel) {
      where = u.text.data() + u.text.size();
    } else if (u.scheme == sip::UriScheme::sip || u.scheme == sip::UriScheme::sips) {
      const std::string_view number = u.number_text();
      const bool phone = !number.empty() && (number.front() == '+' || u.user_is_phone());
      if (phone) {
        where = user.data() + user.size();  // tel URI parameter of the telephone-subscriber
      } else if (!u.params.empty()) {
        where = u.params.data() + u.params.size();
      } else if (!u.headers.empty()) {
        where = u.headers.data() - 1;  // before '?'
      } else {
        where = u.text.data() + u.text.size();
      }
    } else {
      return true;  // another scheme: no verstat (identity() does not ask)
    }
    std::uint32_t at = 0;
    if (!off_.of(where, at)) return false;
    ++plan_.verstats;
    return add(at, 0, MarkKind::verstat_param);
  }

  bool identity(const sip::NameAddr& na) noexcept {
    if (!na.present) return true;
    // Where the URI is, and whether '<' precedes it (LWS may sit between):
    // a name-addr, else an addr-spec.
    const std::string_view u = na.uri_text;
    std::uint32_t ub = 0, ue = 0;
    if (!off_.of(u.data(), ub) || !off_.of(u.data() + u.size(), ue)) return false;
    std::uint32_t lt = ub;
    while (lt > 0 && is_lws(bytes_[lt - 1])) --lt;
    const bool angle = !na.display_quoted && lt > 0 && bytes_[lt - 1] == '<';
    const bool addr_spec = !na.display_quoted && !angle;
    const bool do_label = !spec_.label.empty() && !labelled(na);
    const bool do_verstat = !spec_.verstat.empty() && verstat_scheme(na.uri);
    if (!do_label && !do_verstat) return true;
    if (addr_spec) {
      // The brackets go round the URI only (its ';' parameters there are the
      // header's, RFC 3261 §20.10); a URI given a ';verstat' needs them too.
      if (!add(ub, 0, do_label ? MarkKind::label_open_addr_spec : MarkKind::open_angle)) return false;
    } else if (do_label && !label(na, lt - 1)) {
      return false;
    }
    if (do_label) ++plan_.labels;
    if (do_verstat && !verstat(na)) return false;
    // After a verstat at the URI's end (equal offsets keep this order).
    return !addr_spec || add(ue, 0, MarkKind::close_angle);
  }

  static bool verstat_scheme(const sip::Uri& u) noexcept {
    return u.scheme == sip::UriScheme::tel || u.scheme == sip::UriScheme::sip || u.scheme == sip::UriScheme::sips;
  }

 private:
  std::string_view bytes_;
  Offsets off_;
  const TagSpec& spec_;
  TagPlan& plan_;
};

}  // namespace

bool valid_mark_label(std::string_view label) noexcept {
  if (label.empty() || label.size() > kMaxMarkLabel) return false;
  for (const char ch : label) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') return false;
  }
  return true;
}

bool valid_mark_verstat(std::string_view verstat) noexcept {
  if (verstat.empty() || verstat.size() > kMaxMarkVerstat) return false;
  for (const char c : verstat) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::size_t mark_size(const Mark& m, const TagSpec& spec) noexcept {
  const std::size_t l = spec.label.size();
  const std::size_t v = spec.verstat.size();
  switch (m.kind) {
    case MarkKind::header_crlf:
      return spec.line.size() + 2;
    case MarkKind::header_lf:
      return spec.line.size() + 1;
    case MarkKind::label_in_quotes:
      return l + 1;
    case MarkKind::label_in_empty_quotes:
      return l;
    case MarkKind::label_open_token:
      return l + 2;
    case MarkKind::close_quote:
    case MarkKind::open_angle:
    case MarkKind::close_angle:
      return 1;
    case MarkKind::label_before_angle:
      return l + 3;
    case MarkKind::label_open_addr_spec:
      return l + 4;
    case MarkKind::verstat_param:
      return kVerstatParam.size() + v;
    case MarkKind::verstat_value:
      return v;
    case MarkKind::verstat_assign:
      return 1 + v;
  }
  return 0;
}

std::size_t write_mark(const Mark& m, const TagSpec& spec, char* out) noexcept {
  char* p = out;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  switch (m.kind) {
    case MarkKind::header_crlf:
      put(spec.line);
      put("\r\n");
      break;
    case MarkKind::header_lf:
      put(spec.line);
      put("\n");
      break;
    case MarkKind::label_in_quotes:
      put(spec.label);
      put(" ");
      break;
    case MarkKind::label_in_empty_quotes:
      put(spec.label);
      break;
    case MarkKind::label_open_token:
      put("\"");
      put(spec.label);
      put(" ");
      break;
    case MarkKind::close_quote:
      put("\"");
      break;
    case MarkKind::label_before_angle:
      put("\"");
      put(spec.label);
      put("\" ");
      break;
    case MarkKind::label_open_addr_spec:
      put("\"");
      put(spec.label);
      put("\" <");
      break;
    case MarkKind::open_angle:
      put("<");
      break;
    case MarkKind::close_angle:
      put(">");
      break;
    case MarkKind::verstat_param:
      put(kVerstatParam);
      put(spec.verstat);
      break;
    case MarkKind::verstat_value:
      put(spec.verstat);
      break;
    case MarkKind::verstat_assign:
      put("=");
      put(spec.verstat);
      break;
  }
  return static_cast<std::size_t>(p - out);
}

std::int64_t TagPlan::growth(const TagSpec& spec) const noexcept {
  std::int64_t g = 0;
  for (unsigned i = 0; i < n; ++i) {
    g += static_cast<std::int64_t>(mark_size(marks[i], spec)) - static_cast<std::int64_t>(marks[i].remove);
  }
  return g;
}

std::int64_t TagPlan::peak_growth(const TagSpec& spec) const noexcept {
  std::int64_t g = 0, peak = 0;
  for (unsigned i = n; i-- > 0;) {
    g += static_cast<std::int64_t>(mark_size(marks[i], spec)) - static_cast<std::int64_t>(marks[i].remove);
    if (g > peak) peak = g;
  }
  return peak;
}

bool plan_tag(const sip::Message& msg, std::string_view bytes, const TagSpec& spec, TagPlan& plan) noexcept {
  plan = TagPlan{};
  if (!valid_header_line(spec.line)) return false;
  if (!spec.label.empty() && !valid_mark_label(spec.label)) return false;
  if (!spec.verstat.empty() && !valid_mark_verstat(spec.verstat)) return false;

  // The header line goes at the empty line, preceded by the last header's LF.
  const std::size_t he = msg.headers_end;
  if (he == 0 || he >= bytes.size() || bytes[he - 1] != '\n') return false;
  MarkKind header;
  if (bytes[he] == '\r' && he + 1 < bytes.size() && bytes[he + 1] == '\n') {
    header = MarkKind::header_crlf;
  } else if (bytes[he] == '\n') {
    header = MarkKind::header_lf;
  } else {
    return false;
  }
  plan.header_at = static_cast<std::uint32_t>(he);

  if (!spec.label.empty() || !spec.verstat.empty()) {
    Planner p(bytes, spec, plan);
    if (!p.identity(msg.from)) return false;
    for (unsigned i = 0; i < msg.pai_count && i < sip::kMaxIdentities; ++i) {
      if (!p.identity(msg.pai[i])) return false;
    }
  }
  if (plan.n == kMaxMarks) return false;
  plan.marks[plan.n++] = Mark{plan.header_at, 0, header};

  // In offset order; equal offsets keep the order they were added in (the
  // verstat before the '>' that closes an addr-spec). Insertion sort: stable,
  // and there are at most kMaxMarks.
  for (unsigned i = 1; i < plan.n; ++i) {
    const Mark m = plan.marks[i];
    unsigned j = i;
    while (j > 0 && plan.marks[j - 1].at > m.at) {
      plan.marks[j] = plan.marks[j - 1];
      --j;
    }
    plan.marks[j] = m;
  }
  for (unsigned i = 0; i < plan.n; ++i) {
    const Mark& m = plan.marks[i];
    const std::uint64_t end = std::uint64_t{m.at} + m.remove;
    if (end > bytes.size()) return false;
    if (i + 1 < plan.n && end > plan.marks[i + 1].at) return false;  // overlapping marks: a layout we do not know
  }
  return true;
}

std::size_t render_marks(std::string_view bytes, std::int64_t shift, const TagPlan& plan, unsigned first, unsigned last,
                         const TagSpec& spec, char* out, std::size_t cap) noexcept {
  if (first > last || last >= plan.n) return 0;
  const std::int64_t b = shift + plan.marks[first].at;
  const std::int64_t e = shift + plan.marks[last].at + plan.marks[last].remove;
  if (b < 0 || e < b || static_cast<std::uint64_t>(e) > bytes.size()) return 0;
  std::size_t n = 0;
  auto pos = static_cast<std::size_t>(b);
  for (unsigned i = first; i <= last; ++i) {
    const Mark& m = plan.marks[i];
    const auto at = static_cast<std::size_t>(shift + m.at);
    const std::size_t keep = at - pos;
    if (n + keep + mark_size(m, spec) > cap) return 0;
    std::memcpy(out + n, bytes.data() + pos, keep);
    n += keep;
    n += write_mark(m, spec, out + n);
    pos = at + m.remove;
  }
  return n;
}

}  // namespace sipwall::net
