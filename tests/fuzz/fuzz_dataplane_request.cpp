// libFuzzer target for the data plane's control-socket request parser
// (protocol::parse_request with the data plane's command table, exactly what
// sipwall-dataplane's handle_request runs first). Input: one request line.
// Checks: request_fuzz_checks.h. Seeds: seeds/dataplane_request/.
#include <cstddef>
#include <cstdint>

#include "dataplane/protocol/dataplane_commands.h"
#include "tests/fuzz/request_fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);  // sized exactly, for ASan
  sipwall::fuzz::check_request_line(line, sipwall::protocol::dataplane_protocol());
  return 0;
}
