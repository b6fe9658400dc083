// What the machine this process runs on is: its name and the memory it can
// give. Results files record the host; MPI messages name it; a run checks
// the memory before it starts.
#pragma once

#include <string>

namespace loyalsim::engine {

// The host name (gethostname), or "unknown".
std::string host_name();

// Memory the system can give this process now (MemAvailable in
// /proc/meminfo), in bytes, or 0 when unknown.
double available_memory_bytes();

}  // namespace loyalsim::engine
