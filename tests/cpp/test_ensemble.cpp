// Ensembles: the thread plan stays within its budget, a resumed ensemble
// equals an unbroken one, and an interrupted one keeps its finished work.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "app/results.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;

namespace {

app::Experiment small_experiment() {
  return app::parse_experiment(R"(name = "ensemble-test"
seed = 5
replications = 6
horizon_months = 8
[population]
customers = 2_000
prospects = 1_000
[[policies]]
name = "a"
[[policies]]
name = "b"
response_days = 1.0
compensation = 1.0
)", "ensemble-test.toml");
}

void expect_equal(const app::Ensemble& x, const app::Ensemble& y) {
  ASSERT_EQ(x.runs.size(), y.runs.size());
  for (std::size_t i = 0; i < x.runs.size(); ++i) {
    ASSERT_EQ(x.runs[i].series.size(), y.runs[i].series.size());
    for (std::size_t j = 0; j < x.runs[i].series.size(); ++j) {
      const double a = x.runs[i].series[j], b = y.runs[i].series[j];
      if (std::isnan(a) && std::isnan(b)) continue;
      ASSERT_EQ(a, b) << "run " << i << " value " << j;
    }
    EXPECT_EQ(x.runs[i].fact_count, y.runs[i].fact_count);
    EXPECT_EQ(x.runs[i].fact_retained, y.runs[i].fact_retained);
  }
}

fs::path fresh_dir(const std::string& name) {
  const auto d = fs::temp_directory_path() / ("loyalsim-ensemble-" + name);
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(ThreadPlan, NeverExceedsTheBudget) {
  for (int threads : {1, 2, 3, 4, 7, 16, 64})
    for (std::uint64_t nodes : {1000ull, 70'000ull, 200'000ull, 10'000'000ull})
      for (std::uint32_t reps : {1u, 2u, 5u, 30u}) {
        const auto p = app::plan_threads(threads, nodes, reps);
        EXPECT_GE(p.concurrent, 1);
        EXPECT_GE(p.per_run, 1);
        EXPECT_LE(p.concurrent * p.per_run, threads) << threads << " " << nodes << " " << reps;
        EXPECT_LE(p.concurrent, static_cast<int>(reps));
      }
  // Units side by side when there are enough of them; threads inside a run
  // for a single unit, an odd few (3 units on 2 threads: 1.6 unit-times
  // inside against 2 side by side), or a population too large to hold twice.
  EXPECT_EQ(app::plan_threads(2, 10'000, 30).concurrent, 2);
  EXPECT_EQ(app::plan_threads(2, 200'000, 30).concurrent, 2);
  EXPECT_EQ(app::plan_threads(2, 200'000, 6).concurrent, 2);
  EXPECT_EQ(app::plan_threads(2, 200'000, 3).per_run, 2);
  EXPECT_EQ(app::plan_threads(2, 20'000'000, 30).per_run, 2);
  EXPECT_EQ(app::plan_threads(4, 10'000, 1).per_run, 4);
}

TEST(Ensemble, CheckpointRoundTripsAReplication) {
  const auto e = small_experiment();
  const auto ens = app::run_ensemble(e, {});
  std::vector<srp1::RunResult> runs = {ens.run(0, 0, 3), ens.run(0, 1, 3)};
  const auto segments = e.scenario.segments.size();
  const auto back = app::decode_replication(app::encode_replication(runs), 2, 8, segments);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[0] == runs[0]);  // every field
  EXPECT_TRUE(back[1] == runs[1]);
  EXPECT_GT(runs[1].band_failures[0], 0);
  EXPECT_THROW(app::decode_replication(app::encode_replication(runs), 3, 8, segments), std::runtime_error);
}

TEST(Ensemble, ResumedRunEqualsAnUnbrokenOne) {
  const auto e = small_experiment();
  app::EnsembleOptions plain;
  plain.threads = 2;
  const auto unbroken = app::run_ensemble(e, plain);

  // Stop after the first replication's first months: some units saved, not all.
  const auto dir = fresh_dir("resume");
  std::uint32_t saved = 0;
  {
    engine::CheckpointStore store(dir, app::experiment_fingerprint(e));
    engine::Progress progress(app::progress_units(e), "months", false);
    app::EnsembleOptions opt;
    opt.threads = 1;
    opt.store = &store;
    opt.progress = &progress;
    // Stop once 2.5 replications' months (2 policies x 8 months each) are done.
    opt.should_stop = [&] { return progress.done() >= 2 * 2 * 8 + 8; };
    try {
      app::run_ensemble(e, opt);
      FAIL() << "the ensemble was not interrupted";
    } catch (const app::Interrupted& i) {
      saved = i.units_saved;
    }
    EXPECT_EQ(store.count(), saved);
  }
  EXPECT_GE(saved, 2u);
  EXPECT_LT(saved, 6u);

  engine::CheckpointStore store(dir, app::experiment_fingerprint(e));
  app::EnsembleOptions opt;
  opt.threads = 3;  // another thread count: still the same numbers
  opt.store = &store;
  expect_equal(app::run_ensemble(e, opt), unbroken);
  store.remove();
  EXPECT_FALSE(fs::exists(dir));
}

TEST(Ensemble, ACheckpointOfAnotherExperimentIsRefused) {
  const auto dir = fresh_dir("fingerprint");
  auto e = small_experiment();
  { engine::CheckpointStore store(dir, app::experiment_fingerprint(e)); }
  e.replications = 7;  // --replications changes the work: the units would not fit
  EXPECT_THROW(engine::CheckpointStore(dir, app::experiment_fingerprint(e)), std::runtime_error);
  fs::remove_all(dir);
}
