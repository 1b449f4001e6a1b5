// What an appliance reads from Redis and from its data plane for the fleet
// (control/fleet): bundle manifests, blocks-hash and lifts-hash values, view
// shares, the data plane's `detections` reply. Redis is shared by the whole
// fleet, so each of these is outside input: any bytes give a checked value
// or a refusal, never an exception, a crash or an unbounded result.
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "control/fleet/bundle.h"
#include "control/fleet/fleet_blocks.h"
#include "control/fleet/fleet_lifts.h"
#include "control/fleet/fleet_view.h"

using namespace sipwall::fleet;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string why;
  switch (selector % 5) {
    case 0: {
      const auto m = parse_manifest(text, 64u << 20, why);
      if (!m && why.empty()) __builtin_trap();  // a refusal always says why
      break;
    }
    case 1: {
      const auto b = parse_block(text);
      if (b && b->field().size() > 2 * 4096) __builtin_trap();
      break;
    }
    case 2:
      (void)parse_note(1, text);
      break;
    case 3: {
      // A view hash: "field\tvalue" lines, as HGETALL returns them.
      std::map<std::string, std::string> fields;
      std::string_view rest(text);
      for (int n = 0; n < 64 && !rest.empty(); ++n) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        const std::size_t tab = line.find('\t');
        fields[std::string(line.substr(0, tab))] =
            tab == std::string_view::npos ? "" : std::string(line.substr(tab + 1));
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      }
      const FleetTotal t = fleet_total(fields, 1'000'000, 60'000);
      std::uint64_t sum = 0;
      for (const auto& s : t.shares) sum += s.second;
      if (sum != t.total || t.shares.size() > fields.size()) __builtin_trap();
      (void)shares_text(t);
      break;
    }
    case 4: {
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) break;
      const auto v = parse_dataplane_view(j, why);
      if (v) {
        const auto keys = keys_to_push(*v, selector % 101);
        if (keys.size() > kMaxViewKeys) __builtin_trap();
      }
      break;
    }
  }
  return 0;
}
