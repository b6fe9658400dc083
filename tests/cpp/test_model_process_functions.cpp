// Exact tests of each process of the month (models/srp1/processes.hpp): given
// inputs and uniforms, the function returns the formula's value, worked out
// here by hand (the numbers in the comments), to rounding. Where the
// statistical tests (test_model_processes.cpp) can only bound a mean, these
// pin every term, so a changed coefficient, cap, sign or branch fails here.
// scripts/mutate applies a list of such changes to the model and reports
// which survive the suite.
#include <gtest/gtest.h>

#include <cmath>

#include "models/srp1/processes.hpp"

namespace {

using namespace loyalsim::srp1;
namespace proc = loyalsim::srp1::process;
constexpr double kTight = 1e-12;

}  // namespace

TEST(ModelFunctions, FailureProbabilityIsOneMinusExpOfRateTimesQuality) {
  EXPECT_NEAR(proc::failure_probability(0.05, 1.0), 0.048770575499285984, kTight);  // 1 - e^-0.05
  EXPECT_NEAR(proc::failure_probability(0.05, 0.5), 0.024690087971667385, kTight);  // 1 - e^-0.025
  EXPECT_EQ(proc::failure_probability(0.0, 1.0), 0.0);
}

TEST(ModelFunctions, SeverityIsTheKumaraswamyQuantile) {
  // a = 2, b = 1: s = (1 - (1-u))^(1/2) = sqrt(u).
  EXPECT_NEAR(proc::severity(0.25, 2.0, 1.0), 0.5, kTight);
  // a = 1, b = 2: s = 1 - sqrt(1 - u); u = 0.75 gives 0.5.
  EXPECT_NEAR(proc::severity(0.75, 1.0, 2.0), 0.5, kTight);
  // a = 1.2, b = 3, u = 0.5: (1 - 0.5^(1/3))^(1/1.2) = 0.2062994740^0.8333 = 0.268...
  EXPECT_NEAR(proc::severity(0.5, 1.2, 3.0), std::pow(1.0 - std::cbrt(0.5), 1.0 / 1.2), kTight);
  EXPECT_EQ(proc::severity_band(0.5, 0.5), 1);
  EXPECT_EQ(proc::severity_band(0.4999, 0.5), 0);
}

TEST(ModelFunctions, CauseLossAndBlame) {
  const std::array<double, kCauses> cumulative = {0.4, 0.65, 0.85, 1.0};
  EXPECT_EQ(proc::cause_of(0.1, cumulative), 0);
  EXPECT_EQ(proc::cause_of(0.4, cumulative), 1);  // the boundary belongs to the next cause
  EXPECT_EQ(proc::cause_of(0.849, cumulative), 2);
  EXPECT_EQ(proc::cause_of(0.99, cumulative), 3);
  EXPECT_FALSE(proc::firm_to_blame(3));
  EXPECT_TRUE(proc::firm_to_blame(1));
  ModelParams m;  // loss_weight 0.35, cause_loss staff 1.2
  EXPECT_NEAR(proc::loss(m, 0.5, 1), 0.35 * 0.5 * 1.2, kTight);
}

TEST(ModelFunctions, ComplaintProbabilityIsTheLogisticOfEveryTerm) {
  ModelParams m;  // intercept -3.2, severity 5, blame 0.5, after_bad -0.5
  Segment seg;
  seg.complaint_bias = 0.25;
  // -3.2 + 5 * 0.4 + 0.5 + 0.25 - 0.5 * 2 + 0.7 = -0.75
  EXPECT_NEAR(proc::complaint_probability(m, seg, 0.4, true, 2, 0.7), 1.0 / (1.0 + std::exp(0.75)), kTight);
  // Not to blame: -1.25.
  EXPECT_NEAR(proc::complaint_probability(m, seg, 0.4, false, 2, 0.7), 1.0 / (1.0 + std::exp(1.25)), kTight);
}

TEST(ModelFunctions, DelayAndContactsAreInversions) {
  EXPECT_NEAR(proc::response_delay(10.0, 0.5), 10.0 * std::log(2.0), kTight);  // -10 ln(1 - 0.5)
  EXPECT_EQ(proc::response_delay(0.0, 0.5), 0.0);
  // fcr 0.5: n = 1 + floor(ln u / ln 0.5): u = 0.3 -> 1 + floor(1.737) = 2; u = 0.6 -> 1.
  EXPECT_EQ(proc::contacts(0.5, 0.3), 2.0);
  EXPECT_EQ(proc::contacts(0.5, 0.6), 1.0);
  EXPECT_EQ(proc::contacts(0.1, 1e-12), 20.0);  // capped at 20
  EXPECT_EQ(proc::contacts(1.0, 1e-12), 1.0);
}

TEST(ModelFunctions, JusticeDimensions) {
  // Procedural: exp(-d / 7) n^-0.5; d = 7, n = 4: e^-1 / 2.
  EXPECT_NEAR(proc::procedural_justice(7.0, 4.0, 7.0, 0.5), std::exp(-1.0) / 2.0, kTight);
  // The contact elasticity matters: n = 4, e = 1 -> 1/4.
  EXPECT_NEAR(proc::procedural_justice(0.0, 4.0, 7.0, 1.0), 0.25, kTight);
  // Distributive (F9): sqrt(0.25) = 0.5; 1 for 1 < r <= 1.5; 1 - 0.5 (2 - 1.5) = 0.75; floor 0.
  EXPECT_NEAR(proc::distributive_justice(0.25, 0.5), 0.5, kTight);
  EXPECT_EQ(proc::distributive_justice(1.5, 0.5), 1.0);
  EXPECT_EQ(proc::distributive_justice(1.25, 0.5), 1.0);  // the plateau holds from 1 to 1.5
  EXPECT_NEAR(proc::distributive_justice(1.6, 0.5), 0.95, kTight);
  EXPECT_NEAR(proc::distributive_justice(2.0, 0.5), 0.75, kTight);
  EXPECT_EQ(proc::distributive_justice(9.0, 0.5), 0.0);
  // Interactional: weights (0.3, 0.25, 0.15, 0.15, 0.15) sum 1; apology 1, empathy 0.5: 0.3 + 0.125.
  Policy p;
  p.apology = 1.0;
  p.empathy = 0.5;
  EXPECT_NEAR(proc::interactional_justice(InteractionalWeights{}, p), 0.425, kTight);
  // Performance: (0.45 * 1 + 0.35 * 0.5 + 0.2 * 0.25) / 1 = 0.675.
  EXPECT_NEAR(proc::performance(JusticeWeights{}, 1.0, 1.0, 0.5, 0.25), 0.675, kTight);
}

TEST(ModelFunctions, ExpectationCapsRepeatsAtThreeAndFloorsAtZero) {
  ModelParams m;  // base 0.45, severity 0.3, repeat 0.05, proactive 0.15
  EXPECT_NEAR(proc::expectation(m, 0.5, 0, false), 0.6, kTight);
  EXPECT_NEAR(proc::expectation(m, 0.5, 2, false), 0.7, kTight);
  EXPECT_NEAR(proc::expectation(m, 0.5, 3, false), 0.75, kTight);
  EXPECT_NEAR(proc::expectation(m, 0.5, 7, false), 0.75, kTight);  // min(f, 3)
  EXPECT_NEAR(proc::expectation(m, 0.5, 3, true), 0.6, kTight);    // lowered when the firm came first
  EXPECT_EQ(proc::expectation(m, 2.0, 0, false), 1.0);             // capped at 1 ...
  EXPECT_NEAR(proc::expectation(m, 2.0, 0, true), 0.85, kTight);   // ... before the proactive shift
  m.expectation_base = -0.5;
  EXPECT_EQ(proc::expectation(m, 0.1, 0, false), 0.0);              // floored at 0
  EXPECT_NEAR(proc::disconfirmation(0.7, 0.6, 0.25, -0.2), 0.05, kTight);
}

TEST(ModelFunctions, RecoveryGainDampingAndDoubleDeviation) {
  ModelParams m;  // gain 0.6, double_deviation 0.8, stability 0.5, repeat_damping 0.5
  Segment seg;
  seg.recovery_responsiveness = 0.8;
  const double log_damping = std::log(m.repeat_damping);
  // g = 0.8 * 0.5^2 * (1 - 0.5) = 0.1 for two prior failures and a repeat cause.
  EXPECT_NEAR(proc::gain_damping(m, seg, log_damping, 2, true), 0.1, kTight);
  EXPECT_NEAR(proc::gain_damping(m, seg, log_damping, 0, false), 0.8, kTight);
  EXPECT_EQ(proc::gain_damping(m, seg, std::log(0.0), 0, false), 0.8);  // damping 0: the first failure keeps its gain
  EXPECT_EQ(proc::gain_damping(m, seg, std::log(0.0), 1, false), 0.0);
  // Satisfied: S - L + gain D g = 0.6 - 0.1 + 0.6 * 0.2 * 0.5 = 0.56.
  EXPECT_NEAR(proc::recovered_satisfaction(m, 0.6, 0.1, 0.2, 0.5), 0.56, kTight);
  // Dissatisfied: S - L - 0.8 |D| = 0.6 - 0.1 - 0.8 * 0.3 = 0.26 (double deviation, F2).
  EXPECT_NEAR(proc::recovered_satisfaction(m, 0.6, 0.1, -0.3, 0.5), 0.26, kTight);
  EXPECT_EQ(proc::recovered_satisfaction(m, 0.1, 0.1, -0.9, 0.5), 0.0);  // clipped
  EXPECT_EQ(proc::recovered_satisfaction(m, 0.95, 0.0, 1.0, 1.0), 1.0);
}

TEST(ModelFunctions, ParadoxScopes) {
  double S = 0.5, X = 0.1;
  proc::apply_paradox_scope(ParadoxScope::behavioural, 0.7, S, X);
  EXPECT_EQ(S, 0.7);
  EXPECT_EQ(X, 0.1);
  S = 0.5, X = 0.1;
  proc::apply_paradox_scope(ParadoxScope::satisfaction_only, 0.7, S, X);  // the gain goes to the surplus
  EXPECT_EQ(S, 0.5);
  EXPECT_NEAR(X, 0.3, kTight);
  proc::apply_paradox_scope(ParadoxScope::satisfaction_only, 0.4, S, X);  // a loss goes to S
  EXPECT_EQ(S, 0.4);
  EXPECT_NEAR(X, 0.3, kTight);
  S = 0.5, X = 0.0;
  proc::apply_paradox_scope(ParadoxScope::none, 0.7, S, X);
  EXPECT_EQ(S, 0.5);
  proc::apply_paradox_scope(ParadoxScope::none, 0.3, S, X);
  EXPECT_EQ(S, 0.3);
  EXPECT_EQ(proc::reported(0.8, 0.3), 1.0);
  EXPECT_NEAR(proc::reported(0.5, 0.2), 0.7, kTight);
}

TEST(ModelFunctions, RecoveryCosts) {
  ModelParams m;  // loss_value_months 2
  Segment seg;    // base_spend 50
  Policy p;
  p.cost_per_contact = 8.0;
  p.compensation = 1.5;
  p.gesture = 0.5;
  p.gesture_cost = 10.0;
  EXPECT_EQ(proc::handling_cost(p, 3.0), 24.0);
  EXPECT_NEAR(proc::compensation_paid(p, m, seg, 0.4), 1.5 * 0.4 * 2.0 * 50.0, kTight);
  EXPECT_EQ(proc::gesture_cost(p), 5.0);
}

TEST(ModelFunctions, RelaxationAndSurplusDecay) {
  ModelParams m;  // relaxation 0.03, surplus_decay 0.8
  Segment seg;    // satisfaction_mean 0.7
  double S = 0.4, X = 0.5;
  proc::relax(m, seg, S, X);
  EXPECT_NEAR(S, 0.4 + 0.03 * 0.3, kTight);
  EXPECT_NEAR(X, 0.4, kTight);
}

TEST(ModelFunctions, ChurnHazardTenureAndSpike) {
  ModelParams m;  // churn_satisfaction 4, ref 0.7, churn_tenure 0.1, spike_decay 0.5
  Segment seg;    // churn_hazard 0.015
  // h = 0.015 e^(4 (0.7 - 0.45)) (1 + 0.5) * 0.8 = 0.015 e * 1.2
  EXPECT_NEAR(proc::churn_hazard(m, seg, 0.45, 0.5, 0.8), 0.015 * std::exp(1.0) * 1.2, kTight);
  EXPECT_NEAR(proc::tenure_factor(15.0, 0.5), 0.25, kTight);  // (1 + 15)^-0.5
  EXPECT_EQ(proc::tenure_factor(0.0, 0.5), 1.0);
  EXPECT_NEAR(proc::decayed_spike(m, 0.6), 0.3, kTight);
  // Churn iff u < 1 - e^-h, decided as h > E = -log(1 - u): h = ln 2 gives probability 1/2.
  EXPECT_NEAR(proc::exponential_variate(0.5), std::log(2.0), kTight);
  EXPECT_TRUE(proc::churns(proc::exponential_variate(0.4999), std::log(2.0)));
  EXPECT_FALSE(proc::churns(proc::exponential_variate(0.5001), std::log(2.0)));
  // The hazard from a precomputed exp(churn_satisfaction (ref - S)), as the kernel calls it.
  EXPECT_NEAR(proc::churn_hazard(seg, std::exp(1.0), 0.5, 0.8), 0.015 * std::exp(1.0) * 1.2, kTight);
  EXPECT_NEAR(proc::satisfaction_exponent(m, 0.45), 1.0, kTight);
}

TEST(ModelFunctions, SpendAndAmbientWordOfMouth) {
  ModelParams m;  // spend_slope 0.7, ref 0.7
  Segment seg;    // base_spend 50
  EXPECT_NEAR(proc::spend(m, seg, 0.9), 50.0 * (1.0 + 0.7 * 0.2), kTight);
  EXPECT_NEAR(proc::spend(m, seg, 0.0), 50.0 * 0.51, kTight);
  m.spend_slope = 3.0;
  EXPECT_NEAR(proc::spend(m, seg, 0.0), 50.0 * 0.05, kTight);  // at least 5% of base spend
  WomParams w;  // ambient 0.3 each
  EXPECT_NEAR(proc::ambient_positive(w, 2.0, 0.75), 0.3 * 2.0 * 0.5, kTight);
  EXPECT_EQ(proc::ambient_negative(w, 2.0, 0.75), 0.0);
  EXPECT_NEAR(proc::ambient_negative(w, 1.0, 0.25), 0.15, kTight);
}

TEST(ModelFunctions, AdoptionOddsAndTheOrganicReferredSplit) {
  WomParams w;
  w.advertising = 0.01;
  w.strong_tie_effect = 0.1;
  w.weak_tie_effect = 0.05;
  w.deterrence = 0.2;
  w.negative_weight = 2.0;
  const proc::AdoptionConstants c(w);
  // x+ strong 2, weak 1, x- 0.5: delta = 0.8^(2 * 0.5) = 0.8; keep = 0.9^2 0.95 = 0.7695;
  // p = 0.8 (1 - 0.99 * 0.7695) = 0.190556; organic = 0.8 * 0.01 = 0.008.
  const auto odds = proc::adoption_odds(c, 2.0, 1.0, 0.5);
  EXPECT_NEAR(odds.p, 0.8 * (1.0 - 0.99 * 0.7695), kTight);
  EXPECT_NEAR(odds.organic, 0.008, kTight);
  EXPECT_EQ(proc::adopts(0.007, odds), proc::Adoption::organic);
  EXPECT_EQ(proc::adopts(0.009, odds), proc::Adoption::referred);
  EXPECT_EQ(proc::adopts(0.19, odds), proc::Adoption::referred);
  EXPECT_EQ(proc::adopts(0.191, odds), proc::Adoption::none);
  // No exposure: advertising alone, all organic.
  const auto alone = proc::adoption_odds(c, 0.0, 0.0, 0.0);
  EXPECT_NEAR(alone.p, 0.01, kTight);
  EXPECT_EQ(proc::adopts(0.0099, alone), proc::Adoption::organic);
}

TEST(ModelFunctions, OneMinusExpIsAccurateForTinyArguments) {
  for (const double y : {-1e-300, -1e-12, -1e-6, -0.0155, -0.0157, -0.5, -20.0})
    EXPECT_NEAR(proc::one_minus_exp(y), -std::expm1(y), 1e-14 * -std::expm1(y)) << y;
  EXPECT_EQ(proc::one_minus_exp(0.0), 0.0);
  // Severity from a tiny uniform keeps its precision: (1 - (1-u)^(1/b))^(1/a) ~ (u/b)^(1/a).
  EXPECT_NEAR(proc::severity(1e-12, 1.0, 2.0), 5e-13, 1e-24);
}

TEST(ModelFunctions, AdoptionBoundIsAboveEveryAdoptionProbability) {
  WomParams w;
  w.advertising = 0.01;
  w.strong_tie_effect = 0.1;
  w.weak_tie_effect = 0.05;
  w.deterrence = 0.2;
  const proc::AdoptionConstants c(w);
  for (const double xs : {0.0, 0.3, 2.0, 40.0})
    for (const double xw : {0.0, 0.7, 9.0})
      for (const double xn : {0.0, 1.0}) {
        const double p = proc::adoption_odds(c, xs, xw, xn).p, bound = proc::adoption_bound(c, xs, xw);
        EXPECT_GE(bound, p) << xs << " " << xw << " " << xn;
        // Tight where most prospects are (little exposure), so it does skip the exponentials there.
        if (xn == 0.0 && xs + xw > 0 && xs + xw <= 1.0) EXPECT_LT(bound, 1.1 * p);
      }
}

TEST(ModelFunctions, QualityDiscountAndInitialSatisfaction) {
  ModelParams m;  // fix_effect 5, floor 0.5
  EXPECT_NEAR(proc::next_quality(m, 1.0, 100.0, 1000.0), std::exp(-0.5), kTight);
  EXPECT_EQ(proc::next_quality(m, 0.6, 1000.0, 1000.0), 0.5);
  EXPECT_NEAR(proc::discount_factor(0.1, 12), 1.0 / 1.1, kTight);
  EXPECT_EQ(proc::discount_factor(0.1, 0), 1.0);
  Segment seg;  // mean 0.7, sd 0.1
  EXPECT_NEAR(proc::initial_satisfaction(seg, 1.5), 0.85, kTight);
  EXPECT_EQ(proc::initial_satisfaction(seg, 10.0), 0.99);
  EXPECT_EQ(proc::initial_satisfaction(seg, -10.0), 0.01);
}
