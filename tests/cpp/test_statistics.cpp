// Student-t quantiles and intervals, against published table values and
// against their own coverage.
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
