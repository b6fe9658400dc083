// Engine building blocks the model relies on: the counter-based random stream
// (pure function of its key, uniform) and the small-world tie graph
// (undirected, no self-loops, no duplicates, the ring's degree, deterministic
// at any thread count). Statistical tolerances use z = 4.5 (two-sided ~7e-6)
// with fixed keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "engine/network.hpp"
#include "engine/random.hpp"

namespace {

using loyalsim::engine::RandomStream;
using loyalsim::engine::SmallWorldSpec;
using loyalsim::engine::TieGraph;

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

void expect_well_formed(const TieGraph& g) {
  std::uint64_t directed = 0;
  for (std::uint32_t n = 0; n < g.nodes(); ++n) {
    const auto s = g.strong(n), w = g.weak(n);
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_TRUE(std::is_sorted(w.begin(), w.end()));
    EXPECT_EQ(std::adjacent_find(s.begin(), s.end()), s.end()) << "duplicate strong tie at " << n;
    EXPECT_EQ(std::adjacent_find(w.begin(), w.end()), w.end()) << "duplicate weak tie at " << n;
    EXPECT_EQ(s.size() + w.size(), g.degree(n));
    directed += g.degree(n);
    for (auto v : s) {
      ASSERT_NE(v, n) << "self-loop";
      ASSERT_FALSE(std::binary_search(w.begin(), w.end(), v)) << "tie both strong and weak";
      const auto back = g.strong(v);
      ASSERT_TRUE(std::binary_search(back.begin(), back.end(), n)) << "strong tie not symmetric";
    }
    for (auto v : w) {
      ASSERT_NE(v, n) << "self-loop";
      const auto back = g.weak(v);
      ASSERT_TRUE(std::binary_search(back.begin(), back.end(), n)) << "weak tie not symmetric";
    }
  }
  EXPECT_EQ(directed, 2 * g.edges());
}

TEST(TieGraph, RingWithoutRewiringHasExactlyKStrongNeighbours) {
  SmallWorldSpec spec;
  spec.nodes = 20'000;
  spec.ring_neighbours = 6;
  spec.random_ties = 0;
  spec.rewire = 0.0;
  const TieGraph g = build_small_world(spec, RandomStream(5, 0, 0, 4), 2);
  expect_well_formed(g);
  for (std::uint32_t n = 0; n < g.nodes(); ++n) {
    ASSERT_EQ(g.strong(n).size(), 6u);
    ASSERT_EQ(g.weak(n).size(), 0u);
  }
  EXPECT_EQ(g.edges(), 20'000u * 3);
}

// With rewiring and random ties, every generated tie survives unless it is a
// self-loop or a duplicate. Those are rare: each rewired/random end is uniform
// over n nodes, so the expected number lost is below (ties)·(k + w + 1)/n ~ 1,
// and the total must be within a few percent of N (k + w)/2 while any missing
// class of ties (e.g. weak ties dropped) would remove a third or more.
TEST(TieGraph, RewiredSmallWorldIsWellFormedAndDeterministic) {
  SmallWorldSpec spec;
  spec.nodes = 50'000;
  spec.ring_neighbours = 8;
  spec.random_ties = 4;
  spec.rewire = 0.3;
  const RandomStream rng(11, 2, 0, 4);
  const TieGraph g1 = build_small_world(spec, rng, 1);
  expect_well_formed(g1);
  const double generated = spec.nodes * (8 + 4) / 2.0;
  EXPECT_LE(g1.edges(), generated);
  EXPECT_GT(g1.edges(), 0.99 * generated);
  double strong = 0;
  for (std::uint32_t n = 0; n < g1.nodes(); ++n) strong += g1.strong(n).size();
  EXPECT_NEAR(strong / 2, spec.nodes * 4.0, 0.01 * spec.nodes * 4.0);
  for (int threads : {2, 3}) {
    const TieGraph g = build_small_world(spec, rng, threads);
    ASSERT_EQ(g.nodes(), g1.nodes());
    ASSERT_EQ(g.edges(), g1.edges());
    for (std::uint32_t n = 0; n < g.nodes(); ++n) {
      ASSERT_TRUE(std::ranges::equal(g.strong(n), g1.strong(n)));
      ASSERT_TRUE(std::ranges::equal(g.weak(n), g1.weak(n)));
    }
  }
  // The rewired ring is not the plain ring: with rewire 0.3 a node keeps all 8
  // ring neighbours with probability ~0.7^8 (each of its 4 own edges and the 4
  // it receives survives w.p. 0.7), so most degrees move away from 8.
  std::uint32_t exactly_eight = 0;
  for (std::uint32_t n = 0; n < g1.nodes(); ++n) exactly_eight += g1.strong(n).size() == 8;
  EXPECT_LT(exactly_eight, 0.5 * spec.nodes);
}

}  // namespace
