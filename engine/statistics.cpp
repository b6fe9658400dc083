#include "engine/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace loyalsim::engine {

namespace {
// Continued fraction for I_x(a,b) (Numerical Recipes §6.4, modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0, d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) break;
  }
  return h;
}
}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  // The fraction converges fast for x < (a+1)/(a+b+2); use symmetry otherwise.
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  const double x = df / (df + t * t);
  const double tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x);
  return t >= 0.0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  if (!(p > 0.0 && p < 1.0) || !(df > 0.0)) throw std::domain_error("student_t_quantile: bad argument");
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -student_t_quantile(1.0 - p, df);
  // Bracket, then bisect: robust for every df, and fast enough (called once per summary).
  double lo = 0.0, hi = 1.0;
  while (student_t_cdf(hi, df) < p) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_cdf(mid, df) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Interval mean_interval(std::span<const double> values, double level) {
  const std::size_t n = values.size();
  Interval out;
  if (n == 0) {
    out.mean = out.low = out.high = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(n);
  if (n < 2) {
    out.low = out.high = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  double ss = 0.0;
  for (double v : values) ss += (v - out.mean) * (v - out.mean);
  const double se = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
  const double t = student_t_quantile(0.5 + 0.5 * level, static_cast<double>(n - 1));
  out.low = out.mean - t * se;
  out.high = out.mean + t * se;
  return out;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty() || std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); }))
    return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double h = static_cast<double>(values.size() - 1) * q;
  const auto below = static_cast<std::size_t>(std::floor(h));
  if (below + 1 >= values.size()) return values.back();
  // numpy's form of the interpolation, so that both give the same double.
  const double lo = values[below], hi = values[below + 1], frac = h - static_cast<double>(below);
  return frac >= 0.5 ? hi - (hi - lo) * (1.0 - frac) : lo + (hi - lo) * frac;
}

namespace {

double sample_variance(const std::vector<double>& v) {
  if (v.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0, ss = 0.0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}

}  // namespace

CrossedTable crossed_table(std::span<const double> x, std::size_t rows, std::size_t columns) {
  CrossedTable t;
  if (rows == 0 || columns == 0 || x.size() != rows * columns) return t;
  std::vector<double> row_mean(rows, 0.0), column_mean(columns, 0.0);
  double sum = 0.0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t r = 0; r < columns; ++r) {
      const double v = x[i * columns + r];
      row_mean[i] += v;
      column_mean[r] += v;
      sum += v;
    }
  t.mean = sum / static_cast<double>(rows * columns);
  for (double& m : row_mean) m /= static_cast<double>(columns);
  for (double& m : column_mean) m /= static_cast<double>(rows);
  t.between_rows = sample_variance(row_mean);
  t.between_columns = sample_variance(column_mean);
  if (columns >= 2) {
    double within_sum = 0.0, residual_ss = 0.0;
    for (std::size_t i = 0; i < rows; ++i) {
      double ss = 0.0;
      for (std::size_t r = 0; r < columns; ++r) {
        const double v = x[i * columns + r];
        ss += (v - row_mean[i]) * (v - row_mean[i]);
        const double e = v - row_mean[i] - column_mean[r] + t.mean;
        residual_ss += e * e;
      }
      within_sum += ss / static_cast<double>(columns - 1);
    }
    t.within_rows = within_sum / static_cast<double>(rows);
    if (rows >= 2) t.residual = residual_ss / static_cast<double>((rows - 1) * (columns - 1));
  }
  if (rows >= 2) {
    const double by_row = t.between_rows / static_cast<double>(rows);
    double v = by_row;
    if (columns >= 2) {
      const double by_column = t.between_columns / static_cast<double>(columns);
      v = std::max({by_row + by_column - t.residual / static_cast<double>(rows * columns), by_row, by_column});
    }
    t.standard_error = std::sqrt(v);
  }
  return t;
}

}  // namespace loyalsim::engine
