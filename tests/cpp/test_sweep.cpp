// Sweeps: designs turned into points, bad sweeps refused at their lines, and
// the promise that point k of a sweep is bit for bit the plain run of point
// k's values, at any thread count, through an interruption and resume.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "app/results.hpp"
#include "engine/errors.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;

namespace {

// The base experiment; the sweep is appended.
constexpr const char* kBase = R"(name = "sweep-test"
seed = 314
replications = 3
horizon_months = 10
[population]
customers = 1_500
prospects = 1_500
[model]
gain = 0.6
[wom]
strong_ties = 6
[[policies]]
name = "status_quo"
[[policies]]
name = "fast"
response_days = 1.0
compensation = 0.5
)";

app::Experiment with_sweep(const std::string& sweep) { return app::parse_experiment(std::string(kBase) + sweep, "sweep.toml"); }

constexpr const char* kLhs = R"(
[sweep]
design = "lhs"
points = 5
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"policies.fast.compensation" = { range = [0.05, 2.0], scale = "log" }
"wom.strong_ties" = [4, 8]
"model.paradox_scope" = ["none", "behavioural"]
)";

std::vector<std::string> messages(const std::string& text) {
  try {
    app::parse_experiment(text, "sweep.toml");
  } catch (const engine::InputError& e) {
    std::vector<std::string> out;
    for (const auto& p : e.problems()) out.push_back(std::to_string(p.line) + ": " + p.key + ": " + p.what + " (" + p.allowed + ")");
    return out;
  }
  return {};
}

void expect_same_runs(const app::Ensemble& sweep, std::uint64_t point, const app::Ensemble& plain) {
  ASSERT_EQ(plain.points, 1u);
  for (std::uint32_t p = 0; p < plain.policies; ++p)
    for (std::uint32_t r = 0; r < plain.replications; ++r) {
      const auto& a = sweep.run(point, p, r);
      const auto& b = plain.run(0, p, r);
      ASSERT_EQ(a.series, b.series) << "point " << point << " policy " << p << " replication " << r;  // bit for bit
      ASSERT_EQ(a.fact_count, b.fact_count);
      ASSERT_EQ(a.fact_retained, b.fact_retained);
    }
}

}  // namespace

TEST(SweepParse, GridIsTheFullFactorialWithTheLastParameterFastest) {
  const auto e = with_sweep(R"(
[sweep]
design = "grid"
levels = 3
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"model.paradox_scope" = ["none", "behavioural"]
)");
  ASSERT_EQ(e.points(), 6u);
  const double gain[] = {0.2, 0.2, 0.6, 0.6, 1.0, 1.0};
  const double scope[] = {0, 1, 0, 1, 0, 1};  // index into the listed choices
  for (std::uint64_t k = 0; k < 6; ++k) {
    EXPECT_DOUBLE_EQ(e.sweep.value(k, 0), gain[k]) << k;
    EXPECT_EQ(e.sweep.value(k, 1), scope[k]) << k;
  }
  EXPECT_EQ(e.scenario_at(1).model.paradox_scope, srp1::ParadoxScope::behavioural);
  EXPECT_EQ(e.scenario_at(2).model.gain, 0.6);
  EXPECT_EQ(e.scenario.model.gain, 0.6);  // the base is untouched
}

TEST(SweepParse, SaltelliHasNTimesKPlusTwoPointsInsideTheRanges) {
  const auto e = with_sweep(R"(
[sweep]
design = "sobol"
points = 8
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"wom.advertising" = { range = [0.0005, 0.01], scale = "log" }
"segments.default.failure_rate" = { values = [0.02, 0.05, 0.1] }
)");
  ASSERT_EQ(e.points(), 8u * (3 + 2));
  for (std::uint64_t k = 0; k < e.points(); ++k) {
    EXPECT_GE(e.sweep.value(k, 0), 0.2);
    EXPECT_LE(e.sweep.value(k, 0), 1.0);
    EXPECT_GE(e.sweep.value(k, 1), 0.0005 * (1 - 1e-12));
    EXPECT_LE(e.sweep.value(k, 1), 0.01 * (1 + 1e-12));
    const double f = e.sweep.value(k, 2);
    EXPECT_TRUE(f == 0.02 || f == 0.05 || f == 0.1) << f;
  }
  // Row j: A, B, then A with parameter i from B (the Saltelli layout).
  const std::uint64_t stride = 5;
  for (std::uint64_t j = 0; j < 8; ++j)
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t c = 0; c < 3; ++c)
        EXPECT_EQ(e.sweep.value(j * stride + 2 + i, c), e.sweep.value(j * stride + (c == i ? 1 : 0), c));
}

TEST(SweepParse, LatinHypercubeTieCountsAreEvenAndTheDesignFollowsTheSeed) {
  const auto a = with_sweep(kLhs);
  ASSERT_EQ(a.points(), 5u);
  for (std::uint64_t k = 0; k < 5; ++k) {
    const double ties = a.sweep.value(k, 2);
    EXPECT_TRUE(ties == 4 || ties == 6 || ties == 8) << ties;
    EXPECT_EQ(a.scenario_at(k).wom.strong_ties, static_cast<std::uint32_t>(ties));
  }
  // Each of the 5 strata of model.gain ([0.2, 1.0] in fifths) holds one point.
  std::vector<int> strata(5, 0);
  for (std::uint64_t k = 0; k < 5; ++k) ++strata[static_cast<int>((a.sweep.value(k, 0) - 0.2) / 0.16)];
  EXPECT_EQ(strata, std::vector<int>(5, 1));
  std::string other = std::string(kBase);
  other.replace(other.find("seed = 314"), 10, "seed = 315");
  const auto b = app::parse_experiment(other + kLhs, "sweep.toml");
  EXPECT_NE(a.sweep.values, b.sweep.values);
}

TEST(SweepParse, BadSweepsAreRefusedWithTheirLinesAndWhatIsAllowed) {
  // kBase has 17 lines; line 18 is empty and [sweep] is on line 19.
  const auto m = messages(std::string(kBase) + R"(
[sweep]
design = "sobol"
points = 100
levels = 4
[sweep.parameters]
"model.gian" = [0.2, 1.0]
"policies.slow.compensation" = [0.0, 1.0]
"model.relaxation" = [0.5, 2.0]
"model.paradox_scope" = ["none", "sometimes"]
"model.surplus_decay" = [0.9, 0.1]
"wom.weak_ties" = [3, 8]
)");
  ASSERT_EQ(m.size(), 8u) << ::testing::PrintToString(m);
  EXPECT_EQ(m[0], "21: sweep.points: sobol needs a power of two, got 100 (2, 4, 8, ..., e.g. 128)");
  EXPECT_EQ(m[1].rfind("22: sweep.levels: levels apply to grids only", 0), 0u) << m[1];
  EXPECT_EQ(m[2].rfind("24: sweep.parameters.\"model.gian\": \"model.gian\" names no parameter of this experiment "
                       "(did you mean \"model.gain\"?)", 0), 0u) << m[2];
  EXPECT_EQ(m[3].rfind("25: sweep.parameters.\"policies.slow.compensation\": \"policies.slow.compensation\" names no "
                       "parameter", 0), 0u) << m[3];
  EXPECT_EQ(m[4], "26: sweep.parameters.\"model.relaxation\": value 2 is out of range (a number in [0, 1])");
  EXPECT_EQ(m[5], "27: sweep.parameters.\"model.paradox_scope\": unknown choice \"sometimes\" "
                  "(one of none, satisfaction_only, behavioural)");
  EXPECT_EQ(m[6].rfind("28: sweep.parameters.\"model.surplus_decay\": a range needs two numbers, low < high", 0), 0u) << m[6];
  EXPECT_EQ(m[7], "29: sweep.parameters.\"wom.weak_ties\": value 3 is not allowed (even integers in [0, 64])");

  EXPECT_EQ(messages(std::string(kBase) + "[sweep]\ndesign = \"grid\"\n").size(), 1u);
  const auto too_big = messages(std::string(kBase) + R"([sweep]
design = "grid"
levels = 1000
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"model.relaxation" = [0.0, 1.0]
"model.margin" = [0.1, 0.5]
)");
  ASSERT_EQ(too_big.size(), 1u);
  EXPECT_EQ(too_big[0], "18: sweep: the design has 1000000000 points (at most 1000000 points; fewer levels, points or parameters)");
}

TEST(Sweep, PointKIsBitForBitThePlainRunOfItsValues) {
  const auto sweep = with_sweep(kLhs);
  app::EnsembleOptions opt;
  opt.threads = 2;
  const app::Ensemble ens = app::run_ensemble(sweep, opt);
  ASSERT_EQ(ens.done_points.size(), 5u);
  for (const std::uint64_t k : {0u, 3u}) {
    // The same experiment written by hand with point k's values, no [sweep].
    std::string text = kBase;
    char gain[64], compensation[64];
    std::snprintf(gain, sizeof gain, "gain = %.17g\nparadox_scope = \"%s\"", sweep.sweep.value(k, 0),
                  sweep.sweep.describe_value(k, 3).c_str());
    std::snprintf(compensation, sizeof compensation, "compensation = %.17g", sweep.sweep.value(k, 1));
    text.replace(text.find("gain = 0.6"), 10, gain);
    text.replace(text.find("compensation = 0.5"), 18, compensation);
    text.replace(text.find("strong_ties = 6"), 15, "strong_ties = " + sweep.sweep.describe_value(k, 2));
    const auto plain = app::parse_experiment(text, "plain.toml");
    ASSERT_FALSE(plain.sweep.active());
    expect_same_runs(ens, k, app::run_ensemble(plain, opt));
  }
}

TEST(Sweep, ResultsDoNotDependOnTheThreadCount) {
  const auto e = with_sweep(kLhs);
  app::EnsembleOptions one, two;
  one.threads = 1;
  two.threads = 2;
  const auto a = app::run_ensemble(e, one), b = app::run_ensemble(e, two);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) ASSERT_EQ(a.runs[i].series, b.runs[i].series) << i;
}

TEST(Sweep, AnInterruptedSweepKeepsFinishedPointsAndResumesToTheSameResult) {
  const auto e = with_sweep(kLhs);
  const fs::path dir = fs::temp_directory_path() / "loyalsim-sweep-resume";
  fs::remove_all(dir);
  app::EnsembleOptions plain;
  plain.threads = 1;
  const app::Ensemble unbroken = app::run_ensemble(e, plain);

  std::vector<std::vector<std::uint64_t>> published;
  {
    engine::CheckpointStore store(dir, app::experiment_fingerprint(e));
    engine::Progress progress(app::progress_units(e), "months", false);
    app::EnsembleOptions opt = plain;
    opt.store = &store;
    opt.progress = &progress;
    // Stop in the middle of point 2's second replication (2 policies x 10 months per unit).
    opt.should_stop = [&] { return progress.done() >= 7 * 20 + 5; };
    opt.on_point_done = [&](const app::Ensemble&, const std::vector<std::uint64_t>& done) { published.push_back(done); };
    try {
      app::run_ensemble(e, opt);
      FAIL() << "not interrupted";
    } catch (const app::Interrupted& i) {
      EXPECT_EQ(i.units_saved, 7u);
      EXPECT_EQ(i.partial.done_points, (std::vector<std::uint64_t>{0, 1}));
      expect_same_runs(i.partial, 1, [&] {  // a finished point of the partial ensemble is final
        app::Ensemble one;
        one.policies = unbroken.policies, one.replications = unbroken.replications;
        for (std::uint32_t p = 0; p < one.policies; ++p)
          for (std::uint32_t r = 0; r < one.replications; ++r) one.runs.push_back(unbroken.run(1, p, r));
        return one;
      }());
    }
  }
  EXPECT_EQ(published, (std::vector<std::vector<std::uint64_t>>{{0}, {0, 1}}));

  engine::CheckpointStore store(dir, app::experiment_fingerprint(e));
  app::EnsembleOptions opt = plain;
  opt.store = &store;
  const app::Ensemble resumed = app::run_ensemble(e, opt);
  for (std::size_t i = 0; i < resumed.runs.size(); ++i) ASSERT_EQ(resumed.runs[i].series, unbroken.runs[i].series) << i;
  store.remove();
}
