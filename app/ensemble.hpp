// Runs an experiment's ensemble: every policy x replication, in parallel,
// with one thread budget, resumable through a checkpoint store.
//
// The unit of work is one replication: it builds the replication's network
// once and runs every policy on it in turn, so policies share the network and
// every random draw (common random numbers) and the network's memory is paid
// once per replication in flight. Units are spread over oneTBB tasks; each run
// steps its population with OpenMP threads. The split of the budget is chosen
// from the population size (see plan_threads), never exceeding the budget.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "app/experiment.hpp"
#include "engine/checkpoint.hpp"
#include "engine/progress.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::app {

// How a thread budget is split: `concurrent` replications at once, each run
// stepping its population on `per_run` OpenMP threads.
struct ThreadPlan {
  int concurrent = 1;
  int per_run = 1;
};
ThreadPlan plan_threads(int threads, std::uint64_t nodes, std::uint32_t replications);

// All runs of one experiment: runs[policy * replications + replication].
struct Ensemble {
  std::uint32_t policies = 0;
  std::uint32_t replications = 0;
  std::vector<srp1::RunResult> runs;
  [[nodiscard]] const srp1::RunResult& run(std::uint32_t policy, std::uint32_t rep) const {
    return runs[static_cast<std::size_t>(policy) * replications + rep];
  }
};

// Thrown when `should_stop` said so (SIGINT/SIGTERM): finished replications
// are in the checkpoint store.
struct Interrupted {
  std::uint32_t replications_saved = 0;
};

struct EnsembleOptions {
  int threads = 1;
  engine::CheckpointStore* store = nullptr;      // optional: saves and reuses finished replications
  engine::Progress* progress = nullptr;          // optional: advanced by one per simulated month
  std::function<bool()> should_stop;             // optional: asked after every month
};

// Total progress units of an experiment (months over all runs).
std::uint64_t progress_units(const Experiment& experiment);

Ensemble run_ensemble(const Experiment& experiment, const EnsembleOptions& options);

// Serialization of one replication's runs (all policies) for the checkpoint store.
std::vector<std::byte> encode_replication(const std::vector<srp1::RunResult>& runs);
std::vector<srp1::RunResult> decode_replication(const std::vector<std::byte>& bytes,
                                                std::uint32_t policies, std::uint32_t months);

}  // namespace loyalsim::app
