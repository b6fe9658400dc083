// Experiment files: every section read, defaults kept, every problem of a bad
// file reported at once as "file:line: key: what (allowed)".
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "app/experiment.hpp"
#include "engine/config.hpp"
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
            "exp.toml:3: policies: at least one policy is required (one [[policies]] table per policy; the first is "
            "the baseline)");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\n"),
            "exp.toml:1: policies: at least one policy is required (one [[policies]] table per policy; the first is "
            "the baseline)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[segments]]\nname = \"s\"\nshare = 0\n"),
            "exp.toml:7: segments.s.share: value 0 is out of range (a number > 0)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\nparadox_scope = \"behavioral\"\n"),
            "exp.toml:6: model.paradox_scope: unknown value \"behavioral\" (did you mean \"behavioural\"?) (one of "
            "\"none\", \"satisfaction_only\", \"behavioural\")");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[sweep]\ndesign = \"lhs\"\n"),
            "exp.toml:5: sweep.points: missing required key (an integer in [1, 1000000])\n"
            "exp.toml:5: sweep.parameters: no parameters to sweep (a [sweep.parameters] table, e.g. \"model.gain\" = "
            "[0.2, 1.0])");
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
    EXPECT_EQ(std::string(e.what()), "/nonexistent/exp.toml:0: cannot read file: No such file or directory");
  }
  try {
    loyalsim::app::load_experiment(std::filesystem::temp_directory_path());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), std::filesystem::temp_directory_path().string() +
                                         ":0: cannot read file: Is a directory");
  }
}

TEST(Experiment, ShippedExperimentsAreValid) {
  // Every experiment shipped (presets are parts of experiments, not experiments:
  // those in presets/, and the NAME.preset.toml a calibration writes beside its file).
  std::size_t shipped = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::filesystem::path(LOYALSIM_SOURCE_DIR) / "experiments")) {
    const std::string file = entry.path().filename().string();
    const bool preset = entry.path().parent_path().filename() == "presets" || file.ends_with(".preset.toml");
    if (entry.path().extension() != ".toml" || preset) continue;
    EXPECT_NO_THROW(loyalsim::app::load_experiment(entry.path())) << entry.path();
    ++shipped;
  }
  EXPECT_GE(shipped, 5u);
  const auto main = loyalsim::app::load_experiment(std::filesystem::path(LOYALSIM_SOURCE_DIR) /
                                                   "experiments/policy-comparison.toml");
  EXPECT_EQ(main.scenario.population.customers, 100'000u);
  EXPECT_EQ(main.scenario.population.prospects, 100'000u);
  EXPECT_EQ(main.scenario.horizon_months, 36u);
  EXPECT_EQ(main.replications, 30u);
  EXPECT_EQ(main.scenario.policies.size(), 6u);
  EXPECT_GT(main.scenario.warmup_months, 0u);
}

TEST(Experiment, MoreRuleClassesWithExactMessages) {
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\nreplicatons = 3\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:3: replicatons: unknown key 'replicatons' (did you mean 'replications'?) (see the "
            "documentation of the format)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[model]]\ngain = 1\n"),
            "exp.toml:5: model: expected a table, got an array (a table: [model] or model = { ... })");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1.5\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:2: seed: expected an integer, got a number (an integer in [0, 9223372036854775807])");
  EXPECT_EQ(problems_of("name = \"a/b\"\nseed = 1\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:1: name: \"a/b\" cannot be used in a file name (a non-empty name without /, \\ or NUL "
            "characters, not . or ..)");
  EXPECT_EQ(problems_of("name = \"a\\u0000b\"\nseed = 1\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:1: name: \"a\\0b\" cannot be used in a file name (a non-empty name without /, \\ or NUL "
            "characters, not . or ..)");
  EXPECT_EQ(problems_of("name = \"\"\nseed = 1\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:1: name: the name is empty (a non-empty name without /, \\ or NUL characters, not . or ..)");
  EXPECT_EQ(problems_of("name = \"m\"\nseed = 1\nsegments = []\n[[policies]]\nname = \"p\"\n"),
            "exp.toml:3: segments: no segments (at least one [[segments]] table, or no segments key for one "
            "default segment)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[segments]]\nshare = 2\n"),
            "exp.toml:5: segments[0].name: missing required key (a string)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[segments]]\nname = \"s\"\n[[segments]]\nname = \"s\"\n"),
            "exp.toml:8: segments[1].name: duplicate name \"s\" (first used on line 6) (unique names)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[[segments]]\nname = \"s\"\nsatisfaction_mean = 1\n"),
            "exp.toml:7: segments.s.satisfaction_mean: value 1 is out of range (a number in (0, 1))");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\njustice_weights = { distributive = 0, interactional = 0, "
                                                "procedural = 0 }\ncause_loss = { produce = 1 }\n"),
            "exp.toml:6: model.justice_weights: the weights sum to 0 (non-negative weights with a positive sum)\n"
            "exp.toml:7: model.cause_loss.produce: unknown key 'produce' (did you mean 'product'?) (known keys: "
            "product staff process customer)");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[model]\nchurn_satisfaction = 101\ndiscount_rate_annual = -1\n"),
            "exp.toml:6: model.churn_satisfaction: value 101 is out of range (a number in [-100, 100])\n"
            "exp.toml:7: model.discount_rate_annual: value -1 is out of range (a number in (-1, 100])");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[wom]\nsilent = inf\ndeterrence = 1\n"),
            "exp.toml:6: wom.silent: value inf is not a usable number (a number >= 0, finite, at most 1e12 in size)\n"
            "exp.toml:7: wom.deterrence: value 1 is out of range (a number in [0, 1))");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "compensation = 2e6\nfirst_contact_resolution = 0\n"),
            "exp.toml:5: policies.p.compensation: value 2e+06 is out of range (a number in [0, 1e+06])\n"
            "exp.toml:6: policies.p.first_contact_resolution: value 0 is out of range (a number in (0, 1])");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[population]\ncustomers = 0\ninitial_tenure_max = 0\n"),
            "exp.toml:6: population.customers: value 0 is out of range (an integer in [1, 2147483647])\n"
            "exp.toml:7: population.initial_tenure_max: value 0 is out of range (an integer in [1, 1200])");
  EXPECT_EQ(problems_of(std::string(kMinimal) + "[output]\npath = 5\n"),
            "exp.toml:6: output.path: expected a string, got an integer (a string)");
  const auto huge = problems_of(std::string(kMinimal) + "[population]\ncustomers = 9223372036854775808\n");
  EXPECT_EQ(huge.rfind("exp.toml:6: not valid TOML: ", 0), 0u) << huge;
}

TEST(Experiment, OutputPathIsRelativeToTheExperimentFolder) {
  const std::string text = "name = \"m\"\nseed = 1\n[[policies]]\nname = \"p\"\n[output]\npath = \"out/../r/x.h5\"\n";
  EXPECT_EQ(parse_experiment(text, "a/b/exp.toml").output_path, std::filesystem::path("a/b/r/x.h5"));
  EXPECT_EQ(parse_experiment(text, "exp.toml").output_path, std::filesystem::path("r/x.h5"));
  EXPECT_EQ(parse_experiment(kMinimal, "/data/exp.toml").output_path, std::filesystem::path("/data/results/m.h5"));
}

TEST(Experiment, LoadKeepsTheExactTextAndResolvesAgainstTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("loyalsim-exp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  const std::string text = "# comment kept\r\nname = \"caf\xc3\xa9\"\nseed = 18\n[[policies]]\nname = \"p\"\n";
  std::ofstream(dir / "sub/exp.toml", std::ios::binary) << text;
  const auto e = loyalsim::app::load_experiment(dir / "sub/exp.toml");
  EXPECT_EQ(e.toml_text, text);
  EXPECT_EQ(e.name, "caf\xc3\xa9");
  EXPECT_EQ(e.source, dir / "sub/exp.toml");
  EXPECT_EQ(e.output_path, dir / "sub/results/caf\xc3\xa9.h5");

  std::ofstream(dir / "latin1.toml", std::ios::binary) << "name = \"m\"\nseed = 1\n# caf\xe9\n";
  try {
    loyalsim::app::load_experiment(dir / "latin1.toml");
    ADD_FAILURE();
  } catch (const InputError& err) {
    EXPECT_EQ(std::string(err.what()),
              (dir / "latin1.toml").string() + ":3: the file is not valid UTF-8 text (save it as UTF-8)");
  }
  std::filesystem::remove_all(dir);
}

// The generic reader helpers, independent of the experiment format.
TEST(Config, Helpers) {
  namespace config = loyalsim::engine::config;
  EXPECT_EQ(config::edit_distance("gian", "gain"), 2u);
  EXPECT_EQ(config::edit_distance("", "abc"), 3u);
  EXPECT_EQ(config::suggest("gian", {"gain", "margin", "rewire"}), std::optional<std::string>("gain"));
  EXPECT_EQ(config::suggest("colour", {"gain", "margin"}), std::nullopt);
  EXPECT_EQ(config::first_invalid_utf8_line("ok\n\xe2\x82\xac\n"), std::nullopt);
  EXPECT_EQ(config::first_invalid_utf8_line("a\nb\n\xc0\xaf\n"), std::optional<std::int64_t>(3));  // overlong
  EXPECT_EQ(config::first_invalid_utf8_line("\xed\xa0\x80"), std::optional<std::int64_t>(1));      // surrogate
  EXPECT_EQ(config::first_invalid_utf8_line("x\n\xe2\x82"), std::optional<std::int64_t>(2));        // truncated

  config::Reader r("c.toml");
  const auto doc = r.parse("flag = true\nother = 1\nname = \"x\"\n");
  ASSERT_TRUE(doc);
  bool flag = false, other = false;
  EXPECT_TRUE(r.boolean(*doc, "flag", "flag", flag));
  EXPECT_TRUE(flag);
  EXPECT_FALSE(r.boolean(*doc, "other", "other", other));
  EXPECT_FALSE(r.boolean(*doc, "absent", "absent", other));
  int choice = -1;
  EXPECT_TRUE(r.choice(*doc, "name", "name", choice, {"w", "x"}));
  EXPECT_EQ(choice, 1);
  ASSERT_EQ(r.problems().size(), 1u);
  EXPECT_EQ(r.problems()[0].str(), "c.toml:2: other: expected a boolean, got an integer (true or false)");
}
