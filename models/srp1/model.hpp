// SRP-1: the service-recovery loyalty model of MODEL.md, month by month.
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
#include <vector>

#include "engine/network.hpp"
#include "models/srp1/parameters.hpp"

namespace loyalsim::srp1 {

// Metrics per month, in output order (MODEL.md "Metrics").
enum Metric : int {
  kActive, kAcquired, kAcquiredReferred, kChurned, kFailures, kComplaints, kSilentFailures,
  kRecoveriesSatisfied, kRecoveriesDissatisfied, kParadoxEvents, kRevenue, kMargin,
  kCompensationPaid, kHandlingCost, kRecoveryCost, kWomPositive, kWomNegative, kMeanSatisfaction,
  kCohortActive, kQuality, kRootCauseFixes, kDiscountedMargin, kNetValue,
  kMetricCount
};

struct MetricInfo {
  const char* name;
  const char* units;
  const char* long_name;
  bool stock;  // a level at the end of the month (month 0 holds the initial state); else a flow
};
extern const std::array<MetricInfo, kMetricCount> kMetricInfo;

// Stylised-fact cohorts: first failures by class x severity band.
enum FactClass : int { kReference, kSilent, kUnresolved, kResolved, kResolvedQuick, kFactClasses };
inline constexpr std::array<const char*, kFactClasses> kFactClassNames = {
    "reference", "silent", "unresolved", "resolved", "resolved_quick"};
inline constexpr int kBands = 2;
inline constexpr std::array<const char*, kBands> kBandNames = {"minor", "major"};
inline constexpr int kFactCells = kFactClasses * kBands;

struct RunResult {
  std::uint32_t months = 0;                 // T; series hold T+1 values (month 0..T)
  std::vector<double> series;               // [metric * (T+1) + month]
  std::array<std::int64_t, kFactCells> fact_count{};     // [class * kBands + band]
  std::array<std::int64_t, kFactCells> fact_retained{};

  [[nodiscard]] double at(Metric m, std::uint32_t month) const {
    return series[static_cast<std::size_t>(m) * (months + 1) + month];
  }
};

// Purposes of random draws (MODEL.md "Randomness"); the value is part of the
// RNG counter, so these numbers are frozen: changing one changes every result.
enum Purpose : std::uint32_t {
  kSegmentDraw = 1, kTenureDraw, kInitialSatisfactionDraw, kNetworkDraw, kFailureDraw,
  kSeverityDraw, kCauseDraw, kComplaintDraw, kDelayDraw, kContactsDraw, kNoiseDraw, kRootCauseFixDraw,
  kChurnDraw, kAdoptionDraw
};

// The replication's social network over all N+M nodes, shared by its policies.
engine::TieGraph build_network(const Scenario& scenario, std::uint64_t seed,
                               std::uint32_t replication, int threads);

// The same network in ring order, for a kernel that stores node state by slot:
// slots [0, N) are the initial customers, [N, N+M) the prospects, each group in
// ring order; storage_to_node gives a slot's node id (which keys its draws).
engine::RingOrderNetwork build_ring_network(const Scenario& scenario, std::uint64_t seed,
                                            std::uint32_t replication, int threads);

// Simulates one policy for one replication on `threads` OpenMP threads.
// `on_month` (optional) is called after each simulated month, for progress.
RunResult simulate(const Scenario& scenario, std::size_t policy_index, std::uint64_t seed,
                   std::uint32_t replication, const engine::TieGraph& network, int threads,
                   const std::function<void()>& on_month = {});

// Bytes of per-node state a run allocates (for memory estimates and the benchmark).
std::uint64_t run_state_bytes(const Scenario& scenario);

}  // namespace loyalsim::srp1
