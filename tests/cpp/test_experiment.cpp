// Experiment files: every section read, defaults kept, every problem of a bad
// file reported at once as "file:line: key: what (allowed)".
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/experiment.hpp"
#include "engine/errors.hpp"

using loyalsim::app::parse_experiment;
using loyalsim::engine::InputError;
namespace srp1 = loyalsim::srp1;

namespace {

// The problems of a text, one message per line ("" when it parses).
std::string problems_of(const std::string& text) {
  try {
    parse_experiment(text, "exp.toml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kMinimal = "name = \"m\"\nseed = 1\n[[policies]]\nname = \"p\"\n";

}  // namespace

TEST(Experiment, MinimalFileTakesEveryDefault) {
  const auto e = parse_experiment(kMinimal, "dir/exp.toml");
  const srp1::Scenario defaults;
  EXPECT_EQ(e.name, "m");
  EXPECT_EQ(e.seed, 1u);
  EXPECT_EQ(e.replications, 30u);
  EXPECT_EQ(e.scenario.horizon_months, 36u);
  ASSERT_EQ(e.scenario.segments.size(), 1u);
  EXPECT_EQ(e.scenario.segments[0].name, "default");
  EXPECT_EQ(e.scenario.model.gain, defaults.model.gain);
  EXPECT_EQ(e.scenario.wom.strong_ties, 8u);
  EXPECT_EQ(e.scenario.policies.at(0).first_contact_resolution, 0.5);
  EXPECT_EQ(e.output_path, std::filesystem::path("dir/results/m.h5"));
  EXPECT_EQ(e.toml_text, kMinimal);
}

TEST(Experiment, EverySectionIsRead) {
  const auto e = parse_experiment(R"(name = "full"
description = "d"
seed = 9223372036854775807
replications = 3
horizon_months = 12
[population]
customers = 10
prospects = 0
initial_tenure_max = 24
[[segments]]
name = "a"
share = 3
churn_hazard = 0.02
recovery_responsiveness = 0.5
[[segments]]
name = "b"
share = 1
complaint_bias = -1
[model]
paradox_scope = "behavioural"
gain = 0.9
cause_share = { product = 1, staff = 0, process = 0, customer = 1 }
justice_weights = { distributive = 1, interactional = 1, procedural = 2 }
interactional_weights = { apology = 1 }
discount_rate_annual = 0.05
[wom]
strong_ties = 4
weak_ties = 0
advertising = 0.01
[[policies]]
name = "x"
compensation = 1.5
root_cause_fix = 0.25
[output]
path = "/tmp/out.h5"
)", "exp.toml");
  EXPECT_EQ(e.seed, 9223372036854775807ull);
  EXPECT_EQ(e.description, "d");
  EXPECT_EQ(e.scenario.population.initial_tenure_max, 24u);
  ASSERT_EQ(e.scenario.segments.size(), 2u);
  EXPECT_EQ(e.scenario.segments[0].share, 3.0);
  EXPECT_EQ(e.scenario.segments[1].complaint_bias, -1.0);
  EXPECT_EQ(e.scenario.model.paradox_scope, srp1::ParadoxScope::behavioural);
  EXPECT_EQ(e.scenario.model.cause_share[3], 1.0);
  EXPECT_EQ(e.scenario.model.cause_loss[1], 1.2);  // untouched table keeps its defaults
  EXPECT_EQ(e.scenario.model.justice_weights.procedural, 2.0);
  EXPECT_EQ(e.scenario.model.interactional_weights.apology, 1.0);
  EXPECT_EQ(e.scenario.model.interactional_weights.empathy, 0.25);
  EXPECT_EQ(e.scenario.wom.strong_ties, 4u);
  EXPECT_EQ(e.scenario.wom.advertising, 0.01);
  EXPECT_EQ(e.scenario.policies[0].compensation, 1.5);
  EXPECT_EQ(e.output_path, std::filesystem::path("/tmp/out.h5"));
}

TEST(Experiment, MessagesNameFileLineKeyWhatAndAllowed) {
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\ngian = 0.5\n"),
            "exp.toml:6: model.gian: unknown key 'gian' (did you mean 'gain'?) (see the documentation of the format)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\ngain = \"high\"\n"),
            "exp.toml:6: model.gain: expected a number, got a string (a number >= 0)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[wom]\nrewire = 1.5\n"),
            "exp.toml:6: wom.rewire: value 1.5 is out of range (a number in [0, 1])");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[wom]\nstrong_ties = 3\n"),
            "exp.toml:6: wom.strong_ties: value 3 is odd (an even integer in [0, 64])");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\ngain = nan\n"),
            "exp.toml:6: model.gain: value nan is not a usable number (a number >= 0, finite, at most 1e12 in size)");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\n[[policies]]\nname = \"p\"\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:6: policies[1].name: duplicate name \"p\" (first used on line 4) (unique names)");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\npolicies = []\n"),
            "exp.toml:3: policies: expected an array of tables, got an array (one [[policies]] table per entry)");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\n"),
            "exp.toml:1: policies: no policies: nothing to compare (at least one [[policies]] table; the first is "
            "the baseline)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[segments]]\nname = \"s\"\nshare = 0\n"),
            "exp.toml:7: segments.s.share: value 0 is out of range (a number > 0)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\nparadox_scope = \"behavioral\"\n"),
            "exp.toml:6: model.paradox_scope: unknown value \"behavioral\" (did you mean \"behavioural\"?) (one of "
            "\"none\", \"satisfaction_only\", \"behavioural\")");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[sweep]\ndesign = \"lhs\"\n"),
            "exp.toml:5: sweep: sweeps are not supported by this version (remove [sweep]; sweeps arrive with issue 4)");
}

TEST(Experiment, RequiredKeysAndHugeNumbers) {
  EXPECT_EQ(problems_of("[[policies]]\nname = \"p\"\n"),
            "exp.toml:1: name: missing required key (a string)\nexp.toml:1: seed: missing required key (an integer "
            "in [0, 9223372036854775807])");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = -1\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:2: seed: value -1 is out of range (an integer in [0, 9223372036854775807])");
  const auto huge = problems_of("name = \"m\"\nseed = 99999999999999999999\n[[policies]]\nname = \"p\"\n");
  EXPECT_EQ(huge.rfind("exp.toml:2: not valid TOML: ", 0), 0u) << huge;
  const auto population = problems_of(std::string(kMinimal) + "[population]\ncustomers = 2_000_000_000\n"
                                                              "prospects = 2_000_000_000\n");
  EXPECT_NE(population.find("exp.toml:5: population: customers + prospects = 4000000000 is too many"),
            std::string::npos)
      << population;
}

TEST(Experiment, EveryProblemIsListedInLineOrder) {
  const auto all = problems_of("name = \"m\"\nseed = 1\nreplications = 0\n[model]\ngian = 1\nrelaxation = 2\n"
                               "[[policies]]\nname = \"p\"\napology = -1\n");
  EXPECT_EQ(all,
            "exp.toml:3: replications: value 0 is out of range (an integer in [1, 100000])\n"
            "exp.toml:5: model.gian: unknown key 'gian' (did you mean 'gain'?) (see the documentation of the format)\n"
            "exp.toml:6: model.relaxation: value 2 is out of range (a number in [0, 1])\n"
            "exp.toml:9: policies.p.apology: value -1 is out of range (a number in [0, 1])");
}

TEST(Experiment, BrokenTextIsRefusedWithItsLine) {
  const auto truncated = problems_of("name = \"m\"\nseed = 1\n[[policies]]\nname = \"p");
  EXPECT_EQ(truncated.rfind("exp.toml:4: not valid TOML: ", 0), 0u) << truncated;
  const auto latin1 = problems_of("name = \"caf\xe9\"\nseed = 1\n");
  EXPECT_EQ(latin1, "exp.toml:1: the file is not valid UTF-8 text (save it as UTF-8)");
}

TEST(Experiment, MissingFileIsAnInputError) {
  try {
    loyalsim::app::load_experiment("/nonexistent/exp.toml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/exp.toml:0: no such file (a readable experiment file (TOML))");
  }
}

TEST(Experiment, ShippedExperimentsAreValid) {
  for (const char* name : {"policy-comparison.toml", "quickstart.toml"}) {
    const auto e = loyalsim::app::load_experiment(std::filesystem::path(LOYALSIM_SOURCE_DIR) / "experiments" / name);
    EXPECT_GE(e.scenario.policies.size(), 3u) << name;
  }
  const auto main = loyalsim::app::load_experiment(std::filesystem::path(LOYALSIM_SOURCE_DIR) /
                                                   "experiments/policy-comparison.toml");
  EXPECT_EQ(main.scenario.population.customers, 100'000u);
  EXPECT_EQ(main.scenario.population.prospects, 100'000u);
  EXPECT_EQ(main.scenario.horizon_months, 36u);
  EXPECT_EQ(main.replications, 30u);
  EXPECT_EQ(main.scenario.policies.size(), 5u);
}
