// The warning that Sobol' estimates come from too small a base sample: exact
// text on a hand example, silence for plausible estimates, and the real
// estimators on the Ishigami function, which warn at N = 8 and not at N = 4096.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

#include "app/sensitivity.hpp"
#include "engine/designs.hpp"
#include "engine/sensitivity.hpp"

using loyalsim::app::SensitivityResult;
using loyalsim::app::SensitivityRow;
using loyalsim::app::sobol_sample_warning;
namespace sa = loyalsim::engine::sensitivity;

namespace {

SensitivityRow row(const char* parameter, const char* index, double estimate, double low, double high) {
  return {"p", 12, parameter, index, estimate, low, high};
}

// Ishigami & Homma (1990) with a = 7, b = 0.1, as in test_sensitivity.cpp.
SensitivityResult ishigami_indices(std::size_t n) {
  constexpr double kPi = std::numbers::pi;
  const Eigen::MatrixXd u = loyalsim::engine::design::saltelli(n, 3);
  std::vector<double> y(static_cast<std::size_t>(u.rows()));
  for (Eigen::Index p = 0; p < u.rows(); ++p) {
    const double x1 = -kPi + 2 * kPi * u(p, 0), x2 = -kPi + 2 * kPi * u(p, 1), x3 = -kPi + 2 * kPi * u(p, 2);
    y[static_cast<std::size_t>(p)] = std::sin(x1) + 7 * std::sin(x2) * std::sin(x2) + 0.1 * std::pow(x3, 4) * std::sin(x1);
  }
  const auto s = sa::sobol_indices(y, 1, 3, 500, 7);
  SensitivityResult res;
  const char* names[] = {"x1", "x2", "x3"};
  for (std::size_t i = 0; i < 3; ++i) res.rows.push_back({"f", 1, names[i], "S1", s.first[i].value, s.first[i].low, s.first[i].high});
  for (std::size_t i = 0; i < 3; ++i) res.rows.push_back({"f", 1, names[i], "ST", s.total[i].value, s.total[i].low, s.total[i].high});
  return res;
}

}  // namespace

TEST(SobolSampleWarning, NamesTheImpossibleEstimatesAndSuggestsN) {
  SensitivityResult res;
  res.rows = {row("a", "S1", 1.234, 0.9, 1.5), row("b", "S1", 0.1, 0.05, 0.15),
              row("a", "ST", 1.05, 0.95, 1.15), row("b", "ST", 0.05, 0.0, 0.1)};
  const auto w = sobol_sample_warning(res, 2, 16);
  ASSERT_TRUE(w);
  // S1 of a: above 1 with a half-width of 0.3 (too wide to tell); ST of a: above 1 by 0.05, within its
  // half-width of 0.1 (noise); S1 of b above ST of b by 0.05, within the 0.1 of both half-widths.
  // Widest half-width 0.3 -> N x (0.3 / 0.05)^2 = 576 -> 1024.
  EXPECT_EQ(*w, "these Sobol' indices come from a base sample of N = 16 points, too small for them: "
                "S1 of a (p, month 12) is 1.234, above 1; S1 of a (p, month 12) is 1.234, above its ST 1.050. "
                "Run the sweep with points = 1024 (intervals narrow as 1/sqrt(N); N = 1024 should bring them to "
                "about +-0.05)");
}

TEST(SobolSampleWarning, PlausibleEstimatesAndTheirNoiseAreLeftAlone) {
  SensitivityResult res;
  // Slightly below 0 and slightly above 1, each within its (narrow) interval; S1 a hair above ST.
  res.rows = {row("a", "S1", -0.01, -0.04, 0.02), row("b", "S1", 0.62, 0.58, 0.66),
              row("a", "ST", 0.01, 0.0, 0.03), row("b", "ST", 1.02, 0.97, 1.07)};
  EXPECT_FALSE(sobol_sample_warning(res, 2, 1024));
  res.rows[0] = row("a", "S1", -0.06, -0.09, -0.03);  // below 0 by more than its half-width
  EXPECT_TRUE(sobol_sample_warning(res, 2, 1024));
}

TEST(SobolSampleWarning, TheIshigamiFunctionWarnsAtEightBasePointsAndNotAt4096) {
  const auto small = sobol_sample_warning(ishigami_indices(8), 3, 8);
  ASSERT_TRUE(small);
  EXPECT_NE(small->find("base sample of N = 8 points"), std::string::npos) << *small;
  EXPECT_FALSE(sobol_sample_warning(ishigami_indices(4096), 3, 4096));
}
