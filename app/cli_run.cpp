// `loyalsim run`: refuse an unsafe start, run the ensemble (checkpointed,
// with a sweep's snapshots published as it goes), write the results file, or
// explain an interruption and how to finish it.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "app/cli.hpp"
#include "app/ensemble.hpp"
#include "app/output_paths.hpp"
#include "app/report.hpp"
#include "app/results.hpp"
#include "engine/checkpoint.hpp"
#include "engine/errors.hpp"
#include "engine/machine.hpp"
#include "engine/progress.hpp"

namespace loyalsim::app::cli {

namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// A sweep's finished points, published as NAME.partial while it runs: at
// most so often that writing takes a tenth of the time, and never more than
// once per kMinSeconds.
class SnapshotPublisher {
 public:
  SnapshotPublisher(const Experiment& e, int threads, int processes)
      : e_(e), target_(partial_path(e.output_path)), threads_(threads), processes_(processes), start_(Clock::now()),
        last_(start_) {}

  void offer(const Ensemble& ens, const std::vector<std::uint64_t>& done, bool force) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (done.empty() || (!force && since < std::max(kMinSeconds, 10 * last_cost_))) return;
    RunFacts facts;
    facts.threads = threads_;
    facts.processes = processes_;
    facts.wall_seconds = std::chrono::duration<double>(now - start_).count();
    try {
      write_results(target_, e_, ens, facts, done, false);
    } catch (const std::exception& ex) {  // a snapshot is a convenience: the run goes on
      std::cerr << "\nloyalsim: warning: could not publish " << target_.string() << ": " << ex.what() << '\n';
    }
    last_ = Clock::now();
    last_cost_ = std::chrono::duration<double>(last_ - now).count();
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr double kMinSeconds = 5.0;
  const Experiment& e_;
  fs::path target_;
  int threads_, processes_;
  Clock::time_point start_, last_;
  double last_cost_ = 0;
};

const char* unit_name(const Experiment& e) { return e.sweep.active() ? " point-replications" : " replications"; }

// The command that finishes this run from its checkpoint, as the user would type it.
std::string resume_command(const Invocation& invocation, int processes) {
  return (processes > 1 ? "mpirun -np " + std::to_string(processes) + " " : std::string()) +
         invocation.with_flag("--resume");
}

void announce(const Experiment& e, int threads, int processes) {
  print_plan(e, threads, processes, std::cerr);
  if (processes > 1)
    std::cerr << "  MPI: " << processes << " ranks x " << threads << " threads; rank 0 coordinates and computes\n";
  std::cerr << "  results -> " << e.output_path.string()
            << (e.sweep.active() ? " (finished points in " + partial_path(e.output_path).string() + " as it runs)" : "")
            << '\n';
}

// Why the run cannot start safely, said on stderr before any work, as an exit
// code (0: it can): an output path that cannot be written, too little memory,
// a results file another process is writing, an existing file without
// --force, a checkpoint without --resume or --force.
int refuse_unsafe_start(const Experiment& e, const RunArgs& a, int threads, int processes, OutputPlan& output) {
  try {
    output = check_output_path(e.output_path, a.output.empty() ? "[output].path" : "-o");
  } catch (const engine::UsageError& x) {
    std::cerr << "loyalsim: " << x.what() << "; nothing was run.\n";
    return kExitBadInput;
  } catch (const engine::RuntimeFailure& x) {
    std::cerr << "loyalsim: " << x.what() << "; nothing was run.\n";
    return kExitFailure;
  }
  const fs::path& out = e.output_path;
  const fs::path checkpoint = checkpoint_path(out);
  const double needed = estimate_run(e, plan_for(e, threads), threads * processes).peak_bytes;
  const double available = engine::available_memory_bytes();
  if (available > 0 && needed > 0.9 * available) {
    std::cerr << "loyalsim: this run needs ~" << human_bytes(needed) << " of memory and " << human_bytes(available)
              << " is available; nothing was run.\n"
              << "  Use fewer points, replications, policies or months, or a machine with more memory.\n";
    return kExitFailure;
  }
  if (engine::CheckpointStore::in_use(checkpoint)) {
    std::cerr << "loyalsim: another loyalsim process is writing " << out.string() << " (" << checkpoint.string()
              << " is locked); nothing was run.\n  Wait for it to finish or stop it; --force does not override this.\n";
    return kExitFailure;
  }
  if (fs::exists(out) && !a.force) {
    std::cerr << "loyalsim: " << out.string() << " already exists; nothing was run.\n"
              << "  Use --force to replace it, or -o to write elsewhere.\n";
    return kExitFailure;
  }
  if (fs::exists(checkpoint) && !a.resume && !a.force) {
    std::cerr << "loyalsim: an interrupted run of this output left " << checkpoint.string() << ".\n"
              << "  Use --resume to finish it, or --force to discard it and start over.\n";
    return kExitFailure;
  }
  return 0;
}

// Clears what a new run replaces (a checkpoint --force discards, a snapshot
// of no run we can resume) and creates the results folder.
void prepare_output(const Experiment& e, const RunArgs& a, const OutputPlan& output) {
  const fs::path checkpoint = checkpoint_path(e.output_path);
  if (fs::exists(checkpoint) && !a.resume) fs::remove_all(checkpoint);
  if (!fs::exists(checkpoint)) fs::remove(partial_path(e.output_path));
  create_output_folder(output, std::cerr);
}

void explain_interrupt(const Interrupted& i, const Experiment& e, const Invocation& invocation, int processes) {
  std::cerr << "\nloyalsim: interrupted; " << i.units_saved << " of " << e.points() * e.replications << unit_name(e)
            << " are saved in " << checkpoint_path(e.output_path).string() << ".\n";
  if (e.sweep.active() && !i.partial.done_points.empty())
    std::cerr << "  The " << i.partial.done_points.size() << " finished points are readable in "
              << partial_path(e.output_path).string() << ".\n";
  std::cerr << "  Finish with: " << resume_command(invocation, processes) << '\n';
}

// Writes the results file. If that fails nothing is lost: every finished
// unit is in the checkpoint, and the message says how to finish.
int write_finished(const Experiment& e, const Ensemble& ensemble, const RunFacts& facts, const std::string& resume) {
  const fs::path& out = e.output_path;
  try {
    write_results(out, e, ensemble, facts, ensemble.done_points, true);
    return 0;
  } catch (const std::exception& ex) {
    std::error_code ec;
    const auto space = fs::space(out.parent_path().empty() ? fs::path(".") : out.parent_path(), ec);
    std::cerr << "loyalsim: could not write " << out.string() << ": " << ex.what() << '\n';
    if (!ec) std::cerr << "  The disk holding it has " << human_bytes(static_cast<double>(space.available)) << " free.\n";
    std::cerr << "  Every finished run is kept in " << checkpoint_path(out).string()
              << "; fix the problem and finish with: " << resume << '\n';
    return kExitFailure;
  }
}

// Runs every unit the checkpoint does not hold, publishing a sweep's
// snapshots as points finish (and once more when interrupted: Interrupted is rethrown).
Ensemble run_units(const Experiment& e, int threads, int processes, engine::CheckpointStore& store,
                   RemoteWorkers* remote, engine::Progress& progress) {
  SnapshotPublisher snapshots(e, threads, processes);
  EnsembleOptions options;
  options.threads = threads;
  options.store = &store;
  options.progress = &progress;
  options.should_stop = stop_requested;
  options.remote = remote;
  if (e.sweep.active())
    options.on_point_done = [&](const Ensemble& ens, const std::vector<std::uint64_t>& done) {
      if (done.size() < e.points()) snapshots.offer(ens, done, false);
    };
  try {
    return run_ensemble(e, options);
  } catch (const Interrupted& i) {
    if (e.sweep.active()) snapshots.offer(i.partial, i.partial.done_points, true);
    throw;
  }
}

// A rank other than 0: it receives the experiment and computes what rank 0 hands out.
int work_as_worker_rank(const distributed::Session& mpi, int threads) {
  if (const int code = distributed::agree_to_start(mpi, 0)) return code;
  Experiment e;
  distributed::share_experiment(mpi, e);
  distributed::work(mpi, e, threads, stop_requested);
  return g_stop ? kExitInterrupted : 0;
}

}  // namespace

std::string shell_quote(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_-./=:,+@%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string Invocation::with_flag(const std::string& flag) const {
  std::string out;
  for (const auto& word : argv_)
    if (word != flag) out.append(shell_quote(word)).append(" ");
  return out.append(shell_quote(flag));
}

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }

int run_command(const RunArgs& a, const Invocation& invocation, const distributed::Session* mpi) {
  const int processes = mpi ? mpi->size() : 1;
  const int threads =
      a.threads > 0 ? a.threads : std::max(1, omp_get_max_threads() / (mpi ? distributed::ranks_on_this_node() : 1));
  install_stop_handlers();
  if (mpi && mpi->rank() != 0) return work_as_worker_rank(*mpi, threads);
  // Rank 0 (or the only process): every refusal is agreed with the other ranks.
  const auto agree = [&](int code) { return mpi ? distributed::agree_to_start(*mpi, code) : code; };

  Experiment e = load_experiment(a.experiment);
  if (a.replications > 0) e.replications = a.replications;
  if (!a.output.empty()) e.output_path = a.output;
  if (!a.quiet) announce(e, threads, processes);
  OutputPlan output;
  if (const int code = refuse_unsafe_start(e, a, threads, processes, output)) return agree(code);
  prepare_output(e, a, output);

  engine::CheckpointStore store(checkpoint_path(e.output_path), experiment_fingerprint(e));
  if (a.resume && store.count() > 0 && !a.quiet)
    std::cerr << "  resuming: " << store.count() << " of " << e.points() * e.replications << unit_name(e)
              << " already done\n";
  std::unique_ptr<RemoteWorkers> remote;
  if (mpi) {
    agree(0);  // go
    distributed::share_experiment(*mpi, e);
    remote = distributed::remote_workers(*mpi);
  }
  engine::Progress progress(progress_units(e), "months", !a.quiet);
  Ensemble ensemble;
  try {
    ensemble = run_units(e, threads, processes, store, remote.get(), progress);
  } catch (const Interrupted& i) {
    explain_interrupt(i, e, invocation, processes);
    if (mpi) mpi->abort(kExitInterrupted);  // workers may be waiting for an answer that will not come
    return kExitInterrupted;
  }
  progress.finish();

  const RunFacts facts{threads, processes, progress.elapsed_seconds()};
  if (const int code = write_finished(e, ensemble, facts, resume_command(invocation, processes))) return code;
  fs::remove(partial_path(e.output_path));
  store.remove();
  if (e.sweep.active()) print_sweep_summary(e.output_path, std::cout);
  else print_table(horizon_table(e.output_path), std::cout);
  std::cout << "\nresults: " << e.output_path.string() << '\n';
  return 0;
}

}  // namespace loyalsim::app::cli
