// Helpers shared by the model's process tests (test_model_processes.cpp,
// test_model_levers.cpp): quiet scenarios, one run, binomial and CLT
// tolerances, and the checks that a test would catch a plausible bug.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "engine/network.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::testing {

using srp1::RunResult;
using srp1::Scenario;

constexpr double kZ = 4.5;  // two-sided tail 6.8e-6
constexpr std::uint64_t kSeed = 20240611;
constexpr int kThreads = 2;

// ---------------------------------------------------------------- helpers --

// A scenario with only the processes under test switched on: no prospects, no
// ties (deg is then 1 by the model's rule), no advertising.
inline Scenario quiet(std::uint64_t customers, std::uint32_t months) {
  Scenario sc;
  sc.population.customers = customers;
  sc.population.prospects = 0;
  sc.population.initial_tenure_max = 60;
  sc.wom.strong_ties = 0;
  sc.wom.weak_ties = 0;
  sc.wom.advertising = 0.0;
  sc.horizon_months = months;
  return sc;
}

inline RunResult run(const Scenario& sc, std::size_t policy = 0, std::uint64_t seed = kSeed,
              std::uint32_t rep = 0) {
  const auto net = srp1::build_network(sc, seed, rep, kThreads);
  return srp1::simulate(sc, policy, seed, rep, net, kThreads);
}

inline double binomial_sd(double n, double p) { return std::sqrt(n * p * (1.0 - p)); }
inline double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
inline double beta_fn(double a, double b) { return std::exp(std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b)); }

// Kumaraswamy(a, b) quantile: s = (1 - (1-u)^(1/b))^(1/a).
inline double kumaraswamy_quantile(double u, double a, double b) {
  return std::pow(1.0 - std::pow(1.0 - u, 1.0 / b), 1.0 / a);
}
// Raw moment E[s^k] = b B(1 + k/a, b).
inline double kumaraswamy_moment(double k, double a, double b) { return b * beta_fn(1.0 + k / a, b); }

// Checks |observed - expected| <= kZ * sd, and that a wrong model's prediction
// would be caught (|wrong - expected| > kZ * sd).
inline void expect_within(double observed, double expected, double sd, const char* what) {
  EXPECT_LE(std::fabs(observed - expected), kZ * sd)
      << what << ": observed " << observed << ", expected " << expected << ", sd " << sd;
}
inline void expect_detectable(double wrong, double expected, double sd, const char* bug) {
  EXPECT_GT(std::fabs(wrong - expected), 2.0 * kZ * sd)
      << "test not sensitive to: " << bug << " (wrong " << wrong << " vs " << expected << ")";
}

}  // namespace loyalsim::testing
