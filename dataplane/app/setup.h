// Bringing the data plane up and down: mbuf pools, ports and queues, worker
// contexts, RCU, trace rings, reassembly and TCP tables. Runs on the main
// lcore before the workers start and after they stop.
#pragma once

#include <string>

#include "dataplane/app/dataplane.h"

namespace sipwall::dataplane {

bool setup_dataplane(Dataplane& dp, std::string& error);

// The detection options a RuntimeSet is built with: config detection.*, and
// each worker's call table (set up by setup_dataplane).
DetectOptions detect_options(Dataplane& dp);
void teardown_dataplane(Dataplane& dp);

}  // namespace sipwall::dataplane
