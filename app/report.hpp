// The policy comparison at the horizon, as users read it in a terminal.
//
// Computed from a results file (not from memory), so `loyalsim run` and
// `loyalsim info` print the same table from the same numbers.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "engine/statistics.hpp"

namespace loyalsim::app {

// One row of the comparison: a quantity per replication for each policy.
struct HorizonMeasure {
  std::string label;
  std::string kind;                          // "count", "share", "money", "messages"
  std::vector<std::vector<double>> values;   // [policy][replication]
};

struct HorizonTable {
  std::string experiment;
  std::vector<std::string> policies;  // the first is the baseline
  std::uint32_t month = 0;
  std::uint32_t replications = 0;
  std::vector<HorizonMeasure> measures;
  std::string point_values;  // "model.gain = 0.6, ..." for a point of a sweep
};

// Reads the results file and builds the table at the horizon: active
// customers and initial-cohort retention at month T; revenue, recovery cost,
// net value and WOM summed over months 1..T; satisfied-recovery and paradox
// shares of all complaints in months 1..T. Per replication, so intervals and
// paired differences come out of the same values.
// `point` is the point's position in the file (0 without a sweep).
HorizonTable horizon_table(const std::filesystem::path& results, std::size_t point = 0);

// A sweep at a glance: design, parameters, and each policy's net value
// across points (min, median, max, best point).
void print_sweep_summary(const std::filesystem::path& results, std::ostream& out);

// Mean ± 95% CI half-width per policy, and the paired difference to the baseline.
void print_table(const HorizonTable& table, std::ostream& out);

// The cells of one table row ("12.35M ± 0.05M", with `sign` "+301.2k ±
// 4.0k"), on one scale: a unit (M, k, none; % for a "share") from the row's
// largest |mean|, and decimals that give its smallest half-width two
// significant digits, stepping down from M or k rather than showing more
// than 2 decimals of them. loyalsim.format_row (Python) formats the same.
std::vector<std::string> format_row(const std::vector<engine::Interval>& cells, const std::string& kind, bool sign);

// The provenance of a results file: experiment, seed, engine, when, how.
void print_provenance(const std::filesystem::path& results, std::ostream& out);

}  // namespace loyalsim::app
