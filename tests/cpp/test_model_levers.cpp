// Revision 1.1 of SRP-1: the levers and costs the source articles name
// (complaint encouragement, proactive detection, programme and acquisition
// costs, policy start, warm-up) and the initial-satisfaction quintiles, each
// against its formula. Statistical tests follow test_model_processes.cpp's
// rules (tolerance kZ = 4.5 sd from binomial/CLT bounds, fixed seeds, and a
// check that a plausible bug would land outside); exact identities are
// compared exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "engine/random.hpp"
#include "model_test_support.hpp"

namespace {

using namespace loyalsim;
using namespace loyalsim::testing;

// P(complaint | failure) for a month-1 failure, by the midpoint rule over the
// severity quantile (20,000 points, error ~1e-6), with `extra` added to the logit.
double complaint_probability(const Scenario& sc, double extra) {
  const auto& m = sc.model;
  double csum = 0;
  for (const double c : m.cause_share) csum += c;
  const int n = 20'000;
  double p = 0;
  for (int i = 0; i < n; ++i) {
    const double s = kumaraswamy_quantile((i + 0.5) / n, m.severity_a, m.severity_b);
    for (int c = 0; c < srp1::kCauses; ++c)
      p += m.cause_share[c] / csum *
           logistic(m.complaint_intercept + m.complaint_severity * s + (c != 3 ? m.complaint_blame : 0.0) +
                    sc.segments[0].complaint_bias + extra);
  }
  return p / n;
}

// A small market with churn, adoption and word of mouth, for the identities.
Scenario market(std::uint32_t months) {
  Scenario sc;
  sc.population.customers = 6'000;
  sc.population.prospects = 6'000;
  sc.horizon_months = months;
  sc.wom.advertising = 0.01;
  srp1::Policy a, b;
  a.name = "status_quo";
  b.name = "programme";
  b.response_days = 0.5;
  b.first_contact_resolution = 0.9;
  b.apology = b.empathy = 1.0;
  b.compensation = 1.0;
  b.root_cause_fix = 0.3;
  b.complaint_encouragement = 1.0;
  b.proactive_detection = 0.4;
  b.cost_per_customer_month = 2.5;
  sc.policies = {a, b};
  return sc;
}

}  // namespace

// complaints[1] ~ Binomial(F, P(e)): encouragement e is added to the complaint logit.
TEST(ModelLevers, ComplaintEncouragementRaisesTheComplaintLogit) {
  Scenario sc = quiet(300'000, 1);
  sc.segments[0].failure_rate = 0.5;
  sc.model.complaint_intercept = -2.0;
  sc.model.complaint_severity = 3.0;
  sc.policies[0].complaint_encouragement = 1.2;
  const RunResult r = run(sc);
  const double F = r.at(srp1::kFailures, 1);
  const double p = complaint_probability(sc, 1.2);
  const double sd = binomial_sd(F, p);
  expect_within(r.at(srp1::kComplaints, 1), F * p, sd, "complaints with encouragement");
  expect_detectable(F * complaint_probability(sc, 0.0), F * p, sd, "encouragement ignored");
  expect_detectable(F * complaint_probability(sc, -1.2), F * p, sd, "encouragement with the wrong sign");
}

// A failure nobody complained about is detected with probability p_d:
// proactive[1] ~ Binomial(F - C, p_d); complaints are untouched (the same
// draws decide them: equal, under common random numbers, to a run without
// detection); and every failure is a complaint, silent or proactive.
TEST(ModelLevers, ProactiveDetectionFindsFailuresNobodyComplainedAbout) {
  Scenario sc = quiet(300'000, 1);
  sc.segments[0].failure_rate = 0.5;
  sc.policies = {srp1::Policy{}, srp1::Policy{}};
  sc.policies[0].name = "none";
  sc.policies[1].name = "detects";
  sc.policies[1].proactive_detection = 0.3;
  const RunResult without = run(sc, 0), with = run(sc, 1);
  const double F = with.at(srp1::kFailures, 1), C = with.at(srp1::kComplaints, 1);
  const double P = with.at(srp1::kProactiveRecoveries, 1);
  EXPECT_EQ(C, without.at(srp1::kComplaints, 1));
  EXPECT_EQ(without.at(srp1::kProactiveRecoveries, 1), 0.0);
  EXPECT_EQ(F, C + with.at(srp1::kSilentFailures, 1) + P);
  const double sd = binomial_sd(F - C, 0.3);
  expect_within(P, (F - C) * 0.3, sd, "proactive recoveries");
  expect_detectable(F * 0.3, (F - C) * 0.3, sd, "detection applied to complaints too");
  // Recoveries are over complaints and proactive recoveries alike.
  EXPECT_EQ(with.at(srp1::kRecoveriesSatisfied, 1) + with.at(srp1::kRecoveriesDissatisfied, 1), C + P);
}

// With no delay, one contact and expectation_severity = 0, performance P is a
// constant and a recovery satisfies with Phi((P - E) / sd): E = base for a
// complaint, max(0, base - expectation_proactive) when the firm came first.
// With detection 1 every failure is recovered, so satisfied ~ C p1 + (F-C) p2
// (given C), a sum of binomials.
TEST(ModelLevers, ProactiveRecoveryLowersTheExpectationOfThoseApproached) {
  for (const auto& [base, shift] : {std::pair{0.5, 0.2}, std::pair{0.1, 0.3}}) {  // the second hits the floor at 0
    SCOPED_TRACE(base);
    Scenario sc = quiet(300'000, 1);
    sc.segments[0].failure_rate = 0.5;
    auto& m = sc.model;
    m.expectation_base = base;
    m.expectation_severity = 0.0;
    m.expectation_proactive = shift;
    m.disconfirmation_sd = 0.25;
    auto& pol = sc.policies[0];
    pol.response_days = 0.0;
    pol.first_contact_resolution = 1.0;
    pol.compensation = 0.5;
    pol.apology = 0.5;
    pol.proactive_detection = 1.0;
    const RunResult r = run(sc);
    const auto& jw = m.justice_weights;
    const auto& iw = m.interactional_weights;
    const double ij = iw.apology * 0.5 / (iw.apology + iw.empathy + iw.explanation + iw.follow_up + iw.gesture);
    const double perf = (jw.distributive * std::sqrt(0.5) + jw.interactional * ij + jw.procedural * 1.0) /
                        (jw.distributive + jw.interactional + jw.procedural);
    const double p1 = Phi((perf - base) / 0.25), p2 = Phi((perf - std::max(0.0, base - shift)) / 0.25);
    const double F = r.at(srp1::kFailures, 1), C = r.at(srp1::kComplaints, 1);
    ASSERT_EQ(r.at(srp1::kProactiveRecoveries, 1), F - C);
    const double expected = C * p1 + (F - C) * p2;
    const double sd = std::sqrt(C * p1 * (1 - p1) + (F - C) * p2 * (1 - p2));
    expect_within(r.at(srp1::kRecoveriesSatisfied, 1), expected, sd, "satisfied recoveries");
    expect_detectable(F * p2, expected, sd, "the proactive expectation shift applied to complaints");
    expect_detectable(F * p1, expected, sd, "the proactive expectation shift ignored");
    if (base < shift)
      expect_detectable(C * p1 + (F - C) * Phi((perf - (base - shift)) / 0.25), expected, sd, "no floor at 0");
  }
}

// programme_cost[t] = cost_per_customer_month x customers active at the START
// of month t, i.e. at the end of month t-1 (adopters join from the next month).
// acquisition_cost[t] = acquisition_cost x organic adopters. net value
// subtracts both. Exact identities, on a market where actives change every month.
TEST(ModelLevers, ProgrammeAndAcquisitionCostsAndNetValue) {
  Scenario sc = market(12);
  sc.model.acquisition_cost = 30.0;
  const RunResult base = run(sc, 0), r = run(sc, 1);
  bool active_changes = false, both_kinds_adopt = false;
  for (std::uint32_t t = 1; t <= 12; ++t) {
    SCOPED_TRACE(t);
    EXPECT_EQ(r.at(srp1::kProgrammeCost, t), 2.5 * r.at(srp1::kActive, t - 1));
    EXPECT_EQ(base.at(srp1::kProgrammeCost, t), 0.0);
    active_changes |= r.at(srp1::kActive, t) != r.at(srp1::kActive, t - 1);
    const double organic = r.at(srp1::kAcquired, t) - r.at(srp1::kAcquiredReferred, t);
    both_kinds_adopt |= organic > 0 && r.at(srp1::kAcquiredReferred, t) > 0;
    EXPECT_EQ(r.at(srp1::kAcquisitionCost, t), 30.0 * organic);
    const double discount = std::pow(1.0 + sc.model.discount_rate_annual, -static_cast<double>(t) / 12.0);
    EXPECT_DOUBLE_EQ(r.at(srp1::kNetValue, t),
                     (r.at(srp1::kMargin, t) - r.at(srp1::kRecoveryCost, t) - r.at(srp1::kProgrammeCost, t) -
                      r.at(srp1::kAcquisitionCost, t)) *
                         discount);
  }
  // Otherwise counting on end-of-month actives, or charging referrals, would pass unnoticed.
  EXPECT_TRUE(active_changes);
  EXPECT_TRUE(both_kinds_adopt);
}

// A policy starting in month m is the baseline before m: every metric equal
// bit for bit in months 0 .. m-1 (common random numbers), different after.
TEST(ModelLevers, APolicyStartingLaterFollowsTheBaselineUntilItsStartMonth) {
  Scenario sc = market(14);
  srp1::Policy late = sc.policies[1];
  late.name = "late";
  late.start_month = 7;
  srp1::Policy late_baseline = sc.policies[0];
  late_baseline.name = "late_baseline";
  late_baseline.start_month = 7;
  sc.policies.push_back(late);
  sc.policies.push_back(late_baseline);
  const RunResult base = run(sc, 0), now = run(sc, 1), switching = run(sc, 2), same = run(sc, 3);
  for (int m = 0; m < srp1::kMetricCount; ++m) {
    const auto metric = static_cast<srp1::Metric>(m);
    for (std::uint32_t t = 0; t < 7; ++t)
      ASSERT_EQ(switching.at(metric, t), base.at(metric, t)) << srp1::kMetricInfo[m].name << " month " << t;
    for (std::uint32_t t = 0; t <= 14; ++t) ASSERT_EQ(same.at(metric, t), base.at(metric, t));
  }
  for (std::uint32_t t = 7; t <= 14; ++t) {
    SCOPED_TRACE(t);
    EXPECT_NE(switching.at(srp1::kRecoveryCost, t), base.at(srp1::kRecoveryCost, t));
    EXPECT_EQ(switching.at(srp1::kProgrammeCost, t), 2.5 * switching.at(srp1::kActive, t - 1));
    EXPECT_NE(switching.at(srp1::kActive, t), now.at(srp1::kActive, t));  // a different history
  }
  EXPECT_NE(switching.at(srp1::kRecoveryCost, 1), now.at(srp1::kRecoveryCost, 1));
}

// Warm-up: the market settles under the baseline before month 1. Without
// acquisition, the drift of the monthly churn rate and of mean satisfaction
// over the horizon (OLS slope per replication; mean and standard error over
// replications) is less than half a cold start's, beyond 3 standard errors
// of the difference. Month 0 is the same for every policy, with N customers.
TEST(ModelLevers, AWarmUpRemovesMostOfTheDriftOfAColdStart) {
  constexpr int kReps = 6;
  constexpr std::uint32_t T = 24;
  Scenario sc = quiet(30'000, T);
  sc.policies[0].response_days = 10.0;
  sc.policies[0].first_contact_resolution = 0.14;
  sc.policies[0].compensation = 0.1;
  struct Slopes {
    double churn_mean, churn_se, satisfaction_mean, satisfaction_se;
  };
  auto slopes = [&](std::uint32_t warmup) {
    Scenario x = sc;
    x.warmup_months = warmup;
    std::vector<double> churn, satisfaction;
    auto ols_slope = [](const std::vector<double>& y, double t0) {
      const double n = static_cast<double>(y.size()), tm = t0 + (n - 1) / 2;
      double ym = std::accumulate(y.begin(), y.end(), 0.0) / n, sxy = 0, sxx = 0;
      for (std::size_t i = 0; i < y.size(); ++i) sxy += (t0 + i - tm) * (y[i] - ym), sxx += (t0 + i - tm) * (t0 + i - tm);
      return sxy / sxx;
    };
    for (std::uint32_t rep = 0; rep < kReps; ++rep) {
      const RunResult r = run(x, 0, kSeed, rep);
      EXPECT_EQ(r.at(srp1::kActive, 0), 30'000);
      std::vector<double> rate, mean;
      for (std::uint32_t t = 1; t <= T; ++t) rate.push_back(r.at(srp1::kChurned, t) / r.at(srp1::kActive, t - 1));
      for (std::uint32_t t = 0; t <= T; ++t) mean.push_back(r.at(srp1::kMeanSatisfaction, t));
      churn.push_back(ols_slope(rate, 1));
      satisfaction.push_back(ols_slope(mean, 0));
    }
    auto mean_se = [](const std::vector<double>& v) {
      const double n = static_cast<double>(v.size()), m = std::accumulate(v.begin(), v.end(), 0.0) / n;
      double ss = 0;
      for (double x : v) ss += (x - m) * (x - m);
      return std::pair{m, std::sqrt(ss / (n - 1) / n)};
    };
    const auto [cm, cs] = mean_se(churn);
    const auto [sm, ss] = mean_se(satisfaction);
    return Slopes{cm, cs, sm, ss};
  };
  const Slopes cold = slopes(0), warm = slopes(60);
  auto less_than_half = [](double w, double w_se, double c, double c_se, const char* what) {
    const double margin = 0.5 * std::fabs(c) - std::fabs(w);
    EXPECT_GT(margin, 3.0 * std::hypot(0.5 * c_se, w_se))
        << what << ": warm slope " << w << " ± " << w_se << ", cold " << c << " ± " << c_se;
  };
  less_than_half(warm.churn_mean, warm.churn_se, cold.churn_mean, cold.churn_se, "monthly churn");
  less_than_half(warm.satisfaction_mean, warm.satisfaction_se, cold.satisfaction_mean, cold.satisfaction_se,
                 "mean satisfaction");
  // The cold start does drift (else the comparison says nothing).
  EXPECT_GT(cold.churn_mean, 6.0 * cold.churn_se);
}

TEST(ModelLevers, EveryPolicySharesTheWarmMarketAtMonthZero) {
  Scenario sc = market(13);
  sc.warmup_months = 24;
  sc.policies[0].root_cause_fix = 0.5;  // the warm-up's fixes lower Q; month 1 starts again from Q = 1
  const RunResult a = run(sc, 0), b = run(sc, 1);
  EXPECT_EQ(a.at(srp1::kQuality, 1), 1.0);
  EXPECT_EQ(b.at(srp1::kQuality, 1), 1.0);
  for (int m = 0; m < srp1::kMetricCount; ++m)
    EXPECT_EQ(a.at(static_cast<srp1::Metric>(m), 0), b.at(static_cast<srp1::Metric>(m), 0)) << srp1::kMetricInfo[m].name;
  EXPECT_EQ(a.quintile_count, b.quintile_count);
  EXPECT_EQ(a.at(srp1::kActive, 0), 6'000);
  // The warm market is not the cold one: satisfaction has moved.
  sc.warmup_months = 0;
  EXPECT_NE(run(sc, 0).at(srp1::kMeanSatisfaction, 0), a.at(srp1::kMeanSatisfaction, 0));
}

// Quintiles of initial satisfaction. With no failures and relaxation 0 every
// customer's satisfaction S_n stays at its initial draw, so its 12-month
// survival is prod_j exp(-h(S_n, tenure_n + j)), computed here from the
// model's own initial draws (segment, tenure, satisfaction streams of month 0).
// quintile_retained[q] ~ a sum of Bernoullis over the customers whose S_n is
// in the q-th fifth: mean sum p, variance sum p(1-p).
TEST(ModelLevers, QuintilesOfInitialSatisfactionAndTheirRetention) {
  constexpr std::uint32_t N = 100'000;
  Scenario sc = quiet(N, 12);
  sc.segments[0].failure_rate = 0.0;
  sc.segments[0].satisfaction_sd = 0.15;
  sc.model.relaxation = 0.0;
  sc.model.churn_satisfaction = 6.0;
  sc.segments[0].churn_hazard = 0.03;
  const RunResult r = run(sc);
  const auto& m = sc.model;
  const auto& seg = sc.segments[0];
  const engine::RandomStream tenure(kSeed, 0, 0, srp1::kTenureDraw), sat(kSeed, 0, 0, srp1::kInitialSatisfactionDraw);
  std::vector<std::pair<float, std::uint32_t>> order(N);
  std::vector<double> survival(N);
  for (std::uint32_t n = 0; n < N; ++n) {
    const double S = std::min(0.99, std::max(0.01, seg.satisfaction_mean + seg.satisfaction_sd *
                                                        engine::inverse_normal_cdf(sat.uniform(n))));
    const auto t0 = static_cast<std::uint32_t>(tenure.uniform(n) * sc.population.initial_tenure_max);
    double h = 0;
    for (std::uint32_t j = 0; j < 12; ++j)
      h += seg.churn_hazard * std::exp(m.churn_satisfaction * (m.satisfaction_ref - static_cast<float>(S))) *
           std::pow(1.0 + t0 + j, -m.churn_tenure);
    survival[n] = std::exp(-h);
    order[n] = {static_cast<float>(S), n};
  }
  std::sort(order.begin(), order.end());
  std::array<double, 5> mean{}, var{}, by_id{};
  for (std::uint32_t rank = 0; rank < N; ++rank) {
    const double p = survival[order[rank].second];
    mean[rank * 5 / N] += p, var[rank * 5 / N] += p * (1 - p);
    by_id[order[rank].second * 5 / N] += p;  // the prediction if quintiles were by node id
  }
  for (int q = 0; q < 5; ++q) {
    SCOPED_TRACE(q);
    EXPECT_EQ(r.quintile_count[q], N / 5);
    const double sd = std::sqrt(var[q]);
    expect_within(static_cast<double>(r.quintile_retained[q]), mean[q], sd, "quintile retention");
    if (q == 0 || q == 4) expect_detectable(by_id[q], mean[q], sd, "quintiles by node id, not satisfaction");
  }
  EXPECT_GT(r.quintile_retained[4], r.quintile_retained[0]);
}

// The counts behind calibration targets add up to the metrics they refine:
// by band, the failures and complaints; by segment, the churners and the
// customers active at the start of each month; and, without prospects, the
// initial customers' first failures to the fact cohorts.
TEST(ModelLevers, TargetCountsAddUpToTheMetrics) {
  Scenario sc = market(14);
  sc.segments = {srp1::Segment{}, srp1::Segment{}};
  sc.segments[1].name = "heavy";
  sc.segments[1].share = 0.3;
  sc.segments[1].failure_rate = 0.2;
  const RunResult r = run(sc, 1);
  double failures = 0, complaints = 0;
  for (std::uint32_t t = 1; t <= 14; ++t) {
    failures += r.at(srp1::kFailures, t);
    complaints += r.at(srp1::kComplaints, t);
    double churned = 0, start = 0;
    for (std::size_t s = 0; s < 2; ++s) {
      churned += r.segment_churned[s * 15 + t];
      start += r.segment_active_start[s * 15 + t];
    }
    EXPECT_EQ(churned, r.at(srp1::kChurned, t)) << t;
    EXPECT_EQ(start, r.at(srp1::kActive, t - 1)) << t;
  }
  EXPECT_EQ(r.band_failures[0] + r.band_failures[1], failures);
  EXPECT_EQ(r.band_complaints[0] + r.band_complaints[1], complaints);
  EXPECT_GT(r.band_complaints[1], 0);
  EXPECT_GT(r.segment_churned[1 * 15 + 3], 0);

  Scenario closed = quiet(20'000, 14);
  const RunResult c = run(closed);
  std::int64_t first = 0, cohorts = 0;
  for (std::uint32_t t = 1; t <= 2; ++t) first += c.first_failures[t];  // months 1..T-12, the cohorts' window
  for (int cell = srp1::kSilent * srp1::kBands; cell < srp1::kFactCells; ++cell) cohorts += c.fact_count[cell];
  EXPECT_EQ(first, cohorts);
  EXPECT_GT(first, 0);
  EXPECT_EQ(c.first_failures[0], 0);
}

// Every recovery pays the policy's gesture (gesture x gesture_cost) on top of
// handling and compensation: with neither, recovery_cost is exactly 10 per
// recovery (complaints and proactive ones), month by month.
TEST(ModelLevers, RecoveryCostCountsTheGesture) {
  Scenario sc = market(6);
  srp1::Policy& p = sc.policies[1];
  p.compensation = 0.0;
  p.cost_per_contact = 0.0;
  p.gesture = 1.0;
  p.gesture_cost = 10.0;
  const RunResult r = run(sc, 1);
  double recoveries = 0;
  for (std::uint32_t t = 1; t <= 6; ++t) {
    const double n = r.at(srp1::kComplaints, t) + r.at(srp1::kProactiveRecoveries, t);
    EXPECT_EQ(r.at(srp1::kRecoveryCost, t), 10.0 * n) << t;
    recoveries += n;
  }
  EXPECT_GT(recoveries, 100);
}

// A customer who churns in the warm-up is replaced by a new one with no
// history (MODEL.md 1.1): f = b = 0. Here every customer fails every month,
// complains (logit +6) unless a recovery ever dissatisfied them (then
// 6 - 26 = -20: never), every recovery dissatisfies (expectation 1, no noise), and everyone
// churns (hazard 50; failure rate 50, so P(failure) = 1 - e^-50 = 1): after
// one warm-up month every node holds a fresh
// customer, so month 1's complaints are Binomial(N, logistic(6) = 0.9975). A
// replacement that inherited b >= 1 would complain with probability 2e-6.
TEST(ModelLevers, AWarmUpReplacementStartsWithoutHistory) {
  Scenario sc = quiet(5'000, 1);
  sc.warmup_months = 1;
  sc.segments[0].failure_rate = 50.0;
  sc.segments[0].churn_hazard = 50.0;
  sc.model.complaint_intercept = 6.0;
  sc.model.complaint_severity = 0.0;
  sc.model.complaint_blame = 0.0;
  sc.model.complaint_after_bad = -26.0;
  sc.model.expectation_base = 1.0;
  sc.model.expectation_severity = 0.0;
  sc.model.disconfirmation_sd = 0.0;
  const RunResult r = run(sc);
  const double failures = r.at(srp1::kFailures, 1), p = logistic(6.0);
  ASSERT_EQ(failures, 5'000);
  EXPECT_NEAR(r.at(srp1::kComplaints, 1), failures * p, kZ * binomial_sd(failures, p) + 1.0);
}

// An adopting prospect starts from its own initial-satisfaction draw, like an
// initial customer, not from the segment mean. With no failures, no relaxation
// and no tenure effect, the churn hazard exp(8 (0.7 - S)) is strongly convex
// in S, so the adopters' (won in month 1) churn share in their first month,
// month 2, equals the initial customers' in theirs, month 1 (the same
// distribution of S, before churn selects the survivors) within binomial noise;
// adopters all at the mean (S = 0.5) would churn at 1 - exp(-0.01 e^1.6) =
// 4.8% against about 14% with the draws' spread (sd 0.25).
TEST(ModelLevers, AdoptersStartFromTheirOwnSatisfactionDraw) {
  Scenario sc = market(2);
  sc.population.customers = 20'000;
  sc.population.prospects = 20'000;
  sc.wom.advertising = 0.5;
  sc.segments[0].failure_rate = 0.0;
  sc.segments[0].churn_hazard = 0.01;
  sc.segments[0].satisfaction_mean = 0.5;
  sc.segments[0].satisfaction_sd = 0.25;
  sc.model.churn_satisfaction = 8.0;
  sc.model.relaxation = 0.0;
  sc.model.churn_tenure = 0.0;
  const RunResult r = run(sc);
  const double adopters = r.at(srp1::kAcquired, 1), initial = 20'000;
  const double initial_churned = initial - r.at(srp1::kCohortActive, 1);
  const double adopters_churned = r.at(srp1::kChurned, 2) - (r.at(srp1::kCohortActive, 1) - r.at(srp1::kCohortActive, 2));
  const double p_initial = initial_churned / initial, p_adopters = adopters_churned / adopters;
  ASSERT_GT(adopters, 5'000);
  EXPECT_GT(p_initial, 0.10);  // the spread's convexity: far above the 4.8% at the mean
  const double sd = std::sqrt(p_initial * (1 - p_initial) * (1 / initial + 1 / adopters));
  EXPECT_NEAR(p_adopters, p_initial, kZ * sd);
}
