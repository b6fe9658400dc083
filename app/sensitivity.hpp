// `loyalsim sensitivity`: which swept parameters move a metric, from a
// sweep's results file.
//
// Per point, the outcome is the mean over replications of the metric at a
// month: its level for stocks (active customers), its sum over months 1..t
// for flows (net value, revenue, complaints), so "net value at month 36" is
// the value accumulated over the horizon. Saltelli (sobol) designs give
// first-order and total Sobol' indices; other designs standardised
// regression coefficients and partial rank correlations. Bootstrap intervals
// resample both points and replications, so they carry Monte Carlo noise;
// noise_share says how much of the point-to-point variance that noise is.
// The estimators are engine/sensitivity.hpp's; the Python package computes
// the same numbers (python/loyalsim/sensitivity.py).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace loyalsim::app {

struct SensitivityOptions {
  std::string metric = "net_value";
  std::optional<std::uint32_t> month;      // default: the horizon
  bool all_months = false;                 // time-resolved: months 1..T
  std::vector<std::string> policies;       // default: every policy
  bool contrast = false;                   // the paired difference to the baseline policy
  std::string method;                      // "sobol" | "regression"; default from the design
  std::size_t bootstrap = 1000;
  std::uint64_t seed = 0;
};

struct SensitivityRow {
  std::string policy;
  std::uint32_t month = 0;
  std::string parameter;
  std::string index;  // "S1", "ST", "SRC", "PRCC"
  double estimate = 0, low = 0, high = 0;
};

struct SensitivityResult {
  std::string metric, method, outcome;  // outcome: what Y is, in words
  std::uint64_t points_used = 0;
  std::vector<SensitivityRow> rows;
  // Per (policy, month), in row order: noise share, and R^2 for regression.
  struct Fit {
    std::string policy;
    std::uint32_t month;
    double noise_share, r_squared;
  };
  std::vector<Fit> fits;
  // What makes the indices untrustworthy, said to the reader (text output) or on stderr (CSV).
  std::vector<std::string> warnings;
};

// Throws engine::UsageError naming what is available for a file without a
// sweep, an unknown metric, policy, month or method, or too few points.
SensitivityResult analyse_sensitivity(const std::filesystem::path& results, const SensitivityOptions& options);

// A warning when Sobol' estimates (rows in analyse_sensitivity's order: per
// policy and month, `parameters` S1 rows then as many ST rows) are impossible
// beyond their noise: an index outside [0, 1], or S1 above ST, by more than
// the intervals' half-widths, or with half-widths above 0.1. Both mean the
// base sample of `base_points` is too small; the warning suggests the power
// of two N at which the widest interval would be about +-0.05 (intervals
// narrow as 1/sqrt(N)). loyalsim.sensitivity warns with the same text
// (loyalsim.SampleSizeWarning).
std::optional<std::string> sobol_sample_warning(const SensitivityResult& result, std::size_t parameters,
                                                std::uint64_t base_points);

void print_sensitivity(const SensitivityResult& result, std::ostream& out);
void print_sensitivity_csv(const SensitivityResult& result, std::ostream& out);

}  // namespace loyalsim::app
