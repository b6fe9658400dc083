#include "app/calibrate_command.hpp"

#include <omp.h>

#include <filesystem>
#include <iostream>

#include "app/calibrate.hpp"
#include "app/calibration_file.hpp"
#include "app/results.hpp"
#include "engine/errors.hpp"
#include "engine/progress.hpp"

namespace loyalsim::app {

namespace {

namespace fs = std::filesystem;
constexpr int kExitFailure = 1, kExitBadInput = 2, kExitInterrupted = 130;

// The refusals of `run` for an output and its checkpoint: busy, existing
// without --force, an interrupted run without --resume. 0 = go.
int check_output(const fs::path& out, const fs::path& checkpoint, const CalibrateArgs& a) {
  if (engine::CheckpointStore::in_use(checkpoint)) {
    std::cerr << "loyalsim: another loyalsim process is writing " << out.string() << " (" << checkpoint.string()
              << " is locked); nothing was run.\n";
    return kExitFailure;
  }
  if (fs::exists(out) && !a.force) {
    std::cerr << "loyalsim: " << out.string() << " already exists; nothing was run.\n"
              << "  Use --force to replace it, or -o to write elsewhere.\n";
    return kExitFailure;
  }
  if (fs::exists(checkpoint) && !a.resume) {
    if (!a.force) {
      std::cerr << "loyalsim: an interrupted calibration of this output left " << checkpoint.string() << ".\n"
                << "  Use --resume to finish it, or --force to discard it and start over.\n";
      return kExitFailure;
    }
    fs::remove_all(checkpoint);
  }
  return 0;
}

int run_check(Experiment e, int threads, RemoteWorkers* remote, const CalibrateArgs& a,
              const std::function<bool()>& should_stop) {
  engine::Progress progress(progress_units(e), "months", !a.quiet);
  EnsembleOptions options;
  options.threads = threads;
  options.progress = &progress;
  options.should_stop = should_stop;
  options.remote = remote;
  const auto checks = check_targets(e, e.replications, options);
  progress.finish();
  print_check(e, checks, e.replications, std::cout);
  for (const auto& c : checks)
    if (!c.within) return kExitTargetsMissed;
  return 0;
}

bool fell_short(const CalibrationResult& r, const FitSummary& s) {
  if (r.smc) return r.smc->stop != cal::StopReason::temperature_one;
  return !s.conflicting.empty();
}

int run_fit(const Experiment& e, const fs::path& out, int threads, int processes, RemoteWorkers* remote,
            const CalibrateArgs& a, const std::function<bool()>& should_stop) {
  const fs::path checkpoint = out.string() + ".checkpoint";
  engine::CheckpointStore store(checkpoint, experiment_fingerprint(e) + " calibration");
  if (a.resume && store.count() > 0 && !a.quiet)
    std::cerr << "  resuming: " << store.count() << " proposals already simulated\n";
  CalibrationOptions options;
  options.threads = threads;
  options.store = &store;
  options.should_stop = should_stop;
  options.remote = remote;
  options.log = a.quiet ? nullptr : &std::cerr;
  CalibrationResult result;
  try {
    result = run_calibration(e, options);
  } catch (const Interrupted&) {
    std::cerr << "\nloyalsim: interrupted; " << store.count() << " proposals are saved in " << checkpoint.string()
              << ".\n  Finish with: " << (processes > 1 ? "mpirun -np " + std::to_string(processes) + " " : "")
              << "loyalsim calibrate " << a.experiment << (a.output.empty() ? "" : " -o " + a.output) << " --resume\n";
    return kExitInterrupted;
  }
  if (remote) remote->finish();
  if (result.smc && result.smc->generations.empty()) {
    std::cerr << "loyalsim: " << result.smc->stop_message
              << " before the prior sample was complete; nothing was written.\n  Raise max_simulations.\n";
    return kExitTargetsMissed;
  }
  const FitSummary summary = summarise_fit(e, result);
  RunFacts facts;
  facts.threads = threads;
  facts.processes = processes;
  facts.wall_seconds = result.wall_seconds;
  const fs::path preset = preset_path(out);
  try {
    write_calibration_file(out, e, result, summary, facts);
    const std::string text = preset_text(e, summary.estimate, out.filename().string(), file_sha256(out));
    engine::write_file_atomically(preset, text.data(), text.size());
  } catch (const std::exception& ex) {
    std::cerr << "loyalsim: could not write " << out.string() << ": " << ex.what() << "\n  Every simulated proposal is kept in "
              << checkpoint.string() << "; fix the problem and finish with the same command and --resume.\n";
    return kExitFailure;
  }
  store.remove();
  print_fit(e, result, summary, std::cout);
  std::cout << "\ncalibration: " << out.string() << "\npreset: " << preset.string() << '\n';
  return fell_short(result, summary) ? kExitTargetsMissed : 0;
}

}  // namespace

int calibrate_command(const CalibrateArgs& a, const distributed::Session* mpi, const std::function<bool()>& should_stop) {
  const int processes = mpi ? mpi->size() : 1;
  const int threads =
      a.threads > 0 ? a.threads : std::max(1, omp_get_max_threads() / (mpi ? distributed::ranks_on_this_node() : 1));
  if (mpi && mpi->rank() != 0) {
    if (const int code = distributed::agree_to_start(*mpi, 0)) return code;
    Experiment e;
    distributed::share_experiment(*mpi, e);
    distributed::work(*mpi, e, threads, should_stop);
    return should_stop() ? kExitInterrupted : 0;
  }
  const auto refuse = [&](int code) { return mpi ? distributed::agree_to_start(*mpi, code) : code; };
  Experiment e = load_experiment(a.experiment);
  if (!e.calibration.active()) {
    std::cerr << a.experiment << ": no [calibration] table: nothing to calibrate (see docs/calibration.md)\n";
    return refuse(kExitBadInput);
  }
  fs::path out = a.output.empty() ? e.output_path : fs::path(a.output);
  if (!a.check) {
    if (const int code = check_output(out, out.string() + ".checkpoint", a)) return refuse(code);
    if (!out.parent_path().empty()) fs::create_directories(out.parent_path());
  } else {
    e.replications = check_replications(e);
  }
  if (!a.quiet)
    std::cerr << "loyalsim: " << e.name << ": " << (a.check ? "checking " : "calibrating ") << e.calibration.parameters.size()
              << " parameter(s) to " << e.calibration.targets.size() << " target(s) with " << e.scenario.policies.size()
              << " probe policies, " << e.scenario.population.customers << " customers, threads " << threads
              << (mpi ? " x " + std::to_string(processes) + " MPI ranks" : "") << '\n';
  std::unique_ptr<RemoteWorkers> remote;
  if (mpi) {
    refuse(0);  // go
    distributed::share_experiment(*mpi, e);
    remote = distributed::remote_workers(*mpi);
    remote->persistent = !a.check;
  }
  int code = kExitInterrupted;
  try {
    code = a.check ? run_check(e, threads, remote.get(), a, should_stop)
                   : run_fit(e, out, threads, processes, remote.get(), a, should_stop);
  } catch (const Interrupted&) {
    std::cerr << "\nloyalsim: interrupted.\n";
  }
  // Workers may be waiting for an answer that will not come.
  if (mpi && code == kExitInterrupted) mpi->abort(code);
  return code;
}

}  // namespace loyalsim::app
