// Sobol' and regression sensitivity indices with bootstrap intervals over
// points and replications (see sensitivity.hpp).
#include "engine/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "engine/random.hpp"

namespace loyalsim::engine::sensitivity {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A variance of values whose largest magnitude is `scale` counts as none when
// it is below the rounding of a 12-digit agreement: outcomes that differ only
// by the order of floating-point sums (a policy the parameters do not touch)
// have nothing to apportion. python/loyalsim/sensitivity.py uses the same rule.
bool negligible(double variance, double scale) {
  const double floor = 1e-12 * scale;
  return !(variance > floor * floor);
}
constexpr std::uint64_t kTwoTo32 = std::uint64_t{1} << 32;

// ---- input checks ----

std::size_t count_points(std::span<const double> values, std::size_t replications) {
  if (replications == 0) throw std::invalid_argument("sensitivity: at least one replication");
  if (values.size() % replications != 0)
    throw std::invalid_argument("sensitivity: " + std::to_string(values.size()) +
                                " values are not a whole number of points of " + std::to_string(replications) +
                                " replications");
  return values.size() / replications;
}

void check_bootstrap(std::size_t rows, std::size_t replications, std::size_t bootstrap, double confidence) {
  // Rows, replications and resamples become 32-bit Philox counter words.
  if (rows >= kTwoTo32 || replications >= kTwoTo32 || bootstrap >= kTwoTo32)
    throw std::invalid_argument("sensitivity: rows, replications and bootstrap resamples must be below 2^32");
  if (!(confidence > 0.0 && confidence < 1.0))
    throw std::invalid_argument("sensitivity: confidence must lie strictly between 0 and 1");
}

// ---- bootstrap machinery shared by both methods ----

// One bootstrap resample: which rows (Saltelli rows or points) it holds, and
// how often each replication was drawn. The replication draw is one per
// resample, shared by all points, to keep common random numbers.
struct Resample {
  std::vector<std::uint32_t> rows;
  std::vector<std::uint32_t> replication_counts;
};

Resample draw_resample(std::uint64_t seed, std::size_t b, std::size_t rows, std::size_t replications) {
  const RandomStream rng(seed, static_cast<std::uint32_t>(b), 0, kBootstrapPurpose);
  Resample r;
  r.rows.resize(rows);
  for (std::size_t t = 0; t < rows; ++t)
    r.rows[t] = rng.below(static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(t), 0);
  r.replication_counts.assign(replications, 0);
  for (std::size_t t = 0; t < replications; ++t)
    ++r.replication_counts[rng.below(static_cast<std::uint32_t>(replications), static_cast<std::uint32_t>(t), 1)];
  return r;
}

// Y_point for every point: the mean of the drawn replications, each weighted
// by how often it was drawn. With every count 1 this is the plain mean.
std::vector<double> point_means(std::span<const double> values, std::size_t replications,
                                const std::vector<std::uint32_t>& counts) {
  const std::size_t points = values.size() / replications;
  std::vector<double> y(points);
  for (std::size_t p = 0; p < points; ++p) {
    double s = 0.0;
    for (std::size_t r = 0; r < replications; ++r)
      if (counts[r] != 0) s += static_cast<double>(counts[r]) * values[p * replications + r];
    y[p] = s / static_cast<double>(replications);
  }
  return y;
}

std::vector<std::uint32_t> identity_rows(std::size_t n) {
  std::vector<std::uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::uint32_t{0});
  return rows;
}

// numpy's "linear" quantile of an already sorted sample (see quantile()).
double sorted_quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Point estimate plus percentile interval of the finite bootstrap replicates
// (a resample can make an index undefined, e.g. all drawn outputs equal; such
// resamples say nothing about the index and are left out).
Estimate interval(double value, std::vector<double> replicates, double confidence) {
  std::erase_if(replicates, [](double v) { return !std::isfinite(v); });
  std::sort(replicates.begin(), replicates.end());
  const double tail = (1.0 - confidence) / 2.0;
  return {value, sorted_quantile(replicates, tail), sorted_quantile(replicates, 1.0 - tail)};
}

// Runs `estimate(resample)` for b = 0..bootstrap-1 and returns, per resample,
// the vector it gave. Each resample writes only its own slot and draws its own
// counter-based random numbers, so the result is the same at any thread count.
template <class Estimator>
std::vector<std::vector<double>> run_bootstrap(std::size_t bootstrap, std::uint64_t seed, std::size_t rows,
                                               std::size_t replications, const Estimator& estimate) {
  std::vector<std::vector<double>> out(bootstrap);
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(bootstrap); ++b)
    out[static_cast<std::size_t>(b)] =
        estimate(draw_resample(seed, static_cast<std::size_t>(b), rows, replications));
  return out;
}

// Column `index` of the per-resample results.
std::vector<double> replicates_of(const std::vector<std::vector<double>>& boot, std::size_t index) {
  std::vector<double> v(boot.size());
  for (std::size_t b = 0; b < boot.size(); ++b) v[b] = boot[b][index];
  return v;
}

// ---- Sobol' indices ----

// First-order then total indices (2k numbers) of the Saltelli rows `rows`
// (with repetition) of the point means y, and V. Sums run in row order.
struct SaltelliEstimate {
  std::vector<double> indices;  // S_0..S_{k-1}, ST_0..ST_{k-1}
  double variance;
};

SaltelliEstimate saltelli_estimate(const std::vector<double>& y, const std::vector<std::uint32_t>& rows,
                                   std::size_t k) {
  const std::size_t group = k + 2;
  const double n = static_cast<double>(rows.size());
  auto a = [&](std::uint32_t j) { return y[j * group]; };
  auto b = [&](std::uint32_t j) { return y[j * group + 1]; };
  auto ab = [&](std::uint32_t j, std::size_t i) { return y[j * group + 2 + i]; };

  // V over A and B together (2N values), two-pass for accuracy.
  double sum = 0.0;
  for (const auto j : rows) sum += a(j) + b(j);
  const double mean = sum / (2.0 * n);
  double ss = 0.0;
  for (const auto j : rows) ss += (a(j) - mean) * (a(j) - mean) + (b(j) - mean) * (b(j) - mean);
  const double v = ss / (2.0 * n);

  SaltelliEstimate e{std::vector<double>(2 * k, kNaN), v};
  double scale = 0.0;
  for (const auto j : rows) scale = std::max({scale, std::abs(a(j)), std::abs(b(j))});
  if (negligible(v, scale)) return e;  // no variance: nothing to apportion
  for (std::size_t i = 0; i < k; ++i) {
    double first = 0.0, total = 0.0;
    for (const auto j : rows) {
      first += (b(j) - mean) * (ab(j, i) - a(j));    // Saltelli et al. (2010), centred
      total += (a(j) - ab(j, i)) * (a(j) - ab(j, i));  // Jansen (1999)
    }
    e.indices[i] = first / n / v;
    e.indices[k + i] = total / n / (2.0 * v);
  }
  return e;
}

// ---- regression indices ----

bool is_constant(const Eigen::Ref<const Eigen::VectorXd>& v) {
  return v.size() == 0 || v.maxCoeff() == v.minCoeff();
}

double sample_sd(const Eigen::Ref<const Eigen::VectorXd>& v) {
  const double mean = v.mean();
  return std::sqrt((v.array() - mean).square().sum() / static_cast<double>(v.size() - 1));
}

// Ranks 1..n, ties given the average of the ranks they span.
Eigen::VectorXd average_ranks(const Eigen::Ref<const Eigen::VectorXd>& v) {
  const auto n = static_cast<std::size_t>(v.size());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return v(static_cast<Eigen::Index>(i)) < v(static_cast<Eigen::Index>(j)); });
  Eigen::VectorXd rank(v.size());
  for (std::size_t lo = 0; lo < n;) {
    std::size_t hi = lo + 1;
    while (hi < n && v(static_cast<Eigen::Index>(order[hi])) == v(static_cast<Eigen::Index>(order[lo]))) ++hi;
    const double r = 0.5 * static_cast<double>(lo + 1 + hi);  // mean of ranks lo+1..hi
    for (std::size_t t = lo; t < hi; ++t) rank(static_cast<Eigen::Index>(order[t])) = r;
    lo = hi;
  }
  return rank;
}

Eigen::MatrixXd centred(const Eigen::MatrixXd& m) {
  return m.rowwise() - m.colwise().mean();
}

// m^T m as column dot products. Not Eigen's matrix product: that may
// run on several OpenMP threads with thread-dependent blocking, and results
// must not depend on the thread count.
Eigen::MatrixXd cross_products(const Eigen::MatrixXd& m) {
  Eigen::MatrixXd c(m.cols(), m.cols());
  for (Eigen::Index a = 0; a < m.cols(); ++a)
    for (Eigen::Index b = 0; b <= a; ++b) c(a, b) = c(b, a) = m.col(a).dot(m.col(b));
  return c;
}

// SRC_0..SRC_{k-1}, PRCC_0..PRCC_{k-1}, R^2 (2k + 1 numbers) of inputs x and
// outputs y. Constant input columns are left out of both fits (their indices
// are NaN); a constant output leaves every index NaN.
std::vector<double> regression_estimate(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  const auto k = static_cast<std::size_t>(x.cols());
  std::vector<double> out(2 * k + 1, kNaN);
  if (y.size() < 3 || negligible((y.array() - y.mean()).square().mean(), y.cwiseAbs().maxCoeff())) return out;

  std::vector<Eigen::Index> varying;
  for (Eigen::Index i = 0; i < x.cols(); ++i)
    if (!is_constant(x.col(i))) varying.push_back(i);
  if (varying.empty()) return out;
  const auto m = static_cast<Eigen::Index>(varying.size());
  Eigen::MatrixXd xv(x.rows(), m);
  for (Eigen::Index c = 0; c < m; ++c) xv.col(c) = x.col(varying[static_cast<std::size_t>(c)]);

  // SRC: least squares on centred data is least squares with an intercept.
  // Column-pivoting QR rather than normal equations: no squared condition
  // number, and it reports a rank-deficient (collinear) design.
  const Eigen::MatrixXd xc = centred(xv);
  const Eigen::VectorXd yc = y.array() - y.mean();
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(xc);
  const Eigen::VectorXd beta = qr.solve(yc);
  const Eigen::VectorXd residual = yc - xc * beta;
  out[2 * k] = 1.0 - residual.squaredNorm() / yc.squaredNorm();
  if (qr.rank() == m) {
    const double sd_y = sample_sd(y);
    for (Eigen::Index c = 0; c < m; ++c)
      out[static_cast<std::size_t>(varying[static_cast<std::size_t>(c)])] = beta(c) * sample_sd(xv.col(c)) / sd_y;
  }

  // PRCC: the correlation of the residuals of rank(x_i) and rank(y) after
  // regressing both on the other ranked inputs is the partial correlation of
  // the ranks, -P_iy / sqrt(P_ii P_yy) with P the inverse of their covariance
  // matrix (an algebraic identity for least squares with an intercept). One
  // (m+1)x(m+1) inverse replaces m separate regressions.
  Eigen::MatrixXd z(x.rows(), m + 1);
  for (Eigen::Index c = 0; c < m; ++c) z.col(c) = average_ranks(xv.col(c));
  z.col(m) = average_ranks(y);
  const Eigen::MatrixXd cov = cross_products(centred(z));
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(cov);
  if (lu.isInvertible()) {
    const Eigen::MatrixXd p = lu.inverse();
    for (Eigen::Index c = 0; c < m; ++c)
      out[k + static_cast<std::size_t>(varying[static_cast<std::size_t>(c)])] =
          -p(c, m) / std::sqrt(p(c, c) * p(m, m));
  }
  return out;
}

}  // namespace

double quantile(std::vector<double> sample, double q) {
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile: q must lie in [0, 1]");
  std::sort(sample.begin(), sample.end());
  return sorted_quantile(sample, q);
}

double noise_share(std::span<const double> values, std::size_t replications) {
  const std::size_t points = count_points(values, replications);
  if (replications < 2 || points < 2) return kNaN;
  const double r = static_cast<double>(replications);
  std::vector<double> y(points);
  double noise = 0.0;  // sum over points of the variance of the point's mean
  for (std::size_t p = 0; p < points; ++p) {
    const auto reps = values.subspan(p * replications, replications);
    double mean = 0.0;
    for (const double v : reps) mean += v;
    mean /= r;
    double ss = 0.0;
    for (const double v : reps) ss += (v - mean) * (v - mean);
    noise += ss / (r - 1.0) / r;
    y[p] = mean;
  }
  double mean = 0.0;
  for (const double v : y) mean += v;
  mean /= static_cast<double>(points);
  double ss = 0.0;
  for (const double v : y) ss += (v - mean) * (v - mean);
  const double between = ss / static_cast<double>(points - 1);
  double scale = 0.0;
  for (const double v : y) scale = std::max(scale, std::abs(v));
  if (negligible(between, scale)) return kNaN;
  return noise / static_cast<double>(points) / between;
}

SobolIndices sobol_indices(std::span<const double> values, std::size_t replications, std::size_t dims,
                           std::size_t bootstrap, std::uint64_t seed, double confidence) {
  if (dims == 0) throw std::invalid_argument("Sobol' indices: at least one input");
  const std::size_t points = count_points(values, replications);
  if (points == 0 || points % (dims + 2) != 0)
    throw std::invalid_argument("Sobol' indices: " + std::to_string(points) +
                                " points are not a whole number of Saltelli rows of " + std::to_string(dims + 2));
  const std::size_t rows = points / (dims + 2);
  check_bootstrap(rows, replications, bootstrap, confidence);

  const std::vector<std::uint32_t> all_reps(replications, 1);
  const SaltelliEstimate full = saltelli_estimate(point_means(values, replications, all_reps), identity_rows(rows), dims);
  const auto boot = run_bootstrap(bootstrap, seed, rows, replications, [&](const Resample& r) {
    return saltelli_estimate(point_means(values, replications, r.replication_counts), r.rows, dims).indices;
  });

  SobolIndices s;
  s.variance = full.variance;
  s.noise_share = noise_share(values, replications);
  s.rows = rows;
  for (std::size_t i = 0; i < dims; ++i) {
    s.first.push_back(interval(full.indices[i], replicates_of(boot, i), confidence));
    s.total.push_back(interval(full.indices[dims + i], replicates_of(boot, dims + i), confidence));
  }
  return s;
}

RegressionIndices regression_indices(const Eigen::MatrixXd& x, std::span<const double> values,
                                     std::size_t replications, std::size_t bootstrap, std::uint64_t seed,
                                     double confidence) {
  const std::size_t points = count_points(values, replications);
  if (static_cast<std::size_t>(x.rows()) != points)
    throw std::invalid_argument("regression indices: " + std::to_string(x.rows()) + " input rows for " +
                                std::to_string(points) + " points");
  if (x.cols() == 0) throw std::invalid_argument("regression indices: at least one input");
  check_bootstrap(points, replications, bootstrap, confidence);
  const auto k = static_cast<std::size_t>(x.cols());

  auto to_vector = [](const std::vector<double>& v) {
    return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())).eval();
  };
  const std::vector<std::uint32_t> all_reps(replications, 1);
  const std::vector<double> full = regression_estimate(x, to_vector(point_means(values, replications, all_reps)));
  const auto boot = run_bootstrap(bootstrap, seed, points, replications, [&](const Resample& r) {
    const std::vector<double> y = point_means(values, replications, r.replication_counts);
    Eigen::MatrixXd xb(x.rows(), x.cols());
    Eigen::VectorXd yb(x.rows());
    for (std::size_t t = 0; t < points; ++t) {
      xb.row(static_cast<Eigen::Index>(t)) = x.row(r.rows[t]);
      yb(static_cast<Eigen::Index>(t)) = y[r.rows[t]];
    }
    return regression_estimate(xb, yb);
  });

  RegressionIndices s;
  s.r_squared = full[2 * k];
  s.noise_share = noise_share(values, replications);
  for (std::size_t i = 0; i < k; ++i) {
    s.src.push_back(interval(full[i], replicates_of(boot, i), confidence));
    s.prcc.push_back(interval(full[k + i], replicates_of(boot, k + i), confidence));
  }
  return s;
}

}  // namespace loyalsim::engine::sensitivity
