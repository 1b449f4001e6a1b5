// unpack(): the digits of a packed key, leading zeros restored from the count.
#include "rules/number/e164_key.h"

namespace sipwall::number {

bool unpack(E164Key key, DigitString* out) noexcept {
  out->d.fill('\0');
  out->len = 0;
  if (!key_valid(key)) return false;
  const unsigned n = key_length(key);
  std::uint64_t v = key_value(key);
  for (unsigned i = n; i-- > 0;) {
    out->d[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->len = static_cast<std::uint8_t>(n);
  return true;
}

}  // namespace sipwall::number
