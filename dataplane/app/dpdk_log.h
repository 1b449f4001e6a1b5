// DPDK's own log (EAL, drivers) through the data plane's log
// (dataplane/log/log.h): the same priorities for journald, the same
// collapsing of repeats. Call before rte_eal_init so EAL's lines go there too.
#pragma once

namespace sipwall::dataplane {

// False if the stream could not be made (DPDK then keeps writing to stderr).
bool route_dpdk_log();

}  // namespace sipwall::dataplane
