// Field-by-field comparison of two parses of one buffer, for the parser's
// tests: the first field that differs, or "". Views compare by identity
// (same bytes of the same buffer), not by content.
#pragma once

#include <string>
#include <string_view>

#include "dataplane/sip/sip_message.h"

namespace sipwall::sip::test {

// Same view: same bytes of the same buffer (two empty views are equal).
inline bool same(std::string_view a, std::string_view b) {
  return (a.empty() && b.empty()) || (a.data() == b.data() && a.size() == b.size());
}

inline std::string diff_uri(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return "scheme";
  if (!same(a.text, b.text)) return "text";
  if (!same(a.scheme_name, b.scheme_name)) return "scheme_name";
  if (!same(a.user, b.user)) return "user";
  if (!same(a.password, b.password)) return "password";
  if (!same(a.host, b.host)) return "host";
  if (a.port != b.port) return "port";
  if (!same(a.params, b.params)) return "params";
  if (!same(a.headers, b.headers)) return "headers";
  return "";
}

inline std::string diff_na(const NameAddr& a, const NameAddr& b) {
  if (!same(a.display_name, b.display_name)) return "display_name";
  if (a.display_quoted != b.display_quoted) return "display_quoted";
  if (!same(a.uri_text, b.uri_text)) return "uri_text";
  if (!same(a.params, b.params)) return "params";
  if (!same(a.tag, b.tag)) return "tag";
  if (a.present != b.present) return "present";
  const std::string u = diff_uri(a.uri, b.uri);
  return u.empty() ? u : "uri." + u;
}

inline std::string diff_via(const Via& a, const Via& b) {
  if (!same(a.transport, b.transport)) return "transport";
  if (!same(a.host, b.host)) return "host";
  if (a.port != b.port) return "port";
  if (!same(a.branch, b.branch)) return "branch";
  if (!same(a.params, b.params)) return "params";
  if (!same(a.text, b.text)) return "text";
  if (a.present != b.present) return "present";
  return "";
}

}  // namespace sipwall::sip::test
