// Statistical tests of each SRP-1 process (docs/model.md) against its own formula,
// end to end through srp1::simulate on the first months' metrics.
//
// Rules followed by every test here:
//  - the expected value is computed in the test, independently of the model
//    code (closed forms, or numerical integration written out below);
//  - every tolerance is derived from the maths: a count is Binomial(n, p) given
//    the counts it is conditioned on, so |X - n p| <= z sqrt(n p (1-p)); a mean
//    of n iid terms with known variance V has CLT sd sqrt(V / n). z = 4.5
//    (two-sided false-alarm probability ~7e-6 per comparison) with fixed seeds,
//    so the tests are deterministic and a real failure is a real discrepancy;
//  - each test also checks its *sensitivity*: the prediction under a plausible
//    bug (a parameter ignored, a sign flipped, an off-by-one) lies well outside
//    the tolerance, so the test would catch that bug;
//  - numerical-integration error (midpoint rules, quoted where used) is orders
//    of magnitude below the statistical tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "engine/simd.hpp"
#include "model_test_support.hpp"

namespace {

using namespace loyalsim;
using namespace loyalsim::testing;

// ------------------------------------------------ recovery integrals (§2) --

// Probabilities over one month-1 complaint (f = 0, no previous cause, S = X = 0
// irrelevant): P(recovery satisfies) and P(paradox event). Integrates over the
// severity s (Kumaraswamy, tilted by the complaint probability), the cause c
// (tilted likewise), the delay d ~ Exp(mean response_days), the contacts
// n_c ~ min(Geometric(fcr), 20) and the disconfirmation noise (closed form Phi).
// Midpoint rules with `grid` points in u-space for s and d; their error is
// O(grid^-(1+1/a)) ~ 1e-4 at grid = 400, far below the tolerances (~5e-3).
struct RecoveryOdds {
  double satisfied = 0, paradox = 0;
};
RecoveryOdds recovery_odds(const Scenario& sc, std::size_t policy, bool with_paradox = false, int grid = 400) {
  const auto& m = sc.model;
  const auto& seg = sc.segments.at(0);
  const auto& pol = sc.policies.at(policy);
  const auto& iw = m.interactional_weights;
  const double ij = (iw.apology * pol.apology + iw.empathy * pol.empathy + iw.explanation * pol.explanation +
                     iw.follow_up * pol.follow_up + iw.gesture * pol.gesture) /
                    (iw.apology + iw.empathy + iw.explanation + iw.follow_up + iw.gesture);
  const double r = pol.compensation;
  const double dj = r <= 1.0 ? std::sqrt(r) : r <= 1.5 ? 1.0 : std::max(0.0, 1.0 - m.over_compensation_penalty * (r - 1.5));
  const auto& jw = m.justice_weights;
  const double jsum = jw.distributive + jw.interactional + jw.procedural;

  // Contacts distribution.
  std::vector<double> pmf_n(21, 0.0);
  if (pol.first_contact_resolution >= 1.0) {
    pmf_n[1] = 1.0;
  } else {
    const double p = pol.first_contact_resolution;
    for (int k = 1; k < 20; ++k) pmf_n[k] = std::pow(1.0 - p, k - 1) * p;
    pmf_n[20] = std::pow(1.0 - p, 19);
  }
  // Delay points.
  std::vector<double> delays;
  if (pol.response_days > 0) {
    for (int j = 0; j < grid; ++j) delays.push_back(-pol.response_days * std::log(1.0 - (j + 0.5) / grid));
  } else {
    delays.push_back(0.0);
  }
  // Performance values with weights.
  std::vector<double> perf, perf_w;
  for (double d : delays)
    for (int k = 1; k <= 20; ++k) {
      if (pmf_n[k] == 0.0) continue;
      const double pj = std::exp(-d / m.speed_scale_days) * std::pow(k, -m.contact_elasticity);
      perf.push_back((jw.distributive * dj + jw.interactional * ij + jw.procedural * pj) / jsum);
      perf_w.push_back(pmf_n[k] / static_cast<double>(delays.size()));
    }

  double csum = 0;
  for (double c : m.cause_share) csum += c;
  const double g = seg.recovery_responsiveness;  // repeat_damping^0, never a repeat in month 1
  double total = 0, sat = 0, par = 0;
  for (int i = 0; i < grid; ++i) {
    const double s = kumaraswamy_quantile((i + 0.5) / grid, m.severity_a, m.severity_b);
    const double expect = std::min(1.0, m.expectation_base + m.expectation_severity * s);
    std::array<double, srp1::kCauses> w{};
    double w_s = 0;
    for (int c = 0; c < srp1::kCauses; ++c) {
      const bool blame = c != 3;
      w[c] = m.cause_share[c] / csum *
             logistic(m.complaint_intercept + m.complaint_severity * s + (blame ? m.complaint_blame : 0.0) +
                      seg.complaint_bias);
      w_s += w[c];
    }
    double a_sat = 0;
    for (std::size_t q = 0; q < perf.size(); ++q) a_sat += perf_w[q] * Phi((perf[q] - expect) / m.disconfirmation_sd);
    total += w_s;
    sat += w_s * a_sat;
    if (!with_paradox) continue;
    for (int c = 0; c < srp1::kCauses; ++c) {
      if (w[c] == 0.0) continue;
      // Paradox: satisfied (D >= 0) and gain D g > L, i.e. D > L / (gain g) (> 0).
      const double threshold = m.loss_weight * s * m.cause_loss[c] / (m.gain * g);
      double a_par = 0;
      for (std::size_t q = 0; q < perf.size(); ++q)
        a_par += perf_w[q] * Phi((perf[q] - expect - threshold) / m.disconfirmation_sd);
      par += w[c] * a_par;
    }
  }
  return {sat / total, par / total};
}

// Churn probability of a month-1 customer with satisfaction S (after
// relaxation), spike 0, averaged over the initial tenure, uniform on the
// whole months [0, tenure_max): p(t) = 1 - exp(-h0 e^{cs (ref - S)} (1+t)^-ct).
double churn_hazard(const Scenario& sc, double S, double tenure) {
  const auto& m = sc.model;
  return sc.segments[0].churn_hazard * std::exp(m.churn_satisfaction * (m.satisfaction_ref - S)) *
         std::pow(1.0 + tenure, -m.churn_tenure);
}
double mean_churn_probability(const Scenario& sc, double S) {
  const auto tmax = sc.population.initial_tenure_max;
  double p = 0;
  for (std::uint32_t t = 0; t < tmax; ++t) p += -std::expm1(-churn_hazard(sc, S, t));
  return p / tmax;
}

// ============================================================== 1. Failure --

// failures[1] ~ Binomial(N, p̄), p̄ = Σ_seg share·(1 - exp(-λ_seg)) (Q_1 = 1;
// segments are iid per node, so the per-node failure probability is the mix).
TEST(ModelProcesses, FailureProbabilityIsOneMinusExpLambdaQ) {
  Scenario sc = quiet(200'000, 1);
  sc.segments = {srp1::Segment{}, srp1::Segment{}};
  sc.segments[0].share = 1.0;  // shares 1 : 3 -> 0.25 / 0.75 after normalising
  sc.segments[0].failure_rate = 0.1;
  sc.segments[1].share = 3.0;
  sc.segments[1].failure_rate = 0.5;
  const RunResult r = run(sc);
  const double N = 200'000;
  const double p = 0.25 * -std::expm1(-0.1) + 0.75 * -std::expm1(-0.5);
  const double sd = binomial_sd(N, p);
  expect_within(r.at(srp1::kFailures, 1), N * p, sd, "failures[1]");
  expect_detectable(N * (0.25 * 0.1 + 0.75 * 0.5), N * p, sd, "p = lambda instead of 1 - exp(-lambda)");
  expect_detectable(N * (0.5 * -std::expm1(-0.1) + 0.5 * -std::expm1(-0.5)), N * p, sd, "shares not used");
  // Every failure is a complaint or silent.
  EXPECT_EQ(r.at(srp1::kFailures, 1), r.at(srp1::kComplaints, 1) + r.at(srp1::kSilentFailures, 1));
}

// ===================================================== 2. Severity moments --

// With complaint_severity = complaint_blame = 0 the complaint decision is
// independent of s, so the complainants' severities are iid Kumaraswamy(a, b).
// compensation per complaint = r·s·loss_value_months·base_spend, so
// comp/(C·K) is a mean of C iid s: CLT sd = sqrt(Var s / C),
// E s = b B(1+1/a, b), Var s = b B(1+2/a, b) - (E s)^2.
TEST(ModelProcesses, SeverityIsKumaraswamy) {
  for (const auto& [a, b] : {std::pair{1.2, 3.0}, std::pair{2.5, 1.5}}) {
    Scenario sc = quiet(200'000, 1);
    sc.segments[0].failure_rate = 1.0;
    sc.model.severity_a = a;
    sc.model.severity_b = b;
    sc.model.complaint_intercept = 0.0;
    sc.model.complaint_severity = 0.0;
    sc.model.complaint_blame = 0.0;
    sc.policies[0].compensation = 1.0;
    sc.model.loss_value_months = 2.0;
    sc.segments[0].base_spend = 50.0;
    const RunResult r = run(sc);
    const double C = r.at(srp1::kComplaints, 1);
    ASSERT_GT(C, 30'000);
    const double K = 1.0 * 2.0 * 50.0;
    const double mean_s = r.at(srp1::kCompensationPaid, 1) / (C * K);
    const double m1 = kumaraswamy_moment(1, a, b), m2 = kumaraswamy_moment(2, a, b);
    const double sd = std::sqrt((m2 - m1 * m1) / C);
    expect_within(mean_s, m1, sd, "mean severity of complainants");
    expect_detectable(kumaraswamy_moment(1, b, a), m1, sd, "a and b swapped");
    // recovery_cost = compensation + handling (+ gesture 0).
    EXPECT_NEAR(r.at(srp1::kRecoveryCost, 1),
                r.at(srp1::kCompensationPaid, 1) + r.at(srp1::kHandlingCost, 1),
                1e-9 * r.at(srp1::kRecoveryCost, 1));
  }
}

// Band: major iff s >= threshold, P = (1 - thr^a)^b. With T = 13 the fact
// cohorts hold exactly the month-1 first failures (ff <= T - 12 = 1), i.e. all
// month-1 failures; major count ~ Binomial(F, P). Also the class bookkeeping of
// the cohorts must match the month-1 flows exactly.
TEST(ModelProcesses, SeverityBandAndFactBookkeeping) {
  Scenario sc = quiet(100'000, 13);
  sc.segments[0].failure_rate = 0.6;
  sc.model.major_threshold = 0.4;
  const RunResult r = run(sc);
  auto cell = [&](int cls, int band) { return static_cast<double>(r.fact_count[cls * srp1::kBands + band]); };
  double minor = 0, major = 0;
  for (int cls = srp1::kSilent; cls < srp1::kFactClasses; ++cls) {
    minor += cell(cls, 0);
    major += cell(cls, 1);
  }
  const double F = r.at(srp1::kFailures, 1);
  EXPECT_EQ(minor + major, F);
  EXPECT_EQ(cell(srp1::kSilent, 0) + cell(srp1::kSilent, 1), r.at(srp1::kSilentFailures, 1));
  EXPECT_EQ(cell(srp1::kUnresolved, 0) + cell(srp1::kUnresolved, 1), r.at(srp1::kRecoveriesDissatisfied, 1));
  EXPECT_EQ(cell(srp1::kResolved, 0) + cell(srp1::kResolved, 1) + cell(srp1::kResolvedQuick, 0) +
                cell(srp1::kResolvedQuick, 1),
            r.at(srp1::kRecoveriesSatisfied, 1));
  const auto& m = sc.model;
  const double p = std::pow(1.0 - std::pow(m.major_threshold, m.severity_a), m.severity_b);
  const double sd = binomial_sd(F, p);
  expect_within(major, F * p, sd, "major first failures");
  expect_detectable(F * std::pow(1.0 - std::pow(m.major_threshold, m.severity_b), m.severity_a), F * p, sd,
                    "a and b swapped in the band share");
  // Retained counts never exceed counts.
  for (int i = 0; i < srp1::kFactCells; ++i) EXPECT_LE(r.fact_retained[i], r.fact_count[i]);
}

// ====================================================== 3. Complaint logit --

// complaints[1] ~ Binomial(F, P), P = Σ_c share_c ∫ σ(α + β s + γ[blame_c] +
// bias) k(s) ds, integrated by the midpoint rule over u with s = F^-1(u)
// (20 000 points: error ~1e-6).
TEST(ModelProcesses, ComplaintLogit) {
  Scenario sc = quiet(300'000, 1);
  sc.segments[0].failure_rate = 0.5;
  sc.segments[0].complaint_bias = 0.4;
  sc.model.complaint_intercept = -2.0;
  sc.model.complaint_severity = 3.0;
  sc.model.complaint_blame = 0.8;
  sc.model.cause_share = {0.3, 0.2, 0.1, 0.4};
  const RunResult r = run(sc);
  const auto& m = sc.model;
  auto prob = [&](double beta, double gamma, double bias) {
    const int n = 20'000;
    double p = 0;
    for (int i = 0; i < n; ++i) {
      const double s = kumaraswamy_quantile((i + 0.5) / n, m.severity_a, m.severity_b);
      for (int c = 0; c < 4; ++c)
        p += m.cause_share[c] * logistic(m.complaint_intercept + beta * s + (c != 3 ? gamma : 0.0) + bias);
    }
    return p / n;  // cause shares sum to 1 here
  };
  const double F = r.at(srp1::kFailures, 1);
  const double p = prob(m.complaint_severity, m.complaint_blame, 0.4);
  const double sd = binomial_sd(F, p);
  expect_within(r.at(srp1::kComplaints, 1), F * p, sd, "complaints[1]");
  expect_detectable(F * prob(0.0, m.complaint_blame, 0.4), F * p, sd, "severity effect ignored");
  expect_detectable(F * prob(m.complaint_severity, -m.complaint_blame, 0.4), F * p, sd, "blame term mis-signed");
  expect_detectable(F * prob(m.complaint_severity, m.complaint_blame, 0.0), F * p, sd, "segment bias ignored");
}

// ================================================ 4. Contacts, capped at 20 --

// handling_cost/complaints = cost·mean of C iid n_c = min(G, 20), G ~ Geom(p)
// on {1, 2, ...}: E = Σ_{k<20} (1-p)^k = (1 - (1-p)^20)/p; Var from the pmf.
// CLT sd = cost·sqrt(Var / C). With p = 0.1 the cap lowers the mean from 10 to
// 8.78, far outside the tolerance (~0.1).
TEST(ModelProcesses, ContactsAreGeometricCappedAt20) {
  Scenario sc = quiet(200'000, 1);
  sc.segments[0].failure_rate = 1.0;
  sc.model.complaint_intercept = 0.0;
  sc.policies = {srp1::Policy{}, srp1::Policy{}};
  sc.policies[0].first_contact_resolution = 0.1;
  sc.policies[0].cost_per_contact = 8.0;
  sc.policies[1].first_contact_resolution = 1.0;
  sc.policies[1].cost_per_contact = 3.0;
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  const RunResult r = srp1::simulate(sc, 0, kSeed, 0, net, kThreads);
  const double p = 0.1, C = r.at(srp1::kComplaints, 1);
  double mean = 0, second = 0;
  for (int k = 1; k <= 20; ++k) {
    const double pk = k < 20 ? std::pow(1 - p, k - 1) * p : std::pow(1 - p, 19);
    mean += k * pk;
    second += double(k) * k * pk;
  }
  EXPECT_NEAR(mean, (1 - std::pow(1 - p, 20)) / p, 1e-12);
  const double sd = std::sqrt((second - mean * mean) / C);
  const double observed = r.at(srp1::kHandlingCost, 1) / (8.0 * C);
  expect_within(observed, mean, sd, "mean contacts (fcr 0.1)");
  expect_detectable(1.0 / p, mean, sd, "no cap at 20");
  expect_detectable(mean - 1.0, mean, sd, "geometric on {0, 1, ...}");
  // fcr = 1: exactly one contact per complaint.
  const RunResult r1 = srp1::simulate(sc, 1, kSeed, 0, net, kThreads);
  EXPECT_DOUBLE_EQ(r1.at(srp1::kHandlingCost, 1), 3.0 * r1.at(srp1::kComplaints, 1));
}

// ===================================== 5. Justice and disconfirmation --

// recoveries_satisfied[1] ~ Binomial(C, q), q = E[Φ((P(d, n_c) - E(s))/σ_D)]
// over the complainants' (s, c) and d, n_c (see recovery_odds). f = 0 in
// month 1, so expectation_repeat does not enter. Four policies share the
// seed; each is checked against its own integral, and the integrals of the
// policies differ by far more than the tolerance (so a policy field ignored
// would be caught).
TEST(ModelProcesses, JusticeAndDisconfirmation) {
  Scenario sc = quiet(400'000, 1);
  sc.segments[0].failure_rate = 1.0;
  sc.model.complaint_intercept = -1.5;  // more complainants: C ~ 1.4e5
  srp1::Policy money, warm, slow, over;
  money.name = "money";
  money.compensation = 1.0;
  warm.name = "money_apology_empathy";
  warm.compensation = 1.0;
  warm.apology = 1.0;
  warm.empathy = 1.0;
  warm.response_days = 2.0;
  warm.first_contact_resolution = 0.8;
  slow.name = "slow_low_fcr";
  slow.compensation = 0.5;
  slow.explanation = 1.0;
  slow.response_days = 21.0;
  slow.first_contact_resolution = 0.3;
  over.name = "over_compensation";
  over.compensation = 3.0;  // DJ = 1 - 0.5 (3 - 1.5) = 0.25
  over.follow_up = 1.0;
  over.gesture = 1.0;
  over.response_days = 0.0;
  over.first_contact_resolution = 1.0;
  sc.policies = {money, warm, slow, over};
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  std::vector<double> q(sc.policies.size());
  for (std::size_t i = 0; i < sc.policies.size(); ++i) {
    const RunResult r = srp1::simulate(sc, i, kSeed, 0, net, kThreads);
    const double C = r.at(srp1::kComplaints, 1);
    q[i] = recovery_odds(sc, i).satisfied;
    ASSERT_GE(C, 100'000);
    const double sd = binomial_sd(C, q[i]);
    SCOPED_TRACE(sc.policies[i].name);
    expect_within(r.at(srp1::kRecoveriesSatisfied, 1), C * q[i], sd, "recoveries_satisfied[1]");
    EXPECT_EQ(r.at(srp1::kRecoveriesSatisfied, 1) + r.at(srp1::kRecoveriesDissatisfied, 1), C);
    // Sensitivity: expectation without its severity term, and the policy's
    // interactional justice ignored.
    Scenario alt = sc;
    alt.model.expectation_severity = 0.0;
    expect_detectable(C * recovery_odds(alt, i).satisfied, C * q[i], sd, "expectation_severity ignored");
  }
  // The policies are distinguishable at this sample size: tol bounds
  // kZ sqrt(q(1-q)/C) for any q (C >= 1e5, asserted above).
  const double tol = kZ * 0.5 / std::sqrt(100'000.0);
  for (std::size_t i = 0; i < q.size(); ++i)
    for (std::size_t j = i + 1; j < q.size(); ++j) EXPECT_GT(std::fabs(q[i] - q[j]), 2 * tol);
  // Interactional justice matters: the warm policy without apology/empathy.
  Scenario alt = sc;
  alt.policies[1].apology = alt.policies[1].empathy = 0.0;
  EXPECT_GT(std::fabs(recovery_odds(alt, 1).satisfied - q[1]), 2 * tol);
  // Over-compensation penalty matters: r = 3 with no penalty would give DJ = 1.
  alt = sc;
  alt.model.over_compensation_penalty = 0.0;
  EXPECT_GT(std::fabs(recovery_odds(alt, 3).satisfied - q[3]), 2 * tol);
}

// ====================================================== 6. Paradox scopes --

// S = 0.5 for everyone (sd 0), so clipping at 0/1 cannot change whether S'
// exceeds S, and X = 0 in month 1: a paradox event is exactly
// D >= 0 and gain·D·g > L, g = recovery_responsiveness (f = 0, no repeat),
// L = loss_weight·s·cause_loss[c]. paradox_events[1] ~ Binomial(C, q_par).
TEST(ModelProcesses, ParadoxScopes) {
  Scenario sc = quiet(400'000, 1);
  sc.segments[0].failure_rate = 1.0;
  sc.segments[0].satisfaction_mean = 0.5;
  sc.segments[0].satisfaction_sd = 0.0;
  sc.segments[0].recovery_responsiveness = 0.5;
  sc.model.gain = 1.6;
  sc.model.cause_loss = {2.0, 1.0, 0.5, 0.25};  // far from its reverse (see below)
  sc.policies[0].compensation = 1.0;
  sc.policies[0].apology = 1.0;
  sc.policies[0].empathy = 1.0;
  sc.policies[0].response_days = 1.0;
  sc.policies[0].first_contact_resolution = 0.9;
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  auto with_scope = [&](srp1::ParadoxScope scope) {
    Scenario s = sc;
    s.model.paradox_scope = scope;
    return srp1::simulate(s, 0, kSeed, 0, net, kThreads);
  };
  const RunResult sat_only = with_scope(srp1::ParadoxScope::satisfaction_only);
  const RunResult behav = with_scope(srp1::ParadoxScope::behavioural);
  const RunResult none = with_scope(srp1::ParadoxScope::none);

  // none: reported satisfaction can never rise through a recovery.
  for (std::uint32_t t = 0; t <= none.months; ++t) EXPECT_EQ(none.at(srp1::kParadoxEvents, t), 0.0);

  // Month 1: the event is the same under both other scopes (X = 0 before).
  EXPECT_EQ(behav.at(srp1::kParadoxEvents, 1), sat_only.at(srp1::kParadoxEvents, 1));
  EXPECT_EQ(behav.at(srp1::kComplaints, 1), sat_only.at(srp1::kComplaints, 1));

  // Common random numbers: behavioural S >= satisfaction_only S node by node,
  // so with the same churn uniform its churners are a subset; with tens of
  // thousands of paradox events the subset is strict.
  EXPECT_LE(behav.at(srp1::kChurned, 1), sat_only.at(srp1::kChurned, 1));
  EXPECT_LT(behav.at(srp1::kChurned, 1), sat_only.at(srp1::kChurned, 1));
  // ... and satisfaction_only churns exactly like none in month 1 (S = min(S, S') in both).
  EXPECT_EQ(none.at(srp1::kChurned, 1), sat_only.at(srp1::kChurned, 1));
  // Reported satisfaction: the surplus shows up under satisfaction_only, not under none.
  EXPECT_GT(sat_only.at(srp1::kMeanSatisfaction, 1), none.at(srp1::kMeanSatisfaction, 1));

  const double C = sat_only.at(srp1::kComplaints, 1);
  const double q = recovery_odds(sc, 0, true).paradox;
  const double sd = binomial_sd(C, q);
  expect_within(sat_only.at(srp1::kParadoxEvents, 1), C * q, sd, "paradox_events[1]");
  Scenario alt = sc;
  alt.segments[0].recovery_responsiveness = 1.0;
  expect_detectable(C * recovery_odds(alt, 0, true).paradox, C * q, sd, "recovery_responsiveness ignored");
  alt = sc;
  alt.model.gain = 1.0;
  expect_detectable(C * recovery_odds(alt, 0, true).paradox, C * q, sd, "gain ignored");
  alt = sc;
  alt.model.cause_loss = {0.25, 0.5, 1.0, 2.0};
  expect_detectable(C * recovery_odds(alt, 0, true).paradox, C * q, sd, "cause_loss indexed in reverse");
  EXPECT_GT(q, 0.05);
}

// ========================================================= 7. Churn hazard --

// Failures off, sd 0: S = mean for all (relaxation keeps it there; 0.5 and
// 0.75 are exact floats). churned[1] ~ Binomial(N, p̄), p̄ the mean over the
// uniform initial tenure of 1 - exp(-h0 e^{cs (ref - S)} (1+t)^-ct).
// Spend: every stayer spends base·max(0.05, 1 + slope (S - ref)), so
// revenue[1] = (N - churned[1])·spend up to summation rounding (1e-12).
TEST(ModelProcesses, ChurnHazardAndSpend) {
  for (const double S : {0.5, 0.75, 0.25}) {
    SCOPED_TRACE(S);
    Scenario sc = quiet(200'000, 1);
    sc.segments[0].failure_rate = 0.0;
    sc.segments[0].satisfaction_mean = S;
    sc.segments[0].satisfaction_sd = 0.0;
    sc.segments[0].churn_hazard = 0.05;
    sc.segments[0].base_spend = 40.0;
    sc.model.satisfaction_ref = 0.7;
    sc.model.churn_satisfaction = 4.0;
    sc.model.churn_tenure = 0.3;
    sc.model.spend_slope = 2.5;  // S = 0.25: 1 + 2.5 (-0.45) < 0.05, the floor binds
    sc.model.margin = 0.3;
    const RunResult r = run(sc);
    const double N = 200'000;
    const double p = mean_churn_probability(sc, S);
    const double sd = binomial_sd(N, p);
    expect_within(r.at(srp1::kChurned, 1), N * p, sd, "churned[1]");
    Scenario alt = sc;
    alt.model.churn_tenure = 0.0;
    expect_detectable(N * mean_churn_probability(alt, S), N * p, sd, "tenure effect ignored");
    alt = sc;
    alt.model.churn_satisfaction = -4.0;
    expect_detectable(N * mean_churn_probability(alt, S), N * p, sd, "satisfaction effect mis-signed");

    const double spend = 40.0 * std::max(0.05, 1.0 + 2.5 * (S - 0.7));
    const double stayers = N - r.at(srp1::kChurned, 1);
    EXPECT_NEAR(r.at(srp1::kRevenue, 1), stayers * spend, 1e-12 * stayers * spend);
    EXPECT_NEAR(r.at(srp1::kMargin, 1), 0.3 * r.at(srp1::kRevenue, 1), 1e-12 * r.at(srp1::kRevenue, 1));
    EXPECT_EQ(r.at(srp1::kActive, 1), stayers);
    EXPECT_NEAR(r.at(srp1::kMeanSatisfaction, 1), S, 1e-12);
    EXPECT_EQ(r.at(srp1::kFailures, 1), 0.0);
  }
}

// ============================================== 8. Closed-form cohort decay --

// No failures, WOM or acquisition, one segment, sd 0: each initial customer
// survives independently; tenure τ ~ U{0..59} and advances by one each month
// after the churn step, so P(active after t) = π̄_t = mean_τ Π_{s=1..t}(1 - p(τ+s-1)).
// Summed over R replications, cohort_active[t] ~ Binomial(N R, π̄_t).
TEST(ModelProcesses, ClosedFormCohortSurvival) {
  Scenario sc = quiet(100'000, 12);
  sc.segments[0].failure_rate = 0.0;
  sc.segments[0].satisfaction_mean = 0.625;
  sc.segments[0].satisfaction_sd = 0.0;
  sc.segments[0].churn_hazard = 0.04;
  sc.model.churn_tenure = 0.4;
  sc.wom.ambient_positive = sc.wom.ambient_negative = 0.0;
  const int R = 4;
  std::vector<double> pooled(13, 0.0);
  for (int rep = 0; rep < R; ++rep) {
    const RunResult r = run(sc, 0, kSeed, rep);
    for (std::uint32_t t = 0; t <= 12; ++t) {
      pooled[t] += r.at(srp1::kCohortActive, t);
      EXPECT_EQ(r.at(srp1::kCohortActive, t), r.at(srp1::kActive, t));
    }
  }
  auto survival = [&](double tenure_shift) {
    std::vector<double> pi(13, 0.0);
    for (std::uint32_t tau = 0; tau < 60; ++tau) {
      double surv = 1.0;
      pi[0] += 1.0 / 60;
      for (std::uint32_t t = 1; t <= 12; ++t) {
        surv *= std::exp(-churn_hazard(sc, 0.625, tau + tenure_shift * (t - 1)));
        pi[t] += surv / 60;
      }
    }
    return pi;
  };
  const auto pi = survival(1.0), frozen = survival(0.0);
  const double n = 100'000.0 * R;
  for (std::uint32_t t = 1; t <= 12; ++t) {
    SCOPED_TRACE(t);
    const double sd = binomial_sd(n, pi[t]);
    expect_within(pooled[t], n * pi[t], sd, "cohort_active[t]");
    if (t == 12) expect_detectable(n * frozen[t], n * pi[t], sd, "tenure never advancing");
  }
}

// ===================================================== 9. Adoption and WOM --

// Tie effects 0, deterrence 0: every prospect adopts with probability
// `advertising`; acquired[1] ~ Binomial(M, adv), none referred.
TEST(ModelProcesses, AdvertisingOnlyAdoption) {
  Scenario sc = quiet(100'000, 1);
  sc.population.prospects = 200'000;
  sc.wom.strong_ties = 2;
  sc.wom.weak_ties = 0;
  sc.wom.advertising = 0.05;
  sc.wom.strong_tie_effect = 0.0;
  sc.wom.weak_tie_effect = 0.0;
  sc.wom.deterrence = 0.0;
  const RunResult r = run(sc);
  const double M = 200'000, sd = binomial_sd(M, 0.05);
  expect_within(r.at(srp1::kAcquired, 1), M * 0.05, sd, "acquired[1]");
  EXPECT_EQ(r.at(srp1::kAcquiredReferred, 1), 0.0);
  EXPECT_EQ(r.at(srp1::kActive, 1), 100'000 - r.at(srp1::kChurned, 1) + r.at(srp1::kAcquired, 1));
  EXPECT_EQ(r.at(srp1::kCohortActive, 1), 100'000 - r.at(srp1::kChurned, 1));
}

// Exact expectation given the network: failures and churn off, everyone at
// S = 0.75 emits exactly pos = ambient_positive·w·(S-0.5)/0.5 (S = 0.25:
// neg = ambient_negative·w·(0.5-S)/0.5). A prospect j's exposure is read off
// the built graph (x⁺_strong = Σ_{strong i < N} pos/deg(i), etc.), giving its
// adoption probability p_j; acquired ~ Σ Bernoulli(p_j) with variance
// Σ p_j(1-p_j), referred likewise with q_j = p_j - δ_j·adv.
struct AdoptionExpectation {
  double acquired = 0, acquired_var = 0, referred = 0, referred_var = 0;
};
AdoptionExpectation expected_adoption(const Scenario& sc, const engine::TieGraph& g, double pos, double neg,
                                      double strong_effect, double weak_effect, double deterrence) {
  const auto N = static_cast<std::uint32_t>(sc.population.customers);
  const auto& w = sc.wom;
  AdoptionExpectation e;
  for (std::uint32_t j = N; j < g.nodes(); ++j) {
    double xs = 0, xw = 0, xn = 0;
    for (std::uint32_t i : g.strong(j))
      if (i < N) {
        xs += pos / std::max(1u, g.degree(i));
        xn += neg / std::max(1u, g.degree(i));
      }
    for (std::uint32_t i : g.weak(j))
      if (i < N) {
        xw += pos / std::max(1u, g.degree(i));
        xn += neg / std::max(1u, g.degree(i));
      }
    const double delta = std::pow(1.0 - deterrence, w.negative_weight * xn);
    const double p_wom = 1.0 - std::pow(1.0 - strong_effect, xs) * std::pow(1.0 - weak_effect, xw);
    const double p = delta * (1.0 - (1.0 - w.advertising) * (1.0 - p_wom));
    const double q = p - delta * w.advertising;
    e.acquired += p;
    e.acquired_var += p * (1 - p);
    e.referred += q;
    e.referred_var += q * (1 - q);
  }
  return e;
}

Scenario wom_scenario(double S) {
  Scenario sc = quiet(100'000, 1);
  sc.population.prospects = 200'000;
  sc.wom.strong_ties = 4;
  sc.wom.weak_ties = 4;
  sc.wom.rewire = 0.1;
  sc.segments[0].failure_rate = 0.0;
  sc.segments[0].churn_hazard = 0.0;
  sc.segments[0].satisfaction_mean = S;
  sc.segments[0].satisfaction_sd = 0.0;
  sc.segments[0].wom_rate = 2.0;
  sc.wom.ambient_positive = 10.0;
  sc.wom.ambient_negative = 10.0;
  return sc;
}

TEST(ModelProcesses, WordOfMouthReferral) {
  Scenario sc = wom_scenario(0.75);
  sc.wom.advertising = 0.01;
  sc.wom.strong_tie_effect = 0.1;
  sc.wom.weak_tie_effect = 0.03;
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  const RunResult r = srp1::simulate(sc, 0, kSeed, 0, net, kThreads);
  const double pos = 10.0 * 2.0 * 0.5;  // ambient_positive · w · (0.75 - 0.5)/0.5
  EXPECT_NEAR(r.at(srp1::kWomPositive, 1), 100'000 * pos, 1e-9 * 100'000 * pos);
  EXPECT_EQ(r.at(srp1::kWomNegative, 1), 0.0);
  const auto e = expected_adoption(sc, net, pos, 0.0, 0.1, 0.03, sc.wom.deterrence);
  expect_within(r.at(srp1::kAcquired, 1), e.acquired, std::sqrt(e.acquired_var), "acquired[1]");
  expect_within(r.at(srp1::kAcquiredReferred, 1), e.referred, std::sqrt(e.referred_var), "acquired_referred[1]");
  // Sensitivity: weak ties treated as strong; exposure not split over the sender's degree.
  const auto swapped = expected_adoption(sc, net, pos, 0.0, 0.1, 0.1, 0.0);
  expect_detectable(swapped.referred, e.referred, std::sqrt(e.referred_var), "weak ties as strong");
  const auto unsplit = expected_adoption(sc, net, pos * 8.0, 0.0, 0.1, 0.03, 0.0);
  expect_detectable(unsplit.referred, e.referred, std::sqrt(e.referred_var), "exposure not divided by degree");

  // Advertising 0, strong ties only: every adopter is referred.
  sc.wom.advertising = 0.0;
  sc.wom.weak_tie_effect = 0.0;
  const RunResult r0 = srp1::simulate(sc, 0, kSeed, 0, net, kThreads);
  EXPECT_GT(r0.at(srp1::kAcquired, 1), 0.0);
  EXPECT_EQ(r0.at(srp1::kAcquiredReferred, 1), r0.at(srp1::kAcquired, 1));
}

TEST(ModelProcesses, WordOfMouthDeterrence) {
  Scenario sc = wom_scenario(0.25);
  sc.wom.advertising = 0.1;
  sc.wom.strong_tie_effect = 0.1;  // no positive messages, so no referrals
  sc.wom.weak_tie_effect = 0.03;
  sc.wom.deterrence = 0.05;
  sc.wom.negative_weight = 2.0;
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  const RunResult r = srp1::simulate(sc, 0, kSeed, 0, net, kThreads);
  const double neg = 10.0 * 2.0 * 0.5;  // ambient_negative · w · (0.5 - 0.25)/0.5
  EXPECT_NEAR(r.at(srp1::kWomNegative, 1), 100'000 * neg, 1e-9 * 100'000 * neg);
  const auto e = expected_adoption(sc, net, 0.0, neg, 0.1, 0.03, 0.05);
  const double sd = std::sqrt(e.acquired_var);
  expect_within(r.at(srp1::kAcquired, 1), e.acquired, sd, "acquired[1] under deterrence");
  EXPECT_EQ(r.at(srp1::kAcquiredReferred, 1), 0.0);
  expect_detectable(200'000 * 0.1, e.acquired, sd, "deterrence ignored");
  const auto light = expected_adoption(sc, net, 0.0, neg / 2.0, 0.1, 0.03, 0.05);
  expect_detectable(light.acquired, e.acquired, sd, "negative_weight ignored");
}

// Positive and negative messages together: two segments (share 1/2 each) at
// S = 0.75 (emits pos only) and S = 0.25 (neg only); failures and churn off.
// Given the graph, prospect j's adoption probability p_j = δ(1 - (1-adv) keep)
// depends on the iid segments of its customer neighbours, and both δ and
// δ·keep are products over neighbours, so E p_j = E δ - (1-adv) E[δ keep]
// with E δ = Π_i (½ + ½ a_i), E[δ keep] = Π_i (½ b_i + ½ a_i), a_i the
// deterrence factor and b_i the keep factor that neighbour i brings.
// Referred: q_j = p_j - δ adv = (1-adv)(δ - δ keep).
// Variance (law of total variance): E Var(·|segments) <= Σ_j E p_j (1 - E p_j)
// (Jensen), plus Var E(·|segments) <= Σ_i ¼ Δ_i² (Efron-Stein: i's segment
// differs on resampling with probability ½), Δ_i = Σ_{prospects j ~ i} the
// largest change of p_j (q_j) when i switches segment, maximised over the
// rest of j's neighbourhood (δ_rest, keep_rest in [0,1]).
TEST(ModelProcesses, WordOfMouthMixedMessages) {
  Scenario sc = wom_scenario(0.75);
  sc.segments.push_back(sc.segments[0]);
  sc.segments[1].name = "unhappy";
  sc.segments[1].satisfaction_mean = 0.25;
  sc.wom.advertising = 0.1;
  sc.wom.strong_tie_effect = 0.1;
  sc.wom.weak_tie_effect = 0.03;
  sc.wom.deterrence = 0.05;
  sc.wom.negative_weight = 2.0;
  const auto net = srp1::build_network(sc, kSeed, 0, kThreads);
  const RunResult r = srp1::simulate(sc, 0, kSeed, 0, net, kThreads);
  const double msg = 10.0 * 2.0 * 0.5;  // pos of a happy node = neg of an unhappy node
  const double adv = sc.wom.advertising;
  const auto N = static_cast<std::uint32_t>(sc.population.customers);
  double e_acq = 0, e_ref = 0, v_acq = 0, v_ref = 0;
  std::vector<double> delta_acq(N, 0.0), delta_ref(N, 0.0);
  for (std::uint32_t j = N; j < net.nodes(); ++j) {
    struct Nb { std::uint32_t i; double a, b; };
    std::vector<Nb> nb;
    auto add = [&](std::span<const std::uint32_t> ties, double effect) {
      for (std::uint32_t i : ties)
        if (i < N) {
          const double per_tie = msg / std::max(1u, net.degree(i));
          nb.push_back({i, std::pow(1.0 - sc.wom.deterrence, sc.wom.negative_weight * per_tie),
                        std::pow(1.0 - effect, per_tie)});
        }
    };
    add(net.strong(j), sc.wom.strong_tie_effect);
    add(net.weak(j), sc.wom.weak_tie_effect);
    double ed = 1, edk = 1;
    for (const auto& x : nb) {
      ed *= 0.5 + 0.5 * x.a;
      edk *= 0.5 * x.b + 0.5 * x.a;
    }
    const double p = ed - (1 - adv) * edk, q = (1 - adv) * (ed - edk);
    e_acq += p;
    e_ref += q;
    v_acq += p * (1 - p);
    v_ref += q * (1 - q);
    for (const auto& x : nb) {
      // p(happy) - p(unhappy) = δ_rest [(1 - a) - (1-adv) keep_rest (b - a)], extreme at keep_rest in {0, 1};
      // q(happy) - q(unhappy) = (1-adv) δ_rest [(1 - a) - keep_rest (b - a)].
      delta_acq[x.i] += std::max(1 - x.a, std::fabs((1 - x.a) - (1 - adv) * (x.b - x.a)));
      delta_ref[x.i] += (1 - adv) * std::max(1 - x.a, std::fabs((1 - x.a) - (x.b - x.a)));
    }
  }
  for (std::uint32_t i = 0; i < N; ++i) {
    v_acq += 0.25 * delta_acq[i] * delta_acq[i];
    v_ref += 0.25 * delta_ref[i] * delta_ref[i];
  }
  expect_within(r.at(srp1::kAcquired, 1), e_acq, std::sqrt(v_acq), "acquired[1], mixed messages");
  expect_within(r.at(srp1::kAcquiredReferred, 1), e_ref, std::sqrt(v_ref), "acquired_referred[1], mixed messages");
  // Sensitivity (checked by mutating the model): counting u < adv rather than
  // u < δ·adv as organic lowers the expected referred count by
  // Σ_j E[min(p_j, adv) - δ_j adv], here ~2e3 against an sd of ~150.
}

// ============================================================ 10. Quality --

// All causes firm-blamed (cause_share = product only) and root_cause_fix = 1:
// every complaint fixes a root cause, and Q_{t+1} = max(floor, Q_t
// exp(-fix_effect fixes_t / N)) exactly. Q then enters the failure
// probability: failures[2] ~ Binomial(active[1], 1 - exp(-λ Q_2)).
TEST(ModelProcesses, QualityFromRootCauseFixes) {
  Scenario sc = quiet(200'000, 3);
  sc.population.prospects = 50'000;  // never adopt (no advertising, no ties): Q divides by N, not N+M
  sc.segments[0].failure_rate = 0.6;
  sc.model.cause_share = {1.0, 0.0, 0.0, 0.0};
  sc.model.fix_effect = 2.0;
  sc.model.quality_floor = 0.3;
  sc.policies[0].root_cause_fix = 1.0;
  const RunResult r = run(sc);
  const double N = 200'000;
  EXPECT_EQ(r.at(srp1::kQuality, 1), 1.0);
  EXPECT_EQ(r.at(srp1::kRootCauseFixes, 1), r.at(srp1::kComplaints, 1));
  const double q2 = std::max(0.3, std::exp(-2.0 * r.at(srp1::kRootCauseFixes, 1) / N));
  EXPECT_NEAR(r.at(srp1::kQuality, 2), q2, 1e-12 * q2);
  const double q3 = std::max(0.3, q2 * std::exp(-2.0 * r.at(srp1::kRootCauseFixes, 2) / N));
  EXPECT_NEAR(r.at(srp1::kQuality, 3), q3, 1e-12 * q3);
  ASSERT_LT(q2, 0.9);
  const double n2 = r.at(srp1::kActive, 1);
  const double p2 = -std::expm1(-0.6 * q2);
  const double sd = binomial_sd(n2, p2);
  expect_within(r.at(srp1::kFailures, 2), n2 * p2, sd, "failures[2]");
  expect_detectable(n2 * -std::expm1(-0.6), n2 * p2, sd, "quality ignored");

  // Customer-blamed failures are never fixed.
  sc.model.cause_share = {0.0, 0.0, 0.0, 1.0};
  const RunResult rc = run(sc);
  EXPECT_GT(rc.at(srp1::kComplaints, 1), 0.0);
  EXPECT_EQ(rc.at(srp1::kRootCauseFixes, 1), 0.0);
  EXPECT_EQ(rc.at(srp1::kQuality, 2), 1.0);
}

// ==================================================== 11. Determinism, CRN --

Scenario busy_scenario() {
  Scenario sc;  // default model and WOM: failures, complaints, WOM, adoption all on
  sc.population.customers = 30'000;
  sc.population.prospects = 20'000;
  sc.horizon_months = 14;
  sc.segments = {srp1::Segment{}, srp1::Segment{}};
  sc.segments[1].name = "heavy";
  sc.segments[1].share = 0.4;
  sc.segments[1].failure_rate = 0.2;
  sc.segments[1].wom_rate = 2.0;
  srp1::Policy a, b, c;
  a.name = "a";
  a.compensation = 1.0;
  a.apology = 1.0;
  a.root_cause_fix = 0.3;
  b = a;
  b.name = "b_same_as_a";
  c.name = "c";
  c.compensation = 0.2;
  sc.policies = {a, b, c};
  return sc;
}

bool same_graph(const engine::TieGraph& x, const engine::TieGraph& y) {
  if (x.nodes() != y.nodes() || x.edges() != y.edges()) return false;
  for (std::uint32_t n = 0; n < x.nodes(); ++n) {
    const auto xs = x.strong(n), ys = y.strong(n), xw = x.weak(n), yw = y.weak(n);
    if (x.degree(n) != y.degree(n) || !std::equal(xs.begin(), xs.end(), ys.begin(), ys.end()) ||
        !std::equal(xw.begin(), xw.end(), yw.begin(), yw.end()))
      return false;
  }
  return true;
}

TEST(ModelDeterminism, IdenticalAtAnyThreadCount) {
  const Scenario sc = busy_scenario();
  const auto g1 = srp1::build_network(sc, kSeed, 3, 1);
  const RunResult r1 = srp1::simulate(sc, 0, kSeed, 3, g1, 1);
  ASSERT_GT(r1.at(srp1::kAcquired, 5), 0.0);
  ASSERT_GT(r1.at(srp1::kParadoxEvents, 1), 0.0);
  for (int threads : {2, 3}) {
    SCOPED_TRACE(threads);
    const auto g = srp1::build_network(sc, kSeed, 3, threads);
    EXPECT_TRUE(same_graph(g1, g));
    const RunResult r = srp1::simulate(sc, 0, kSeed, 3, g, threads);
    EXPECT_TRUE(r.series == r1.series);
    EXPECT_TRUE(r.fact_count == r1.fact_count);
    EXPECT_TRUE(r.fact_retained == r1.fact_retained);
  }
  // A different replication is a different draw.
  const auto g2 = srp1::build_network(sc, kSeed, 4, 2);
  EXPECT_FALSE(same_graph(g1, g2));
  EXPECT_FALSE(srp1::simulate(sc, 0, kSeed, 4, g2, 2).series == r1.series);
}

// The ring-order network the kernel will use is the model's network: slots of
// initial customers first, and the same ties once mapped back to node ids.
TEST(ModelDeterminism, RingNetworkIsTheNetworkInStorageOrder) {
  const Scenario sc = busy_scenario();
  const auto g = srp1::build_network(sc, kSeed, 2, kThreads);
  const auto r = srp1::build_ring_network(sc, kSeed, 2, kThreads);
  const auto N = static_cast<std::uint32_t>(sc.population.customers);
  ASSERT_EQ(r.graph.nodes(), g.nodes());
  ASSERT_EQ(r.graph.edges(), g.edges());
  for (std::uint32_t s = 0; s < g.nodes(); ++s) {
    const std::uint32_t node = r.storage_to_node[s];
    ASSERT_EQ(node < N, s < N);
    ASSERT_EQ(r.graph.degree(s), g.degree(node));
    std::vector<std::uint32_t> strong, weak;
    for (auto v : r.graph.strong(s)) strong.push_back(r.storage_to_node[v]);
    for (auto v : r.graph.weak(s)) weak.push_back(r.storage_to_node[v]);
    std::ranges::sort(strong);
    std::ranges::sort(weak);
    ASSERT_TRUE(std::ranges::equal(strong, g.strong(node)) && std::ranges::equal(weak, g.weak(node))) << s;
  }
}

// Policy lanes: a policy's result is bit for bit the same alone or in a batch
// with others, in any order and position, with a warm-up and a late start.
TEST(ModelDeterminism, APolicyIsTheSameAloneOrInABatch) {
  Scenario sc = busy_scenario();
  sc.warmup_months = 6;
  srp1::Policy late = sc.policies[0];
  late.name = "late";
  late.start_month = 5;
  late.proactive_detection = 0.4;
  late.cost_per_customer_month = 1.0;
  sc.policies.push_back(late);
  const auto g = srp1::build_network(sc, kSeed, 2, kThreads);
  const std::vector<std::size_t> order = {3, 0, 2, 1};
  const auto batch = srp1::simulate_policies(sc, order, kSeed, 2, g, kThreads);
  ASSERT_EQ(batch.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    SCOPED_TRACE(order[i]);
    const RunResult alone = srp1::simulate(sc, order[i], kSeed, 2, g, kThreads);
    EXPECT_TRUE(batch[i].series == alone.series);
    EXPECT_TRUE(batch[i].fact_count == alone.fact_count);
    EXPECT_TRUE(batch[i].fact_retained == alone.fact_retained);
    EXPECT_TRUE(batch[i].quintile_retained == alone.quintile_retained);
  }
  // More policies than one pass holds are simulated in several passes, the same.
  std::vector<std::size_t> many(srp1::max_lanes() + 2, 2);
  const auto passes = srp1::simulate_policies(sc, many, kSeed, 2, g, kThreads);
  ASSERT_EQ(passes.size(), many.size());
  for (const auto& r : passes) EXPECT_TRUE(r.series == batch[2].series);
}

// Results do not depend on the CPU's instruction set: the batched draws and
// exponentials give the same bits at every SIMD level (engine/simd.hpp), so
// a whole replication is bit for bit the same on the portable path and on
// every vector path this machine has.
TEST(ModelDeterminism, EverySimdLevelGivesTheSameResults) {
  const Scenario sc = busy_scenario();
  const auto g = srp1::build_network(sc, kSeed, 1, kThreads);
  const std::vector<std::size_t> all = {0, 1, 2};
  const auto before = engine::simd::level();
  engine::simd::set_level(engine::simd::Level::portable);
  const auto portable = srp1::simulate_policies(sc, all, kSeed, 1, g, kThreads);
  int levels = 0;
  for (const auto level : {engine::simd::Level::avx2, engine::simd::Level::avx512}) {
    if (!engine::simd::supported(level)) continue;
    engine::simd::set_level(level);
    const auto vector = srp1::simulate_policies(sc, all, kSeed, 1, g, kThreads);
    for (std::size_t p = 0; p < all.size(); ++p) EXPECT_TRUE(vector[p] == portable[p]) << engine::simd::name(level);
    ++levels;
  }
  engine::simd::set_level(before);
  if (levels == 0) GTEST_SKIP() << "this CPU has no vector level beyond the portable one";
}

TEST(ModelDeterminism, CommonRandomNumbersAcrossPolicies) {
  const Scenario sc = busy_scenario();
  const auto g = srp1::build_network(sc, kSeed, 0, kThreads);
  const RunResult a = srp1::simulate(sc, 0, kSeed, 0, g, kThreads);
  const RunResult b = srp1::simulate(sc, 1, kSeed, 0, g, kThreads);
  const RunResult c = srp1::simulate(sc, 2, kSeed, 0, g, kThreads);
  EXPECT_TRUE(a.series == b.series);
  EXPECT_TRUE(a.fact_count == b.fact_count);
  EXPECT_TRUE(a.fact_retained == b.fact_retained);
  // Month 1 up to the complaint decision uses the same draws whatever the policy.
  for (auto m : {srp1::kFailures, srp1::kComplaints, srp1::kSilentFailures})
    EXPECT_EQ(a.at(m, 1), c.at(m, 1));
  EXPECT_NE(a.at(srp1::kRecoveriesSatisfied, 1), c.at(srp1::kRecoveriesSatisfied, 1));
}

}  // namespace
