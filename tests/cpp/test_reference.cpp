// The committed reference results: tests/reference/srp1-reference.toml run in
// process must reproduce tests/reference/srp1-reference.txt bit for bit (every
// metric, replication and month as a hexadecimal float, and the fact cells).
//
// This guards against changes to results nobody meant: a refactoring, a new
// parameter at its default, a faster kernel that is supposed to be exact. A
// change that alters results on purpose regenerates the file in the same
// commit, bumps the engine version and says so (tests/reference/README.md):
//   LOYALSIM_REGENERATE_REFERENCE=1 build/tests/loyalsim_tests --gtest_filter='Reference.*'
// Metrics the reference does not have (added later) are not compared; every
// metric it has must still be there.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"

namespace {

using namespace loyalsim;
namespace fs = std::filesystem;

const fs::path kDir = fs::path(LOYALSIM_SOURCE_DIR) / "tests/reference";

std::string hex(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%a", x);
  return buf;
}

// "metric NAME policy P replication R" -> the months as hex floats; "facts ..." -> counts.
std::map<std::string, std::string> lines_of(const app::Experiment& e, const app::Ensemble& ens) {
  std::map<std::string, std::string> out;
  const auto& pols = e.scenario.policies;
  for (std::uint32_t p = 0; p < ens.policies; ++p)
    for (std::uint32_t r = 0; r < ens.replications; ++r) {
      const auto& run = ens.run(0, p, r);
      const std::string where = " policy " + pols[p].name + " replication " + std::to_string(r);
      for (int m = 0; m < srp1::kMetricCount; ++m) {
        std::string values;
        for (std::uint32_t t = 0; t <= run.months; ++t) values.append(t ? " " : "").append(hex(run.at(static_cast<srp1::Metric>(m), t)));
        out["metric " + std::string(srp1::kMetricInfo[m].name) + where] = values;
      }
      std::string counts;
      for (int c = 0; c < srp1::kFactCells; ++c)
        counts.append(c ? " " : "").append(std::to_string(run.fact_count[c])).append("/").append(std::to_string(run.fact_retained[c]));
      out["facts" + where] = counts;
    }
  return out;
}

}  // namespace

TEST(Reference, TheCommittedReferenceRunIsReproducedBitForBit) {
  const app::Experiment e = app::load_experiment(kDir / "srp1-reference.toml");
  app::EnsembleOptions opt;
  opt.threads = 2;
  const auto now = lines_of(e, app::run_ensemble(e, opt));
  const fs::path file = kDir / "srp1-reference.txt";
  if (std::getenv("LOYALSIM_REGENERATE_REFERENCE")) {
    std::ofstream out(file);
    out << "# Written by tests/cpp/test_reference.cpp from srp1-reference.toml; do not edit by hand.\n";
    for (const auto& [key, values] : now) out << key << ": " << values << '\n';
    GTEST_SKIP() << "regenerated " << file;
  }
  std::ifstream in(file);
  ASSERT_TRUE(in) << "missing " << file;
  std::size_t compared = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(": ");
    ASSERT_NE(colon, std::string::npos) << line;
    const std::string key = line.substr(0, colon);
    const auto it = now.find(key);
    ASSERT_NE(it, now.end()) << "the reference has " << key << ", which this engine no longer produces";
    EXPECT_EQ(it->second, line.substr(colon + 2)) << key;
    ++compared;
  }
  // Every metric and the facts, for 2 policies x 3 replications.
  EXPECT_EQ(compared, (static_cast<std::size_t>(srp1::kMetricCount) + 1u) * 2u * 3u);
}
