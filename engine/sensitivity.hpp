// Global sensitivity analysis of a Monte Carlo model: which inputs move the
// output, with bootstrap intervals that carry the Monte Carlo noise.
//
// Why replications are an input here: a stochastic model's output at a design
// point is itself an estimate. Averaging replications first and then treating
// the averages as exact would report noise as a parameter effect and give
// intervals that are too narrow. So every estimator takes all replications,
// uses their mean per point, and its bootstrap resamples points AND
// replications. The replication draw of a resample is shared by every point,
// because replication r of every point ran on the same random numbers
// (engine::RandomStream keys draws by replication): resampling replications
// independently per point would break those common random numbers.
//
// Layout of `values` everywhere: row-major, values[point * replications + rep];
// the point's output is Y_point = mean over its replications.
//
// Bootstrap draws come from engine::RandomStream(seed, b, 0,
// kBootstrapPurpose) for resample b: the resampled row t is
// below(rows, t, 0), the resampled replication r is below(replications, r, 1).
// Results are deterministic in the seed and do not depend on the thread count.
#pragma once

#include <Eigen/Dense>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loyalsim::engine::sensitivity {

// RandomStream purpose of the bootstrap draws (frozen: part of the counter).
inline constexpr std::uint32_t kBootstrapPurpose = 0xD010;

// A point estimate and its bootstrap percentile interval (by default 95%).
// low/high are NaN when no resample gives a finite value (or bootstrap = 0).
struct Estimate {
  double value = 0.0;
  double low = 0.0;
  double high = 0.0;
};

struct SobolIndices {
  std::vector<Estimate> first;  // S_i, first-order (Saltelli et al. 2010)
  std::vector<Estimate> total;  // ST_i, total-order (Jansen 1999)
  double variance = 0.0;        // V: population variance of the A and B outputs
  double noise_share = 0.0;     // see noise_share() below
  std::size_t rows = 0;         // N: Saltelli rows used
};

// First-order and total Sobol' indices from a Saltelli design laid out as
// engine::design::saltelli makes it: base_points * (dims + 2) points,
// point j*(dims+2) + m is A_j (m = 0), B_j (m = 1) or AB^(i)_j (m = 2 + i).
// With A_j, B_j, AB_ij the replication means and V the population variance
// (divide by 2N) of A and B together:
//   S_i  = mean_j( (B_j - m) (AB_ij - A_j) ) / V   (m: the mean of A and B; centring
//          keeps the expectation, E[AB_i - A] = 0, and removes the m (AB_i - A)
//          term whose variance swamps S_i when the outcome's mean is large)
//   ST_i = mean_j( (A_j - AB_ij)^2 ) / (2 V)
// Indices are NaN when V == 0. Throws std::invalid_argument unless values
// holds a whole number of Saltelli rows of whole replications.
SobolIndices sobol_indices(std::span<const double> values, std::size_t replications, std::size_t dims,
                           std::size_t bootstrap = 1000, std::uint64_t seed = 0, double confidence = 0.95);

struct RegressionIndices {
  std::vector<Estimate> src;   // standardised regression coefficients
  std::vector<Estimate> prcc;  // partial rank correlation coefficients
  double r_squared = 0.0;      // of the linear fit behind SRC
  double noise_share = 0.0;    // see noise_share() below
};

// Regression-based indices for any design; x is points x dims (parameter
// values, one row per point, the same order as `values`).
//   SRC_i  = b_i sd(x_i) / sd(Y), b from ordinary least squares of Y on x with
//            an intercept (sample sds); r_squared is that fit's R^2.
//   PRCC_i = correlation of the residuals of rank(x_i) and rank(Y), each
//            regressed (with an intercept) on the ranks of the other inputs;
//            average ranks for ties.
// A constant input column gives NaN for its own SRC and PRCC (the others are
// computed without it); a constant Y, or fewer than 3 points, gives NaN
// everywhere; collinear inputs give NaN SRCs (the coefficients are not
// identified), ranks with a singular covariance NaN PRCCs. Throws
// std::invalid_argument if x.rows() is not the number of points.
RegressionIndices regression_indices(const Eigen::MatrixXd& x, std::span<const double> values,
                                     std::size_t replications, std::size_t bootstrap = 1000,
                                     std::uint64_t seed = 0, double confidence = 0.95);

// The share of the point-to-point variance of Y that is Monte Carlo noise:
//   mean over points of (sample variance over replications / replications)
//   divided by the sample variance over points of Y_point (both ddof = 1).
// About 0 when replications agree, about 1 when the inputs change nothing;
// it can exceed 1 by chance. NaN with fewer than 2 replications or 2 points,
// or when Y_point is constant.
double noise_share(std::span<const double> values, std::size_t replications);

// The q-quantile (0 <= q <= 1) of a sample by linear interpolation between
// order statistics (numpy's default "linear" method): with the sorted sample
// x_0..x_{n-1}, h = (n-1) q, it is x_floor(h) + (h - floor(h)) (x_floor(h)+1 -
// x_floor(h)). NaN for an empty sample. The bootstrap intervals use it.
double quantile(std::vector<double> sample, double q);

}  // namespace loyalsim::engine::sensitivity
