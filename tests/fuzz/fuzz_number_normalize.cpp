// libFuzzer target for the number normaliser.
//
// Input layout: byte 0 picks the plan (even: China, odd: North America);
// the rest is "<number>\n<phone-context>" (no '\n': no context). The seeds in
// seeds/number/ are written that way, e.g. "012345678\n+86-10".
//
// Checked on every input, for normalize() and normalize_written():
//  * e164: 1..15 digits, first digit 1-9, text() == "+" + digits, key ==
//    pack(digits) and unpacks back to the digits; normalising text() again
//    gives the same number (with and without the context);
//  * short_code: one of the plan's codes, key == pack(digits);
//  * anything else: no digits, no key, empty text, a reason;
//  * any 8 bytes as a key: if key_valid(), unpack then pack returns it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "rules/number/normalize.h"

namespace {

using namespace sipwall::number;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

void check(const Number& n, const DialPlan& plan) {
  switch (n.kind) {
    case NumberKind::e164: {
      CHECK(n.reason == Reason::none);
      CHECK(n.digits.len >= 1 && n.digits.len <= kMaxDigits);
      CHECK(n.digits.well_formed());
      CHECK(n.digits.d[0] >= '1' && n.digits.d[0] <= '9');
      CHECK(n.text_len == n.digits.len + 1 && n.text()[0] == '+');
      CHECK(n.text().substr(1) == n.digits.view());
      CHECK(n.key == pack(n.digits.view()));
      CHECK(key_length(n.key) == n.digits.len);
      DigitString back;
      CHECK(unpack(n.key, &back) && back == n.digits);
      for (std::size_t i = n.digits.len; i < n.digits.d.size(); ++i) CHECK(n.digits.d[i] == 0);
      break;
    }
    case NumberKind::short_code: {
      CHECK(n.reason == Reason::none);
      CHECK(n.text() == n.digits.view());
      CHECK(n.key == pack(n.digits.view()) && n.key != kNoNumber);
      bool mapped = false;
      for (unsigned i = 0; i < plan.short_code_count; ++i) mapped |= plan.short_codes[i] == n.digits;
      CHECK(mapped);
      break;
    }
    case NumberKind::not_a_number:
    case NumberKind::invalid:
    case NumberKind::absent:
      CHECK(n.reason != Reason::none);
      CHECK(n.key == kNoNumber && n.digits.len == 0 && n.text().empty());
      break;
    default:
      fail("unknown kind");
  }
}

void check_again(const Number& n, std::string_view context, const DialPlan& plan) {
  if (n.kind != NumberKind::e164 && n.kind != NumberKind::short_code) return;
  const std::string text(n.text());
  for (const Number& again :
       {normalize(text, "", plan), normalize(text, context, plan), normalize_written(text, plan)}) {
    CHECK(again.kind == n.kind);
    CHECK(again.digits == n.digits && again.key == n.key);
  }
  if (n.kind == NumberKind::e164) {
    const Number tel = normalize_written("tel:" + text, plan);
    CHECK(tel.kind == NumberKind::e164 && tel.key == n.key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const DialPlan kChina = DialPlan::china();
  static const DialPlan kNanp = DialPlan::north_america();
  const DialPlan& plan = (data[0] & 1) ? kNanp : kChina;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  // Copies sized exactly, so ASan sees any read past the end.
  const std::size_t nl = rest.find('\n');
  const std::string number(rest.substr(0, nl));
  const std::string context(nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1));
  const Number n = normalize(number, context, plan);
  check(n, plan);
  check_again(n, context, plan);

  const std::string whole(rest);
  const Number w = normalize_written(whole, plan);
  check(w, plan);
  check_again(w, {}, plan);

  if (rest.size() >= 8) {
    E164Key key;
    std::memcpy(&key, rest.data(), sizeof key);
    DigitString digits;
    if (key_valid(key)) {
      CHECK(unpack(key, &digits) && pack(digits.view()) == key);
    } else {
      CHECK(!unpack(key, &digits) && digits.len == 0);
    }
  }
  return 0;
}
