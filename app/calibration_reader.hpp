// Reading the [calibration] table of an experiment file (CALIBRATION.md).
//
// Parameter paths, kinds and ranges come from the model's parameter table
// (models/srp1/parameter_table.hpp) as for sweeps; targets are checked against
// the experiment's policies, segments, fact classes and bands, naming the ones
// that exist when a target names one that does not. Part of the loader.
#pragma once

#include <toml++/toml.h>

#include "app/experiment.hpp"
#include "engine/config.hpp"

namespace loyalsim::app {

// Reads [calibration] into e.calibration (e.scenario read before), recording
// every problem in `r`.
void read_calibration(engine::config::Reader& r, const toml::table& calibration, Experiment& e);

// Which filters a quantity takes ("policy", "band", ...), and whether it
// needs a policy: CALIBRATION.md's table, for the reader and the docs.
struct QuantityFilters {
  bool policy = true, band = false, fact_class = false, segment = false, months = false;
};
QuantityFilters filters_of(Quantity quantity);

}  // namespace loyalsim::app
