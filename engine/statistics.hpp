// Summaries over Monte Carlo replications: means and Student-t intervals.
#pragma once

#include <cstddef>
#include <span>

namespace loyalsim::engine {

// Regularized incomplete beta I_x(a, b), by Lentz's continued fraction.
double incomplete_beta(double a, double b, double x);

// Student-t CDF with `df` > 0 degrees of freedom.
double student_t_cdf(double t, double df);

// Quantile of Student's t: the t with P(T <= t) = p, solved to ~1e-12.
double student_t_quantile(double p, double df);

struct Interval {
  double mean = 0.0;
  double low = 0.0;   // NaN with fewer than two values
  double high = 0.0;  // NaN with fewer than two values
};

// Mean and two-sided `level` Student-t interval of the values (sample sd,
// n-1 degrees of freedom). Sums run in index order: the result depends on the
// values only, never on how they were computed.
Interval mean_interval(std::span<const double> values, double level = 0.95);

}  // namespace loyalsim::engine
