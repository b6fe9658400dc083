// The numbers loyalsim prints: the horizon table's rows, each on one scale
// with enough decimals that its smallest half-width shows two significant
// digits (the same cases, with the same strings, are in
// tests/python/test_format.py); and durations, in the plan and the progress line.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "app/report.hpp"
#include "engine/progress.hpp"

using loyalsim::app::format_row;
using loyalsim::engine::Interval;

namespace {

Interval around(double mean, double half_width) { return {mean, mean - half_width, mean + half_width}; }

std::string one(const Interval& iv, const char* kind, bool sign) { return format_row({iv}, kind, sign).at(0); }

}  // namespace

TEST(ReportFormat, TheHalfWidthKeepsTwoSignificantDigits) {
  EXPECT_EQ(one(around(301234, 4000), "money", true), "+301.2k ± 4.0k");
  EXPECT_EQ(one(around(1.3e6, 0.3e6), "money", false), "1.30M ± 0.30M");
  EXPECT_EQ(one(around(0.6371, 0.0086), "share", false), "63.71% ± 0.86%");
  EXPECT_EQ(one(around(-24625, 838), "money", true), "-24,625 ± 838");
  EXPECT_EQ(one(around(414, 15), "count", true), "+414 ± 15");
}

TEST(ReportFormat, ARowStepsDownAUnitRatherThanRoundTheIntervalAway) {
  // Was "12.35M ± 0.05M" at best and "+0.30M ± 0.00M" in a row scaled by a larger level.
  EXPECT_EQ(one(around(12'345'678, 50'000), "money", false), "12,346k ± 50k");
  EXPECT_EQ(format_row({around(12e6, 5e5), around(3e5, 4e3)}, "money", true),
            (std::vector<std::string>{"+12,000.0k ± 500.0k", "+300.0k ± 4.0k"}));
  // Shares cannot step down: they take the decimals they need.
  EXPECT_EQ(one(around(0.5, 0.00004), "share", false), "50.0000% ± 0.0040%");
}

TEST(ReportFormat, WithoutAnIntervalThreeSignificantDigits) {
  const double nan = std::nan("");
  EXPECT_EQ(one({30'000, nan, nan}, "money", true), "+30,000");
  EXPECT_EQ(one({1'260'000, nan, nan}, "money", false), "1.26M");
  EXPECT_EQ(one(around(0, 0), "money", true), "+0 ± 0");  // a policy identical to the baseline
}

TEST(ReportFormat, TheDifferenceRowHasItsOwnScale) {
  // Net value ~1.26M per replication; a policy adding 29-31k. The old table
  // scaled the difference by the level and printed "+0.03M ± 0.00M".
  loyalsim::app::HorizonTable t;
  t.experiment = "format";
  t.policies = {"base", "better"};
  t.month = 24;
  t.replications = 4;
  const std::vector<double> base = {1.25e6, 1.26e6, 1.27e6, 1.26e6};
  std::vector<double> better = base;
  const double gain[] = {29e3, 31e3, 30e3, 30e3};
  for (std::size_t r = 0; r < 4; ++r) better[r] += gain[r];
  t.measures = {{"net_value", "net value", "money", {base, better}}};
  std::ostringstream out;
  loyalsim::app::print_table(t, out);
  // Level: sd 8,165, half-width t(0.975, 3) x 8165 / 2 = 12,990, in k from 1.26M (12.99k in M
  // would need 3 decimals); difference: sd 816.5, half-width 1,299, plain below 100,000.
  EXPECT_NE(out.str().find("net value    1,260k ± 13k       1,290k ± 14k\n"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("  Δ              baseline    +30,000 ± 1,299\n"), std::string::npos) << out.str();
}

TEST(FormatDuration, SecondsMinutesHoursAndDays) {
  using loyalsim::engine::format_duration;
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(86'399), "23h59m");
  EXPECT_EQ(format_duration(2 * 86'400 + 3 * 3600 + 59), "2d03h");  // was "51h00m"
  EXPECT_EQ(format_duration(-1), "?");
}
