// The flags shared by the commands that read captures (parse, rules
// explain): which ports carry SIP, and the data plane's reassembly limits,
// so a capture is decided as a data plane with that configuration decides it.
#pragma once

#include <string>

#include "control/common/sip_input.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sipwall::cli {

// INPUT: pcap/pcapng captures or raw SIP message files, "-" for stdin.
CLI::Option* add_input_argument(CLI::App& cmd, std::vector<std::string>& inputs);
// --sip-port, --tcp-reassembly-*, --fragments-* (defaults: the data plane's).
void add_capture_options(CLI::App& cmd, control::InputOptions& o);

}  // namespace sipwall::cli
