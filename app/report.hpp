// The policy comparison at the horizon, as users read it in a terminal.
//
// Computed from a results file (not from memory), so `loyalsim run` and
// `loyalsim info` print the same table from the same numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "engine/statistics.hpp"

namespace loyalsim::app {

// One row of the comparison: a quantity per replication for each policy.
struct HorizonMeasure {
  std::string name;                          // srp1::kMeasureInfo's
  std::string label;
  std::string kind;                          // "count", "share", "money", "messages"
  std::vector<std::vector<double>> values;   // [policy][replication], at the firm's scale
};

// One measure per run: [point][policy][replication], flattened.
struct Runs {
  std::size_t points = 0, policies = 0, reps = 0;
  std::vector<double> v;
  [[nodiscard]] double& at(std::size_t pt, std::size_t p, std::size_t r) { return v[(pt * policies + p) * reps + r]; }
  [[nodiscard]] double at(std::size_t pt, std::size_t p, std::size_t r) const { return v[(pt * policies + p) * reps + r]; }
};

// The horizon table's measure `measure` (a name of srp1::kMeasureInfo) at
// the horizon, per run at every point of the file, computed as horizon_table
// computes it.
Runs horizon_runs(const std::filesystem::path& results, const std::string& measure);

struct HorizonTable {
  std::string experiment;
  std::vector<std::string> policies;  // the first is the baseline
  std::uint32_t month = 0;
  std::uint32_t replications = 0;
  std::vector<HorizonMeasure> measures;
  std::string point_values;  // "model.gain = 0.6, ..." for a point of a sweep
  // population.represents over the simulated customers: counts, money and
  // messages are multiplied by it (shares are not); 1 without `represents`.
  double customers = 0, represents = 0, factor = 1.0;
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

// Numbers of one column on the scale format_row chooses: a unit from the
// largest |value|, decimals from the smallest positive half-width (INFINITY
// for none: then three significant digits of the largest value).
std::vector<std::string> format_numbers(const std::vector<double>& values, const std::string& kind,
                                        double smallest_half_width, bool sign);

// Columns on screen of UTF-8 text: "±" and "Δ" are two bytes but one column.
std::size_t display_width(const std::string& text);

// Under a calibration's posterior: a sweep of design "posterior", whose
// points are posterior draws of the calibrated parameters, compared policy by
// policy with the baseline across draws and replications. Every number is
// defined in docs/results-format.md ("Policy comparisons under a posterior");
// loyalsim.posterior_decision (Python) computes the same. Raw values (the
// file's scale); `factor` takes money, counts and messages to the firm's.
struct PolicyUnderPosterior {
  std::string policy;
  double contrast_mean = 0, contrast_low = 0, contrast_high = 0;  // mean of the draw means; their 2.5% and 97.5% quantiles
  double p_beats = 0, p_beats_se = 0;  // share of (draw, replication) runs better than the baseline; clustered s.e.
  double p_best = 0, regret = 0;       // share of draws with the best draw mean; mean shortfall from the best
  double contrast_variance = 0;        // variance over draws of the draw means of the contrast
  double parameter_variance = 0;       // its parameters' part (what better data narrows)
  double monte_carlo_variance = 0;     // one draw mean's Monte Carlo variance (what more replications narrow)
};

struct PosteriorDecision {
  std::string measure, label, kind, better;
  std::uint32_t month = 0;
  std::size_t draws = 0, replications = 0;
  double customers = 0, represents = 0;  // simulated initial customers; real ones they stand for
  double factor = 1.0;                  // represents / customers (1 for a share)
  std::vector<PolicyUnderPosterior> policies;  // the first is the baseline
};

// Draws with which each end of the 95% credible interval rests on more than
// the two most extreme draws on its side ((D - 1) 0.025 >= 1).
inline constexpr std::size_t kFewDraws = 41;

// `measure` is a name of srp1::kMeasureInfo. Throws a RuntimeFailure for a
// file that is not a posterior sweep of at least two draws.
PosteriorDecision posterior_decision(const std::filesystem::path& results, const std::string& measure = "net_value");

// The table of a posterior decision, at the firm's scale, with what its
// columns mean.
void print_posterior_decision(const PosteriorDecision& d, std::ostream& out);

// "1 replication", "4 replications": a count and its noun, singular for one.
inline std::string count_of(std::uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// The provenance of a results file: experiment, seed, engine, when, how.
void print_provenance(const std::filesystem::path& results, std::ostream& out);

}  // namespace loyalsim::app
