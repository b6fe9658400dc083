#include "app/calibration_quantities.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace loyalsim::app {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using srp1::RunResult;

// Sum of a flow metric over months from..to.
double flow(const RunResult& run, srp1::Metric m, std::uint32_t from, std::uint32_t to) {
  double s = 0.0;
  for (std::uint32_t t = from; t <= to; ++t) s += run.at(m, t);
  return s;
}

// x of n, with its binomial s.e.; undefined (NaN) when n = 0.
RunQuantity share(double x, double n) {
  if (!(n > 0)) return {kNaN, kNaN};
  const double p = x / n;
  return {p, std::sqrt(std::max(0.0, p * (1.0 - p)) / n)};
}

// a / b of two independent estimates, by the delta method.
RunQuantity ratio(const RunQuantity& a, const RunQuantity& b) {
  const double r = a.value / b.value;
  return {r, std::abs(r) * std::sqrt(a.se * a.se / (a.value * a.value) + b.se * b.se / (b.value * b.value))};
}

RunQuantity band_complaint_rate(const RunResult& run, int band) {
  return share(static_cast<double>(run.band_complaints[band]), static_cast<double>(run.band_failures[band]));
}

// Mean over months of churned / active at the start of the month, with the
// s.e. of a mean of independent binomial shares; months nobody is active in
// are left out.
template <class Churned, class Active>
RunQuantity mean_monthly_share(std::uint32_t months, const Churned& churned, const Active& active) {
  double sum = 0.0, var = 0.0;
  std::uint32_t used = 0;
  for (std::uint32_t t = 1; t <= months; ++t) {
    const RunQuantity q = share(churned(t), active(t));
    if (std::isnan(q.value)) continue;
    sum += q.value, var += q.se * q.se, ++used;
  }
  if (used == 0) return {kNaN, kNaN};
  return {sum / used, std::sqrt(var) / used};
}

// segment_churned and segment_active_start are [segment * (T+1) + month], month 0 unused.
RunQuantity segment_monthly_churn(const RunResult& run, int segment) {
  const std::size_t base = static_cast<std::size_t>(segment) * (run.months + 1);
  return mean_monthly_share(
      run.months, [&](std::uint32_t t) { return static_cast<double>(run.segment_churned[base + t]); },
      [&](std::uint32_t t) { return static_cast<double>(run.segment_active_start[base + t]); });
}

// Initial customers whose first failure in the horizon falls in months 1..m.
RunQuantity problem_share(const RunResult& run, std::uint32_t months, double customers) {
  double x = 0.0;
  for (std::uint32_t t = 1; t <= months; ++t) x += static_cast<double>(run.first_failures[t]);
  return share(x, customers);
}

// 12-month retention of a first-failure class over the reference group's, in
// one band or both (the reference group is repeated in both bands: band 0).
RunQuantity loyalty_index(const RunResult& run, int fact_class, int band) {
  double count = 0.0, kept = 0.0;
  for (int b = 0; b < srp1::kBands; ++b)
    if (band < 0 || b == band) {
      count += static_cast<double>(run.fact_count[fact_class * srp1::kBands + b]);
      kept += static_cast<double>(run.fact_retained[fact_class * srp1::kBands + b]);
    }
  const int ref = srp1::kReference * srp1::kBands + std::max(band, 0);
  const RunQuantity reference =
      share(static_cast<double>(run.fact_retained[ref]), static_cast<double>(run.fact_count[ref]));
  return ratio(share(kept, count), reference);
}

RunQuantity top_vs_bottom(const RunResult& run) {
  const auto q = [&](int i) {
    return share(static_cast<double>(run.quintile_retained[i]), static_cast<double>(run.quintile_count[i]));
  };
  return ratio(q(srp1::kQuintiles - 1), q(0));
}

// The bottom quintile's mean monthly churn hazard over 12 months over the
// top's: log(R_1) / log(R_5) for 12-month retentions R. Unlike a ratio of
// retentions it carries over between markets whose churn differs (a
// proportional hazard): 0.74 vs 0.43 retained (F20) is a ratio of 2.80 at any
// base churn. Delta method: s.e.^2 = (se_1 / (R_1 log R_5))^2
// + (log R_1 se_5 / (R_5 log^2 R_5))^2.
RunQuantity hazard_bottom_vs_top(const RunResult& run) {
  const auto q = [&](int i) {
    return share(static_cast<double>(run.quintile_retained[i]), static_cast<double>(run.quintile_count[i]));
  };
  const RunQuantity bottom = q(0), top = q(srp1::kQuintiles - 1);
  if (!(bottom.value > 0 && top.value > 0 && top.value < 1)) return {kNaN, kNaN};
  const double lb = std::log(bottom.value), lt = std::log(top.value);
  const double d_bottom = bottom.se / (bottom.value * lt), d_top = lb * top.se / (top.value * lt * lt);
  return {lb / lt, std::sqrt(d_bottom * d_bottom + d_top * d_top)};
}

}  // namespace

double spend_ratio(const srp1::ModelParams& m) {
  const auto spend = [&](double s) { return std::max(0.05, 1.0 + m.spend_slope * (s - m.satisfaction_ref)); };
  return spend(1.0) / spend(0.0);
}

RunQuantity run_quantity(const CalibrationTarget& target, const srp1::Scenario& sc, const RunResult& run) {
  using srp1::Metric;
  const TargetFilter& f = target.filter;
  const std::uint32_t T = run.months;
  const auto total = [&](Metric m) { return flow(run, m, 1, T); };
  const double recoveries = total(srp1::kRecoveriesSatisfied) + total(srp1::kRecoveriesDissatisfied);
  const double customers = static_cast<double>(sc.population.customers);
  switch (target.quantity) {
    case Quantity::satisfied_share:
      return share(total(srp1::kRecoveriesSatisfied), recoveries);
    case Quantity::complaint_rate:
      return f.band < 0 ? share(total(srp1::kComplaints), total(srp1::kFailures)) : band_complaint_rate(run, f.band);
    case Quantity::paradox_share:
      return share(total(srp1::kParadoxEvents), recoveries);
    case Quantity::loyalty_index:
      return loyalty_index(run, f.fact_class, f.band);
    case Quantity::monthly_churn:
      if (f.segment >= 0) return segment_monthly_churn(run, f.segment);
      return mean_monthly_share(
          T, [&](std::uint32_t t) { return run.at(srp1::kChurned, t); },
          [&](std::uint32_t t) { return run.at(srp1::kActive, t - 1); });
    case Quantity::retention:
      return share(run.at(srp1::kCohortActive, f.months), customers);
    case Quantity::problem_share:
      return problem_share(run, f.months, customers);
    case Quantity::retention_top_vs_bottom:
      return top_vs_bottom(run);
    case Quantity::churn_hazard_bottom_vs_top:
      return hazard_bottom_vs_top(run);
    case Quantity::spend_ratio:
      return {spend_ratio(sc.model), 0.0};
    case Quantity::wom_ratio: {
      // Message counts as Poisson: var(P/N) / (P/N)^2 = 1/P + 1/N.
      const double p = total(srp1::kWomPositive), n = total(srp1::kWomNegative);
      return ratio({p, std::sqrt(p)}, {n, std::sqrt(n)});
    }
    case Quantity::referral_share:
      return share(total(srp1::kAcquiredReferred), total(srp1::kAcquired));
  }
  return {kNaN, kNaN};
}

engine::calibration::Outcome evaluate_targets(const std::vector<CalibrationTarget>& targets, const srp1::Scenario& sc,
                                              const PointRuns& runs, std::uint32_t R) {
  engine::calibration::Outcome out;
  out.ok = true;
  std::vector<double> q(R);
  for (const CalibrationTarget& target : targets) {
    const auto policy = static_cast<std::uint32_t>(std::max(target.filter.policy, 0));
    double se_one = 0.0;
    for (std::uint32_t r = 0; r < R; ++r) {
      const RunQuantity v = run_quantity(target, sc, runs(policy, r));
      q[r] = v.value, se_one = v.se;
    }
    double mean = 0.0;
    for (const double x : q) mean += x;
    mean /= R;
    double se = se_one;
    if (R >= 2) {
      double ss = 0.0;
      for (const double x : q) ss += (x - mean) * (x - mean);
      se = std::sqrt(ss / (R - 1) / R);
    }
    if (!std::isfinite(mean)) out.ok = false;
    out.value.push_back(mean);
    out.se.push_back(se);
  }
  return out;
}

}  // namespace loyalsim::app
