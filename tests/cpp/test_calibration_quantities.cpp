// The calibration quantities on hand-made runs (every number checked by
// hand), the [calibration] table as the loader reads it, and the outcome cache
// and MPI payload round trips. Bad inputs are in tests/bad-input/calibration-*.
#include <gtest/gtest.h>

#include <cmath>

#include "app/calibrate.hpp"
#include "app/calibration_quantities.hpp"
#include "app/experiment.hpp"

using namespace loyalsim;
using app::Quantity;

namespace {

// T = 2 months; every flow given for months 0..2 (month 0 unused).
srp1::RunResult hand_made_run() {
  srp1::RunResult r;
  r.months = 2;
  r.series.assign(srp1::kMetricCount * 3, 0.0);
  auto set = [&](srp1::Metric m, std::array<double, 3> v) {
    for (int t = 0; t < 3; ++t) r.series[m * 3 + t] = v[t];
  };
  set(srp1::kRecoveriesSatisfied, {0, 3, 1});
  set(srp1::kRecoveriesDissatisfied, {0, 1, 3});
  set(srp1::kParadoxEvents, {0, 1, 1});
  set(srp1::kComplaints, {0, 2, 2});
  set(srp1::kFailures, {0, 10, 10});
  set(srp1::kChurned, {0, 5, 10});
  set(srp1::kActive, {100, 90, 80});
  set(srp1::kCohortActive, {100, 85, 70});
  set(srp1::kWomPositive, {0, 30, 10});
  set(srp1::kWomNegative, {0, 10, 10});
  set(srp1::kAcquired, {0, 4, 6});
  set(srp1::kAcquiredReferred, {0, 1, 2});
  r.fact_count[srp1::kReference * srp1::kBands + 0] = 50, r.fact_retained[srp1::kReference * srp1::kBands + 0] = 40;
  r.fact_count[srp1::kReference * srp1::kBands + 1] = 50, r.fact_retained[srp1::kReference * srp1::kBands + 1] = 40;
  r.fact_count[srp1::kUnresolved * srp1::kBands + 0] = 10, r.fact_retained[srp1::kUnresolved * srp1::kBands + 0] = 6;
  r.fact_count[srp1::kUnresolved * srp1::kBands + 1] = 10, r.fact_retained[srp1::kUnresolved * srp1::kBands + 1] = 4;
  r.quintile_count = {20, 20, 20, 20, 20};
  r.quintile_retained = {10, 12, 14, 16, 18};
  r.band_failures = {12, 8};
  r.band_complaints = {2, 2};
  r.segment_churned = {0, 5, 10, /* segment 1: */ 0, 1, 3};  // [segment * (T+1) + month]
  r.segment_active_start = {0, 100, 90, 0, 10, 0};          // segment 1 empty in month 2: left out
  r.first_failures = {0, 20, 10};
  return r;
}

app::CalibrationTarget target(Quantity q, app::TargetFilter f = {}) {
  app::CalibrationTarget t;
  t.quantity = q;
  t.filter = f;
  return t;
}

srp1::Scenario scenario_of(std::uint64_t customers) {
  srp1::Scenario sc;
  sc.population.customers = customers;
  return sc;
}

}  // namespace

TEST(CalibrationQuantities, EachQuantityOfAHandMadeRunWithItsCountBasedStandardError) {
  const srp1::RunResult run = hand_made_run();
  const srp1::Scenario sc = scenario_of(100);
  const auto q = [&](Quantity quantity, app::TargetFilter f = {}) { return app::run_quantity(target(quantity, f), sc, run); };

  auto v = q(Quantity::satisfied_share);
  EXPECT_DOUBLE_EQ(v.value, 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(v.se, std::sqrt(0.25 / 8.0));
  EXPECT_DOUBLE_EQ(q(Quantity::paradox_share).value, 2.0 / 8.0);
  v = q(Quantity::complaint_rate);
  EXPECT_DOUBLE_EQ(v.value, 0.2);
  EXPECT_DOUBLE_EQ(v.se, std::sqrt(0.2 * 0.8 / 20.0));
  v = q(Quantity::monthly_churn);  // churned over active at the START of each month
  EXPECT_DOUBLE_EQ(v.value, (5.0 / 100.0 + 10.0 / 90.0) / 2.0);
  EXPECT_DOUBLE_EQ(v.se, std::sqrt(0.05 * 0.95 / 100.0 + (1.0 / 9.0) * (8.0 / 9.0) / 90.0) / 2.0);
  app::TargetFilter band;
  band.band = 0;
  v = q(Quantity::complaint_rate, band);
  EXPECT_DOUBLE_EQ(v.value, 2.0 / 12.0);
  band.band = 1;
  EXPECT_DOUBLE_EQ(q(Quantity::complaint_rate, band).value, 2.0 / 8.0);
  app::TargetFilter segment;
  segment.segment = 0;
  EXPECT_DOUBLE_EQ(q(Quantity::monthly_churn, segment).value, (5.0 / 100.0 + 10.0 / 90.0) / 2.0);
  segment.segment = 1;
  v = q(Quantity::monthly_churn, segment);
  EXPECT_DOUBLE_EQ(v.value, 1.0 / 10.0);
  EXPECT_DOUBLE_EQ(v.se, std::sqrt(0.1 * 0.9 / 10.0));
  app::TargetFilter months;
  months.months = 1;
  EXPECT_DOUBLE_EQ(q(Quantity::retention, months).value, 0.85);
  months.months = 2;
  EXPECT_DOUBLE_EQ(q(Quantity::retention, months).value, 0.70);
  EXPECT_DOUBLE_EQ(q(Quantity::referral_share).value, 3.0 / 10.0);
  EXPECT_DOUBLE_EQ(q(Quantity::problem_share, months).value, 0.30);
  months.months = 1;
  EXPECT_DOUBLE_EQ(q(Quantity::problem_share, months).value, 0.20);
  v = q(Quantity::wom_ratio);
  EXPECT_DOUBLE_EQ(v.value, 2.0);
  EXPECT_DOUBLE_EQ(v.se, 2.0 * std::sqrt(1.0 / 40.0 + 1.0 / 20.0));
  // Loyalty index of the unresolved class: both bands pooled (10/20 of 0.8), or one band.
  app::TargetFilter unresolved;
  unresolved.fact_class = srp1::kUnresolved;
  v = q(Quantity::loyalty_index, unresolved);
  EXPECT_DOUBLE_EQ(v.value, 0.5 / 0.8);
  EXPECT_NEAR(v.se, 0.625 * std::sqrt((0.25 / 20) / 0.25 + (0.16 / 50) / 0.64), 1e-15);
  unresolved.band = 1;
  EXPECT_DOUBLE_EQ(q(Quantity::loyalty_index, unresolved).value, 0.4 / 0.8);
  EXPECT_DOUBLE_EQ(q(Quantity::retention_top_vs_bottom).value, 0.9 / 0.5);
  // Hazards: log 0.5 / log 0.9, each share binomial (n = 20), by the delta method.
  v = q(Quantity::churn_hazard_bottom_vs_top);
  EXPECT_DOUBLE_EQ(v.value, std::log(0.5) / std::log(0.9));
  const double se1 = std::sqrt(0.25 / 20), se5 = std::sqrt(0.09 / 20);
  EXPECT_NEAR(v.se, std::hypot(se1 / (0.5 * std::log(0.9)), std::log(0.5) * se5 / (0.9 * std::pow(std::log(0.9), 2))),
              1e-12);
  // spend at S = 1 over S = 0: (1 + 0.7 * 0.3) / (1 - 0.7 * 0.7), and the 0.05 floor.
  EXPECT_DOUBLE_EQ(q(Quantity::spend_ratio).value, 1.21 / (1.0 - 0.49));
  srp1::ModelParams steep;
  steep.spend_slope = 3.0;
  EXPECT_DOUBLE_EQ(app::spend_ratio(steep), (1.0 + 0.9) / 0.05);
}

TEST(CalibrationQuantities, AnUndefinedQuantityFailsTheOutcome) {
  srp1::RunResult run = hand_made_run();
  for (int t = 0; t < 3; ++t) run.series[srp1::kRecoveriesSatisfied * 3 + t] = run.series[srp1::kRecoveriesDissatisfied * 3 + t] = 0;
  const auto o = app::evaluate_targets({target(Quantity::satisfied_share)}, scenario_of(100),
                                       [&](std::uint32_t, std::uint32_t) -> const srp1::RunResult& { return run; }, 1);
  EXPECT_FALSE(o.ok);
}

TEST(CalibrationQuantities, TheValueIsTheMeanOverReplicationsAndTheSeTheirSpread) {
  srp1::RunResult a = hand_made_run(), b = hand_made_run();
  b.series[srp1::kComplaints * 3 + 1] = 6;  // complaint rate 8/20 = 0.4 in b, 0.2 in a
  app::TargetFilter policy;
  policy.policy = 1;
  const srp1::RunResult other;  // policy 0: never read by a target of policy 1
  const auto o = app::evaluate_targets({target(Quantity::complaint_rate, policy)}, scenario_of(100),
                                       [&](std::uint32_t pol, std::uint32_t r) -> const srp1::RunResult& {
                                         return pol == 0 ? other : (r == 0 ? a : b);
                                       },
                                       2);
  ASSERT_TRUE(o.ok);
  EXPECT_DOUBLE_EQ(o.value[0], 0.3);
  EXPECT_DOUBLE_EQ(o.se[0], std::sqrt(0.02 / 2.0));  // sample sd of {0.2, 0.4} over sqrt(2)
}

TEST(CalibrationTable, TheLoaderReadsParametersInFileOrderTargetsWithTheirFiltersAndTheDefaults) {
  const char* text = R"(name = "c"
seed = 4
horizon_months = 24
[[segments]]
name = "loyal"
[[segments]]
name = "fickle"
[[policies]]
name = "status_quo"
[[policies]]
name = "money_only"
compensation = 1.0
[calibration]
particles = 300
[calibration.parameters]
"segments.fickle.churn_hazard" = { prior = "loguniform", bounds = [0.01, 0.1] }
"model.complaint_intercept" = { prior = "normal", mean = -3.0, sd = 0.5 }
[[calibration.targets]]
name = "churn"
quantity = "monthly_churn"
policy = "money_only"
segment = "fickle"
range = [0.02, 0.03]
soft = 0.002
[[calibration.targets]]
name = "unresolved"
quantity = "loyalty_index"
policy = "status_quo"
fact_class = "unresolved"
band = "major"
at_most = 0.9
soft = 0.02
[[calibration.targets]]
name = "kept"
quantity = "retention"
policy = "status_quo"
value = 0.8
sd = 0.05
)";
  const app::Experiment e = app::parse_experiment(text, "c.toml");
  const app::Calibration& c = e.calibration;
  EXPECT_EQ(c.method, app::CalibrationMethod::abc_smc);
  EXPECT_EQ(c.particles, 300u);
  EXPECT_EQ(c.replications, 1u);
  EXPECT_FALSE(c.replications_given);
  EXPECT_EQ(c.max_simulations, 200'000u);
  ASSERT_EQ(c.parameters.size(), 2u);
  EXPECT_EQ(c.parameters[0].path, "segments.fickle.churn_hazard");  // file order, not sorted
  EXPECT_EQ(c.parameters[0].prior.kind, engine::calibration::PriorKind::loguniform);
  EXPECT_EQ(c.parameters[1].prior.kind, engine::calibration::PriorKind::normal);
  EXPECT_EQ(c.parameters[1].prior.b, 0.5);
  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.targets[0].filter.segment, 1);
  EXPECT_EQ(c.targets[0].filter.policy, 1);
  EXPECT_EQ(c.targets[0].target.kind, engine::calibration::TargetKind::range);
  EXPECT_EQ(c.targets[1].filter.fact_class, srp1::kUnresolved);
  EXPECT_EQ(c.targets[1].filter.band, 1);
  EXPECT_EQ(c.targets[1].target.high, 0.9);
  EXPECT_EQ(c.targets[2].filter.months, 24u) << "months defaults to the horizon";
  // A calibrated parameter lands where its path says.
  srp1::Scenario sc = e.scenario;
  c.parameters[0].ref.set(sc, 0.042);
  EXPECT_EQ(sc.segments[1].churn_hazard, 0.042);
  EXPECT_NE(sc.segments[0].churn_hazard, 0.042);
}

TEST(CalibrationTable, OptimizeHasItsOwnDefaultBudgetAndRefusesOneTooSmall) {
  const std::string base = R"(name = "c"
seed = 4
[[policies]]
name = "status_quo"
[calibration.parameters]
"model.gain" = { prior = "uniform", bounds = [0.2, 1.0] }
[[calibration.targets]]
name = "t"
quantity = "satisfied_share"
policy = "status_quo"
value = 0.3
sd = 0.05
)";
  EXPECT_EQ(app::parse_experiment(base + "[calibration]\nmethod = \"optimize\"\n", "c.toml").calibration.max_simulations,
            app::kOptimizeDefaultBudget);
  try {
    app::parse_experiment(base + "[calibration]\nmethod = \"optimize\"\nmax_simulations = 30\nseeds = 2\n", "c.toml");
    FAIL() << "a budget below (10 + 10) x 2 was accepted";
  } catch (const engine::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("c.toml:15: calibration.max_simulations: 30 simulations do not cover"),
              std::string::npos)
        << e.what();
  }
}

TEST(CalibrationBatch, OutcomesAndMpiPayloadsRoundTrip) {
  engine::calibration::Outcome o;
  o.ok = true;
  o.value = {0.25, -1.5};
  o.se = {0.01, std::nan("")};
  const auto back = app::decode_outcome(app::encode_outcome(o), 2);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->ok);
  EXPECT_EQ(back->value, o.value);
  EXPECT_TRUE(std::isnan(back->se[1]));
  EXPECT_FALSE(app::decode_outcome(app::encode_outcome(o), 3)) << "a cached outcome of another target list";

  const app::Experiment e = app::parse_experiment(R"(name = "c"
seed = 4
horizon_months = 3
[population]
customers = 200
prospects = 0
[[policies]]
name = "status_quo"
[calibration.parameters]
"model.gain" = { prior = "uniform", bounds = [0.2, 1.0] }
[[calibration.targets]]
name = "t"
quantity = "satisfied_share"
policy = "status_quo"
value = 0.3
sd = 0.05
[calibration]
)", "c.toml");
  std::vector<engine::calibration::Proposal> batch(2);
  batch[0].theta = {0.3}, batch[0].sim_seed = 77;
  batch[1].theta = {0.9}, batch[1].sim_seed = 78;
  const app::Experiment be = app::batch_experiment(e, batch, 2);
  EXPECT_EQ(be.seed_at(1), 78u);
  EXPECT_EQ(be.scenario_at(1).model.gain, 0.9);
  // Unit 3 = point 1, replication 1: a worker rebuilding it from the payload computes the same runs.
  const auto direct = app::run_unit(be, 3, 1);
  const auto remote = app::run_batch_unit(e, 3, app::batch_unit_payload(be, 3), 1, {});
  ASSERT_EQ(direct.size(), remote.size());
  EXPECT_EQ(direct[0].series, remote[0].series);
  EXPECT_NE(app::run_unit(be, 2, 1)[0].series, direct[0].series) << "replications differ";
}
