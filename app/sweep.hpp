// Parameter sweeps ([sweep] of docs/experiment-format.md): one experiment turned into P
// points, each the base experiment with some parameters replaced.
//
// A design (grid, random, Latin hypercube, Sobol'/Saltelli) gives every point
// a coordinate in the unit cube, one column per swept parameter; each
// parameter maps its column to a value (a range, a log range, or one of a
// list of values or choices) and knows how to set that value in a Scenario.
// Every point reuses the experiment's seed, so points share common random
// numbers with one another and with a plain run of the same values: point k
// of a sweep is bit for bit the plain run of point k's experiment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/srp1/parameters.hpp"

namespace loyalsim::app {

// posterior: the points are a calibration file's posterior draws (EXPERIMENT.md);
// batch: a calibration round's proposals, each point with its own seed (never
// read from a file, never written as a results file).
enum class SweepDesign { none, grid, random, lhs, sobol, posterior, batch };
inline constexpr const char* kSweepDesignNames[] = {"none", "grid", "random", "lhs", "sobol", "posterior", "batch"};

// How a parameter's unit-cube coordinate becomes a value.
enum class SweepKind {
  range,      // [low, high], linear
  log_range,  // [low, high], uniform in log(value); low > 0
  values,     // one of a list of numbers
  choices,    // one of a list of names (stored as the index into `choices`)
};
inline constexpr const char* kSweepKindNames[] = {"range", "log_range", "values", "choices"};

struct SweepParameter {
  std::string path;                   // "model.gain", "policies.fast.compensation"
  SweepKind kind = SweepKind::range;
  double low = 0.0, high = 0.0;       // range, log_range
  std::vector<double> values;         // values
  std::vector<std::string> choices;   // choices
  bool integer = false;               // values are integers (stored as int64)
  // Sets the parameter in a scenario; `value` is the number, or the choice index.
  std::function<void(srp1::Scenario&, double)> apply;

  // Number of distinct values a grid gives this parameter (`levels` for ranges).
  [[nodiscard]] std::uint32_t grid_size(std::uint32_t levels) const;
  // The value at unit coordinate u in (0, 1) (or [0, 1] for grids and Sobol').
  [[nodiscard]] double value_at(double u) const;
  // The value of grid level i of grid_size(levels).
  [[nodiscard]] double grid_value(std::uint32_t i, std::uint32_t levels) const;
};

struct Sweep {
  SweepDesign design = SweepDesign::none;
  std::uint32_t base_points = 1;  // random/lhs: P; sobol: N (P = N (k + 2)); grid: P
  std::uint32_t levels = 3;       // grid levels of each range
  std::vector<SweepParameter> parameters;
  // values[point * k + i]: parameter i's value at each point (choice index for choices).
  std::vector<double> values;
  // The simulation seed of each point; empty = every point runs at the
  // experiment's seed (common random numbers across points, any design but batch).
  std::vector<std::uint64_t> seeds;
  // posterior: the calibration file the draws come from, and its sha256.
  std::string source, source_sha256;

  [[nodiscard]] bool active() const { return design != SweepDesign::none; }
  [[nodiscard]] std::size_t dims() const { return parameters.size(); }
  [[nodiscard]] std::uint64_t points() const;
  // Number of points a design would have, before values are built (for checks).
  [[nodiscard]] static std::uint64_t points_of(SweepDesign design, std::uint32_t base_points,
                                               std::uint32_t levels, const std::vector<SweepParameter>& parameters);
  [[nodiscard]] double value(std::uint64_t point, std::size_t parameter) const {
    return values[point * parameters.size() + parameter];
  }
  // The base scenario with point k's values set.
  [[nodiscard]] srp1::Scenario scenario_at(const srp1::Scenario& base, std::uint64_t point) const;
  // A value for people: "0.35", "behavioural".
  [[nodiscard]] std::string describe_value(std::uint64_t point, std::size_t parameter) const;
};

// Builds every point's values from the design (unit cube -> values). `seed`
// drives the random and Latin-hypercube designs; grids and Sobol' are fixed.
void build_sweep_points(Sweep& sweep, std::uint64_t seed);

}  // namespace loyalsim::app
