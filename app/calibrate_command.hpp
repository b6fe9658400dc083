// `loyalsim calibrate EXP.toml [-o OUT.h5] [--threads N] [--resume] [--force] [--check] [--quiet]`
// (CALIBRATION.md "Running it"), kept out of main.cpp: main only parses the
// arguments and calls it.
//
// Exit codes as `run`'s (0 done, 1 environment, 2 bad input, 130 interrupted),
// plus kExitTargetsMissed: --check found a target not met, or the fit stopped
// short (abc-smc before temperature 1; optimize with a target outside its
// tolerance at fresh seeds). The file is written all the same.
#pragma once

#include <functional>
#include <string>

#include "app/distributed.hpp"

namespace loyalsim::app {

inline constexpr int kExitTargetsMissed = 3;

struct CalibrateArgs {
  std::string experiment;
  std::string output;
  int threads = 0;  // 0: every core (divided among the ranks on a node)
  bool force = false, resume = false, quiet = false, check = false;
};

// `mpi` is set when an MPI launcher started several ranks: rank 0 runs the
// fit and serves every round's units to the others.
int calibrate_command(const CalibrateArgs& args, const distributed::Session* mpi, const std::function<bool()>& should_stop);

}  // namespace loyalsim::app
