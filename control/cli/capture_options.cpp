#include "control/cli/capture_options.h"

#include <CLI/CLI.hpp>

namespace sipwall::cli {

CLI::Option* add_input_argument(CLI::App& cmd, std::vector<std::string>& inputs) {
  // Existence only: what the file is (a FIFO, a device, too large) is
  // checked on the opened descriptor by the reader, which says why.
  const CLI::Validator input_path(
      [](std::string& s) -> std::string { return s == "-" ? std::string() : CLI::ExistingPath(s); }, "PATH or -");
  return cmd
      .add_option("INPUT", inputs,
                  "pcap/pcapng captures or raw SIP message files (\"-\": stdin, at most "
                  "4 GiB of capture or 1 MiB of message)")
      ->required()
      ->check(input_path);
}

void add_capture_options(CLI::App& cmd, control::InputOptions& o) {
  cmd.add_option("--sip-port", o.sip_ports, "UDP/TCP ports carrying SIP (default 5060 5061)")->delimiter(',');
  const std::string group = "Data plane limits (its configuration's keys; defaults: its defaults)";
  cmd.add_option("--tcp-reassembly-timeout-ms", o.tcp_timeout_ms, "tcp.reassembly_timeout_ms")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60000u))
      ->group(group);
  cmd.add_option("--tcp-reassembly-bytes", o.tcp_hold.max_bytes, "tcp.reassembly_bytes")
      ->capture_default_str()
      ->check(CLI::Range(65536u, 1u << 20))
      ->group(group);
  cmd.add_option("--tcp-reassembly-segments", o.tcp_hold.max_segments, "tcp.reassembly_segments")
      ->capture_default_str()
      ->check(CLI::Range(2u, 1024u))
      ->group(group);
  cmd.add_option("--tcp-reassembly-flows", o.tcp_hold.flows, "tcp.reassembly_flows")
      ->capture_default_str()
      ->check(CLI::Range(16u, 1u << 20))
      ->group(group);
  cmd.add_option("--tcp-reassembly-mbufs", o.tcp_hold.total_segments, "tcp.reassembly_mbufs")
      ->capture_default_str()
      ->check(CLI::Range(16u, 1u << 20))
      ->group(group);
  cmd.add_option("--fragments-max-flows", o.frag_max_flows, "fragments.max_flows")
      ->capture_default_str()
      ->check(CLI::Range(16u, 1u << 20))
      ->group(group);
  cmd.add_option("--fragments-timeout-ms", o.frag_timeout_ms, "fragments.timeout_ms")
      ->capture_default_str()
      ->check(CLI::Range(10u, 60000u))
      ->group(group);
}

}  // namespace sipwall::cli
