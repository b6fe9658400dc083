// Engine building blocks the model relies on: the counter-based random stream
// (pure function of its key, uniform). The tie graph has its own tests
// (test_network.cpp). Statistical tolerances use z = 4.5 (two-sided ~7e-6)
// with fixed keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "engine/random.hpp"

namespace {

using loyalsim::engine::RandomStream;

constexpr double kZ = 4.5;

TEST(RandomStream, IsAPureFunctionOfItsKey) {
  const RandomStream a(42, 3, 7, 5), b(42, 3, 7, 5);
  for (std::uint32_t n = 0; n < 1000; ++n) {
    EXPECT_EQ(a.uniform(n), b.uniform(n));
    EXPECT_EQ(a.uniform(n, 2), b.uniform(n, 2));
  }
  // Any component of the key changes the draw (collision chance 2^-53 each).
  const double u = a.uniform(10);
  EXPECT_NE(u, RandomStream(43, 3, 7, 5).uniform(10));
  EXPECT_NE(u, RandomStream(42, 4, 7, 5).uniform(10));
  EXPECT_NE(u, RandomStream(42, 3, 8, 5).uniform(10));
  EXPECT_NE(u, RandomStream(42, 3, 7, 6).uniform(10));
  EXPECT_NE(u, a.uniform(11));
  EXPECT_NE(u, a.uniform(10, 1));
  // The high half of a 64-bit seed is part of the key.
  EXPECT_NE(RandomStream(1, 0, 0, 1).uniform(0), RandomStream(1 + (1ull << 32), 0, 0, 1).uniform(0));
}

// n uniforms: mean within kZ sqrt(1/12 / n) of 1/2; each of 10 bins holds
// Binomial(n, 1/10) within kZ sqrt(n 0.1 0.9); all strictly inside (0, 1).
TEST(RandomStream, UniformIsUniformOnTheOpenInterval) {
  const RandomStream r(7, 0, 1, 9);
  const std::uint32_t n = 1'000'000;
  std::array<double, 10> bins{};
  std::array<double, 10> below_bins{};
  double sum = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const double u = r.uniform(i);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    bins[static_cast<int>(u * 10)] += 1;
    const auto k = r.below(10, i);
    ASSERT_LT(k, 10u);
    below_bins[k] += 1;
  }
  EXPECT_NEAR(sum / n, 0.5, kZ * std::sqrt(1.0 / 12.0 / n));
  const double bin_sd = std::sqrt(n * 0.1 * 0.9);
  for (int b = 0; b < 10; ++b) {
    EXPECT_NEAR(bins[b], 0.1 * n, kZ * bin_sd) << "bin " << b;
    EXPECT_NEAR(below_bins[b], 0.1 * n, kZ * bin_sd) << "below bin " << b;
  }
}

}  // namespace
