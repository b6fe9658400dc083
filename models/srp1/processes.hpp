// The processes of one SRP-1 month (docs/model.md), one short function each,
// in the order the model applies them. Each takes its uniforms as arguments
// and returns the formula's value, so a test can call it alone with given
// inputs and check the number (tests/cpp/test_model_process_functions.cpp);
// the kernel (model.cpp) only loops over nodes and policy lanes around them.
//
// Arithmetic is double; per-node states are stored as float by the kernel.
// These functions are inline: they sit in the hot loop. Every exponential and
// logarithm is the engine's own (engine/fastmath.hpp, within about 1 ulp of
// the exact value): glibc's picks a variant per CPU, and results must not
// depend on the machine that computed them.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "engine/fastmath.hpp"
#include "models/srp1/parameters.hpp"

namespace loyalsim::srp1::process {

using engine::fast_exp;
using engine::fast_log;
using engine::fast_log1p_neg;

inline double logistic(double x) { return 1.0 / (1.0 + fast_exp(-x)); }
inline double clip01(double x) { return std::min(1.0, std::max(0.0, x)); }
// 1 - e^y for y <= 0, accurate for tiny |y| too (where 1 - exp(y) would cancel):
// a Taylor series for |y| < 2^-6 (the first omitted term is below 6e-18 of
// the value), 1 - exp(y) beyond (relative error below 1.4e-14).
inline double one_minus_exp(double y) {
  if (y > -0x1p-6) return -y * (1.0 + y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y * (1.0 / 720 + y / 5040))))));
  return 1.0 - fast_exp(y);
}
// base^x where base is given as its log (may be -inf); base^0 = 1 even for base 0.
inline double pow_from_log(double log_base, double x) { return x > 0.0 ? fast_exp(x * log_base) : 1.0; }
// log(base^x) with the same convention: 0 when x = 0, whatever the base.
inline double log_power(double log_base, double x) { return x > 0.0 ? x * log_base : 0.0; }
// exp(x), skipping the call in the common case x = 0 (no exposure of that kind).
inline double exp_or_one(double x) { return x == 0.0 ? 1.0 : fast_exp(x); }
// log(1 - p) for p in [0, 1] (-inf at 1): the log of a probability's complement.
inline double log1m(double p) { return p > 0.0 ? -fast_log1p_neg(p) : 0.0; }

// ---- 1. Failure (F2, F3): with probability 1 - exp(-lambda Q) ----
inline double failure_probability(double failure_rate, double quality) { return one_minus_exp(-failure_rate * quality); }

// ---- 2. A failure: severity, band, cause, loss ----

// Severity s ~ Kumaraswamy(a, b) by inversion: s = (1 - (1-u)^(1/b))^(1/a).
// E = -log(1 - u) is the uniform's exponential variate: s = (1 - e^(-E/b))^(1/a).
inline double severity(double u, double a, double b) {
  const double base = one_minus_exp(-fast_log1p_neg(u) / b);
  return base > 0.0 ? fast_exp(fast_log(base) / a) : 0.0;
}
// Band (F12): 1 (major) if s >= threshold, else 0 (minor).
inline int severity_band(double s, double major_threshold) { return s >= major_threshold ? 1 : 0; }
// Cause c by its cumulative share (the last entry is 1): the first c with u < cum[c].
inline std::uint8_t cause_of(double u, const std::array<double, kCauses>& cumulative) {
  int c = 0;
  while (c + 1 < kCauses && u >= cumulative[c]) ++c;
  return static_cast<std::uint8_t>(c);
}
inline bool firm_to_blame(std::uint8_t cause) { return cause != static_cast<std::uint8_t>(Cause::customer); }
// Loss L = loss_weight s cause_loss[c]: what a failure takes from satisfaction.
inline double loss(const ModelParams& m, double s, std::uint8_t cause) { return m.loss_weight * s * m.cause_loss[cause]; }

// Complaint probability (F13, 1.1): logistic of the complaint logit, with the
// policy's encouragement added.
inline double complaint_probability(const ModelParams& m, const Segment& seg, double s, bool blame, int bad_recoveries,
                                    double encouragement) {
  return logistic(m.complaint_intercept + m.complaint_severity * s + (blame ? m.complaint_blame : 0.0) +
                  seg.complaint_bias + m.complaint_after_bad * bad_recoveries + encouragement);
}

// ---- Recovery (complaint or proactive detection) under a policy ----

// Delay d ~ Exponential(mean) in days by inversion (exactly 0 for mean 0).
inline double response_delay(double mean_days, double u) { return mean_days > 0 ? mean_days * fast_log1p_neg(u) : 0.0; }
// Contacts n ~ Geometric(fcr) on {1, 2, ...} by inversion, at most 20 (1 when fcr = 1).
inline double contacts(double first_contact_resolution, double u) {
  if (first_contact_resolution >= 1.0) return 1.0;
  const double extra = std::floor(fast_log(u) / log1m(first_contact_resolution));
  return std::min(20.0, 1.0 + extra);
}
// n^(-elasticity): how each further contact wears procedural justice down.
inline double contact_factor(double contacts, double contact_elasticity) {
  return contacts == 1.0 ? 1.0 : fast_exp(-contact_elasticity * fast_log(contacts));
}
// Procedural justice: speed and ease, exp(-d / scale) n^(-elasticity).
inline double procedural_justice(double delay, double contacts, double speed_scale_days, double contact_elasticity) {
  return fast_exp(-delay / speed_scale_days) * contact_factor(contacts, contact_elasticity);
}
// Distributive justice of compensation r = paid / lost (F9): sqrt(r) up to 1,
// 1 up to 1.5, then falling by the over-compensation penalty.
inline double distributive_justice(double r, double penalty) {
  if (r <= 1.0) return std::sqrt(r);
  if (r <= 1.5) return 1.0;
  return std::max(0.0, 1.0 - penalty * (r - 1.5));
}
// Interactional justice: the weighted mean of the policy's remedies.
inline double interactional_justice(const InteractionalWeights& w, const Policy& p) {
  const double sum = w.apology + w.empathy + w.explanation + w.follow_up + w.gesture;
  return (w.apology * p.apology + w.empathy * p.empathy + w.explanation * p.explanation + w.follow_up * p.follow_up +
          w.gesture * p.gesture) /
         sum;
}
// Performance P (F6): the justice-weighted mean; `inv_sum` = 1 / (w_D + w_I + w_P).
inline double performance(const JusticeWeights& w, double inv_sum, double dj, double ij, double pj) {
  return (w.distributive * dj + w.interactional * ij + w.procedural * pj) * inv_sum;
}
// Expectation E = min(1, base + severity s + repeat min(f, 3)), lowered by
// expectation_proactive when the firm came to the customer (1.1), at least 0.
inline double expectation(const ModelParams& m, double s, int prior_failures, bool proactive) {
  double e = std::min(1.0, m.expectation_base + m.expectation_severity * s + m.expectation_repeat * std::min(prior_failures, 3));
  if (proactive) e -= m.expectation_proactive;
  return std::max(0.0, e);
}
// Disconfirmation D = P - E + sd z; the recovery satisfies iff D >= 0.
inline double disconfirmation(double performance, double expectation, double sd, double z) {
  return performance - expectation + sd * z;
}
// Damping of a satisfying recovery's gain (F2, F3): responsiveness,
// repeat_damping^f (given as its log), and the stability penalty on repeats.
inline double gain_damping(const ModelParams& m, const Segment& seg, double log_repeat_damping, int prior_failures,
                           bool repeat) {
  return seg.recovery_responsiveness * pow_from_log(log_repeat_damping, prior_failures) *
         (repeat ? 1.0 - m.stability_penalty : 1.0);
}
// Satisfaction after the recovery, before the paradox scope: S - L + gain D g
// when satisfied, S - L - double_deviation |D| otherwise (F2), clipped to [0, 1].
inline double recovered_satisfaction(const ModelParams& m, double S, double L, double D, double damping) {
  return D >= 0.0 ? clip01(S - L + m.gain * D * damping) : clip01(S - L - m.double_deviation * std::fabs(D));
}
// Where a recovery's result goes (F1, F5): behavioural: S <- S'; satisfaction
// only: a gain goes to the attitudinal surplus X, a loss to S; none: S <- min(S, S').
inline void apply_paradox_scope(ParadoxScope scope, double S_new, double& S, double& X) {
  switch (scope) {
    case ParadoxScope::behavioural: S = S_new; break;
    case ParadoxScope::satisfaction_only:
      if (S_new > S) X += S_new - S;
      else S = S_new;
      break;
    case ParadoxScope::none: S = std::min(S, S_new); break;
  }
}
// Reported satisfaction: min(1, S + X).
inline double reported(double S, double X) { return std::min(1.0, S + X); }
// Costs of a recovery: handling (contacts), compensation (r s loss_value_months base_spend), gesture.
inline double handling_cost(const Policy& p, double contacts) { return p.cost_per_contact * contacts; }
inline double compensation_paid(const Policy& p, const ModelParams& m, const Segment& seg, double s) {
  return p.compensation * s * m.loss_value_months * seg.base_spend;
}
inline double gesture_cost(const Policy& p) { return p.gesture * p.gesture_cost; }

// ---- 3. Relaxation towards the segment's mean; the surplus decays ----
inline void relax(const ModelParams& m, const Segment& seg, double& S, double& X) {
  S += m.relaxation * (seg.satisfaction_mean - S);
  X *= m.surplus_decay;
}

// ---- 4. Churn (F5, F20, F22, F24) ----
// h = churn_hazard exp(churn_satisfaction (ref - S)) (1 + k) tenure_factor,
// tenure_factor = (1 + tenure)^(-churn_tenure) (a per-run table). The kernel
// computes the exponential of satisfaction_exponent() for a block of
// customers at once (engine::exp_array) and passes it in.
inline double satisfaction_exponent(const ModelParams& m, double S) { return m.churn_satisfaction * (m.satisfaction_ref - S); }
inline double churn_hazard(const Segment& seg, double exp_satisfaction, double spike, double tenure_factor) {
  return seg.churn_hazard * exp_satisfaction * (1.0 + spike) * tenure_factor;
}
inline double churn_hazard(const ModelParams& m, const Segment& seg, double S, double spike, double tenure_factor) {
  return churn_hazard(seg, fast_exp(satisfaction_exponent(m, S)), spike, tenure_factor);
}
// Churn with probability 1 - exp(-h), decided as h > E with E = -log(1 - u)
// the uniform's exponential variate (exactly the same event; one logarithm
// per customer shared by every policy lane instead of an exponential per lane).
inline double exponential_variate(double u) { return fast_log1p_neg(u); }
inline bool churns(double exponential, double hazard) { return hazard > exponential; }
// The tenure factor (1 + tenure)^(-churn_tenure): long-tenured customers churn less (F5).
inline double tenure_factor(double tenure, double churn_tenure) {
  return churn_tenure == 0.0 ? 1.0 : fast_exp(-churn_tenure * fast_log(1.0 + tenure));
}
// The churn spike after the month's churn decision: k <- spike_decay k.
inline double decayed_spike(const ModelParams& m, double spike) { return m.spike_decay * spike; }

// ---- 5. Spend (F19, F20) ----
inline double spend(const ModelParams& m, const Segment& seg, double S) {
  return seg.base_spend * std::max(0.05, 1.0 + m.spend_slope * (S - m.satisfaction_ref));
}

// ---- 6. Ambient word of mouth, per month of a customer who stays ----
inline double ambient_positive(const WomParams& w, double rate, double S) {
  return w.ambient_positive * rate * std::max(0.0, (S - 0.5) / 0.5);
}
inline double ambient_negative(const WomParams& w, double rate, double S) {
  return w.ambient_negative * rate * std::max(0.0, (0.5 - S) / 0.5);
}

// ---- Prospects: exposure and adoption (F23) ----
// With x+ over strong and weak ties and x- over all ties (messages / degree of
// the sender), deterrence delta = (1 - deterrence)^(negative_weight x-) and
// keep = 1 - p_wom = (1 - strong)^x+_s (1 - weak)^x+_w, the adoption
// probability is p = delta (1 - (1 - adv) keep) = delta - (1 - adv) exp(ln delta + ln keep).
// One uniform: u < delta adv adopts organically, else u < p adopts as referred.
struct AdoptionConstants {
  double log1m_deterrence, log1m_strong, log1m_weak, one_minus_advertising, negative_weight, advertising;
  explicit AdoptionConstants(const WomParams& w)
      : log1m_deterrence(log1m(w.deterrence)), log1m_strong(log1m(w.strong_tie_effect)), log1m_weak(log1m(w.weak_tie_effect)),
        one_minus_advertising(1.0 - w.advertising), negative_weight(w.negative_weight), advertising(w.advertising) {}
};
enum class Adoption : std::uint8_t { none, organic, referred };
struct AdoptionOdds {
  double p;          // probability of adopting
  double organic;    // of which through advertising: delta adv
};
inline AdoptionOdds adoption_odds(const AdoptionConstants& c, double x_strong, double x_weak, double x_negative) {
  const double log_deter = log_power(c.log1m_deterrence, c.negative_weight * x_negative);
  const double log_keep = log_power(c.log1m_strong, x_strong) + log_power(c.log1m_weak, x_weak);
  const double deter = exp_or_one(log_deter);
  return {deter - c.one_minus_advertising * exp_or_one(log_deter + log_keep), deter * c.advertising};
}
inline Adoption adopts(double u, const AdoptionOdds& odds) {
  if (!(u < odds.p)) return Adoption::none;
  return u < odds.organic ? Adoption::organic : Adoption::referred;
}
// An upper bound of the adoption probability from the positive exposure alone:
// delta <= 1 and 1 - keep <= -ln keep = x+_s |ln(1 - strong)| + x+_w |ln(1 - weak)|,
// so p <= adv + (1 - adv) (that sum). A uniform at or above it adopts in no
// lane, and the two exponentials need not be computed: the decision is the
// same. The bound is widened by a relative 1e-12, far beyond the few ulps of
// rounding in p.
inline double adoption_bound(const AdoptionConstants& c, double x_strong, double x_weak) {
  const double wom = -(x_strong * c.log1m_strong + x_weak * c.log1m_weak);
  return (c.advertising + c.one_minus_advertising * wom) * (1.0 + 1e-12);
}

// ---- End of month ----
// Q_{t+1} = max(floor, Q_t exp(-fix_effect fixes / N)).
inline double next_quality(const ModelParams& m, double quality, double fixes, double customers) {
  return std::max(m.quality_floor, quality * fast_exp(-m.fix_effect * fixes / customers));
}
// Discount factor of month t: (1 + rate)^(-t / 12).
inline double discount_factor(double annual_rate, std::uint32_t month) {
  return month == 0 ? 1.0 : fast_exp(-static_cast<double>(month) / 12.0 * fast_log(1.0 + annual_rate));
}

// Initial satisfaction: clip(mean + sd z, 0.01, 0.99).
inline double initial_satisfaction(const Segment& seg, double z) {
  return std::min(0.99, std::max(0.01, seg.satisfaction_mean + seg.satisfaction_sd * z));
}

}  // namespace loyalsim::srp1::process
