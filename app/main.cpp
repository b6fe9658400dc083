// loyalsim: the command line.
//
//   loyalsim run EXPERIMENT.toml [-o PATH] [--threads N] [--replications R] [--force] [--resume] [--quiet]
//   loyalsim validate EXPERIMENT.toml
//   loyalsim info RESULTS.h5
//
// Exit codes: 0 done; 1 the environment failed (disk, permissions, HDF5);
// 2 bad input or usage; 130 interrupted (finished work kept for --resume).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "app/report.hpp"
#include "app/results.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/progress.hpp"
#include "engine/version.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;

namespace {

constexpr int kExitFailure = 1, kExitBadInput = 2, kExitInterrupted = 130;

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

struct RunArgs {
  std::string experiment;
  std::string output;
  int threads = 0;
  std::uint32_t replications = 0;
  bool force = false, resume = false, quiet = false;
};

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

// Peak memory of the plan: each replication in flight holds its network and one run's state.
double estimated_peak_bytes(const app::Experiment& e, const app::ThreadPlan& plan) {
  const auto& sc = e.scenario;
  const double nodes = static_cast<double>(sc.population.customers + sc.population.prospects);
  const double network = nodes * (8.0 + 4.0 + 4.0 * (sc.wom.strong_ties + sc.wom.weak_ties));
  return plan.concurrent * (network + static_cast<double>(srp1::run_state_bytes(sc)));
}

int run_command(const RunArgs& a) {
  app::Experiment e = app::load_experiment(a.experiment);
  if (a.replications > 0) e.replications = a.replications;
  if (!a.output.empty()) e.output_path = a.output;
  const fs::path out = e.output_path;
  const fs::path checkpoint_dir = out.string() + ".checkpoint";

  if (fs::exists(out) && !a.force) {
    std::cerr << "loyalsim: " << out.string() << " already exists; nothing was run.\n"
              << "  Use --force to replace it, or -o to write elsewhere.\n";
    return kExitFailure;
  }
  if (fs::exists(checkpoint_dir) && !a.resume) {
    if (!a.force) {
      std::cerr << "loyalsim: an interrupted run of this output left " << checkpoint_dir.string() << ".\n"
                << "  Use --resume to finish it, or --force to discard it and start over.\n";
      return kExitFailure;
    }
    fs::remove_all(checkpoint_dir);
  }
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());

  const int threads = a.threads > 0 ? a.threads : omp_get_max_threads();
  const auto nodes = e.scenario.population.customers + e.scenario.population.prospects;
  const app::ThreadPlan plan = app::plan_threads(threads, nodes, e.replications);
  if (!a.quiet) {
    std::cerr << "loyalsim: " << e.name << ": " << e.scenario.policies.size() << " policies x " << e.replications
              << " replications, " << nodes << " nodes, " << e.scenario.horizon_months << " months\n"
              << "  threads " << threads << " (" << plan.concurrent << " replication(s) at once x " << plan.per_run
              << " thread(s) each), peak memory ~" << human_bytes(estimated_peak_bytes(e, plan)) << "\n"
              << "  results -> " << out.string() << '\n';
  }

  engine::CheckpointStore store(checkpoint_dir, app::experiment_fingerprint(e));
  if (a.resume && store.count() > 0 && !a.quiet)
    std::cerr << "  resuming: " << store.count() << " of " << e.replications << " replications already done\n";

  engine::Progress progress(app::progress_units(e), "months", !a.quiet);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  app::EnsembleOptions options;
  options.threads = threads;
  options.store = &store;
  options.progress = &progress;
  options.should_stop = [] { return g_stop.load(std::memory_order_relaxed); };
  app::Ensemble ensemble;
  try {
    ensemble = app::run_ensemble(e, options);
  } catch (const app::Interrupted& i) {
    std::cerr << "\nloyalsim: interrupted; " << i.replications_saved << " of " << e.replications
              << " replications are saved in " << checkpoint_dir.string() << ".\n"
              << "  Finish with: loyalsim run " << a.experiment << (a.output.empty() ? "" : " -o " + a.output)
              << (a.replications ? " --replications " + std::to_string(a.replications) : "") << " --resume\n";
    return kExitInterrupted;
  }
  progress.finish();

  app::RunFacts facts;
  facts.threads = threads;
  facts.wall_seconds = progress.elapsed_seconds();
  app::write_results(out, e, ensemble, facts);
  store.remove();

  app::print_table(app::horizon_table(out), std::cout);
  std::cout << "\nresults: " << out.string() << '\n';
  return 0;
}

int validate_command(const std::string& path) {
  const app::Experiment e = app::load_experiment(path);
  std::cout << path << ": ok: " << e.name << ", " << e.scenario.policies.size() << " policies x "
            << e.replications << " replications, " << e.scenario.population.customers << " customers + "
            << e.scenario.population.prospects << " prospects, " << e.scenario.horizon_months
            << " months -> " << e.output_path.string() << '\n';
  return 0;
}

int info_command(const std::string& path) {
  if (!fs::exists(path)) throw engine::RuntimeFailure(path + ": no such file");
  app::print_provenance(path, std::cout);
  std::cout << '\n';
  app::print_table(app::horizon_table(path), std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyalsim: Monte Carlo customer loyalty under service failures and recoveries (SRP-1)"};
  cli.set_version_flag("--version", std::string("loyalsim ") + engine::kEngineVersion);
  cli.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = cli.add_subcommand("run", "run every policy x replication of an experiment and write results");
  run_cmd->add_option("experiment", run.experiment, "experiment file (TOML)")->required();
  run_cmd->add_option("-o,--output", run.output, "results file (default: [output].path of the experiment)");
  run_cmd->add_option("--threads", run.threads, "threads to use (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));
  run_cmd->add_option("--replications", run.replications, "override the experiment's replications")
      ->check(CLI::Range(1, 100000));
  run_cmd->add_flag("--force", run.force, "replace an existing results file / discard a checkpoint");
  run_cmd->add_flag("--resume", run.resume, "finish an interrupted run from its checkpoint");
  run_cmd->add_flag("-q,--quiet", run.quiet, "no progress on stderr");

  std::string validate_path, info_path;
  auto* validate_cmd = cli.add_subcommand("validate", "check an experiment file without running it");
  validate_cmd->add_option("experiment", validate_path, "experiment file (TOML)")->required();
  auto* info_cmd = cli.add_subcommand("info", "print the provenance and policy table of a results file");
  info_cmd->add_option("results", info_path, "results file (HDF5)")->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }

  engine::h5::silence_library_errors();
  try {
    if (*run_cmd) return run_command(run);
    if (*validate_cmd) return validate_command(validate_path);
    return info_command(info_path);
  } catch (const engine::InputError& e) {
    std::cerr << e.what() << '\n'
              << "loyalsim: " << e.problems().size() << " problem(s) in the experiment; nothing was run.\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "loyalsim: " << e.what() << '\n';
    return kExitFailure;
  }
}
