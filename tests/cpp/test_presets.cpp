// Presets (docs/experiment-format.md "Presets"): a market without its size and policies,
// merged under an experiment key by key; segments by name. Each merge rule,
// the origins `validate` reports, and bad presets refused with their own
// file and line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/experiment.hpp"
#include "engine/errors.hpp"

namespace {

using namespace loyalsim;
namespace fs = std::filesystem;

constexpr const char* kPreset = R"(# a test market
description = "test preset"
[population]
initial_tenure_max = 24
[[segments]]
name = "regular"
share = 0.8
churn_hazard = 0.02
[[segments]]
name = "chronic"
share = 0.2
complaint_bias = 1.5
recovery_responsiveness = 0.3
[model]
gain = 0.3
relaxation = 0.05
[wom]
advertising = 0.004
)";

class Presets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loyalsim-presets-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "shipped");
    write("shipped/market.toml", kPreset);
    write("shipped/other.toml", "[model]\ngain = 0.1\n");
    write("local/mine.toml", kPreset);
    setenv("LOYALSIM_PRESETS", (dir_ / "shipped").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("LOYALSIM_PRESETS");
    fs::remove_all(dir_);
  }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }
  app::Experiment parse(const std::string& body) {
    return app::parse_experiment("name = \"p\"\nseed = 1\n" + body + "[[policies]]\nname = \"a\"\n", dir_ / "exp.toml");
  }
  std::string problems(const std::string& body) {
    try {
      parse(body);
    } catch (const engine::InputError& e) {
      std::string s = e.what();
      for (std::size_t at; (at = s.find(dir_.string() + "/")) != std::string::npos;) s.erase(at, dir_.string().size() + 1);
      return s;
    }
    return "";
  }
  fs::path dir_;
};

}  // namespace

TEST_F(Presets, AShippedPresetIsTheStartingPointAndTheExperimentOverridesItKeyByKey) {
  const auto e = parse("preset = \"market\"\n[model]\ngain = 0.9\n");
  const auto& sc = e.scenario;
  EXPECT_EQ(sc.model.gain, 0.9);              // the experiment's key
  EXPECT_EQ(sc.model.relaxation, 0.05);       // the preset's, not overridden
  EXPECT_EQ(sc.model.severity_a, srp1::ModelParams{}.severity_a);  // neither: the default
  EXPECT_EQ(sc.wom.advertising, 0.004);
  EXPECT_EQ(sc.population.initial_tenure_max, 24u);
  ASSERT_EQ(sc.segments.size(), 2u);
  EXPECT_EQ(sc.segments[1].complaint_bias, 1.5);
  EXPECT_EQ(e.preset, "market");
  EXPECT_EQ(e.preset_path, dir_ / "shipped/market.toml");
  EXPECT_EQ(e.preset_toml, kPreset);
  ASSERT_EQ(e.preset_overrides.size(), 1u);
  EXPECT_EQ(e.preset_overrides[0].path, "model.gain");
  EXPECT_EQ(e.preset_overrides[0].line, 5);
  EXPECT_EQ(e.preset_overrides[0].preset_line, 15);
}

TEST_F(Presets, SegmentsMergeByNameAndNewNamesAreAdded) {
  const auto e = parse("preset = \"market\"\n[[segments]]\nname = \"chronic\"\ncomplaint_bias = 2.0\n"
                       "[[segments]]\nname = \"vip\"\nshare = 0.1\nbase_spend = 90\n");
  const auto& segs = e.scenario.segments;
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].name, "regular");  // kept from the preset
  EXPECT_EQ(segs[0].churn_hazard, 0.02);
  EXPECT_EQ(segs[1].name, "chronic");
  EXPECT_EQ(segs[1].complaint_bias, 2.0);           // overridden ...
  EXPECT_EQ(segs[1].recovery_responsiveness, 0.3);  // ... key by key
  EXPECT_EQ(segs[2].name, "vip");
  EXPECT_EQ(segs[2].base_spend, 90.0);
  EXPECT_EQ(segs[2].churn_hazard, srp1::Segment{}.churn_hazard);  // a new segment starts from the defaults
  ASSERT_EQ(e.preset_overrides.size(), 1u);
  EXPECT_EQ(e.preset_overrides[0].path, "segments.chronic.complaint_bias");
}

TEST_F(Presets, APathIsRelativeToTheExperiment) {
  const auto e = parse("preset = \"local/mine.toml\"\n");
  EXPECT_EQ(e.preset_path, dir_ / "local/mine.toml");
  EXPECT_EQ(e.scenario.model.gain, 0.3);
  // Without a preset the same experiment keeps the defaults.
  EXPECT_EQ(parse("").scenario.model.gain, srp1::ModelParams{}.gain);
}

TEST_F(Presets, BadPresetsAreRefusedWithTheirFileAndLine) {
  EXPECT_EQ(problems("preset = \"markt\"\n"),
            "exp.toml:3: preset: no shipped preset is named \"markt\" (did you mean \"market\"?) (one of: market, other; "
            "or a path to a preset file, with a '/' or ending in .toml)");
  EXPECT_EQ(problems("preset = \"nowhere/x.toml\"\n"),
            "exp.toml:3: preset: cannot read the preset file nowhere/x.toml: No such file or directory (a shipped "
            "preset's name, or a path to a preset file relative to the experiment)");
  write("local/bad.toml", "[population]\ncustomers = 5\n[model]\ngian = 1\n[[policies]]\nname = \"x\"\n");
  EXPECT_EQ(problems("preset = \"local/bad.toml\"\n[model]\nrelaxation = 7\n"),
            "local/bad.toml:2: population.customers: unknown key 'customers' (known keys: initial_tenure_max)\n"
            "local/bad.toml:4: model.gian: unknown key 'gian' (did you mean 'gain'?) (see the documentation of the "
            "format)\n"
            "local/bad.toml:5: policies: unknown key 'policies' (known keys: description population segments model wom)\n"
            "exp.toml:5: model.relaxation: value 7 is out of range (a number in [0, 1])");
  EXPECT_EQ(problems("preset = \"\"\n"),
            "exp.toml:3: preset: the preset name is empty (a shipped preset's name, or a path to a preset file)");
  // Not a string: one problem, not also "empty".
  EXPECT_EQ(problems("preset = 3\n"), "exp.toml:3: preset: expected a string, got an integer (a string)");
}

TEST_F(Presets, APresetsOwnProblemsNameItsFileAndLine) {
  write("local/broken.toml", "[model\ngain = 1\n");
  EXPECT_EQ(problems("preset = \"local/broken.toml\"\n"),
            "local/broken.toml:1: not valid TOML: Error while parsing table header: expected ']', saw '\\n'");
  write("local/range.toml", "[model]\nrelaxation = 0.1\n[[segments]]\nname = \"x\"\nshare = 0\n");
  EXPECT_EQ(problems("preset = \"local/range.toml\"\n"),
            "local/range.toml:5: segments.x.share: value 0 is out of range (a number > 0)");
  write("local/binary.toml", std::string("[model]\ngain = \"\xff\"\n"));
  EXPECT_EQ(problems("preset = \"local/binary.toml\"\n"),
            "local/binary.toml:2: the file is not valid UTF-8 text (save it as UTF-8)");
}

TEST_F(Presets, WithoutShippedPresetsANameIsRefusedSayingSo) {
  setenv("LOYALSIM_PRESETS", (dir_ / "none").c_str(), 1);
  EXPECT_EQ(problems("preset = \"evidence\"\n"),
            "exp.toml:3: preset: no shipped preset is named \"evidence\" (no preset ships with this build; a path to a "
            "preset file, with a '/' or ending in .toml)");
}
