// Numbers stay sane: every parameter an experiment can set, pushed to each
// end of the range the loader allows (±1e12 where it is unbounded), gives a
// simulation whose every metric is finite. The loader refuses everything
// outside these ranges, so no accepted experiment can produce NaN or inf.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "models/srp1/parameter_table.hpp"

using namespace loyalsim;

namespace {

// Two segments and two policies, so every kind of path exists; small enough
// that ~400 simulations take a second.
app::Experiment base() {
  return app::parse_experiment(R"(name = "extremes"
seed = 11
replications = 1
horizon_months = 4
[population]
customers = 300
prospects = 300
[[segments]]
name = "a"
[[segments]]
name = "b"
share = 0.5
complaint_bias = 1.0
[[policies]]
name = "status_quo"
[[policies]]
name = "fast"
response_days = 0.5
apology = 1.0
compensation = 1.0
)", "extremes.toml");
}

// The allowed end of a range, nudged inside when the end is open.
double end_of(const engine::config::Range& r, bool high) {
  constexpr double kLimit = 1e12;  // the loader's bound on any number's size
  double x = high ? std::min(r.hi, kLimit) : std::max(r.lo, -kLimit);
  if (high && r.hi_open && x == r.hi) x = std::nextafter(x, -kLimit);
  if (!high && r.lo_open && x == r.lo) x = std::nextafter(x, kLimit);
  return x;
}

}  // namespace

TEST(Extremes, EveryParameterAtEitherEndOfItsRangeGivesFiniteMetrics) {
  const app::Experiment e = base();
  int runs = 0;
  for (const auto& target : srp1::scenario_parameters(e.scenario, true)) {
    if (target.row->kind != srp1::ParameterKind::real) continue;  // integers and choices are covered by their own tests
    const std::string& path = target.path;
    for (const bool high : {false, true}) {
      const double value = end_of(target.row->range, high);
      app::Experiment x = e;
      target.set(x.scenario, value);
      const auto results = app::run_unit(x, 0, 1);
      ++runs;
      for (std::size_t p = 0; p < results.size(); ++p)
        for (int m = 0; m < srp1::kMetricCount; ++m)
          for (std::uint32_t t = 0; t <= x.scenario.horizon_months; ++t) {
            const double v = results[p].at(static_cast<srp1::Metric>(m), t);
            // Mean satisfaction of nobody is NaN by definition (docs/model.md), nothing else may be.
            if (m == srp1::kMeanSatisfaction && results[p].at(srp1::kActive, t) == 0) continue;
            ASSERT_TRUE(std::isfinite(v)) << path << " = " << value << ": " << srp1::kMetricInfo[m].name
                                          << " of policy " << p << " at month " << t << " is " << v;
          }
    }
  }
  // Every real row of the parameter table at both ends: the scalars once, the segment and policy rows per entry.
  int reals = 0;
  for (const auto& row : srp1::parameter_table())
    if (row.kind == srp1::ParameterKind::real && row.sweepable) reals += row.in_entry() ? 2 : 1;
  EXPECT_EQ(runs, 2 * reals);
  EXPECT_GT(runs, 180);
}
