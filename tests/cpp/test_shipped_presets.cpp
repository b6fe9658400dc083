// The shipped presets (experiments/presets/*.toml) meet the targets they were
// calibrated to: `loyalsim calibrate NAME-check.toml --check` at a seed the
// calibration never used (issue 14), and the check tests exactly the
// calibration's probes, parameters and targets.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "app/experiment.hpp"
#include "cli_support.hpp"

namespace {

using namespace loyalsim;
namespace fs = std::filesystem;
using loyalsim::testing::read_text;
using loyalsim::testing::run_cli;

const fs::path kCalibrations = fs::path(LOYALSIM_SOURCE_DIR) / "experiments" / "calibration";
constexpr const char* kShipped[] = {"evidence", "seed-claims"};

// An experiment's text from its first [[policies]] to its [output] table (or
// the end), without comments or blank lines: the probes, the [calibration]
// settings, parameters and targets.
std::string probes_and_targets(const fs::path& file) {
  const std::string text = read_text(file);
  const auto from = text.find("[[policies]]");
  const auto to = text.find("\n[output]");
  std::string kept, line;
  for (std::size_t i = from; i < std::min(to, text.size()); ++i) {
    if (text[i] != '\n') {
      line += text[i];
      continue;
    }
    if (!line.empty() && line[0] != '#') kept += line + '\n';
    line.clear();
  }
  if (!line.empty() && line[0] != '#') kept += line + '\n';
  return kept;
}

TEST(ShippedPresets, EachCheckTestsItsCalibrationsProbesParametersAndTargets) {
  for (const std::string name : kShipped) {
    const fs::path calibration = kCalibrations / (name + ".toml"), check = kCalibrations / (name + "-check.toml");
    ASSERT_TRUE(fs::exists(check)) << check;
    EXPECT_EQ(probes_and_targets(check), probes_and_targets(calibration)) << name;
    const app::Experiment e = app::load_experiment(check);
    EXPECT_EQ(e.preset, name);
    EXPECT_NE(e.seed, app::load_experiment(calibration).seed) << "a check at the calibration's own seed is not a check";
  }
}

TEST(ShippedPresets, EachMeetsEveryTargetItWasCalibratedTo) {
  for (const std::string name : kShipped) {
    const auto r = run_cli("calibrate " + (kCalibrations / (name + "-check.toml")).string() + " --check -q");
    EXPECT_EQ(r.code, 0) << name << ":\n" << r.output;
  }
}

}  // namespace
