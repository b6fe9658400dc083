// Calibration on the real model (issue 13, the app side): recovery of known
// parameters by abc-smc and optimize; the calibration file bit-identical at 1
// and 2 threads, at 2 MPI ranks, and after a kill and --resume mid-generation;
// --check; a posterior sweep's coordinates are the file's draws.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "app/calibrate.hpp"
#include "app/calibration_file.hpp"
#include "app/experiment.hpp"
#include "cli_support.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;
using namespace loyalsim::testing;

namespace {

// The market and the probe policies; the truth of the three calibrated
// parameters is written into it (complaint_intercept -3.2, churn_hazard
// 0.015, expectation_base 0.45).
constexpr const char* kMarket = R"(name = "recovery"
seed = 21
replications = 8
horizon_months = 12
[population]
customers = 600
prospects = 100
[[segments]]
name = "default"
churn_hazard = 0.015
[model]
complaint_intercept = -3.2
expectation_base = 0.45
[[policies]]
name = "status_quo"
[[policies]]
name = "money_only"
compensation = 1.0
)";

constexpr const char* kParameters = R"(
[calibration.parameters]
"model.complaint_intercept" = { prior = "uniform", bounds = [-5.0, -1.0] }
"segments.default.churn_hazard" = { prior = "loguniform", bounds = [0.005, 0.05] }
"model.expectation_base" = { prior = "uniform", bounds = [0.2, 0.7] }
)";

struct TargetSpec {
  const char* name;
  const char* filters;
  double sd;
};
// Declared sds: about twice a single run's Monte Carlo se at 600 customers,
// so the truth's misfit is small and the posterior still contracts.
constexpr TargetSpec kTargets[] = {
    {"complaints", "quantity = \"complaint_rate\"\npolicy = \"status_quo\"", 0.03},
    {"churn", "quantity = \"monthly_churn\"\npolicy = \"status_quo\"", 0.003},
    {"satisfied_sq", "quantity = \"satisfied_share\"\npolicy = \"status_quo\"", 0.05},
    {"satisfied_money", "quantity = \"satisfied_share\"\npolicy = \"money_only\"", 0.06},
    {"retention", "quantity = \"retention\"\npolicy = \"status_quo\"\nmonths = 12", 0.03},
};
constexpr double kTruth[] = {-3.2, 0.015, 0.45};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string targets_toml(const std::vector<double>& values) {
  std::string s;
  for (std::size_t k = 0; k < std::size(kTargets); ++k)
    s += std::string("\n[[calibration.targets]]\nname = \"") + kTargets[k].name + "\"\n" + kTargets[k].filters +
         "\nvalue = " + number(values[k]) + "\nsd = " + number(kTargets[k].sd) + "\n";
  return s;
}

// Synthetic targets: the quantities at the truth, mean of 8 replications
// (the experiment's own seed; the fit's particles use other seeds).
const std::vector<double>& synthetic_targets() {
  static const std::vector<double> values = [] {
    const std::string probe = std::string(kMarket) + "[calibration]\n" + kParameters + targets_toml({0, 0, 0, 0, 0});
    const app::Experiment e = app::parse_experiment(probe, "probe.toml");
    std::vector<double> v;
    for (const auto& c : app::check_targets(e, 8, {})) v.push_back(c.value);
    return v;
  }();
  return values;
}

std::string calibration_experiment(const std::string& settings) {
  return std::string(kMarket) + "[calibration]\n" + settings + kParameters + targets_toml(synthetic_targets());
}

constexpr const char* kSmc = "method = \"abc-smc\"\nparticles = 60\nmax_simulations = 4000\ndraws = 40\nround_fill = 60\n";

class Calibrate : public ExperimentFolderTest {
 protected:
  Calibrate() : ExperimentFolderTest("calibrate", "", "unused.toml") {}
  fs::path write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  fs::path smc_experiment() { return write("smc.toml", calibration_experiment(kSmc)); }
};

// A finished calibration: at temperature 1 (0), or stopped by its budget (3), file written.
bool finished(const Outcome& o) { return o.code == 0 || o.code == 3; }

std::vector<double> read(const fs::path& file, const char* name) { return File::open_read(file).read_doubles(name); }

}  // namespace

TEST_F(Calibrate, AbcSmcRecoversKnownParametersOfTheRealModel) {
  const auto exp = smc_experiment();
  const auto out = dir_ / "smc.h5";
  const auto r = run_cli("calibrate " + exp.string() + " -q --threads 2 -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("temperature_one"), std::string::npos) << r.output;
  const auto low = read(out, "posterior_low"), high = read(out, "posterior_high"), contraction = read(out, "contraction");
  for (std::size_t p = 0; p < 3; ++p) {
    EXPECT_LE(low[p], kTruth[p]) << p << "\n" << r.output;
    EXPECT_GE(high[p], kTruth[p]) << p << "\n" << r.output;
    // The posterior learned something: a prior-wide interval would hold the truth too.
    EXPECT_GT(contraction[p], 0.5) << p << "\n" << r.output;
  }
  // Every target's posterior predictive within its tolerance.
  for (const double m : read(out, "predictive_misfit")) EXPECT_LE(std::abs(m), 2.0) << r.output;
  for (const double w : read(out, "predictive_within")) EXPECT_GT(w, 0.5) << r.output;
  // The preset carries the posterior means.
  const std::string preset = read_text(dir_ / "smc.preset.toml");
  EXPECT_NE(preset.find("[model]"), std::string::npos);
  EXPECT_NE(preset.find("churn_hazard = " + number(read(out, "posterior_mean")[1]).substr(0, 6)), std::string::npos)
      << preset;
  // `loyalsim info` on the file prints the fit's tables as calibrate did.
  const auto info = run_cli("info " + out.string());
  ASSERT_EQ(info.code, 0) << info.output;
  for (const std::string line : {"temperature_one", "posterior mean [95%]", "contraction", "generations"})
    EXPECT_NE(info.output.find(line), std::string::npos) << line << "\n" << info.output;
  const auto posterior_row = [](const std::string& text) {
    const auto at = text.find("segments.default.churn_hazard");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_FALSE(posterior_row(info.output).empty()) << info.output;
  EXPECT_EQ(posterior_row(info.output), posterior_row(r.output));
  EXPECT_EQ(run_cli("info " + out.string() + " --point 1").code, 2);
}

TEST_F(Calibrate, OptimizeRecoversThemToo) {
  const auto exp = write("opt.toml", calibration_experiment("method = \"optimize\"\nmax_simulations = 400\nseeds = 2\n"));
  const auto out = dir_ / "opt.h5";
  const auto r = run_cli("calibrate " + exp.string() + " -q --threads 2 -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto fit = read(out, "best_fit");
  // Within a tenth of the prior's width (log width for the loguniform one).
  EXPECT_NEAR(fit[0], kTruth[0], 0.4) << r.output;
  EXPECT_NEAR(std::log(fit[1]), std::log(kTruth[1]), 0.23) << r.output;
  EXPECT_NEAR(fit[2], kTruth[2], 0.05) << r.output;
  for (const double m : read(out, "predictive_misfit")) EXPECT_LE(std::abs(m), 2.0) << r.output;
}

TEST_F(Calibrate, TheFileIsIdenticalAtOneAndTwoThreadsAndAfterAKillAndResume) {
  const std::string small = "method = \"abc-smc\"\nparticles = 30\nmax_simulations = 600\ndraws = 10\nround_fill = 30\n";
  const auto exp = write("det.toml", calibration_experiment(small));
  const auto one = dir_ / "one.h5", two = dir_ / "two.h5", killed = dir_ / "killed.h5";
  ASSERT_TRUE(finished(run_cli("calibrate " + exp.string() + " -q --threads 1 -o " + one.string())));
  ASSERT_TRUE(finished(run_cli("calibrate " + exp.string() + " -q --threads 2 -o " + two.string())));
  expect_same_datasets(one, two);
  // The presets differ only in the sha256 of their files (whose creation time and thread count differ).
  const auto market = [&](const char* name) {
    const std::string t = read_text(dir_ / name);
    return t.substr(t.find("posterior means"));
  };
  EXPECT_EQ(market("one.preset.toml"), market("two.preset.toml"));

  // SIGKILL once 45 proposals are saved: generation 0 (30) done, generation 1 part-way.
  const std::string checkpoint = killed.string() + ".checkpoint";
  const auto k = shell("(exec " + std::string(LOYALSIM_BINARY) + " calibrate " + exp.string() + " -q --threads 1 -o " +
                       killed.string() + " > /dev/null 2>&1) & pid=$!; for i in $(seq 1 3000); do [ $(ls " + checkpoint +
                       " 2>/dev/null | grep -c '^unit-.*[.]bin$') -ge 45 ] && break; sleep 0.01; done; kill -KILL $pid; wait $pid");
  EXPECT_NE(k.code, 0);
  ASSERT_FALSE(fs::exists(killed));
  const auto again = run_cli("calibrate " + exp.string() + " --threads 2 -o " + killed.string());
  EXPECT_EQ(again.code, 1) << "an interrupted calibration is not silently restarted";
  const auto resumed = run_cli("calibrate " + exp.string() + " --threads 2 --resume -o " + killed.string());
  ASSERT_TRUE(finished(resumed)) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("from the checkpoint"), std::string::npos) << resumed.output;
  expect_same_datasets(killed, one);
  EXPECT_FALSE(fs::exists(checkpoint));
  EXPECT_EQ(run_cli("calibrate " + exp.string() + " -q -o " + one.string()).code, 1) << "never overwritten without --force";
}

TEST_F(Calibrate, TwoMpiRanksWriteTheFileOfOneProcess) {
  if (!built_with_mpi()) GTEST_SKIP() << "loyalsim was built without MPI";
  const std::string small = "method = \"abc-smc\"\nparticles = 30\nmax_simulations = 300\ndraws = 10\nround_fill = 30\n";
  const auto exp = write("mpi.toml", calibration_experiment(small));
  const auto one = dir_ / "one.h5", two = dir_ / "two.h5";
  ASSERT_TRUE(finished(run_cli("calibrate " + exp.string() + " -q --threads 1 -o " + one.string())));
  const auto r = shell(mpirun(2) + "calibrate " + exp.string() + " --threads 1 -o " + two.string());
  ASSERT_TRUE(finished(r)) << r.output;
  EXPECT_NE(r.output.find("x 2 MPI ranks"), std::string::npos) << r.output;
  expect_same_datasets(one, two);
  EXPECT_EQ(File::open_read(two).number_attribute("processes"), 2);
}

TEST_F(Calibrate, CheckPrintsTheTargetsAtTheExperimentsParametersAndItsStatusSaysWhetherAllAreMet) {
  const auto exp = smc_experiment();
  const auto met = run_cli("calibrate " + exp.string() + " --check -q");
  EXPECT_EQ(met.code, 0) << met.output;
  EXPECT_NE(met.output.find("5 of 5 targets met"), std::string::npos) << met.output;
  // The same targets, the market moved off the truth: the complaint target is missed.
  std::string text = read_text(exp);
  text.replace(text.find("complaint_intercept = -3.2"), 26, "complaint_intercept = -2.0");
  const auto moved = write("moved.toml", text);
  const auto missed = run_cli("calibrate " + moved.string() + " --check -q");
  EXPECT_EQ(missed.code, 3) << missed.output;
  EXPECT_NE(missed.output.find("NO"), std::string::npos) << missed.output;
  EXPECT_FALSE(fs::exists(dir_ / "results")) << "--check writes nothing";
}

TEST_F(Calibrate, APosteriorSweepsPointsAreTheCalibrationsDraws) {
  const std::string small = "method = \"abc-smc\"\nparticles = 20\nmax_simulations = 400\ndraws = 12\nround_fill = 20\n";
  const auto exp = write("src.toml", calibration_experiment(small));
  const auto cal_file = dir_ / "src.h5";
  ASSERT_TRUE(finished(run_cli("calibrate " + exp.string() + " -q --threads 2 -o " + cal_file.string())));
  const auto sweep = write("sweep.toml", std::string(kMarket) + "[sweep]\ndesign = \"posterior\"\nsource = \"src.h5\"\npoints = 12\n");
  const auto out = dir_ / "sweep.h5";
  const auto r = run_cli("run " + sweep.string() + " -q --threads 2 -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const File f = File::open_read(out);
  EXPECT_EQ(f.string_attribute("sweep_design"), "posterior");
  EXPECT_EQ(f.string_attribute("source_calibration"), cal_file.string());
  EXPECT_EQ(f.string_attribute("source_calibration_sha256"), app::file_sha256(cal_file));
  const auto draws = read(cal_file, "posterior_draws");
  const char* paths[] = {"model.complaint_intercept", "segments.default.churn_hazard", "model.expectation_base"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto coord = f.read_doubles(paths[i]);
    ASSERT_EQ(coord.size(), 12u);
    for (std::size_t d = 0; d < 12; ++d) EXPECT_EQ(coord[d], draws[d * 3 + i]) << paths[i] << " draw " << d;
  }
  // More points than draws: refused with the line.
  const auto big = write("big.toml", std::string(kMarket) + "[sweep]\ndesign = \"posterior\"\nsource = \"src.h5\"\npoints = 13\n");
  const auto refused = run_cli("validate " + big.string());
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.output.find("big.toml:22: sweep.points: 13 points, but src.h5 holds 12 draws (at most 12 points)"),
            std::string::npos)
      << refused.output;
  // A results file is not a calibration file.
  const auto foreign = write("foreign.toml", std::string(kMarket) + "[sweep]\ndesign = \"posterior\"\nsource = \"sweep.h5\"\npoints = 2\n");
  const auto not_calibration = run_cli("validate " + foreign.string());
  EXPECT_EQ(not_calibration.code, 2);
  EXPECT_NE(not_calibration.output.find("foreign.toml:21: sweep.source: sweep.h5 is not a loyalsim calibration file (the "
                                        "path of a calibration file written by loyalsim calibrate, relative to the "
                                        "experiment's folder)"),
            std::string::npos)
      << not_calibration.output;
  // A calibrated parameter this experiment does not have (its segment has another name).
  std::string renamed = std::string(kMarket) + "[sweep]\ndesign = \"posterior\"\nsource = \"src.h5\"\npoints = 2\n";
  renamed.replace(renamed.find("name = \"default\""), 16, "name = \"regular\"");
  const auto unknown = run_cli("validate " + write("renamed.toml", renamed).string());
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("renamed.toml:21: sweep.source: \"segments.default.churn_hazard\" (calibrated in src.h5) "
                                "names no parameter of this experiment (did you mean \"segments.regular.churn_hazard\"?) "
                                "(segments.NAME.KEY with NAME one of: regular)"),
            std::string::npos)
      << unknown.output;
  // `info` compares the policies across the draws (the numbers are checked against Python in
  // tests/python/test_posterior.py).
  const auto info = run_cli("info " + out.string());
  EXPECT_EQ(info.code, 0) << info.output;
  for (const char* part : {"Under the posterior: net value (discounted), months 1..12", "over 12 posterior draws x 8 replications",
                           "95% credible interval", "What would narrow", "narrowed most by", "Only 12 draws"})
    EXPECT_NE(info.output.find(part), std::string::npos) << part << "\n" << info.output;
}
