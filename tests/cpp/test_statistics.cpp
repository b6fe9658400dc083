// Student-t quantiles and intervals, against published table values and
// against their own coverage; quantiles and the draws x replications table
// against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/random.hpp"
#include "engine/statistics.hpp"

using namespace loyalsim::engine;

TEST(Statistics, StudentTQuantilesMatchTables) {
  // Two-sided 95% critical values t_{0.975, df} (any statistics table).
  const std::vector<std::pair<double, double>> table = {
      {1, 12.706204736}, {2, 4.302652730}, {4, 2.776445105}, {9, 2.262157163},
      {29, 2.045229642}, {100, 1.983971519}};
  for (const auto& [df, t] : table) EXPECT_NEAR(student_t_quantile(0.975, df), t, 1e-8) << "df " << df;
  EXPECT_NEAR(student_t_quantile(0.5, 7), 0.0, 1e-12);
  EXPECT_NEAR(student_t_quantile(0.025, 29), -2.045229642, 1e-8);
  EXPECT_NEAR(student_t_cdf(2.045229642, 29), 0.975, 1e-9);
}

TEST(Statistics, InverseNormalMatchesTheCdf) {
  for (double p : {1e-300, 1e-12, 1e-4, 0.025, 0.3, 0.5, 0.7, 0.975, 1 - 1e-10}) {
    const double x = inverse_normal_cdf(p);
    EXPECT_NEAR(normal_cdf(x), p, 1e-14 + 1e-12 * p) << p;
  }
  EXPECT_NEAR(inverse_normal_cdf(0.975), 1.959963984540054, 1e-14);
}

TEST(Statistics, IntervalOfKnownValues) {
  const std::vector<double> v = {1, 2, 3, 4, 5};
  const auto iv = mean_interval(v);
  // mean 3, sd sqrt(2.5), half-width t_{0.975,4} * sd / sqrt(5).
  const double half = 2.776445105 * std::sqrt(2.5) / std::sqrt(5.0);
  EXPECT_DOUBLE_EQ(iv.mean, 3.0);
  EXPECT_NEAR(iv.low, 3 - half, 1e-8);
  EXPECT_NEAR(iv.high, 3 + half, 1e-8);
  const auto one = mean_interval(std::vector<double>{7.0});
  EXPECT_EQ(one.mean, 7.0);
  EXPECT_TRUE(std::isnan(one.low) && std::isnan(one.high));
}

// Coverage: 4000 intervals of 5 normal values each contain the true mean with
// probability 0.95; the count is Binomial(4000, 0.95), sd = sqrt(4000*.95*.05)
// = 13.8, and 4.5 sd = 62 is the tolerance. A z instead of t (too narrow at
// df = 4) would cover only ~88%: 3520, far outside.
TEST(Statistics, IntervalsCoverTheMeanAtTheirLevel) {
  const RandomStream rng(12345, 0, 0, 1);
  constexpr int kIntervals = 4000, kSize = 5;
  int covered = 0;
  std::vector<double> v(kSize);
  for (int i = 0; i < kIntervals; ++i) {
    for (int j = 0; j < kSize; ++j) v[j] = 10.0 + 2.0 * inverse_normal_cdf(rng.uniform(i, j));
    const auto iv = mean_interval(v);
    covered += iv.low <= 10.0 && 10.0 <= iv.high;
  }
  EXPECT_NEAR(covered, 0.95 * kIntervals, 4.5 * std::sqrt(kIntervals * 0.95 * 0.05));
}

// Linear interpolation between order statistics at (n - 1) q (numpy's default):
// for 1..5 (shuffled) the 2.5% quantile is at 0.1 (1.1), the 97.5% at 3.9 (4.9).
TEST(Statistics, QuantilesInterpolateBetweenOrderStatistics) {
  const std::vector<double> v = {4, 1, 5, 3, 2};
  EXPECT_DOUBLE_EQ(quantile(v, 0.025), 1.1);
  EXPECT_DOUBLE_EQ(quantile(v, 0.975), 4.9);
  EXPECT_EQ(quantile(v, 0.5), 3.0);
  EXPECT_EQ(quantile(v, 0.0), 1.0);
  EXPECT_EQ(quantile(v, 1.0), 5.0);
  EXPECT_EQ(quantile({7.0}, 0.025), 7.0);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
  EXPECT_TRUE(std::isnan(quantile({1.0, NAN}, 0.5)));
}

// Rows (1, 2), (3, 4), (5, 9): row means 1.5, 3.5, 7 (variance 7.75); within-row
// variances 0.5, 0.5, 8 (mean 3); column means 3, 5 (variance 2); residuals
// ±0.5, ±0.5, ∓1 (sum of squares 3 over (3 - 1)(2 - 1) = 2 df: 1.5); the
// clustered variance 7.75/3 + 2/2 - 1.5/6 = 10/3.
TEST(Statistics, ACrossedTableSplitsRowsColumnsAndResidual) {
  const std::vector<double> x = {1, 2, 3, 4, 5, 9};
  const CrossedTable t = crossed_table(x, 3, 2);
  EXPECT_DOUBLE_EQ(t.mean, 4.0);
  EXPECT_DOUBLE_EQ(t.between_rows, 7.75);
  EXPECT_DOUBLE_EQ(t.within_rows, 3.0);
  EXPECT_DOUBLE_EQ(t.between_columns, 2.0);
  EXPECT_DOUBLE_EQ(t.residual, 1.5);
  EXPECT_DOUBLE_EQ(t.standard_error, std::sqrt(10.0 / 3.0));
  // A column effect alone (every row the same): no residual; the s.e. is the columns' term.
  const CrossedTable seeds = crossed_table(std::vector<double>{1, 3, 1, 3, 1, 3}, 3, 2);
  EXPECT_DOUBLE_EQ(seeds.between_rows, 0.0);
  EXPECT_DOUBLE_EQ(seeds.residual, 0.0);
  EXPECT_DOUBLE_EQ(seeds.standard_error, 1.0);  // sqrt(2 / 2)
  // One replication: no within-row or residual variance; the s.e. is over rows alone.
  const CrossedTable one = crossed_table(std::vector<double>{1, 2, 6}, 3, 1);
  EXPECT_TRUE(std::isnan(one.within_rows) && std::isnan(one.residual));
  EXPECT_DOUBLE_EQ(one.standard_error, std::sqrt(7.0 / 3.0));  // variance of 1, 2, 6 is 7
  EXPECT_TRUE(std::isnan(crossed_table(std::vector<double>{1, 2}, 1, 2).standard_error));
}

// x = a_i + b_r + e_ir with a ~ N(0, τ² = 1) per row, b ~ N(0, 4) per column
// shared by every row (the seeds of a posterior sweep), e ~ N(0, σ² = 2.25):
// the row means do not spread with b, so between_rows estimates τ² + σ²/R and
// between_rows - residual / R the parameters' τ². Normal theory, D = 2000,
// R = 8: the residual is σ² χ²_k / k, k = (D - 1)(R - 1), and between_rows
// (τ² + σ²/R) χ²_{D-1} / (D - 1), independent; each bound is 4 sd. Given the
// realised b, within_rows is s²(b) + σ² up to a χ²_{D(R-1)} and a
// cov(b, e) term, whose sds are in its bound.
TEST(Statistics, ACrossedTableEstimatesItsRandomEffects) {
  constexpr std::size_t D = 2000, R = 8;
  constexpr double tau2 = 1.0, sigma2 = 2.25, shared_sd = 2.0, Z = 4.0;
  const RandomStream a(41, 0, 0, 1), b(41, 0, 0, 2), e(41, 0, 0, 3);
  std::vector<double> column(R), x(D * R);
  for (std::size_t r = 0; r < R; ++r) column[r] = shared_sd * inverse_normal_cdf(b.uniform(r));
  for (std::size_t i = 0; i < D; ++i) {
    const double row = std::sqrt(tau2) * inverse_normal_cdf(a.uniform(i));
    for (std::size_t r = 0; r < R; ++r) x[i * R + r] = row + column[r] + std::sqrt(sigma2) * inverse_normal_cdf(e.uniform(i, r));
  }
  const CrossedTable t = crossed_table(x, D, R);
  const double k = (D - 1.0) * (R - 1.0), spread = tau2 + sigma2 / R;
  EXPECT_NEAR(t.residual, sigma2, Z * sigma2 * std::sqrt(2 / k));
  EXPECT_NEAR(t.between_rows, spread, Z * spread * std::sqrt(2 / (D - 1.0)));
  const double split_sd = std::sqrt(2 * spread * spread / (D - 1.0) + 2 * (sigma2 / R) * (sigma2 / R) / k);
  EXPECT_NEAR(t.between_rows - t.residual / R, tau2, Z * split_sd);
  double column_mean = 0, s2 = 0;
  for (double c : column) column_mean += c / R;
  for (double c : column) s2 += (c - column_mean) * (c - column_mean) / (R - 1.0);
  const double within_sd = std::sqrt(2 * sigma2 * sigma2 / (D * (R - 1.0)) + 4 * s2 * sigma2 / (D * (R - 1.0)));
  EXPECT_NEAR(t.within_rows, s2 + sigma2, Z * within_sd);
  // The shared columns are in within_rows but not in between_rows: taking
  // within_rows / R off instead of residual / R misses τ² by s²(b) / R (0.51
  // here), outside the bound above.
  EXPECT_GT(std::abs(t.between_rows - t.within_rows / R - tau2), Z * split_sd);
}
