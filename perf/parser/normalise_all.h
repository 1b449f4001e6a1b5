// What the classifier needs from a parsed INVITE, as the parser benchmarks
// measure it: every number the rules may read, normalised (From, To,
// Request-URI, every P-Asserted-Identity, Remote-Party-ID and Diversion
// value). Returns the keys folded into one value, for the caller to consume.
#pragma once

#include <cstdint>

#include "dataplane/sip/sip_message.h"
#include "rules/number/normalize.h"

namespace sipwall::perf {

inline std::uint64_t normalise_key(const sip::Uri& u, const number::DialPlan& plan) {
  return number::normalize(u.number_text(), u.phone_context(), plan).key;
}

inline std::uint64_t normalise_all(const sip::Message& msg, const number::DialPlan& plan) {
  std::uint64_t acc =
      normalise_key(msg.from.uri, plan) ^ normalise_key(msg.to.uri, plan) ^ normalise_key(msg.request_uri, plan);
  for (std::size_t i = 0; i < msg.pai_count; ++i) acc ^= normalise_key(msg.pai[i].uri, plan);
  if (msg.remote_party_id.present) acc ^= normalise_key(msg.remote_party_id.uri, plan);
  for (std::size_t i = 0; i < msg.diversion_count; ++i) acc ^= normalise_key(msg.diversion[i].uri, plan);
  return acc;
}

}  // namespace sipwall::perf
