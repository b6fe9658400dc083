// Summaries over Monte Carlo replications: means and Student-t intervals;
// quantiles; tables of draws by replications sharing their random numbers.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <vector>

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

// The q-quantile (0 <= q <= 1) by linear interpolation between the order
// statistics at (n - 1) q from the smallest (Hyndman & Fan's type 7, numpy's
// default), so the engine and the Python package agree. NaN for no values or
// any NaN among them.
double quantile(std::vector<double> values, double q);

// A table x[row * columns + column] of Monte Carlo outcomes whose rows are
// independent draws (of parameters, say) and whose columns are replications
// that use the same random numbers in every row (common random numbers), so
// that a column's noise is partly shared by all rows. Its two-way analysis of
// variance, with one value per cell:
//   x = mean + row effect + column effect + residual.
// Sums run in index order. NaN where a quantity needs two rows (or columns)
// and there are fewer.
struct CrossedTable {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double mean = kNaN;             // of every cell
  double between_rows = kNaN;     // variance over rows of the row means (ddof 1)
  double within_rows = kNaN;      // mean over rows of the variance over columns within the row (ddof 1)
  double between_columns = kNaN;  // variance over columns of the column means (ddof 1)
  double residual = kNaN;         // Σ (x − row mean − column mean + mean)² / ((rows − 1)(columns − 1))
  // The standard error of `mean` clustered both ways (Cameron, Gelbach and
  // Miller 2011): sqrt(between_rows / rows + between_columns / columns −
  // residual / (rows columns)), never below either one-way term (one column:
  // the rows' term alone). Under the random-effects model each term's
  // expectation makes the sum unbiased for Var(mean).
  double standard_error = kNaN;
};
CrossedTable crossed_table(std::span<const double> x, std::size_t rows, std::size_t columns);

}  // namespace loyalsim::engine
