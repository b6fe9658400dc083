// Runs an experiment's ensemble: every point x policy x replication, in
// parallel, with one thread budget, resumable through a checkpoint store.
//
// The unit of work is one replication of one sweep point (unit id
// point * R + replication): it builds the replication's network once and runs
// every policy on it in turn, so policies share the network and every random
// draw (common random numbers) and the network's memory is paid once per
// unit in flight. Units are started in id order, so points finish roughly in
// order and a long sweep's finished points can be published as it runs. Units are spread over oneTBB tasks; each run
// steps its population with OpenMP threads. The split of the budget is chosen
// from the population size (see plan_threads), never exceeding the budget.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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
ThreadPlan plan_threads(int threads, std::uint64_t nodes, std::uint32_t units);

// All runs of one experiment: runs[(point * policies + policy) * replications + replication].
struct Ensemble {
  std::uint64_t points = 1;
  std::uint32_t policies = 0;
  std::uint32_t replications = 0;
  std::vector<srp1::RunResult> runs;
  std::vector<std::uint64_t> done_points;  // points whose every run is present, ascending
  [[nodiscard]] const srp1::RunResult& run(std::uint64_t point, std::uint32_t policy, std::uint32_t rep) const {
    return runs[(point * policies + policy) * replications + rep];
  }
};

// Thrown when `should_stop` said so (SIGINT/SIGTERM): finished units are in
// the checkpoint store, and `partial` holds every point finished so far.
struct Interrupted {
  std::uint64_t units_saved = 0;
  Ensemble partial;
};

// Workers in other processes (MPI ranks, app/distributed.hpp). `serve` runs
// on the calling thread while the local workers run beside it: it hands out
// units from `take` (nothing left: tell the worker to finish) and passes each
// returned result to `finish`, until every remote worker has finished or
// `stopping()` says to give up.
class RemoteWorkers {
 public:
  virtual ~RemoteWorkers() = default;
  virtual void serve(const std::function<std::optional<std::uint64_t>()>& take,
                     const std::function<void(std::uint64_t unit, const std::vector<std::byte>& result)>& finish,
                     const std::function<bool()>& stopping) = 0;

  // Calibration rounds (app/calibrate.cpp) change their points every round,
  // so workers cannot know them from the experiment text: `unit_payload`, when
  // set, gives the bytes sent with each unit (the point's values and seed).
  std::function<std::vector<std::byte>(std::uint64_t unit)> unit_payload;
  // Persistent serving: serve() returns once every unit is done and every
  // worker waits for more; the workers wait for the next serve() until
  // finish() tells them to end.
  bool persistent = false;
  virtual void finish() {}
};

struct EnsembleOptions {
  int threads = 1;
  engine::CheckpointStore* store = nullptr;      // optional: saves and reuses finished units
  engine::Progress* progress = nullptr;          // optional: advanced by one per simulated month
  std::function<bool()> should_stop;             // optional: asked after every month
  // Optional: called when a point has finished, with the ensemble being
  // filled and the points finished so far (only their runs may be read, and
  // not the ensemble's own done_points, which other workers are updating).
  // Calls never overlap; one is skipped while another is running.
  std::function<void(const Ensemble&, const std::vector<std::uint64_t>& done_points)> on_point_done;
  RemoteWorkers* remote = nullptr;               // optional: other processes sharing the work
  // Optional: called once for EVERY finished point (unlike on_point_done), by
  // the thread that finished it, possibly several at once; only that point's
  // runs may be read. Calibration caches each proposal's outcome here.
  std::function<void(const Ensemble&, std::uint64_t point)> on_each_point;
};

// One unit (a replication of a point, every policy) on `threads` OpenMP
// threads: what every worker, local or remote, computes.
std::vector<srp1::RunResult> run_unit(const Experiment& experiment, std::uint64_t unit, int threads,
                                      const std::function<void()>& on_month = {});

// The plan for a whole experiment on `threads` threads: its population, and
// all its units (point-replications) to spread.
ThreadPlan plan_for(const Experiment& experiment, int threads);

// Total progress units of an experiment (months over all runs).
std::uint64_t progress_units(const Experiment& experiment);

// What a run will cost, told before it starts.
struct RunEstimate {
  std::uint64_t runs = 0;             // points x policies x replications
  double node_months = 0;             // simulated customer- and prospect-months
  double seconds = 0;                 // at the reference speed (docs/performance.md)
  double peak_bytes = 0;              // units in flight + results held in memory
  double results_bytes = 0;           // the results file, before compression
};
RunEstimate estimate_run(const Experiment& experiment, const ThreadPlan& plan, int threads);

Ensemble run_ensemble(const Experiment& experiment, const EnsembleOptions& options);

// Serialization of one replication's runs (all policies) for the checkpoint store.
std::vector<std::byte> encode_replication(const std::vector<srp1::RunResult>& runs);
std::vector<srp1::RunResult> decode_replication(const std::vector<std::byte>& bytes,
                                                std::uint32_t policies, std::uint32_t months, std::size_t segments);

}  // namespace loyalsim::app
