// SRP-1: the service-recovery loyalty model of docs/model.md, month by month.
//
// One *run* is (scenario, policy, seed, replication): it builds its own
// per-node state, reads the replication's shared social network, and returns
// its metrics per month and its stylised-fact cohorts. Runs of one
// replication share the network and every random draw (common random
// numbers): only the policy differs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/network.hpp"
#include "models/srp1/parameters.hpp"

namespace loyalsim::srp1 {

// The revision of the model contract this code implements (results files record it).
inline constexpr const char* kModelRevision = "1.1";

// Metrics per month, in output order (docs/model.md "Metrics").
enum Metric : int {
  kActive, kAcquired, kAcquiredReferred, kChurned, kFailures, kComplaints, kSilentFailures,
  kProactiveRecoveries, kRecoveriesSatisfied, kRecoveriesDissatisfied, kParadoxEvents, kRevenue, kMargin,
  kCompensationPaid, kHandlingCost, kRecoveryCost, kProgrammeCost, kAcquisitionCost, kWomPositive, kWomNegative,
  kMeanSatisfaction, kCohortActive, kQuality, kRootCauseFixes, kDiscountedMargin, kNetValue,
  kMetricCount
};

struct MetricInfo {
  const char* name;
  const char* units;
  const char* long_name;
  bool stock;  // a level at the end of the month (month 0 holds the initial state); else a flow
};
extern const std::array<MetricInfo, kMetricCount> kMetricInfo;

// The measures of the policy table at a horizon month m (`loyalsim info`,
// loyalsim.policy_table, the report), defined once here and written into every
// results file (attribute `measures`, docs/results-format.md). Per replication:
// the numerator metrics summed at month m (`level`) or over months 1..m; a
// share divides by the denominator metrics summed over months 1..m (NaN when
// 0), or by a file attribute (the initial customers for retention).
struct MeasureInfo {
  const char* name;
  const char* label;
  const char* kind;  // count | share | money | messages (all but shares scale with population.represents)
  bool level;
  std::vector<Metric> numerator, denominator;
  const char* divide_by_attribute;  // "" or the name of a numeric file attribute
  const char* better;               // higher | lower | none (neither direction is a goal)
};
extern const std::vector<MeasureInfo> kMeasureInfo;

// Stylised-fact cohorts: first failures by class x severity band.
enum FactClass : int { kReference, kSilent, kUnresolved, kResolved, kResolvedQuick, kFactClasses };
inline constexpr std::array<const char*, kFactClasses> kFactClassNames = {
    "reference", "silent", "unresolved", "resolved", "resolved_quick"};
inline constexpr int kBands = 2;
inline constexpr std::array<const char*, kBands> kBandNames = {"minor", "major"};
inline constexpr int kFactCells = kFactClasses * kBands;
// Initial customers by quintile of their reported satisfaction at month 0 (target T10, docs/facts.md).
inline constexpr int kQuintiles = 5;

struct RunResult {
  std::uint32_t months = 0;                 // T; series hold T+1 values (month 0..T)
  std::vector<double> series;               // [metric * (T+1) + month]
  std::array<std::int64_t, kFactCells> fact_count{};     // [class * kBands + band]
  std::array<std::int64_t, kFactCells> fact_retained{};
  std::array<std::int64_t, kQuintiles> quintile_count{};     // [quintile], lowest satisfaction first
  std::array<std::int64_t, kQuintiles> quintile_retained{};  // of those, active at the end of month 12
  // Counts for calibration targets (docs/model.md section 10):
  std::array<std::int64_t, kBands> band_failures{};    // failures in months 1..T by severity band
  std::array<std::int64_t, kBands> band_complaints{};  // of those, complained about
  std::vector<std::int64_t> segment_churned;           // [segment * (T+1) + month], month 0 unused
  std::vector<std::int64_t> segment_active_start;      // customers active at the start of the month, likewise
  std::vector<std::int64_t> first_failures;            // [month]: initial customers whose first failure of the horizon fell in it

  [[nodiscard]] double at(Metric m, std::uint32_t month) const {
    return series[static_cast<std::size_t>(m) * (months + 1) + month];
  }
  friend bool operator==(const RunResult&, const RunResult&) = default;
};

// Purposes of random draws (MODEL.md "Randomness"); the value is part of the
// RNG counter, so these numbers are frozen: changing one changes every result.
enum Purpose : std::uint32_t {
  kSegmentDraw = 1, kTenureDraw, kInitialSatisfactionDraw, kNetworkDraw, kFailureDraw,
  kSeverityDraw, kCauseDraw, kComplaintDraw, kDelayDraw, kContactsDraw, kNoiseDraw, kRootCauseFixDraw,
  kChurnDraw, kAdoptionDraw, kDetectionDraw
};
// Warm-up month w (1.1) draws with month counter kWarmupMonthBase + w.
inline constexpr std::uint32_t kWarmupMonthBase = 0x8000;

// The replication's social network over all N+M nodes, shared by its policies.
engine::TieGraph build_network(const Scenario& scenario, std::uint64_t seed,
                               std::uint32_t replication, int threads);

// The same network in ring order, for a kernel that stores node state by slot:
// slots [0, N) are the initial customers, [N, N+M) the prospects, each group in
// ring order; storage_to_node gives a slot's node id (which keys its draws).
engine::RingOrderNetwork build_ring_network(const Scenario& scenario, std::uint64_t seed,
                                            std::uint32_t replication, int threads);

// Simulates the given policies of one replication together, on `threads`
// OpenMP threads: one pass over the nodes advances every policy (a lane),
// sharing each node's draws, segment and ties. A policy's result is bit for bit
// the same whether it runs alone or beside others. `on_month` (optional) is
// called once per policy and simulated month, for progress.
std::vector<RunResult> simulate_policies(const Scenario& scenario, std::span<const std::size_t> policies,
                                         std::uint64_t seed, std::uint32_t replication,
                                         const engine::TieGraph& network, int threads,
                                         const std::function<void()>& on_month = {});
// One policy alone.
RunResult simulate(const Scenario& scenario, std::size_t policy_index, std::uint64_t seed,
                   std::uint32_t replication, const engine::TieGraph& network, int threads,
                   const std::function<void()>& on_month = {});

// Policies one pass advances at most (more are simulated in several passes).
std::size_t max_lanes();
// Bytes of per-node state a pass of `lanes` policies allocates (memory estimates, the benchmark).
std::uint64_t run_state_bytes(const Scenario& scenario, std::size_t lanes = 1);

}  // namespace loyalsim::srp1
