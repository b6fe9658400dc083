// Sensitivity indices: Sobol' indices of the Ishigami function against their
// analytic values, the noise share against its expectation, SRC and PRCC on
// functions whose answer is known, and the bootstrap's promises (replications
// resampled and shared across points, determinism, thread independence).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "engine/designs.hpp"
#include "engine/random.hpp"
#include "engine/sensitivity.hpp"

using namespace loyalsim::engine;
using sensitivity::Estimate;

namespace {

constexpr double kPi = std::numbers::pi;

// Ishigami & Homma (1990): f = sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3.
constexpr double kA = 7.0, kB = 0.1;

double ishigami(const Eigen::Ref<const Eigen::RowVectorXd>& u) {
  const double x1 = -kPi + 2 * kPi * u(0), x2 = -kPi + 2 * kPi * u(1), x3 = -kPi + 2 * kPi * u(2);
  return std::sin(x1) + kA * std::sin(x2) * std::sin(x2) + kB * std::pow(x3, 4) * std::sin(x1);
}

// Its analytic variance decomposition (Saltelli et al., Global Sensitivity
// Analysis: The Primer, 2008, sec. 4.9): V1 = (1 + b pi^4/5)^2 / 2,
// V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50), V3 = V12 = V23 = V123 = 0.
struct IshigamiTruth {
  double s[3], st[3], variance;
};
IshigamiTruth ishigami_truth() {
  const double pi4 = std::pow(kPi, 4), pi8 = std::pow(kPi, 8);
  const double v1 = 0.5 * std::pow(1 + kB * pi4 / 5, 2), v2 = kA * kA / 8, v13 = kB * kB * pi8 * (1.0 / 18 - 1.0 / 50);
  const double v = v1 + v2 + v13;
  return {{v1 / v, v2 / v, 0.0}, {(v1 + v13) / v, v2 / v, v13 / v}, v};
}

std::vector<double> evaluate(const Eigen::MatrixXd& u, double (*f)(const Eigen::Ref<const Eigen::RowVectorXd>&)) {
  std::vector<double> y(static_cast<std::size_t>(u.rows()));
  for (Eigen::Index p = 0; p < u.rows(); ++p) y[static_cast<std::size_t>(p)] = f(u.row(p));
  return y;
}

// values[p * reps + r] = y[p] + sd * z_pr + shift[r], z standard normal.
std::vector<double> with_replications(const std::vector<double>& y, std::size_t reps, double sd,
                                      const std::vector<double>& shift = {}) {
  std::vector<double> v(y.size() * reps);
  for (std::size_t r = 0; r < reps; ++r) {
    const RandomStream rng(99, static_cast<std::uint32_t>(r), 0, 1);
    for (std::size_t p = 0; p < y.size(); ++p)
      v[p * reps + r] = y[p] + sd * inverse_normal_cdf(rng.uniform(static_cast<std::uint32_t>(p))) +
                        (shift.empty() ? 0.0 : shift[r]);
  }
  return v;
}

double sample_variance(const std::vector<double>& y) {
  double m = 0;
  for (double v : y) m += v;
  m /= static_cast<double>(y.size());
  double ss = 0;
  for (double v : y) ss += (v - m) * (v - m);
  return ss / static_cast<double>(y.size() - 1);
}

double sample_sd(const Eigen::VectorXd& v) {
  return std::sqrt((v.array() - v.mean()).square().sum() / static_cast<double>(v.size() - 1));
}

void expect_same(const std::vector<Estimate>& a, const std::vector<Estimate>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].value, b[i].value, tol) << what << " " << i;
    EXPECT_NEAR(a[i].low, b[i].low, tol) << what << " " << i;
    EXPECT_NEAR(a[i].high, b[i].high, tol) << what << " " << i;
  }
}

void expect_identical(const std::vector<Estimate>& a, const std::vector<Estimate>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].value, b[i].value) << i;
    EXPECT_EQ(a[i].low, b[i].low) << i;
    EXPECT_EQ(a[i].high, b[i].high) << i;
  }
}

// The partial rank correlation straight from its definition: residuals of
// rank(x_i) and rank(y) after least squares with an intercept on the other
// ranked columns, then their Pearson correlation. Inputs here have no ties.
double prcc_by_definition(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, Eigen::Index i) {
  auto ranks = [](const Eigen::VectorXd& v) {
    Eigen::VectorXd r(v.size());
    for (Eigen::Index a = 0; a < v.size(); ++a) r(a) = 1.0 + static_cast<double>((v.array() < v(a)).count());
    return r;
  };
  const Eigen::Index n = x.rows(), k = x.cols();
  Eigen::MatrixXd others(n, k);  // intercept + the k-1 other ranked columns
  others.col(0).setOnes();
  for (Eigen::Index c = 0, o = 1; c < k; ++c)
    if (c != i) others.col(o++) = ranks(x.col(c));
  auto residual = [&](const Eigen::VectorXd& v) -> Eigen::VectorXd {
    return v - others * others.colPivHouseholderQr().solve(v);
  };
  const Eigen::VectorXd rx = residual(ranks(x.col(i))), ry = residual(ranks(y));
  return rx.dot(ry) / std::sqrt(rx.squaredNorm() * ry.squaredNorm());  // residuals have mean 0
}

}  // namespace

TEST(Sensitivity, QuantileIsNumpyLinear) {
  // numpy.percentile(..., method="linear"): h = (n-1) q, interpolate.
  EXPECT_DOUBLE_EQ(sensitivity::quantile({1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(sensitivity::quantile({3, 1, 2}, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(sensitivity::quantile({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.975), 9.775);
  EXPECT_DOUBLE_EQ(sensitivity::quantile({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 0.025), 1.225);
  EXPECT_DOUBLE_EQ(sensitivity::quantile({5}, 0.3), 5.0);
  EXPECT_TRUE(std::isnan(sensitivity::quantile({}, 0.5)));
}

TEST(Sensitivity, NoiseShareOfAHandExample) {
  // Points (0, 2) and (10, 12): within-point variances 2 and 2 (ddof 1), so
  // the noise variance of a mean is 2/2 = 1; means 1 and 11 have sample
  // variance 50. Share 1/50.
  const std::vector<double> v = {0, 2, 10, 12};
  EXPECT_DOUBLE_EQ(sensitivity::noise_share(v, 2), 0.02);
  EXPECT_TRUE(std::isnan(sensitivity::noise_share(v, 1)));                  // one replication
  EXPECT_TRUE(std::isnan(sensitivity::noise_share(std::vector<double>{1, 2, 1, 2}, 2)));  // equal means
  EXPECT_DOUBLE_EQ(sensitivity::noise_share(std::vector<double>{1, 1, 5, 5}, 2), 0.0);  // no noise
}

TEST(Sensitivity, SobolEstimatorsOnAHandExample) {
  // Two Saltelli rows of one input, two replications each (means in
  // brackets): A = (1, 0), B = (3, 2), AB = (2, 4).
  //   V  = population variance of {1, 0, 3, 2} = 5/4, mean m = 3/2
  //   S  = mean((3 - m)(2 - 1), (2 - m)(4 - 0)) / V = 1.75 / 1.25 = 1.4
  //   ST = mean((1 - 2)^2, (0 - 4)^2) / (2 V) = 8.5 / 2.5 = 3.4
  // (not valid indices of any function; the point is the exact formulas).
  const std::vector<double> v = {0.5, 1.5, 2, 4, 2, 2,   // A_0 [1], B_0 [3], AB_0 [2]
                                 -1, 1, 1, 3, 3.5, 4.5};  // A_1 [0], B_1 [2], AB_1 [4]
  const auto s = sensitivity::sobol_indices(v, 2, 1, 0);
  EXPECT_EQ(s.rows, 2u);
  EXPECT_DOUBLE_EQ(s.variance, 1.25);
  EXPECT_DOUBLE_EQ(s.first[0].value, 1.4);
  EXPECT_DOUBLE_EQ(s.total[0].value, 3.4);
}

TEST(Sensitivity, IshigamiSobolIndicesMatchTheory) {
  const std::size_t n = std::size_t{1} << 13, k = 3;
  const Eigen::MatrixXd u = design::saltelli(n, k);
  const std::vector<double> y = evaluate(u, ishigami);
  const auto s = sensitivity::sobol_indices(y, 1, k, 1000, 42);
  const IshigamiTruth truth = ishigami_truth();
  EXPECT_NEAR(truth.s[0], 0.3139, 1e-4);  // the literature's rounded values
  EXPECT_NEAR(truth.st[2], 0.2437, 1e-4);
  EXPECT_EQ(s.rows, n);
  EXPECT_TRUE(std::isnan(s.noise_share));  // one replication: noise not measurable
  // V estimates the variance of f over the cube (QMC over 2N points).
  EXPECT_NEAR(s.variance, truth.variance, 0.02 * truth.variance);
  for (std::size_t i = 0; i < k; ++i) {
    for (const auto& [est, true_value, name] :
         {std::tuple{s.first[i], truth.s[i], "S"}, std::tuple{s.total[i], truth.st[i], "ST"}}) {
      // Point estimates: with iid points the sd of these estimators at
      // N = 8192 would be about 0.015 at most (the bootstrap, which treats
      // rows as iid, says so); Sobol' points do much better (quasi-Monte
      // Carlo error ~1/N: here about 0.001), so 0.03 holds with a wide margin
      // yet fails for a wrong estimator formula.
      EXPECT_NEAR(est.value, true_value, 0.03) << name << i + 1;
      // A 95% interval misses with probability 5% by design; asking six to
      // hold at once would fail for ~26% of seeds. Widening each side by half
      // the interval's width (so about +-3.9 sd) makes a miss ~1e-4 per index,
      // while an interval that is wrongly placed or too narrow still fails.
      // (Treating the Sobol' rows as iid overstates their error, so the
      // nominal interval is if anything conservative.)
      const double slack = 0.5 * (est.high - est.low);
      EXPECT_LE(est.low - slack, true_value) << name << i + 1;
      EXPECT_GE(est.high + slack, true_value) << name << i + 1;
      // And the interval must be informative: a broken bootstrap that gave
      // huge intervals would pass the check above. iid theory puts the 95%
      // width at ~4 x 0.015 = 0.06 at most; 0.1 leaves room for that estimate.
      EXPECT_GT(est.high - est.low, 0.0) << name << i + 1;
      EXPECT_LT(est.high - est.low, 0.1) << name << i + 1;
    }
  }
}

TEST(Sensitivity, NoiseShareMatchesItsExpectation) {
  // Y_pr = f(x_p) + sigma z_pr with R replications. E[within-point variance /
  // R] = sigma^2/R exactly; the sample variance of the means has expectation
  // S_f^2 + sigma^2/R, S_f^2 being f's own sample variance over these points.
  // So the share is about (sigma^2/R) / (S_f^2 + sigma^2/R); sigma^2 is set
  // to make that about 1/2.
  const std::size_t n = 1024, k = 3, reps = 4;
  const Eigen::MatrixXd u = design::saltelli(n, k);
  const std::vector<double> f = evaluate(u, ishigami);
  const double sigma = std::sqrt(static_cast<double>(reps) * ishigami_truth().variance);
  const auto values = with_replications(f, reps, sigma);
  const double noise = sigma * sigma / static_cast<double>(reps);
  const double expected = noise / (sample_variance(f) + noise);
  // Sampling error, P = 5120 points: the numerator averages P chi-square
  // variances with 3 df (relative sd sqrt(2/(3P)) = 0.011); the denominator's
  // noise part has relative sd ~0.02 and the f-noise cross term ~0.03 of
  // sigma^2/R, i.e. ~0.017 of the denominator. Together ~0.021 relative,
  // 0.011 absolute at a share of 1/2; the bound is ~5 sd.
  const double share = sensitivity::noise_share(values, reps);
  EXPECT_NEAR(expected, 0.5, 0.05);
  EXPECT_NEAR(share, expected, 0.05);
  // The estimators report the same number.
  const auto s = sensitivity::sobol_indices(values, reps, k, 50, 1);
  EXPECT_EQ(s.noise_share, share);
}

TEST(Sensitivity, ConstantOutputGivesNaNIndices) {
  const std::vector<double> y(5 * 16, 3.0);
  const auto s = sensitivity::sobol_indices(y, 1, 3, 20);
  EXPECT_EQ(s.variance, 0.0);
  for (const auto& e : s.first) EXPECT_TRUE(std::isnan(e.value) && std::isnan(e.low) && std::isnan(e.high));
  for (const auto& e : s.total) EXPECT_TRUE(std::isnan(e.value));
}

TEST(Sensitivity, RejectsMalformedInput) {
  const std::vector<double> v(30, 1.0);
  EXPECT_THROW(sensitivity::sobol_indices(v, 1, 5), std::invalid_argument);  // 30 points: not rows of 7
  EXPECT_THROW(sensitivity::sobol_indices(v, 4, 3), std::invalid_argument);  // 30 values: not points of 4 reps
  EXPECT_THROW(sensitivity::sobol_indices(v, 1, 0), std::invalid_argument);
  EXPECT_THROW(sensitivity::sobol_indices(v, 1, 3, 10, 0, 1.0), std::invalid_argument);
  EXPECT_THROW(sensitivity::regression_indices(Eigen::MatrixXd::Zero(29, 2), v, 1), std::invalid_argument);
  EXPECT_THROW(sensitivity::noise_share(v, 0), std::invalid_argument);
}

TEST(Sensitivity, LinearModelSrcAndRSquared) {
  // y = 2 x1 - x2 + 0 x3, exactly linear: least squares recovers b exactly,
  // R^2 = 1, and SRC_i = b_i sd(x_i)/sd(y) with the sample sds (an identity).
  const std::size_t n = 512;
  const Eigen::MatrixXd x = design::latin_hypercube(n, 3, 7);
  const Eigen::VectorXd y = 2 * x.col(0) - x.col(1);
  const std::vector<double> values(y.data(), y.data() + y.size());
  const auto r = sensitivity::regression_indices(x, values, 1, 200, 3);
  EXPECT_NEAR(r.r_squared, 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(r.noise_share));
  const double b[3] = {2, -1, 0};
  for (Eigen::Index i = 0; i < 3; ++i)
    EXPECT_NEAR(r.src[static_cast<std::size_t>(i)].value, b[i] * sample_sd(x.col(i)) / sample_sd(y), 1e-10) << i;
  // Against the population values: x_i ~ U(0,1) has sd 1/sqrt(12), so
  // SRC = b_i / sqrt(2^2 + 1^2) = (2, -1, 0)/sqrt(5). The sample SRC depends
  // on the sample correlation rho of x1 and x2 (sd ~ 1/sqrt(n) = 0.044; the
  // LHS leaves it random): SRC1 = 2/sqrt(5 - 4 rho), SRC2 = -1/sqrt(5 - 4 rho),
  // whose slopes in rho are 0.36 and 0.18, so sds ~0.016 and ~0.008. Bounds
  // at 5 sd.
  EXPECT_NEAR(r.src[0].value, 2 / std::sqrt(5.0), 5 * 0.016);
  EXPECT_NEAR(r.src[1].value, -1 / std::sqrt(5.0), 5 * 0.008);
  EXPECT_NEAR(r.src[2].value, 0.0, 1e-10);
  // Every resample is exactly linear too, so x3's coefficient stays 0.
  EXPECT_NEAR(r.src[2].low, 0.0, 1e-10);
  EXPECT_NEAR(r.src[2].high, 0.0, 1e-10);
  EXPECT_LT(r.src[0].low, r.src[0].value);
  EXPECT_GT(r.src[0].high, r.src[0].value);
}

TEST(Sensitivity, PrccOfAMonotoneNonlinearFunction) {
  // y = exp(3 x1) + x2 is monotone in x1 and x2 and ignores x3.
  const std::size_t n = 512;
  const Eigen::MatrixXd x = design::latin_hypercube(n, 3, 11);
  const Eigen::VectorXd y = (3 * x.col(0)).array().exp().matrix() + x.col(1);
  const std::vector<double> values(y.data(), y.data() + y.size());
  const auto r = sensitivity::regression_indices(x, values, 1, 200, 5);
  EXPECT_GT(r.prcc[0].value, 0.9);
  EXPECT_GT(r.prcc[1].value, 0.0);
  // x3 is independent of (x1, x2) and y: its partial correlation is ~N(0,
  // 1/n), sd 0.044; 4 sd bound.
  EXPECT_NEAR(r.prcc[2].value, 0.0, 4 / std::sqrt(static_cast<double>(n)));
  // The implementation's shortcut (the inverse covariance of the ranks) must
  // equal the definition (residual correlation); both in double precision.
  for (Eigen::Index i = 0; i < 3; ++i)
    EXPECT_NEAR(r.prcc[static_cast<std::size_t>(i)].value, prcc_by_definition(x, y, i), 1e-10) << i;
}

TEST(Sensitivity, PrccUsesAverageRanksForTies) {
  // One input: the PRCC is Spearman's correlation. x = (1, 2, 2, 3) ranks to
  // (1, 2.5, 2.5, 4) and y = (1, 2, 3, 4): rho = 4.5 / sqrt(4.5 * 5) =
  // 3/sqrt(10) (scipy.stats.spearmanr agrees). Ordinal tie-breaking would
  // give 1.
  Eigen::MatrixXd x(4, 1);
  x << 1, 2, 2, 3;
  const std::vector<double> y = {1, 2, 3, 4};
  const auto r = sensitivity::regression_indices(x, y, 1, 0);
  EXPECT_NEAR(r.prcc[0].value, 3 / std::sqrt(10.0), 1e-12);
  EXPECT_TRUE(std::isnan(r.prcc[0].low));  // no resamples, no interval
}

TEST(Sensitivity, ConstantInputGivesNaNForItself) {
  const std::size_t n = 200;
  Eigen::MatrixXd x = design::latin_hypercube(n, 3, 13);
  const Eigen::VectorXd y = x.col(0) + 0.5 * x.col(1).array().square().matrix();
  x.col(2).setConstant(0.5);
  const std::vector<double> values(y.data(), y.data() + y.size());
  const auto r = sensitivity::regression_indices(x, values, 1, 100, 1);
  EXPECT_TRUE(std::isnan(r.src[2].value) && std::isnan(r.src[2].low) && std::isnan(r.src[2].high));
  EXPECT_TRUE(std::isnan(r.prcc[2].value) && std::isnan(r.prcc[2].low) && std::isnan(r.prcc[2].high));
  // The other inputs are analysed as if the constant column were not there.
  const auto without = sensitivity::regression_indices(x.leftCols(2), values, 1, 100, 1);
  expect_same({r.src[0], r.src[1]}, without.src, 1e-12, "SRC");
  expect_same({r.prcc[0], r.prcc[1]}, without.prcc, 1e-12, "PRCC");
  EXPECT_NEAR(r.r_squared, without.r_squared, 1e-12);
}

TEST(Sensitivity, BootstrapResamplesReplications) {
  // Replication r sees y = x1 (r even) or x2 (r odd): the mean is (x1+x2)/2,
  // but which input matters is itself Monte Carlo noise. A resample of 4
  // replications weighs x1 by w ~ Binomial(4, 1/2)/4, and SRC1 =
  // w/sqrt(w^2 + (1-w)^2): 0.32 at w = 1/4 (probability 5/16 for w <= 1/4),
  // 0.95 at w = 3/4. Resampling points alone would give an interval about
  // 0.707 +- 0.03.
  const std::size_t n = 256, reps = 4;
  const Eigen::MatrixXd x = design::latin_hypercube(n, 2, 17);
  std::vector<double> values(n * reps);
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t r = 0; r < reps; ++r) values[p * reps + r] = x(static_cast<Eigen::Index>(p), r % 2 == 0 ? 0 : 1);
  const auto s = sensitivity::regression_indices(x, values, reps, 400, 9);
  EXPECT_NEAR(s.src[0].value, 1 / std::sqrt(2.0), 0.05);
  EXPECT_LT(s.src[0].low, 0.5);
  EXPECT_GT(s.src[0].high, 0.9);
}

TEST(Sensitivity, BootstrapKeepsCommonRandomNumbers) {
  // Replication r of every point ran on the same random numbers; model that
  // as a shift c_r shared by all points. SRC, PRCC, R^2, V and the total
  // indices are invariant to adding one constant to every output, and with
  // one replication draw per resample each resample's shift is the same
  // constant for all its points. So the shifted data must give the same
  // estimates and intervals; independent draws per point would turn the
  // large shifts into noise and move everything.
  const std::size_t n = 256, k = 3, reps = 5;
  const std::vector<double> shift = {0, 100, -250, 40, 1000};
  {
    const Eigen::MatrixXd x = design::latin_hypercube(n, k, 19);
    std::vector<double> f(n);
    for (std::size_t p = 0; p < n; ++p) f[p] = ishigami(x.row(static_cast<Eigen::Index>(p)));
    const auto plain = sensitivity::regression_indices(x, with_replications(f, reps, 1.0), reps, 200, 4);
    const auto shifted = sensitivity::regression_indices(x, with_replications(f, reps, 1.0, shift), reps, 200, 4);
    // Shifts of ~1000 cost ~1e-13 relative in the means; 1e-9 is slack for that.
    expect_same(plain.src, shifted.src, 1e-9, "SRC");
    expect_same(plain.prcc, shifted.prcc, 1e-9, "PRCC");
    EXPECT_NEAR(plain.r_squared, shifted.r_squared, 1e-9);
  }
  {
    const Eigen::MatrixXd u = design::saltelli(n, k);
    const std::vector<double> f = evaluate(u, ishigami);
    const auto plain = sensitivity::sobol_indices(with_replications(f, reps, 1.0), reps, k, 200, 4);
    const auto shifted = sensitivity::sobol_indices(with_replications(f, reps, 1.0, shift), reps, k, 200, 4);
    expect_same(plain.total, shifted.total, 1e-9, "ST");
    EXPECT_NEAR(plain.variance, shifted.variance, 1e-9 * plain.variance);
  }
}

TEST(Sensitivity, DeterministicInTheSeedAndTheThreadCount) {
  const std::size_t n = 256, k = 3, reps = 3;
  const Eigen::MatrixXd u = design::saltelli(n, k);
  const auto values = with_replications(evaluate(u, ishigami), reps, 2.0);
  const Eigen::MatrixXd x = design::latin_hypercube(512, k, 23);
  std::vector<double> f(512);
  for (std::size_t p = 0; p < 512; ++p) f[p] = ishigami(x.row(static_cast<Eigen::Index>(p)));
  const auto rvalues = with_replications(f, reps, 2.0);

  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto s1 = sensitivity::sobol_indices(values, reps, k, 300, 8);
  const auto r1 = sensitivity::regression_indices(x, rvalues, reps, 300, 8);
  omp_set_num_threads(3);
  const auto s3 = sensitivity::sobol_indices(values, reps, k, 300, 8);
  const auto r3 = sensitivity::regression_indices(x, rvalues, reps, 300, 8);
  omp_set_num_threads(threads);
  // Bit for bit: same seed, any thread count.
  expect_identical(s1.first, s3.first);
  expect_identical(s1.total, s3.total);
  expect_identical(r1.src, r3.src);
  expect_identical(r1.prcc, r3.prcc);
  EXPECT_EQ(r1.r_squared, r3.r_squared);
  // Another seed: the same point estimates, other intervals.
  const auto other = sensitivity::sobol_indices(values, reps, k, 300, 9);
  EXPECT_EQ(other.first[0].value, s1.first[0].value);
  EXPECT_NE(other.first[0].low, s1.first[0].low);
  EXPECT_NE(other.total[0].high, s1.total[0].high);
}
