// Experimental designs: the Latin hypercube's strata, the random design's
// uniformity, the Sobol' sequence against published values and its
// stratification, the Saltelli layout and full-factorial grids.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <vector>

#include "engine/designs.hpp"

using namespace loyalsim::engine;

namespace {

// floor(x * 2^m) of each of the first `n` entries of a column.
std::vector<std::uint64_t> cells(const Eigen::MatrixXd& x, Eigen::Index col, Eigen::Index n, double scale) {
  std::vector<std::uint64_t> c;
  for (Eigen::Index i = 0; i < n; ++i) c.push_back(static_cast<std::uint64_t>(std::floor(x(i, col) * scale)));
  return c;
}

}  // namespace

TEST(Designs, LatinHypercubeHitsEveryStratumOnce) {
  const std::size_t n = 100, k = 5;
  const Eigen::MatrixXd x = design::latin_hypercube(n, k, 12345);
  ASSERT_EQ(x.rows(), 100);
  ASSERT_EQ(x.cols(), 5);
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    std::vector<int> hits(n, 0);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      ASSERT_GT(x(r, c), 0.0);
      ASSERT_LT(x(r, c), 1.0);
      ++hits[static_cast<std::size_t>(std::floor(x(r, c) * static_cast<double>(n)))];
    }
    for (std::size_t s = 0; s < n; ++s) EXPECT_EQ(hits[s], 1) << "column " << c << " stratum " << s;
  }
  // Columns are independent permutations, not one permutation repeated.
  const auto c0 = cells(x, 0, x.rows(), 100.0), c1 = cells(x, 1, x.rows(), 100.0);
  EXPECT_NE(c0, c1);
  // One point: a single stratum, still strictly inside (0, 1).
  const Eigen::MatrixXd one = design::latin_hypercube(1, 3, 1);
  for (Eigen::Index c = 0; c < 3; ++c) EXPECT_TRUE(one(0, c) > 0.0 && one(0, c) < 1.0);
}

TEST(Designs, LatinHypercubeIsDeterministicInTheSeed) {
  const Eigen::MatrixXd a = design::latin_hypercube(64, 4, 7);
  EXPECT_EQ(a, design::latin_hypercube(64, 4, 7));
  EXPECT_NE(a, design::latin_hypercube(64, 4, 8));
}

TEST(Designs, RandomUniformIsUniformAndDeterministic) {
  const std::size_t n = 4096, k = 4;
  const Eigen::MatrixXd x = design::random_uniform(n, k, 2024);
  EXPECT_TRUE((x.array() > 0.0).all() && (x.array() < 1.0).all());
  // The mean of n iid U(0,1) has sd sqrt(1/12/n) (CLT); 5 sd is a bound a
  // correct generator misses with probability ~6e-7 per column.
  const double bound = 5.0 * std::sqrt(1.0 / 12.0 / static_cast<double>(n));
  for (Eigen::Index c = 0; c < x.cols(); ++c) EXPECT_NEAR(x.col(c).mean(), 0.5, bound) << "column " << c;
  EXPECT_EQ(x, design::random_uniform(n, k, 2024));
  EXPECT_NE(x, design::random_uniform(n, k, 2025));
  EXPECT_NE(x.col(0), x.col(1));
}

TEST(Designs, SobolMatchesPublishedJoeKuoPoints) {
  // The first 16 points of dimensions 1..5, times 16, in Gray-code order as
  // Joe & Kuo's sobol.cc prints them (and scipy.stats.qmc.Sobol(scramble=
  // False)). By hand, with direction numbers v_1..v_4 in 16ths:
  //   dim 1 (van der Corput):        8, 4, 2, 1
  //   dim 2 (s=1 a=0 m=1):           8, 12, 10, 15  (v_k = v_{k-1} ^ v_{k-1}>>1)
  //   dim 3 (s=2 a=1 m=1,3):         8, 12, 6, 9
  //   dim 4 (s=3 a=1 m=1,3,1):       8, 12, 2, 5
  //   dim 5 (s=3 a=2 m=1,1,1):       8, 4, 2, 11
  // and x_i = x_{i-1} ^ v_c, c = 1 + (number of trailing ones of i-1).
  const int expected[5][16] = {
      {0, 8, 12, 4, 6, 14, 10, 2, 3, 11, 15, 7, 5, 13, 9, 1},
      {0, 8, 4, 12, 6, 14, 2, 10, 5, 13, 1, 9, 3, 11, 7, 15},
      {0, 8, 4, 12, 10, 2, 14, 6, 15, 7, 11, 3, 5, 13, 1, 9},
      {0, 8, 4, 12, 14, 6, 10, 2, 7, 15, 3, 11, 9, 1, 13, 5},
      {0, 8, 12, 4, 6, 14, 10, 2, 9, 1, 5, 13, 15, 7, 3, 11},
  };
  const Eigen::MatrixXd s = design::sobol(16, 5);
  for (int d = 0; d < 5; ++d)
    for (int i = 0; i < 16; ++i) EXPECT_EQ(s(i, d), expected[d][i] / 16.0) << "dim " << d + 1 << " point " << i;
  // A longer prefix is the same sequence continued.
  const Eigen::MatrixXd longer = design::sobol(1000, 7);
  EXPECT_EQ(longer.topLeftCorner(16, 5), s);
}

TEST(Designs, SobolMatchesScipyInEveryTabulatedDimension) {
  // Points 682 and 1000 of all 128 dimensions, times 1024 (the first 1024
  // points use 10 bits), from scipy.stats.qmc.Sobol(128, scramble=False)
  // (scipy 1.10, Joe-Kuo new-joe-kuo-6.21201 direction numbers, Gray-code
  // order). Point 682 has Gray code 1111111111b, so it is the XOR of v_1..v_10
  // and depends on every m_i and a of a row: a typo anywhere in the table
  // (which the stratification test below cannot see) changes it.
  const int p682[128] = {
      1023, 261, 749, 451, 921, 263, 753, 303, 735, 669, 333, 275, 239, 987, 677, 753, 459, 411, 237, 429, 557, 29,
      583,  499, 23,  135, 59,  989, 723, 359, 425, 731, 185, 877, 311, 215, 67,  637, 645, 293, 113, 995, 745, 633,
      619,  409, 23,  39,  437, 857, 571, 659, 737, 419, 599, 227, 675, 883, 795, 51,  255, 315, 615, 607, 659, 255,
      623,  287, 303, 231, 311, 203, 499, 519, 755, 195, 325, 245, 565, 77,  397, 509, 325, 381, 317, 725, 5,   813,
      357,  313, 953, 873, 569, 337, 497, 945, 561, 817, 161, 737, 385, 97,  509, 937, 909, 199, 855, 783, 767, 3,
      481,  301, 81,  867, 647, 775, 913, 473, 643, 979, 299, 137, 423, 677, 11,  37,  703, 187};
  const int p1000[128] = {
      225, 99,  531, 693, 287, 929, 47,  921, 513,  71,  87,  261, 165, 393, 147, 379, 737, 353, 1015, 743, 535, 563,
      973, 553, 597, 929, 41,  1003, 61, 349, 151,  149, 303, 607, 821, 789, 869, 851, 315, 491, 935,  261, 983, 719,
      861, 95,  893, 941, 1023, 491, 361, 529, 771, 449, 129, 913, 465, 81,  905, 585, 457, 617, 265,  457, 133, 509,
      573, 61,  197, 877, 157,  261, 933, 245, 189, 917, 543, 547, 867, 123, 111, 755, 951, 767, 351,  1007, 963, 491,
      599, 723, 787, 547, 7,    615, 375, 887, 247, 783, 835, 191, 787, 555, 903, 567, 791, 65,  773,  693, 201, 105,
      991, 815, 963, 629, 97,   885, 135, 163, 37,  621, 261, 795, 509, 563, 465, 691, 173, 557};
  const Eigen::MatrixXd s = design::sobol(1024, design::kSobolMaxDims);
  for (Eigen::Index d = 0; d < 128; ++d) {
    EXPECT_EQ(s(682, d) * 1024, p682[d]) << "dim " << d + 1;
    EXPECT_EQ(s(1000, d) * 1024, p1000[d]) << "dim " << d + 1;
  }
}

TEST(Designs, SobolPrefixesAreStratified) {
  // Every dimension's generator matrix is non-singular, so the first 2^m
  // points have exactly one point in each [a/2^m, (a+1)/2^m), for every
  // tabulated dimension (a wrong direction number breaks this).
  const Eigen::MatrixXd s = design::sobol(1024, design::kSobolMaxDims);
  for (int m = 0; m <= 10; ++m) {
    const Eigen::Index n = Eigen::Index{1} << m;
    for (Eigen::Index c = 0; c < s.cols(); ++c) {
      const auto cell = cells(s, c, n, static_cast<double>(n));
      ASSERT_EQ(std::set<std::uint64_t>(cell.begin(), cell.end()).size(), static_cast<std::size_t>(n))
          << "dim " << c + 1 << ", 2^" << m << " points";
    }
  }
  // Dimensions 1 and 2 form a (0,2)-sequence: every elementary box
  // [a/2^p, (a+1)/2^p) x [b/2^q, (b+1)/2^q) with p + q = m holds exactly one of
  // the first 2^m points.
  for (int m = 0; m <= 10; ++m) {
    const Eigen::Index n = Eigen::Index{1} << m;
    for (int p = 0; p <= m; ++p) {
      std::set<std::pair<std::uint64_t, std::uint64_t>> boxes;
      const auto a = cells(s, 0, n, std::ldexp(1.0, p)), b = cells(s, 1, n, std::ldexp(1.0, m - p));
      for (Eigen::Index i = 0; i < n; ++i) boxes.insert({a[static_cast<std::size_t>(i)], b[static_cast<std::size_t>(i)]});
      EXPECT_EQ(boxes.size(), static_cast<std::size_t>(n)) << "m " << m << " p " << p;
    }
  }
}

TEST(Designs, SobolRefusesWhatItCannotGenerate) {
  EXPECT_NO_THROW(design::sobol(4, design::kSobolMaxDims));
  EXPECT_THROW(design::sobol(4, design::kSobolMaxDims + 1), std::invalid_argument);
  // Checked before allocating 2^32 rows.
  EXPECT_THROW(design::sobol(std::size_t{1} << 32, 1), std::invalid_argument);
  EXPECT_EQ(design::sobol(0, 3).rows(), 0);
}

TEST(Designs, SaltelliRowsAreInterleavedAsDocumented) {
  const std::size_t n = 8, k = 3;
  const Eigen::MatrixXd s = design::sobol(n + 1, 2 * k).bottomRows(n);  // the origin is skipped
  const Eigen::MatrixXd x = design::saltelli(n, k);
  ASSERT_EQ(x.rows(), static_cast<Eigen::Index>(n * (k + 2)));
  ASSERT_EQ(x.cols(), static_cast<Eigen::Index>(k));
  const auto K = static_cast<Eigen::Index>(k);
  for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(n); ++j) {
    const Eigen::RowVectorXd a = s.row(j).head(K), b = s.row(j).tail(K);
    EXPECT_EQ(x.row(j * (K + 2)), a) << "A_" << j;
    EXPECT_EQ(x.row(j * (K + 2) + 1), b) << "B_" << j;
    for (Eigen::Index i = 0; i < K; ++i) {
      Eigen::RowVectorXd ab = a;
      ab(i) = b(i);
      EXPECT_EQ(x.row(j * (K + 2) + 2 + i), ab) << "AB^(" << i << ")_" << j;
    }
  }
  EXPECT_THROW(design::saltelli(8, 0), std::invalid_argument);
  EXPECT_NO_THROW(design::saltelli(2, design::kSobolMaxDims / 2));
  EXPECT_THROW(design::saltelli(2, design::kSobolMaxDims / 2 + 1), std::invalid_argument);
}

TEST(Designs, GridIsTheFullFactorialLastDimensionFastest) {
  const auto g = design::grid_indices({3, 2, 4});
  ASSERT_EQ(g.size(), 24u);
  std::size_t p = 0;
  for (std::uint32_t a = 0; a < 3; ++a)
    for (std::uint32_t b = 0; b < 2; ++b)
      for (std::uint32_t c = 0; c < 4; ++c, ++p) EXPECT_EQ(g[p], (std::vector<std::uint32_t>{a, b, c})) << p;
  EXPECT_EQ(design::grid_indices({5}).size(), 5u);
  EXPECT_EQ(design::grid_indices({}), (std::vector<std::vector<std::uint32_t>>{{}}));
  EXPECT_THROW(design::grid_indices({3, 0, 2}), std::invalid_argument);
  // 2^16 * 2^16 * 2 = 2^33 points: refused before anything is allocated.
  EXPECT_THROW(design::grid_indices({65536, 65536, 2}), std::invalid_argument);
}

TEST(Designs, GridLevelsSpanTheUnitInterval) {
  EXPECT_EQ(design::grid_levels(1), (std::vector<double>{0.5}));
  EXPECT_EQ(design::grid_levels(2), (std::vector<double>{0.0, 1.0}));
  EXPECT_EQ(design::grid_levels(5), (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));
  const auto seven = design::grid_levels(7);
  EXPECT_EQ(seven.front(), 0.0);
  EXPECT_EQ(seven.back(), 1.0);
  EXPECT_THROW(design::grid_levels(0), std::invalid_argument);
}
