// Reading the [sweep] table of an experiment file (docs/experiment-format.md "[sweep]").
//
// The paths a sweep may name, their kinds and ranges come from the model's
// parameter table (models/srp1/parameter_table.hpp); this module only reads
// the design and each parameter's form (range, log range, values, choices),
// checks them and builds the points. Part of the experiment loader.
#pragma once

#include <toml++/toml.h>

#include "app/experiment.hpp"
#include "engine/config.hpp"

namespace loyalsim::app {

// Reads [sweep] into e.sweep (e.scenario and e.seed already read), recording
// every problem in `r`.
void read_sweep(engine::config::Reader& r, const toml::table& sweep, Experiment& e);

// "\"policies.fast.gain\" names no parameter of this experiment (did you mean ...?)" and what is
// allowed, for a path that `find_parameter` does not know: shared by sweeps and calibration.
// `origin` follows the quoted path where it came from elsewhere (" (calibrated in cal.h5)").
void report_unknown_path(engine::config::Reader& r, const toml::node* where, const std::string& key,
                         const std::string& path, const srp1::Scenario& scenario, const std::string& origin = "");

// The entries of a table in file order (toml++ tables are sorted by key):
// sweep and calibration parameters keep the order the user wrote.
std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& table);

}  // namespace loyalsim::app
