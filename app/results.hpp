// The results file (OUTPUT.md, docs/results-format.md): an ensemble and its
// summaries written as a netCDF-4-compatible HDF5 file.
//
// Writing is all-or-nothing: the file is built as NAME.partial beside its
// final name and renamed into place only when complete and flushed to disk.
#pragma once

#include <filesystem>
#include <string>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"

namespace loyalsim::app {

inline constexpr const char* kResultsFormat = "loyalsim-results";
inline constexpr const char* kResultsFormatVersion = "1.0";

// Facts about the run that made the file: the only attributes (with
// created_utc) allowed to differ between two runs of one experiment.
struct RunFacts {
  int threads = 1;
  int processes = 1;
  double wall_seconds = 0.0;
};

// The partial file's name for a results path.
std::filesystem::path partial_path(const std::filesystem::path& results);

// Writes the complete file to partial_path(path), then renames it to `path`.
void write_results(const std::filesystem::path& path, const Experiment& experiment, const Ensemble& ensemble,
                   const RunFacts& facts);

// The identity of an experiment's datasets: same fingerprint, same numbers.
// Used to match a checkpoint to the run that may resume it.
std::string experiment_fingerprint(const Experiment& experiment);

}  // namespace loyalsim::app
