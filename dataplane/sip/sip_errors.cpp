#include "dataplane/sip/sip_errors.h"

#include <array>

namespace sipwall::sip {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(ParseError::count_)> kNames = {
#define SIPWALL_X(name, text) #name,
    SIPWALL_SIP_PARSE_ERRORS(SIPWALL_X)
#undef SIPWALL_X
};

constexpr std::array<std::string_view, static_cast<std::size_t>(ParseError::count_)> kTexts = {
#define SIPWALL_X(name, text) text,
    SIPWALL_SIP_PARSE_ERRORS(SIPWALL_X)
#undef SIPWALL_X
};

}  // namespace

std::string_view to_string(ParseError e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

std::string_view describe(ParseError e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < kTexts.size() ? kTexts[i] : std::string_view("unknown parse error");
}

}  // namespace sipwall::sip
