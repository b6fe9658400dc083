// The results file (docs/results-format.md): an ensemble and its
// summaries written as a netCDF-4-compatible HDF5 file.
//
// Writing is all-or-nothing: a file is built as NAME.tmp beside its final
// name and renamed into place only when complete and flushed to disk. While a
// sweep runs, snapshots of its finished points are published the same way as
// NAME.partial (complete = 0): readable at any moment, replaced as it grows,
// removed when NAME itself is in place.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "engine/hdf5.hpp"

namespace loyalsim::app {

inline constexpr const char* kResultsFormat = "loyalsim-results";
// 1.1: revision 1.1's metrics, quintiles, parameter values, measures (docs/results-format.md).
inline constexpr const char* kResultsFormatVersion = "1.1";

// Facts about the run that made the file: the only attributes (with
// created_utc) allowed to differ between two runs of one experiment.
struct RunFacts {
  int threads = 1;
  int processes = 1;
  double wall_seconds = 0.0;
};

// The snapshot file's name for a results path: NAME.partial.
std::filesystem::path partial_path(const std::filesystem::path& results);
// The name a file is written under before it is published: NAME.tmp.
std::filesystem::path temporary_path(const std::filesystem::path& target);
// `write(tmp)` fills temporary_path(path); when it returns, the file is
// published under `path` (engine::publish_file). If it throws, or the
// publishing fails (disk full, I/O error), nothing is left under either name.
void write_then_publish(const std::filesystem::path& path,
                        const std::function<void(const std::filesystem::path& tmp)>& write);

// Writes the given points of the ensemble (ascending; all of them for a
// finished run, `complete`) to temporary_path(path), then renames it to `path`.
void write_results(const std::filesystem::path& path, const Experiment& experiment, const Ensemble& ensemble,
                   const RunFacts& facts, const std::vector<std::uint64_t>& points, bool complete);

// Non-empty lines of a text (attributes that hold lists, one item per line).
std::vector<std::string> split_lines(const std::string& text);
// The swept parameters of a results file, in sweep order (none without a sweep).
std::vector<std::string> sweep_parameters(const engine::h5::File& file);

// How many real customers the simulated initial customers stand for
// (population.represents, or the customers themselves when it is unset).
double represented_customers(const srp1::Population& population);

// The identity of an experiment's datasets: same fingerprint, same numbers.
// Used to match a checkpoint to the run that may resume it.
std::string experiment_fingerprint(const Experiment& experiment);

}  // namespace loyalsim::app
