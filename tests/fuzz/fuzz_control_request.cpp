// libFuzzer target for sipwall-control's control-socket request parser
// (protocol::parse_request with control_protocol(), exactly what the daemon's
// handle_request runs first). Input: one request line.
// Checks: request_fuzz_checks.h. Seeds: seeds/control_request/.
#include <cstddef>
#include <cstdint>

#include "control/daemon/control_requests.h"
#include "tests/fuzz/request_fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);  // sized exactly, for ASan
  sipwall::fuzz::check_request_line(line, sipwall::control::control_protocol());
  return 0;
}
