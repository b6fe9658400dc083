// Runs across processes with MPI: `mpirun -np K loyalsim run ...` or `srun`.
//
// Rank 0 is the coordinator and also a worker: it reads the experiment,
// checks everything a single-process run checks, keeps the checkpoint store,
// publishes snapshots and writes the one results file. The other ranks
// receive the experiment's text from rank 0 (so they cannot disagree on it),
// check that they run the same engine build, and then ask rank 0 for units
// (a replication of a sweep point, every policy) one at a time, returning
// each unit's result with the next request. Units are handed out in id order
// from one queue shared with rank 0's own threads, so the balance is dynamic
// and the file is bit-identical to a single-process run: every number is a
// pure function of (seed, point, replication), wherever it was computed.
//
// Without MPI at build time (LOYALSIM_WITH_MPI=OFF or no MPI found) this
// module compiles to a stub that refuses to run under an MPI launcher.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"

namespace loyalsim::app::distributed {

// Whether MPI support was compiled in.
bool available();

// Ranks the launcher started (OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS
// under srun), or 1 when not launched by an MPI launcher.
int launched_ranks();
// Processes sharing this node, for the default thread count.
int ranks_on_this_node();

// MPI for the life of the process. Constructed only when launched_ranks() > 1.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  // Ends every rank with `code` (after a failure on one rank, so none waits forever).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1;
};

// Rank 0 tells the others whether to go on (code 0) or to end with `code`
// (bad input, an existing results file...): every rank calls it.
int agree_to_start(const Session& session, int code);

// Rank 0 sends its experiment (text, source name, replications), others
// receive and parse it. Every rank checks that all run the same engine
// build; a mismatch ends the job with a message naming the ranks.
void share_experiment(const Session& session, Experiment& experiment);

// Rank 0's side: the other ranks as RemoteWorkers for run_ensemble.
std::unique_ptr<RemoteWorkers> remote_workers(const Session& session);

// A worker rank's side: asks rank 0 for units and computes them on `threads`
// threads until told to finish (or `should_stop`).
void work(const Session& session, const Experiment& experiment, int threads, const std::function<bool()>& should_stop);

}  // namespace loyalsim::app::distributed
