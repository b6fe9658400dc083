// Inputs that once broke the experiment parser (found by the sanitizers or
// the fuzzer, docs/reliability.md), kept in tests/fuzz/regressions/. Each
// must be either accepted or refused with engine::InputError: any other
// exception fails here, and undefined behaviour or a memory error fails the
// sanitizer builds (scripts/sanitize), which run this test too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/experiment.hpp"
#include "cli_support.hpp"
#include "engine/errors.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;

namespace {

std::vector<std::string> problems_of(const std::string& text) {
  try {
    app::parse_experiment(text, "regression.toml");
  } catch (const engine::InputError& e) {
    std::vector<std::string> out;
    for (const auto& p : e.problems()) out.push_back(p.str());
    return out;
  }
  return {};
}

}  // namespace

TEST(ParserRegressions, EveryKeptInputIsAcceptedOrRefusedCleanly) {
  const fs::path dir = fs::path(LOYALSIM_SOURCE_DIR) / "tests" / "fuzz" / "regressions";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    try {
      app::parse_experiment(loyalsim::testing::read_text(f), f.filename());
    } catch (const engine::InputError& e) {
      EXPECT_FALSE(e.problems().empty());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an InputError: " << e.what();
    }
  }
}

TEST(ParserRegressions, TieCountsBeyondInt64AreRefusedLikeAnyOtherBadCount) {
  const std::string base = "name = \"x\"\nseed = 1\n[[policies]]\nname = \"p\"\n[sweep]\ndesign = \"grid\"\n"
                           "[sweep.parameters]\n";
  const std::string allowed = " is not allowed (even integers in [0, 64])";
  EXPECT_EQ(problems_of(base + "\"wom.strong_ties\" = [0, 1e20]\n"),
            std::vector<std::string>{"regression.toml:8: sweep.parameters.\"wom.strong_ties\": value 1e+20" + allowed});
  EXPECT_EQ(problems_of(base + "\"wom.weak_ties\" = { values = [2, -inf] }\n"),
            std::vector<std::string>{"regression.toml:8: sweep.parameters.\"wom.weak_ties\": value -inf" + allowed});
  EXPECT_EQ(problems_of(base + "\"wom.weak_ties\" = { values = [2, 1e300] }\n"),
            std::vector<std::string>{"regression.toml:8: sweep.parameters.\"wom.weak_ties\": value 1e+300" + allowed});
}
