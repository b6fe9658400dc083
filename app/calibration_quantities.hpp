// The calibration quantities (CALIBRATION.md's closed list), computed from a
// point's runs: each run's metrics, fact cohorts, quintiles and the per-band,
// per-segment and first-failure counts the model adds for them.
//
// A target's simulated value is the MEAN OVER REPLICATIONS of the quantity of
// each replication (its runs of the target's policy), not the quantity of the
// pooled counts: the replications are independent, so the mean's Monte Carlo
// standard error is their sample sd / sqrt(R) when R >= 2. With R = 1 the
// s.e. comes from the run's own counts: binomial for a share, the delta method
// for ratios of shares and for message ratios (Poisson counts). The s.e. is
// stored and reported, never added to the kernel (docs/calibration.md).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "app/calibration_spec.hpp"
#include "engine/calibration.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::app {

// A quantity of one run, and its s.e. from the run's counts.
struct RunQuantity {
  double value = 0.0;
  double se = 0.0;
};
RunQuantity run_quantity(const CalibrationTarget& target, const srp1::Scenario& scenario, const srp1::RunResult& run);

// Spend at S = 1 over spend at S = 0 (a parameter-only quantity, MODEL.md
// spend: base_spend max(0.05, 1 + spend_slope (S - satisfaction_ref))).
double spend_ratio(const srp1::ModelParams& model);

// A point's runs: the run of (policy, replication).
using PointRuns = std::function<const srp1::RunResult&(std::uint32_t policy, std::uint32_t replication)>;

// Every target's value and s.e. at one point (R replications of every
// policy). ok = false when a quantity is undefined (a zero denominator: no
// recoveries, no failures of a band...), which rejects the proposal.
engine::calibration::Outcome evaluate_targets(const std::vector<CalibrationTarget>& targets,
                                              const srp1::Scenario& scenario, const PointRuns& runs,
                                              std::uint32_t replications);

}  // namespace loyalsim::app
