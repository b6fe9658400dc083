// The `loyalsim` program end to end: run, validate, info; determinism of the
// written datasets across thread counts; common random numbers in the file;
// refusal to overwrite; the file opens with h5dump.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <sstream>

#include "app/report.hpp"
#include "cli_support.hpp"
#include "engine/hdf5.hpp"

namespace fs = std::filesystem;
using loyalsim::engine::h5::File;
using namespace loyalsim::testing;

namespace {



// Small but not trivial: two segments, WOM and acquisition on, three policies
// of which the second duplicates the first.
constexpr const char* kExperiment = R"(name = "cli-test"
seed = 99
replications = 4
horizon_months = 14

[population]
customers = 3_000
prospects = 3_000

[[segments]]
name = "regular"
share = 0.8

[[segments]]
name = "chronic"
share = 0.2
complaint_bias = 1.0
recovery_responsiveness = 0.3

[[policies]]
name = "status_quo"
response_days = 10.0
first_contact_resolution = 0.14

[[policies]]
name = "status_quo_again"
response_days = 10.0
first_contact_resolution = 0.14

[[policies]]
name = "fast"
response_days = 0.5
first_contact_resolution = 0.9
apology = 1.0
compensation = 1.0
root_cause_fix = 0.5
)";

class Cli : public ExperimentFolderTest {
 protected:
  Cli() : ExperimentFolderTest("cli", kExperiment, "exp.toml") {}
};

}  // namespace

TEST_F(Cli, RunWritesResultsAndPrintsTheTable) {
  const auto out = dir_ / "r.h5";
  const auto r = run_cli("run " + experiment_.string() + " -o " + out.string() + " --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  EXPECT_FALSE(fs::exists(out.string() + ".checkpoint"));
  for (const char* text : {"active customers", "cohort retention", "revenue", "recovery cost", "net value",
                           "satisfied recoveries", "paradox events", "positive WOM", "negative WOM", "status_quo",
                           "fast", "baseline", "results: "})
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;

  const File f = File::open_read(out);
  EXPECT_EQ(f.string_attribute("format"), "loyalsim-results");
  EXPECT_EQ(f.string_attribute("model"), "SRP-1");
  EXPECT_EQ(f.number_attribute("seed"), 99.0);
  EXPECT_EQ(f.shape("active"), (std::vector<hsize_t>{1, 3, 4, 15}));
  EXPECT_EQ(f.shape("active_mean"), (std::vector<hsize_t>{1, 3, 15}));
  EXPECT_EQ(f.shape("fact_count"), (std::vector<hsize_t>{1, 3, 4, 5, 2}));
  EXPECT_EQ(f.read_strings("policy"), (std::vector<std::string>{"status_quo", "status_quo_again", "fast"}));

  // `info` prints the same table from the file, and the provenance.
  const auto info = run_cli("info " + out.string());
  ASSERT_EQ(info.code, 0) << info.output;
  EXPECT_NE(info.output.find("cli-test"), std::string::npos);
  EXPECT_NE(info.output.find("seed 99\n"), std::string::npos) << info.output;
  const auto table_start = [](const std::string& s) { return s.substr(s.find("cli-test: month")); };
  const std::string run_table = table_start(r.output);
  EXPECT_EQ(table_start(info.output), run_table.substr(0, run_table.find("\nresults: ")));
}

// population.represents = 10 x the simulated customers: the same runs, and
// the table shows every count, money and message total 10 times over (shares
// as they are), says so, and gives the net value's contrast per real customer.
TEST_F(Cli, TheTableIsAtTheFirmsScale) {
  const auto plain = dir_ / "plain.h5", firm = dir_ / "firm.h5";
  ASSERT_EQ(run_cli("run " + experiment_.string() + " -q -o " + plain.string()).code, 0);
  std::string text = read_text(experiment_);
  text.replace(text.find("prospects = 3_000"), 17, "prospects = 3_000\nrepresents = 30_000");
  const auto scaled = dir_ / "firm.toml";
  std::ofstream(scaled) << text;
  ASSERT_EQ(run_cli("run " + scaled.string() + " -q -o " + firm.string()).code, 0);
  const loyalsim::app::HorizonTable a = loyalsim::app::horizon_table(plain), b = loyalsim::app::horizon_table(firm);
  EXPECT_EQ(a.factor, 1.0);
  EXPECT_EQ(b.factor, 10.0);
  ASSERT_EQ(a.measures.size(), b.measures.size());
  for (std::size_t m = 0; m < a.measures.size(); ++m) {
    const double factor = a.measures[m].kind == "share" ? 1.0 : 10.0;
    for (std::size_t p = 0; p < a.measures[m].values.size(); ++p)
      for (std::size_t r = 0; r < a.measures[m].values[p].size(); ++r)
        EXPECT_DOUBLE_EQ(b.measures[m].values[p][r], factor * a.measures[m].values[p][r]) << a.measures[m].name;
  }
  std::ostringstream printed;
  loyalsim::app::print_table(b, printed);
  EXPECT_NE(printed.str().find("x 10 the simulation's (population.represents 30000 / 3000"), std::string::npos)
      << printed.str();
  EXPECT_NE(printed.str().find("Δ per customer"), std::string::npos) << printed.str();
}

TEST_F(Cli, DatasetsAreIdenticalAtOneTwoAndThreeThreads) {
  for (int threads : {1, 2, 3}) {
    const auto r = run_cli("run " + experiment_.string() + " -q -o " + (dir_ / ("t" + std::to_string(threads) + ".h5")).string() +
                            " --threads " + std::to_string(threads));
    ASSERT_EQ(r.code, 0) << r.output;
  }
  expect_same_datasets(dir_ / "t1.h5", dir_ / "t2.h5");
  expect_same_datasets(dir_ / "t1.h5", dir_ / "t3.h5");
}

TEST_F(Cli, IdenticalPoliciesGiveIdenticalMetricsAndAZeroWidthContrast) {
  const auto out = dir_ / "crn.h5";
  ASSERT_EQ(run_cli("run " + experiment_.string() + " -q -o " + out.string()).code, 0);
  const File f = File::open_read(out);
  const std::size_t per_policy = 4 * 15;  // replications x months
  for (const char* metric : {"active", "churned", "complaints", "net_value", "wom_negative"}) {
    const auto v = f.read_doubles(metric);
    for (std::size_t i = 0; i < per_policy; ++i) ASSERT_EQ(v[i], v[per_policy + i]) << metric;
    for (const char* part : {"_diff_mean", "_diff_ci_low", "_diff_ci_high"}) {
      const auto d = f.read_doubles(std::string(metric) + part);
      for (std::size_t t = 0; t < 15; ++t) {
        EXPECT_EQ(d[t], 0.0) << metric << part;       // baseline against itself
        EXPECT_EQ(d[15 + t], 0.0) << metric << part;  // the identical policy
      }
    }
  }
  // The different policy does differ, with a real interval.
  const auto d = f.read_doubles("complaints_diff_mean");
  double total = 0.0;
  for (std::size_t t = 1; t < 15; ++t) total += std::abs(d[30 + t]);
  EXPECT_GT(total, 0.0);
}

TEST_F(Cli, ExistingResultsAreNotOverwrittenWithoutForce) {
  const auto out = dir_ / "keep.h5";
  std::ofstream(out) << "precious";
  const auto r = run_cli("run " + experiment_.string() + " -q -o " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;
  std::ifstream in(out);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  EXPECT_EQ(run_cli("run " + experiment_.string() + " -q --force -o " + out.string()).code, 0);
  EXPECT_NO_THROW(File::open_read(out));
}

TEST_F(Cli, BadInputIsRefusedWithEveryProblemAndNothingWritten) {
  const auto bad = dir_ / "bad.toml";
  std::ofstream(bad) << "name = \"bad\"\nseed = 1\nreplications = 0\n[model]\ngian = 0.5\n"
                        "[[policies]]\nname = \"a\"\n[[policies]]\nname = \"a\"\n";
  const auto out = dir_ / "never.h5";
  const auto r = run_cli("run " + bad.string() + " -o " + out.string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find(bad.string() + ":3: replications"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(bad.string() + ":5: model.gian"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean 'gain'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("duplicate"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  EXPECT_FALSE(fs::exists(out.string() + ".checkpoint"));

  const auto v = run_cli("validate " + bad.string());
  EXPECT_EQ(v.code, 2);
  const auto ok = run_cli("validate " + experiment_.string());
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("ok"), std::string::npos);
}

// LOYALSIM_SIMD (engine/simd.hpp) is input too: a bad value stops the program
// before any work, naming the variable and what it may be.
TEST_F(Cli, BadSimdLevelInTheEnvironmentIsRefused) {
  const auto out = dir_ / "never.h5";
  const auto r = shell("LOYALSIM_SIMD=sse9 " + std::string(LOYALSIM_BINARY) + " run " + experiment_.string() + " -o " +
                       out.string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("LOYALSIM_SIMD: unknown value \"sse9\" (portable, avx2, avx512 or auto)"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out));
  const auto ok = shell("LOYALSIM_SIMD=portable " + std::string(LOYALSIM_BINARY) + " validate " + experiment_.string());
  EXPECT_EQ(ok.code, 0) << ok.output;
}

TEST_F(Cli, InfoOnAMissingOrForeignFileFailsClearly) {
  const auto missing = run_cli("info " + (dir_ / "nope.h5").string());
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.output, "loyalsim: no such results file: " + (dir_ / "nope.h5").string() + "\n");
  const auto text = dir_ / "text.h5";
  std::ofstream(text) << "not hdf5";
  const auto foreign = run_cli("info " + text.string());
  EXPECT_EQ(foreign.code, 2);
  EXPECT_EQ(foreign.output, "loyalsim: " + text.string() + " is not an HDF5 file, so it is not a loyalsim results file\n");
}

TEST_F(Cli, H5dumpReadsTheDimensionScales) {
  const auto out = dir_ / "dump.h5";
  ASSERT_EQ(run_cli("run " + experiment_.string() + " -q -o " + out.string()).code, 0);
  const auto r = shell("h5dump -H -A 0 " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("DATASET \"active\""), std::string::npos);
  const auto dims = shell("h5dump -a /active/DIMENSION_LIST " + out.string());
  EXPECT_EQ(dims.code, 0) << dims.output;
  for (const char* scale : {"/point", "/policy", "/replication", "/month"})
    EXPECT_NE(dims.output.find(scale), std::string::npos) << scale << "\n" << dims.output;
}

namespace {
// kExperiment with a grid over two parameters: 3 gains x 2 scopes = 6 points.
constexpr const char* kGridSweep = R"(
[sweep]
design = "grid"
levels = 3
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"model.paradox_scope" = ["none", "behavioural"]
)";
}  // namespace

TEST_F(Cli, ASweepWritesItsPointsWithTheirCoordinatesAndSensitivityReadsThem) {
  const auto sweep = dir_ / "sweep.toml";
  std::ofstream(sweep) << kExperiment << kGridSweep;
  const auto out = dir_ / "sweep.h5";
  const auto r = run_cli("run " + sweep.string() + " -o " + out.string() + " --replications 2 --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("grid sweep of 2 parameter(s), 6 points x 3 policies x 2 replications = 36 runs"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("best point"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  EXPECT_FALSE(fs::exists(out.string() + ".checkpoint"));

  const File f = File::open_read(out);
  EXPECT_EQ(f.shape("active"), (std::vector<hsize_t>{6, 3, 2, 15}));
  EXPECT_EQ(f.read_doubles("model.gain"), (std::vector<double>{0.2, 0.2, 0.6, 0.6, 1.0, 1.0}));
  EXPECT_EQ(f.read_strings("model.paradox_scope"),
            (std::vector<std::string>{"none", "behavioural", "none", "behavioural", "none", "behavioural"}));
  EXPECT_EQ(f.dataset_string_attribute("active", "coordinates"), "model.gain model.paradox_scope");
  EXPECT_EQ(f.string_attribute("sweep_design"), "grid");
  EXPECT_EQ(f.number_attribute("complete"), 1);
  EXPECT_EQ(f.number_attribute("points_done"), 6);

  const auto s = run_cli("sensitivity " + out.string() + " --policy fast --bootstrap 200");
  ASSERT_EQ(s.code, 0) << s.output;
  for (const char* text : {"SRC", "PRCC", "model.gain", "model.paradox_scope", "fast, month 14", "Monte Carlo noise"})
    EXPECT_NE(s.output.find(text), std::string::npos) << text << "\n" << s.output;
  const auto csv = run_cli("sensitivity " + out.string() + " --policy fast --month all --csv --bootstrap 50");
  ASSERT_EQ(csv.code, 0) << csv.output;
  // Header + months 1..14 x 2 parameters x 2 indices.
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'), 1 + 14 * 2 * 2) << csv.output;

  const auto point = run_cli("info " + out.string() + " --point 3");
  ASSERT_EQ(point.code, 0) << point.output;
  EXPECT_NE(point.output.find("model.gain = 0.6, model.paradox_scope = behavioural"), std::string::npos) << point.output;

  const auto plain = dir_ / "plain.h5";
  ASSERT_EQ(run_cli("run " + experiment_.string() + " -q -o " + plain.string() + " --replications 2").code, 0);
  const auto none = run_cli("sensitivity " + plain.string());
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.output.find("holds no sweep"), std::string::npos) << none.output;
  const auto sobol = run_cli("sensitivity " + out.string() + " --method sobol");
  EXPECT_EQ(sobol.code, 2);
  EXPECT_NE(sobol.output.find("need a Saltelli design"), std::string::npos) << sobol.output;
}

TEST_F(Cli, ASweepThatCannotFitInMemoryIsRefusedWithTheNumbers) {
  const auto sweep = dir_ / "huge.toml";
  // 2^17 x 7 points x 3 policies x 100,000 replications: far beyond any machine's memory.
  std::ofstream(sweep) << kExperiment << R"(
[sweep]
design = "sobol"
points = 131072
[sweep.parameters]
"model.gain" = [0.2, 1.0]
"model.relaxation" = [0.0, 0.1]
"model.margin" = [0.1, 0.5]
"model.churn_tenure" = [0.0, 0.2]
"model.spike_decay" = [0.2, 0.8]
)";
  const auto out = dir_ / "huge.h5";
  const auto r = run_cli("run " + sweep.string() + " -o " + out.string() + " --replications 100000");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("of memory and"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing was run"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out.string() + ".checkpoint"));
  const auto v = run_cli("validate " + sweep.string());
  EXPECT_EQ(v.code, 0) << v.output;
  EXPECT_NE(v.output.find("917504 points"), std::string::npos) << v.output;
}

// ---- MPI (issue 6): skipped, saying why, when the binary was built without MPI ----

TEST_F(Cli, MpiTwoRanksWriteTheSameDatasetsAsOneProcess) {
  if (!built_with_mpi()) GTEST_SKIP() << "loyalsim was built without MPI";
  const auto sweep = dir_ / "sweep.toml";
  std::ofstream(sweep) << kExperiment << kGridSweep;
  const auto one = dir_ / "one.h5", two = dir_ / "two.h5";
  ASSERT_EQ(run_cli("run " + sweep.string() + " -q --threads 1 -o " + one.string()).code, 0);
  const auto r = shell(mpirun(2) + "run " + sweep.string() + " --threads 1 -o " + two.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("MPI: 2 ranks"), std::string::npos) << r.output;
  expect_same_datasets(one, two);
  EXPECT_EQ(File::open_read(two).number_attribute("processes"), 2);
}

TEST_F(Cli, MpiAKilledRankFailsTheJobAndResumeFinishesIt) {
  if (!built_with_mpi()) GTEST_SKIP() << "loyalsim was built without MPI";
  // 48 units of about 0.1 s each, so the kill lands mid-run.
  const auto sweep = dir_ / "long.toml";
  std::string text = kExperiment;
  text.replace(text.find("customers = 3_000"), 17, "customers = 20_000");
  text.replace(text.find("prospects = 3_000"), 17, "prospects = 20_000");
  std::ofstream(sweep) << text << "\n[sweep]\ndesign = \"lhs\"\npoints = 24\n[sweep.parameters]\n\"model.gain\" = [0.2, 1.0]\n";
  const auto out = dir_ / "killed.h5", unbroken = dir_ / "unbroken.h5";
  const std::string checkpoint = out.string() + ".checkpoint";
  // Start two ranks; once three units are saved, SIGKILL rank 1 (found by its MPI rank variable).
  const auto r = shell("(" + mpirun(2) + "run " + sweep.string() + " --threads 1 --replications 2 -q -o " + out.string() +
                       " > " + (dir_ / "mpi.log").string() + " 2>&1; echo $? > " + (dir_ / "rc").string() + ") & "
                       "for i in $(seq 1 600); do [ $(ls " + checkpoint + " 2>/dev/null | grep -c '^unit-.*[.]bin$') -ge 3 ] && break; sleep 0.05; done; "
                       "for p in $(pgrep -f 'loyalsim run " + sweep.string() + "'); do "
                       "  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -9 $p && echo killed $p; "
                       "done; wait");
  ASSERT_NE(r.output.find("killed"), std::string::npos) << r.output;
  std::ifstream rc_file(dir_ / "rc");
  int rc = -1;
  rc_file >> rc;
  std::ifstream log_file(dir_ / "mpi.log");
  const std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(rc, 0) << log;
  EXPECT_FALSE(fs::exists(out)) << log;  // nothing under the results name
  ASSERT_TRUE(fs::exists(checkpoint)) << log;

  const auto resumed = shell(mpirun(2) + "run " + sweep.string() + " --threads 1 --replications 2 --resume -o " + out.string());
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  ASSERT_EQ(run_cli("run " + sweep.string() + " -q --threads 2 --replications 2 -o " + unbroken.string()).code, 0);
  expect_same_datasets(out, unbroken);
}

TEST_F(Cli, MpiAnUnusableOutputPathIsRefusedBeforeAnyRankWorks) {
  if (!built_with_mpi()) GTEST_SKIP() << "loyalsim was built without MPI";
  const auto target = dir_ / "adir.h5";
  fs::create_directory(target);
  const auto r = shell(mpirun(2) + "run " + experiment_.string() + " -q --force --threads 1 -o " + target.string());
  EXPECT_EQ(r.code, 2) << r.output;
  const std::string message = target.string() + " is a directory; -o needs a file path";
  ASSERT_NE(r.output.find(message), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(message, r.output.find(message) + 1), std::string::npos) << r.output;  // said once, by rank 0
  EXPECT_FALSE(fs::exists(target.string() + ".checkpoint"));
  EXPECT_TRUE(fs::is_empty(target));
}
