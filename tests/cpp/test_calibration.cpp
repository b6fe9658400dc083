// Calibration engine on toy simulators behind the batch interface: the
// analytic linear-Gaussian posterior, an unconstrained direction keeping its
// prior, simulation-based calibration, determinism under any batch execution
// and after a kill, budget exhaustion with conflicting targets, failed runs,
// optimize, and the transforms. Every statistical tolerance is derived in the
// comment above it; docs/calibration.md lists the mutations these tests were
// shown to catch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "engine/calibration.hpp"
#include "engine/random.hpp"

using namespace loyalsim::engine;
using namespace loyalsim::engine::calibration;

namespace {

// --------------------------------------------------------------- the toys

// value = A theta + noise, noise ~ N(0, noise_sd^2) from the run's own seed;
// optionally through a per-parameter map first (for bounded priors).
struct LinearToy {
  Eigen::MatrixXd a;
  Eigen::VectorXd noise_sd;
  std::function<double(std::size_t, double)> feature = [](std::size_t, double x) { return x; };

  [[nodiscard]] Outcome run(const Proposal& p) const {
    Eigen::VectorXd x(static_cast<Eigen::Index>(p.theta.size()));
    for (std::size_t i = 0; i < p.theta.size(); ++i) x[static_cast<Eigen::Index>(i)] = feature(i, p.theta[i]);
    const Eigen::VectorXd mean = a * x;
    const RandomStream noise(p.sim_seed, 0, 0, 1);
    Outcome o{std::vector<double>(static_cast<std::size_t>(a.rows())), std::vector<double>(static_cast<std::size_t>(a.rows())), true};
    for (Eigen::Index k = 0; k < a.rows(); ++k) {
      o.value[static_cast<std::size_t>(k)] = mean[k] + noise_sd[k] * inverse_normal_cdf(noise.uniform(static_cast<std::uint32_t>(k)));
      o.se[static_cast<std::size_t>(k)] = noise_sd[k];
    }
    return o;
  }

  [[nodiscard]] BatchSimulator simulator() const {
    return [this](std::span<const Proposal> batch) {
      std::vector<Outcome> out;
      for (const Proposal& p : batch) out.push_back(run(p));
      return out;
    };
  }
};

Problem normal_problem(std::size_t dims, const std::vector<Target>& targets) {
  Problem problem;
  for (std::size_t i = 0; i < dims; ++i) problem.parameters.push_back({"theta" + std::to_string(i), Prior::normal(0.0, 1.0)});
  problem.targets = targets;
  return problem;
}

// Weighted mean and variance of x under normalised log weights.
struct Moments {
  double mean, variance;
};
Moments weighted_moments(const Eigen::VectorXd& x, const std::vector<double>& log_weight) {
  double mean = 0.0, var = 0.0;
  for (Eigen::Index i = 0; i < x.size(); ++i) mean += std::exp(log_weight[static_cast<std::size_t>(i)]) * x[i];
  for (Eigen::Index i = 0; i < x.size(); ++i) var += std::exp(log_weight[static_cast<std::size_t>(i)]) * (x[i] - mean) * (x[i] - mean);
  return {mean, var};
}

// Kolmogorov-Smirnov distance of a weighted sample from a CDF.
double weighted_ks(const Eigen::VectorXd& x, const std::vector<double>& log_weight, const std::function<double(double)>& cdf) {
  std::vector<std::size_t> order(static_cast<std::size_t>(x.size()));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[static_cast<Eigen::Index>(a)] < x[static_cast<Eigen::Index>(b)]; });
  double below = 0.0, d = 0.0;
  for (std::size_t i : order) {
    const double f = cdf(x[static_cast<Eigen::Index>(i)]);
    d = std::max(d, std::fabs(f - below));
    below += std::exp(log_weight[i]);
    d = std::max(d, std::fabs(f - below));
  }
  return d;
}

// The weighted q-quantile of x.
double weighted_quantile(const Eigen::VectorXd& x, const std::vector<double>& log_weight, double q) {
  std::vector<std::size_t> order(static_cast<std::size_t>(x.size()));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[static_cast<Eigen::Index>(a)] < x[static_cast<Eigen::Index>(b)]; });
  double below = 0.0;
  for (std::size_t i : order) {
    below += std::exp(log_weight[i]);
    if (below >= q) return x[static_cast<Eigen::Index>(i)];
  }
  return x[static_cast<Eigen::Index>(order.back())];
}

bool same_bits(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

// Every number of two results, bit for bit.
void expect_identical(const SmcResult& a, const SmcResult& b) {
  EXPECT_EQ(a.stop, b.stop);
  EXPECT_EQ(a.stop_message, b.stop_message);
  EXPECT_EQ(a.simulations, b.simulations);
  ASSERT_EQ(a.generations.size(), b.generations.size());
  for (std::size_t g = 0; g < a.generations.size(); ++g) {
    const Generation &x = a.generations[g], &y = b.generations[g];
    EXPECT_TRUE(same_bits(x.theta, y.theta)) << "generation " << g;
    EXPECT_TRUE(same_bits(x.log_weight, y.log_weight)) << "generation " << g;
    EXPECT_TRUE(same_bits(x.value, y.value) && same_bits(x.se, y.se)) << "generation " << g;
    EXPECT_EQ(x.key, y.key);
    EXPECT_TRUE(same_bits(std::vector<double>{x.temperature, x.ess, x.acceptance_rate},
                          std::vector<double>{y.temperature, y.ess, y.acceptance_rate}));
    EXPECT_EQ(x.simulations, y.simulations);
  }
  EXPECT_TRUE(same_bits(a.draws, b.draws));
  EXPECT_TRUE(same_bits(a.contraction, b.contraction));
  ASSERT_EQ(a.targets.size(), b.targets.size());
  for (std::size_t k = 0; k < a.targets.size(); ++k)
    EXPECT_TRUE(same_bits(std::vector<double>{a.targets[k].best_misfit, a.targets[k].closest_misfit, a.targets[k].within_share},
                          std::vector<double>{b.targets[k].best_misfit, b.targets[k].closest_misfit, b.targets[k].within_share}));
}

// A checkpoint: outcomes by key, with the proposal they answered.
struct Cache {
  std::map<std::uint64_t, std::pair<Proposal, Outcome>> done;
};

// Evaluates proposals one at a time into the cache and throws at the
// `kill_after`-th: a run killed in the middle of a batch.
BatchSimulator killed_after(const LinearToy& toy, Cache& cache, std::uint64_t kill_after) {
  return [&toy, &cache, kill_after](std::span<const Proposal> batch) {
    std::vector<Outcome> out;
    for (const Proposal& p : batch) {
      if (cache.done.size() == kill_after) throw std::runtime_error("killed");
      out.push_back(toy.run(p));
      cache.done[p.key] = {p, out.back()};
    }
    return out;
  };
}

// Returns cached outcomes (checking the proposal is the same, bit for bit)
// and simulates only keys it has not seen; counts both.
struct Resumer {
  const LinearToy& toy;
  Cache& cache;
  std::uint64_t simulated = 0, replayed = 0, mismatched = 0;

  BatchSimulator simulator() {
    return [this](std::span<const Proposal> batch) {
      std::vector<Outcome> out;
      for (const Proposal& p : batch) {
        const auto it = cache.done.find(p.key);
        if (it == cache.done.end()) {
          ++simulated;
          out.push_back(toy.run(p));
          continue;
        }
        ++replayed;
        if (it->second.first.sim_seed != p.sim_seed || !same_bits(it->second.first.theta, p.theta)) ++mismatched;
        out.push_back(it->second.second);
      }
      return out;
    };
  }
};

// ----------------------------------------- the analytic linear-Gaussian case

// theta ~ N(0, I_3); targets t = A theta + MC noise (sd 0.5) + declared error
// (sd 0.5), A = [[1,0,0],[0,1,1]]. The posterior is Gaussian with precision
// I + A^T S^-1 A, S = (0.5^2 + 0.5^2) I (the noise counted once). In the
// coordinates theta_1, c1 = (theta_2 + theta_3)/sqrt2 and c2 = (theta_2 -
// theta_3)/sqrt2 it is independent: theta_1 ~ N(2/3 t1, 1/3),
// c1 ~ N(0.2 sqrt2 t2 / 0.5, 0.2), c2 ~ N(0, 1) (no target sees c2).
struct AnalyticCase {
  LinearToy toy{(Eigen::MatrixXd(2, 3) << 1, 0, 0, 0, 1, 1).finished(), Eigen::Vector2d(0.2, 0.5)};
  Problem problem = normal_problem(3, {Target::measured("t1", 1.0, 0.2), Target::measured("t2", 1.5, 0.5)});
  static constexpr double kVariance[3] = {0.08 / 1.08, 0.2, 1.0};
  const double mean[3] = {1.0 / 1.08, 0.2 * std::sqrt(2.0) * 1.5 / 0.5, 0.0};

  [[nodiscard]] SmcResult run(std::uint32_t particles) const {
    SmcSettings s;
    s.seed = 20240611;
    s.particles = particles;
    s.max_simulations = 1'000'000;
    s.round_fill = particles;
    return abc_smc(problem, s, toy.simulator());
  }
  // A quick run for the determinism tests.
  static SmcSettings small(std::uint64_t seed) {
    SmcSettings s;
    s.seed = seed;
    s.particles = 300;
    s.round_fill = 300;
    return s;
  }
  // theta_1, c1, c2 of the final population.
  static Eigen::MatrixXd coordinates(const Generation& g) {
    Eigen::MatrixXd c(g.theta.rows(), 3);
    c.col(0) = g.theta.col(0);
    c.col(1) = (g.theta.col(1) + g.theta.col(2)) / std::sqrt(2.0);
    c.col(2) = (g.theta.col(1) - g.theta.col(2)) / std::sqrt(2.0);
    return c;
  }
};

}  // namespace

// Sizing, from 40 seeds at N = 1000 (docs/calibration.md): the final
// population's variance ratio has sd 8.6% and the mean's error 1.25 times
// sqrt(Var / ESS) (the last temperature step costs ESS). At N = 5000 the
// variance ratio has sd ~3.9%, so +-15% is ~3.9 sd for the correct method.
// What the mutations do to the exact values: the Monte Carlo noise counted
// twice makes Var(theta_1) 0.1071 (+45%) and Var(c1) 0.2727 (+36%); the prior
// density ignored makes Var(c1) 0.25 (+25%), E(theta_1) 1.0 (+15 se) and c2
// improper; weights without the mixture denominator collapse every variance
// (measured in docs/calibration.md). The means are held to 4 standard
// errors sqrt(Var / ESS).
//
// c2 is seen by no target, so its posterior is its N(0, 1) prior: a KS test
// against it at alpha = 0.001, critical value 1.949 / sqrt(n) with n = Kish's
// ESS (asymptotic Kolmogorov distribution; with the 1.25 inflation above the
// real alpha is ~0.015). The same statistic for theta_1, which the targets
// see, shows the test has power.
TEST(Calibration, LinearGaussianPosteriorMatchesTheClosedForm) {
  const AnalyticCase c;
  const SmcResult r = c.run(5000);
  ASSERT_EQ(r.stop, StopReason::temperature_one) << r.stop_message;
  const Generation& last = r.generations.back();
  ASSERT_EQ(last.temperature, 1.0);  // exactly: the posterior under the stated errors
  ASSERT_GT(last.ess, 2500.0);
  const Eigen::MatrixXd x = AnalyticCase::coordinates(last);
  for (int i = 0; i < 3; ++i) {
    const Moments m = weighted_moments(x.col(i), last.log_weight);
    const double se = std::sqrt(AnalyticCase::kVariance[i] / last.ess);
    EXPECT_NEAR(m.mean, c.mean[i], 4.0 * se) << "coordinate " << i;
    EXPECT_NEAR(m.variance / AnalyticCase::kVariance[i], 1.0, 0.15) << "coordinate " << i << " variance " << m.variance;
  }
  EXPECT_NEAR(r.contraction[0], 1.0 - AnalyticCase::kVariance[0], 0.15 * AnalyticCase::kVariance[0]);

  // The unconstrained direction keeps its prior; the constrained one does not.
  const double critical = 1.949 / std::sqrt(last.ess);
  EXPECT_LT(weighted_ks(x.col(2), last.log_weight, normal_cdf), critical) << "ESS " << last.ess;
  EXPECT_GT(weighted_ks(x.col(0), last.log_weight, normal_cdf), 5.0 * critical);

  // The Monte Carlo se is stored, not used: the toy reports its noise sd.
  EXPECT_EQ(last.se(0, 0), 0.2);
  EXPECT_EQ(last.se(0, 1), 0.5);
  // Each generation's acceptance keys are its own generation's.
  for (std::size_t g = 0; g < r.generations.size(); ++g)
    for (std::uint64_t key : r.generations[g].key) ASSERT_EQ(unpack_key(key).generation, g);
  EXPECT_EQ(r.draws.rows(), 200);
}

namespace {

// The SBC toy: theta_1 ~ U(0, 1), theta_2 ~ LogU(0.1, 10); s_1 = theta_1 +
// N(0, 0.1^2), s_2 = 0.5 theta_1 + log10(theta_2) + N(0, 0.2^2); declared
// errors sd 0.1 and 0.2. Bounded priors: the logit transforms and their
// Jacobians are on the path.
struct SbcToy {
  LinearToy toy{(Eigen::MatrixXd(2, 2) << 1, 0, 0.5, 1).finished(), Eigen::Vector2d(0.1, 0.2),
                [](std::size_t i, double x) { return i == 1 ? std::log10(x) : x; }};
  Problem problem() const {
    Problem p;
    p.parameters = {{"theta1", Prior::uniform(0.0, 1.0)}, {"theta2", Prior::loguniform(0.1, 10.0)}};
    p.targets = {Target::measured("s1", 0.0, 0.1), Target::measured("s2", 0.0, 0.2)};
    return p;
  }
};

}  // namespace

// Simulation-based calibration (Talts et al. 2018): 200 truths from the
// prior, data simulated from each (Monte Carlo noise plus the declared
// error), calibrated, the truth ranked among 19 posterior draws. For an exact
// posterior the rank is uniform on 0..19: chi-square with 19 degrees of
// freedom below 43.82 (p > 0.001). The 5%-95% weighted quantiles cover the
// truth Binomial(200, 0.9) times: 180 +- 3 sd (4.24) = [168, 192].
// Power: a posterior whose sd is off by a factor c covers P(|Z| < 1.645/c):
// c = 0.75 gives 0.78 (157 of 200), c = 1.33 gives 0.97 (194 of 200), both
// outside; docs/calibration.md lists the mutations this test caught.
TEST(Calibration, SimulationBasedCalibrationIsUniform) {
  const SbcToy sbc;
  constexpr int kReps = 200, kDraws = 19;
  std::vector<std::vector<int>> rank_hist(2, std::vector<int>(kDraws + 1, 0));
  std::vector<int> covered(2, 0);
  for (int rep = 0; rep < kReps; ++rep) {
    const RandomStream truth(99, static_cast<std::uint32_t>(rep), 0, 7);
    const std::vector<double> theta{truth.uniform(0), 0.1 * std::pow(100.0, truth.uniform(1))};
    const Outcome data = sbc.toy.run({theta, 0, truth.bits64(2)});
    Problem p = sbc.problem();
    for (std::size_t k = 0; k < 2; ++k)
      p.targets[k].value = data.value[k] + p.targets[k].sd * inverse_normal_cdf(truth.uniform(3 + static_cast<std::uint32_t>(k)));
    SmcSettings s;
    s.seed = 1000 + static_cast<std::uint64_t>(rep);
    s.particles = 200;
    s.draws = kDraws;
    s.round_fill = 200;
    const SmcResult r = abc_smc(p, s, sbc.toy.simulator());
    ASSERT_EQ(r.stop, StopReason::temperature_one) << r.stop_message;
    const Generation& last = r.generations.back();
    for (Eigen::Index i = 0; i < 2; ++i) {
      const auto rank = (r.draws.col(i).array() < theta[static_cast<std::size_t>(i)]).count();
      ++rank_hist[static_cast<std::size_t>(i)][static_cast<std::size_t>(rank)];
      const double lo = weighted_quantile(last.theta.col(i), last.log_weight, 0.05);
      const double hi = weighted_quantile(last.theta.col(i), last.log_weight, 0.95);
      covered[static_cast<std::size_t>(i)] += lo <= theta[static_cast<std::size_t>(i)] && theta[static_cast<std::size_t>(i)] <= hi;
    }
  }
  for (std::size_t i = 0; i < 2; ++i) {
    const double expected = static_cast<double>(kReps) / (kDraws + 1);
    double chi2 = 0.0;
    for (int n : rank_hist[i]) chi2 += (n - expected) * (n - expected) / expected;
    EXPECT_LT(chi2, 43.82) << "parameter " << i;
    EXPECT_GE(covered[i], 168) << "parameter " << i;
    EXPECT_LE(covered[i], 192) << "parameter " << i;
  }
}

// The driver is a function of (problem, settings, outcomes): evaluating the
// batches in a shuffled order, or in chunks on three threads, or running the
// driver's own loops on two threads, changes no bit.
TEST(Calibration, BitIdenticalWhateverOrderAndThreadsEvaluateTheBatches) {
  const AnalyticCase c;
  const SmcSettings s = AnalyticCase::small(5);
  const SmcResult base = abc_smc(c.problem, s, c.toy.simulator());
  ASSERT_EQ(base.stop, StopReason::temperature_one);
  ASSERT_GE(base.generations.size(), 3u);

  const BatchSimulator shuffled = [&c](std::span<const Proposal> batch) {
    std::vector<std::size_t> order(batch.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(batch.size()));
    std::vector<Outcome> out(batch.size());
    for (std::size_t i : order) out[i] = c.toy.run(batch[i]);
    return out;
  };
  expect_identical(base, abc_smc(c.problem, s, shuffled));

  const BatchSimulator threaded = [&c](std::span<const Proposal> batch) {
    std::vector<Outcome> out(batch.size());
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < 3; ++t)
      workers.emplace_back([&, t] {
        for (std::size_t i = t; i < batch.size(); i += 3) out[i] = c.toy.run(batch[i]);
      });
    for (std::thread& w : workers) w.join();
    return out;
  };
  expect_identical(base, abc_smc(c.problem, s, threaded));

  SmcSettings two = s;
  two.threads = 2;
  expect_identical(base, abc_smc(c.problem, two, c.toy.simulator()));

  // Every proposal has its own key and simulation seed.
  std::set<std::uint64_t> keys, seeds;
  std::uint64_t proposals = 0;
  const BatchSimulator recording = [&](std::span<const Proposal> batch) {
    for (const Proposal& p : batch) {
      keys.insert(p.key);
      seeds.insert(p.sim_seed);
      ++proposals;
    }
    return c.toy.simulator()(batch);
  };
  abc_smc(c.problem, s, recording);
  EXPECT_EQ(proposals, base.simulations);
  EXPECT_EQ(keys.size(), proposals);
  EXPECT_EQ(seeds.size(), proposals);
}

// Killed in the middle of a batch of generation 2, then rerun with a
// simulator that answers cached keys from the checkpoint: the same result,
// bit for bit, every cached proposal asked again identically, and only the
// missing ones simulated.
TEST(Calibration, KilledMidGenerationResumesToTheSameResult) {
  const AnalyticCase c;
  const SmcSettings s = AnalyticCase::small(6);
  const SmcResult base = abc_smc(c.problem, s, c.toy.simulator());
  ASSERT_GE(base.generations.size(), 3u);
  const std::uint64_t kill_after = base.generations[0].simulations + base.generations[1].simulations + 157;

  Cache cache;
  EXPECT_THROW(abc_smc(c.problem, s, killed_after(c.toy, cache, kill_after)), std::runtime_error);
  ASSERT_EQ(cache.done.size(), kill_after);
  EXPECT_EQ(unpack_key(cache.done.rbegin()->first).generation, 2u);

  Resumer resume{c.toy, cache};
  const SmcResult resumed = abc_smc(c.problem, s, resume.simulator());
  expect_identical(base, resumed);
  EXPECT_EQ(resume.mismatched, 0u);
  EXPECT_EQ(resume.replayed, kill_after);
  EXPECT_EQ(resume.simulated, base.simulations - kill_after);
}

// Two targets one parameter cannot meet together (s = theta must be 0 +- 0.1
// and 3 +- 0.1): the acceptance rate falls as exp(-112.5 / T) and the budget
// runs out before T = 1. It stops within the budget, says so, and names
// both targets as conflicting (each met alone by some run, both missed by
// ~15 sd in the best joint runs); a third, compatible target is not flagged.
TEST(Calibration, BudgetExhaustionReportsConflictingTargets) {
  Problem p;
  p.parameters = {{"x", Prior::uniform(-5.0, 5.0)}, {"y", Prior::uniform(0.0, 1.0)}};
  p.targets = {Target::measured("low", 0.0, 0.1), Target::measured("high", 3.0, 0.1), Target::at_most("y_small", 0.5, 0.05)};
  const LinearToy toy{(Eigen::MatrixXd(3, 2) << 1, 0, 1, 0, 0, 1).finished(), Eigen::Vector3d(0.01, 0.01, 0.01)};
  SmcSettings s;
  s.seed = 3;
  s.particles = 100;
  s.max_simulations = 20'000;
  s.round_fill = 100;
  const SmcResult r = abc_smc(p, s, toy.simulator());
  EXPECT_EQ(r.stop, StopReason::budget_exhausted) << r.stop_message;
  EXPECT_LE(r.simulations, s.max_simulations);
  ASSERT_FALSE(r.generations.empty());
  EXPECT_GT(r.generations.back().temperature, 1.0);
  EXPECT_TRUE(r.targets[0].conflicting && r.targets[1].conflicting);
  EXPECT_FALSE(r.targets[2].conflicting);
  EXPECT_NEAR(r.targets[0].best_misfit, 15.0, 1.0);
  EXPECT_NEAR(r.targets[1].best_misfit, -15.0, 1.0);
  EXPECT_LT(r.targets[0].closest_misfit, 1.0);
  EXPECT_NE(r.stop_message.find("budget"), std::string::npos) << r.stop_message;
  EXPECT_NE(r.stop_message.find("low ("), std::string::npos) << r.stop_message;
  EXPECT_NE(r.stop_message.find("high ("), std::string::npos) << r.stop_message;
}

// Failed runs (ok = false) and non-finite values are rejected, never
// accepted, never hang: the posterior lives where runs succeed, and a
// simulator that always fails stops at max_attempts.
TEST(Calibration, FailedRunsAreRejectedAndNeverSpin) {
  Problem p;
  p.parameters = {{"x", Prior::uniform(0.0, 1.0)}};
  p.targets = {Target::within("s", 0.2, 0.6, 0.05)};
  const BatchSimulator flaky = [](std::span<const Proposal> batch) {
    std::vector<Outcome> out;
    for (const Proposal& q : batch) {
      const double x = q.theta[0];
      if (x > 0.7) out.push_back({{x}, {0.0}, false});
      else out.push_back({{x < 0.1 ? std::nan("") : x}, {0.0}, true});
    }
    return out;
  };
  SmcSettings s;
  s.particles = 200;
  const SmcResult r = abc_smc(p, s, flaky);
  ASSERT_EQ(r.stop, StopReason::temperature_one) << r.stop_message;
  EXPECT_GT(r.generations[0].failed, 0u);
  for (const Generation& g : r.generations) EXPECT_TRUE((g.theta.array() >= 0.1).all() && (g.theta.array() <= 0.7).all());

  const BatchSimulator broken = [](std::span<const Proposal> batch) { return std::vector<Outcome>(batch.size()); };
  s.max_attempts = 20;
  const SmcResult dead = abc_smc(p, s, broken);
  EXPECT_EQ(dead.stop, StopReason::attempts_exhausted);
  EXPECT_EQ(dead.simulations, 200u * 20u);
  EXPECT_TRUE(dead.generations.empty());
  EXPECT_EQ(dead.draws.rows(), 0);
  EXPECT_TRUE(dead.targets[0].unreachable);

  const BatchSimulator short_batch = [](std::span<const Proposal>) { return std::vector<Outcome>(1); };
  EXPECT_THROW(abc_smc(p, s, short_batch), std::runtime_error);
}

namespace {

// optimize's toy: two parameters, two targets met exactly by theta* = (0.7,
// -1.2), Monte Carlo noise sd 0.05 per run, declared sd 0.1.
struct OptimizeCase {
  LinearToy toy{(Eigen::MatrixXd(2, 2) << 1, 0.5, 0, 1).finished(), Eigen::Vector2d(0.05, 0.05)};
  Problem problem;
  OptimizeSettings settings;
  OptimizeCase() {
    problem.parameters = {{"a", Prior::uniform(-3.0, 3.0)}, {"b", Prior::uniform(-3.0, 3.0)}};
    problem.targets = {Target::measured("t1", 0.7 - 0.6, 0.1), Target::measured("t2", -1.2, 0.1)};
    settings.seed = 11;
    settings.seeds = 4;
    settings.fresh_repeats = 50;
    settings.max_simulations = 2000;
  }
};

void expect_identical(const OptimizeResult& a, const OptimizeResult& b) {
  EXPECT_EQ(a.stop, b.stop);
  EXPECT_TRUE(same_bits(a.theta, b.theta));
  EXPECT_TRUE(same_bits(std::vector<double>{a.objective, a.fresh_objective, a.fresh_objective_se, a.optimism_gap},
                        std::vector<double>{b.objective, b.fresh_objective, b.fresh_objective_se, b.optimism_gap}));
  EXPECT_TRUE(same_bits(a.value, b.value) && same_bits(a.misfit, b.misfit));
  EXPECT_TRUE(same_bits(a.fresh_value, b.fresh_value) && same_bits(a.fresh_value_se, b.fresh_value_se));
  EXPECT_TRUE(same_bits(a.trace, b.trace) && same_bits(a.trace_objective, b.trace_objective));
  EXPECT_EQ(a.simulations, b.simulations);
}

}  // namespace

// The best fit at 4 fixed seeds is theta* minus A^-1 times their mean noise
// (sd 0.025 per target): within 4 sd of that, |error| < 0.15 per parameter.
// K = d, so the fixed-seed objective reaches ~0; at fresh seeds the expected
// objective is sum_k ((A theta_hat - t)_k^2 + 0.05^2 / 4) / 0.1^2, which the
// reported fresh objective must match within 4 of its standard errors, and
// the optimism gap is their difference. Rerun, and killed then resumed
// from cached outcomes: identical.
TEST(Calibration, OptimizeRecoversTheTruthAndReportsTheOptimismGap) {
  const OptimizeCase c;
  const OptimizeResult r = optimize(c.problem, c.settings, c.toy.simulator());
  ASSERT_EQ(r.theta.size(), 2u);
  EXPECT_EQ(r.stop, OptimizeStop::converged);
  EXPECT_NEAR(r.theta[0], 0.7, 0.15);
  EXPECT_NEAR(r.theta[1], -1.2, 0.15);
  EXPECT_LT(r.objective, 1e-3);
  EXPECT_LE(r.simulations, c.settings.max_simulations);
  EXPECT_EQ(r.trace.rows(), static_cast<Eigen::Index>(r.evaluations));
  const Eigen::Vector2d fit = c.toy.a * Eigen::Vector2d(r.theta[0], r.theta[1]);
  double expected = 0.0;
  for (int k = 0; k < 2; ++k) {
    const double bias = fit[k] - c.problem.targets[static_cast<std::size_t>(k)].value;
    expected += (bias * bias + 0.05 * 0.05 / 4.0) / (0.1 * 0.1);
  }
  EXPECT_NEAR(r.fresh_objective, expected, 4.0 * r.fresh_objective_se);
  EXPECT_EQ(r.optimism_gap, r.fresh_objective - r.objective);
  EXPECT_GT(r.optimism_gap, 0.0);

  expect_identical(r, optimize(c.problem, c.settings, c.toy.simulator()));
  Cache cache;
  const std::uint64_t kill_after = r.simulations / 2 + 1;
  EXPECT_THROW(optimize(c.problem, c.settings, killed_after(c.toy, cache, kill_after)), std::runtime_error);
  Resumer resume{c.toy, cache};
  expect_identical(r, optimize(c.problem, c.settings, resume.simulator()));
  EXPECT_EQ(resume.mismatched, 0u);
  EXPECT_EQ(resume.simulated, r.simulations - kill_after);
}

// Transforms: round trips, Jacobians against central differences, the
// unbounded-space density = natural density x Jacobian, and every density
// integrates to 1 (Simpson's rule; errors far below the 1e-6 tolerance).
TEST(Calibration, TransformsRoundTripAndDensitiesIntegrateToOne) {
  const std::vector<Prior> priors{Prior::uniform(-2.0, 3.0), Prior::loguniform(0.01, 100.0), Prior::normal(1.0, 2.0)};
  for (const Prior& p : priors) {
    SCOPED_TRACE(kPriorKindNames[static_cast<int>(p.kind)]);
    for (double z = -12.0; z <= 12.0; z += 0.37) {
      const double x = from_unbounded(p, z);
      EXPECT_NEAR(to_unbounded(p, x), z, 1e-9 * (1.0 + std::fabs(z)));
      const double h = 1e-5, numeric = (from_unbounded(p, z + h) - from_unbounded(p, z - h)) / (2.0 * h);
      EXPECT_NEAR(std::exp(log_jacobian(p, z)) / numeric, 1.0, 1e-6) << "z " << z;
      EXPECT_NEAR(log_prior_unbounded(p, z), log_prior_density(p, x) + log_jacobian(p, z), 1e-9);
      const double y = to_unit(p, x);  // normal: the box is mean +- 6 sd, clamped outside
      if (y >= 0.0 && y <= 1.0) {
        EXPECT_NEAR(from_unit(p, y), x, 1e-12 * (1.0 + std::fabs(x)));
      }
    }
    const auto simpson = [](const std::function<double(double)>& f, double a, double b, int n) {
      const double h = (b - a) / n;
      double sum = f(a) + f(b);
      for (int i = 1; i < n; ++i) sum += (i % 2 ? 4.0 : 2.0) * f(a + i * h);
      return sum * h / 3.0;
    };
    const double zmax = p.kind == PriorKind::normal ? 1.0 + 40.0 : 40.0, zmin = p.kind == PriorKind::normal ? 1.0 - 40.0 : -40.0;
    EXPECT_NEAR(simpson([&](double z) { return std::exp(log_prior_unbounded(p, z)); }, zmin, zmax, 20000), 1.0, 1e-6);
    // Moments in the natural space, by the same quadrature in z.
    const double mean = simpson([&](double z) { return from_unbounded(p, z) * std::exp(log_prior_unbounded(p, z)); }, zmin, zmax, 20000);
    const double second = simpson([&](double z) { const double x = from_unbounded(p, z); return x * x * std::exp(log_prior_unbounded(p, z)); }, zmin, zmax, 20000);
    EXPECT_NEAR(mean, prior_mean(p), 1e-6 * (1.0 + std::fabs(mean)));
    EXPECT_NEAR(second - mean * mean, prior_variance(p), 1e-6 * prior_variance(p));
  }
  EXPECT_EQ(log_prior_density(Prior::uniform(0.0, 1.0), 1.5), -std::numeric_limits<double>::infinity());
  // The far tails stay finite and on the support.
  EXPECT_EQ(from_unbounded(Prior::uniform(0.0, 1.0), 800.0), 1.0);
  EXPECT_TRUE(std::isfinite(log_prior_unbounded(Prior::uniform(0.0, 1.0), 800.0)));
}

TEST(Calibration, KernelsKeysAndSeeds) {
  const Target v = Target::measured("v", 1.0, 0.5), lo = Target::at_least("lo", 0.7, 0.1),
               hi = Target::at_most("hi", 0.1, 0.02), r = Target::within("r", 0.2, 0.3, 0.01);
  EXPECT_EQ(misfit(v, 2.0), 2.0);
  EXPECT_EQ(log_kernel(v, 1.0), 0.0);
  EXPECT_EQ(misfit(lo, 0.9), 0.0);
  EXPECT_NEAR(misfit(lo, 0.5), -2.0, 1e-12);
  EXPECT_NEAR(misfit(hi, 0.16), 3.0, 1e-12);
  EXPECT_EQ(log_kernel(r, 0.25), 0.0);
  EXPECT_NEAR(log_kernel(r, 0.32), -2.0, 1e-12);
  EXPECT_NEAR(misfit(r, 0.17), -3.0, 1e-12);

  const Key k{4091, kMaxSlots - 1, kMaxAttempts - 1};
  EXPECT_EQ(unpack_key(pack_key(k)), k);
  EXPECT_EQ(unpack_key(pack_key({1, 2, 3})), (Key{1, 2, 3}));
  EXPECT_THROW(pack_key({0, kMaxSlots, 0}), std::out_of_range);
  std::set<std::uint64_t> seeds;
  for (std::uint32_t g = 0; g < 4; ++g)
    for (std::uint32_t i = 0; i < 100; ++i)
      for (std::uint32_t a = 0; a < 10; ++a) seeds.insert(simulation_seed(1, pack_key({g, i, a})));
  EXPECT_EQ(seeds.size(), 4000u);
  EXPECT_NE(simulation_seed(1, 0), simulation_seed(2, 0));
}

TEST(Calibration, BadProblemsAndSettingsAreRefusedByName) {
  const auto message = [](const Problem& p) {
    try {
      validate(p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  Problem ok;
  ok.parameters = {{"a", Prior::uniform(0.0, 1.0)}};
  ok.targets = {Target::measured("t", 0.5, 0.1)};
  EXPECT_EQ(message(ok), "accepted");
  Problem p = ok;
  p.parameters[0].prior = Prior::uniform(1.0, 0.0);
  EXPECT_EQ(message(p), "parameter 'a': uniform bounds must be finite with low < high");
  p.parameters[0].prior = Prior::loguniform(0.0, 1.0);
  EXPECT_EQ(message(p), "parameter 'a': loguniform bounds must be finite with 0 < low < high");
  p.parameters[0].prior = Prior::normal(0.0, -1.0);
  EXPECT_EQ(message(p), "parameter 'a': normal prior needs a finite mean and sd > 0");
  p = ok;
  p.targets[0].sd = 0.0;
  EXPECT_EQ(message(p), "target 't': a measured value needs a finite value and sd > 0");
  p.targets = {Target::within("t", 0.5, 0.4, 0.1)};
  EXPECT_EQ(message(p), "target 't': a range needs finite bounds with low <= high and soft > 0");
  p.targets = {Target::at_least("t", 0.5, 0.0)};
  EXPECT_EQ(message(p), "target 't': at_least needs a finite bound and soft > 0");
  p = ok;
  p.targets.push_back(Target::measured("t", 0.1, 0.1));
  EXPECT_EQ(message(p), "target 't' appears twice (names must be unique)");
  p = ok;
  p.targets.clear();
  EXPECT_EQ(message(p), "calibration: no targets (at least one is needed)");

  const BatchSimulator never = [](std::span<const Proposal>) -> std::vector<Outcome> { throw std::logic_error("ran"); };
  SmcSettings s;
  s.particles = 1;
  EXPECT_THROW(abc_smc(ok, s, never), std::invalid_argument);
  OptimizeSettings o;
  o.max_simulations = 5;
  EXPECT_THROW(optimize(ok, o, never), std::invalid_argument);
}
