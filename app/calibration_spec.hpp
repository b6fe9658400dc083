// The [calibration] table of an experiment (CALIBRATION.md): which parameters
// are unknown (with their priors), which targets the model must reproduce
// (a quantity from the closed list, its filters and its declared error), and
// how to fit (abc-smc or optimize, with their budgets).
//
// Read and validated by app/calibration_reader.cpp (part of the loader);
// quantities are computed by app/calibration_quantities.cpp; the fit is run by
// app/calibrate.cpp with the generic engine (engine/calibration.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/calibration.hpp"
#include "models/srp1/parameter_table.hpp"

namespace loyalsim::app {

// The closed list of quantities (CALIBRATION.md "Quantities").
enum class Quantity {
  satisfied_share, complaint_rate, paradox_share, loyalty_index, monthly_churn, retention, problem_share,
  retention_top_vs_bottom, spend_ratio, wom_ratio, referral_share, churn_hazard_bottom_vs_top
};
inline constexpr const char* kQuantityNames[] = {
    "satisfied_share", "complaint_rate", "paradox_share", "loyalty_index", "monthly_churn", "retention",
    "problem_share", "retention_top_vs_bottom", "spend_ratio", "wom_ratio", "referral_share", "churn_hazard_bottom_vs_top"};
inline constexpr int kQuantityCount = 12;

// What a target selects; -1 (or 0 months) = not given.
struct TargetFilter {
  int policy = -1;      // index into the scenario's policies
  int band = -1;        // srp1::kBandNames
  int fact_class = -1;  // srp1::kFactClassNames
  int segment = -1;     // index into the scenario's segments
  std::uint32_t months = 0;
};

struct CalibrationTarget {
  engine::calibration::Target target;  // name, kind and declared error
  Quantity quantity = Quantity::satisfied_share;
  TargetFilter filter;
};

struct CalibrationParameter {
  std::string path;                    // as in [sweep]: "model.gain", "segments.regular.churn_hazard"
  engine::calibration::Prior prior;
  srp1::ParameterRef ref;              // where the value goes in a scenario
};

enum class CalibrationMethod { none, abc_smc, optimize };
inline constexpr const char* kCalibrationMethodNames[] = {"none", "abc-smc", "optimize"};

struct Calibration {
  CalibrationMethod method = CalibrationMethod::none;
  // abc-smc
  std::uint32_t particles = 1000;
  std::uint32_t draws = 200;
  std::uint32_t round_fill = 0;
  // both: the budget in particle runs (a run = every policy x replications)
  std::uint64_t max_simulations = 200'000;
  bool max_simulations_given = false;
  std::uint32_t replications = 1;
  bool replications_given = false;
  // optimize
  std::uint32_t seeds = 1;
  std::uint32_t start_points = 0;
  std::uint32_t fresh_repeats = 10;

  std::vector<CalibrationParameter> parameters;
  std::vector<CalibrationTarget> targets;

  [[nodiscard]] bool active() const { return method != CalibrationMethod::none; }
  // The generic engine's view: parameters with priors, targets with errors.
  [[nodiscard]] engine::calibration::Problem problem() const {
    engine::calibration::Problem p;
    for (const auto& par : parameters) p.parameters.push_back({par.path, par.prior});
    for (const auto& t : targets) p.targets.push_back(t.target);
    return p;
  }
};

// Default budget of optimize when max_simulations is not given (abc-smc's is 200 000).
inline constexpr std::uint64_t kOptimizeDefaultBudget = 5'000;

}  // namespace loyalsim::app
