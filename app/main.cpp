// loyalsim: the command line.
//
//   loyalsim run EXPERIMENT.toml [-o PATH] [--threads N] [--replications R] [--force] [--resume] [--quiet]
//   loyalsim calibrate EXPERIMENT.toml [-o PATH] [--threads N] [--force] [--resume] [--check] [--quiet]
//   loyalsim validate EXPERIMENT.toml [--threads N]
//   loyalsim info RESULTS.h5 [--point K]
//   loyalsim sensitivity RESULTS.h5 [--metric M] [--month T|all] [--policy NAME] [--contrast] [--csv]
//
// Exit codes: 0 done; 1 the environment failed (disk, permissions, HDF5);
// 2 bad input or usage; 3 calibration targets not met (app/calibrate_command.hpp);
// 130 interrupted (finished work kept for --resume).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/calibrate_command.hpp"
#include "app/ensemble.hpp"
#include "app/distributed.hpp"
#include "app/experiment.hpp"
#include "app/report.hpp"
#include "app/results.hpp"
#include "app/sensitivity.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/progress.hpp"
#include "engine/simd.hpp"
#include "engine/version.hpp"
#include "models/srp1/parameter_table.hpp"

namespace fs = std::filesystem;
using namespace loyalsim;
namespace distributed = loyalsim::app::distributed;

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
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string human_seconds(double s) {
  char buf[48];
  if (s < 90) std::snprintf(buf, sizeof buf, "%.0f s", std::max(1.0, s));
  else if (s < 5400) std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  else if (s < 3 * 86400) std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.1f days", s / 86400);
  return buf;
}

// Memory the system can give this process now (MemAvailable), or 0 if unknown.
double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// What the run will do and cost, told before it starts (and by `validate`).
void print_plan(const app::Experiment& e, int threads, const app::ThreadPlan& plan, const app::RunEstimate& est,
                std::ostream& out) {
  const auto& sc = e.scenario;
  const auto nodes = sc.population.customers + sc.population.prospects;
  out << "loyalsim: " << e.name << ": ";
  if (e.sweep.active()) {
    out << app::kSweepDesignNames[static_cast<int>(e.sweep.design)] << " sweep of " << e.sweep.dims()
        << " parameter(s), " << e.points() << " points x ";
  }
  out << sc.policies.size() << " policies x " << e.replications << " replications = " << est.runs << " runs of "
      << nodes << " nodes x " << sc.horizon_months << " months\n"
      << "  threads " << threads << " (" << plan.concurrent << " unit(s) at once x " << plan.per_run
      << " thread(s) each); estimated " << human_seconds(est.seconds) << ", peak memory ~"
      << human_bytes(est.peak_bytes) << ", results ~" << human_bytes(est.results_bytes) << " before compression\n";
}

// A sweep's finished points, published as NAME.partial while it runs: at
// most so often that writing takes a tenth of the time, and never more than
// once per kMinSeconds.
class SnapshotPublisher {
 public:
  SnapshotPublisher(const app::Experiment& e, fs::path out, int threads, int processes)
      : e_(e), target_(app::partial_path(out)), threads_(threads), processes_(processes), start_(Clock::now()),
        last_(start_) {}

  void offer(const app::Ensemble& ens, const std::vector<std::uint64_t>& done, bool force) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (done.empty() || (!force && since < std::max(kMinSeconds, 10 * last_cost_))) return;
    app::RunFacts facts;
    facts.threads = threads_;
    facts.processes = processes_;
    facts.wall_seconds = std::chrono::duration<double>(now - start_).count();
    try {
      app::write_results(target_, e_, ens, facts, done, false);
    } catch (const std::exception& ex) {  // a snapshot is a convenience: the run goes on
      std::cerr << "\nloyalsim: warning: could not publish " << target_.string() << ": " << ex.what() << '\n';
    }
    last_ = Clock::now();
    last_cost_ = std::chrono::duration<double>(last_ - now).count();
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr double kMinSeconds = 5.0;
  const app::Experiment& e_;
  fs::path target_;
  int threads_, processes_;
  Clock::time_point start_, last_;
  double last_cost_ = 0;
};

// `mpi` is set when an MPI launcher started several ranks: rank 0 runs this
// function as a single process would (checks, checkpoint, snapshots, the
// file) and serves units to the other ranks, which only compute.
int run_command(const RunArgs& a, const distributed::Session* mpi) {
  const int processes = mpi ? mpi->size() : 1;
  const int threads =
      a.threads > 0 ? a.threads : std::max(1, omp_get_max_threads() / (mpi ? distributed::ranks_on_this_node() : 1));
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const auto stop_requested = [] { return g_stop.load(std::memory_order_relaxed); };
  if (mpi && mpi->rank() != 0) {
    if (const int code = distributed::agree_to_start(*mpi, 0)) return code;
    app::Experiment e;
    distributed::share_experiment(*mpi, e);
    distributed::work(*mpi, e, threads, stop_requested);
    return g_stop ? kExitInterrupted : 0;
  }
  // Rank 0 (or the only process): every refusal is agreed with the other ranks.
  const auto refuse = [&](int code) { return mpi ? distributed::agree_to_start(*mpi, code) : code; };

  app::Experiment e = app::load_experiment(a.experiment);
  if (a.replications > 0) e.replications = a.replications;
  if (!a.output.empty()) e.output_path = a.output;
  const fs::path out = e.output_path;
  const fs::path checkpoint_dir = out.string() + ".checkpoint";
  const bool sweep = e.sweep.active();

  const auto nodes = e.scenario.population.customers + e.scenario.population.prospects;
  const app::ThreadPlan plan = app::plan_threads(
      threads, nodes, static_cast<std::uint32_t>(std::min<std::uint64_t>(e.points() * e.replications, 1u << 30)));
  const app::RunEstimate est = app::estimate_run(e, plan, threads * processes);
  if (!a.quiet) {
    print_plan(e, threads, plan, est, std::cerr);
    if (mpi) std::cerr << "  MPI: " << processes << " ranks x " << threads << " threads; rank 0 coordinates and computes\n";
    std::cerr << "  results -> " << out.string() << (sweep ? " (finished points in " + app::partial_path(out).string() + " as it runs)" : "") << '\n';
  }
  const double available = available_memory_bytes();
  if (available > 0 && est.peak_bytes > 0.9 * available) {
    std::cerr << "loyalsim: this run needs ~" << human_bytes(est.peak_bytes) << " of memory and "
              << human_bytes(available) << " is available; nothing was run.\n"
              << "  Use fewer points, replications, policies or months, or a machine with more memory.\n";
    return refuse(kExitFailure);
  }

  if (engine::CheckpointStore::in_use(checkpoint_dir)) {
    std::cerr << "loyalsim: another loyalsim process is writing " << out.string() << " (" << checkpoint_dir.string()
              << " is locked); nothing was run.\n  Wait for it to finish or stop it; --force does not override this.\n";
    return refuse(kExitFailure);
  }
  if (fs::exists(out) && !a.force) {
    std::cerr << "loyalsim: " << out.string() << " already exists; nothing was run.\n"
              << "  Use --force to replace it, or -o to write elsewhere.\n";
    return refuse(kExitFailure);
  }
  if (fs::exists(checkpoint_dir) && !a.resume) {
    if (!a.force) {
      std::cerr << "loyalsim: an interrupted run of this output left " << checkpoint_dir.string() << ".\n"
                << "  Use --resume to finish it, or --force to discard it and start over.\n";
      return refuse(kExitFailure);
    }
    fs::remove_all(checkpoint_dir);
  }
  if (!fs::exists(checkpoint_dir)) fs::remove(app::partial_path(out));  // a snapshot of no run we can resume
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path());

  engine::CheckpointStore store(checkpoint_dir, app::experiment_fingerprint(e));
  const std::uint64_t units = e.points() * e.replications;
  if (a.resume && store.count() > 0 && !a.quiet)
    std::cerr << "  resuming: " << store.count() << " of " << units << (sweep ? " point-replications" : " replications")
              << " already done\n";

  std::unique_ptr<app::RemoteWorkers> remote;
  if (mpi) {
    refuse(0);  // go
    distributed::share_experiment(*mpi, e);
    remote = distributed::remote_workers(*mpi);
  }
  engine::Progress progress(app::progress_units(e), "months", !a.quiet);
  SnapshotPublisher snapshots(e, out, threads, processes);
  app::EnsembleOptions options;
  options.threads = threads;
  options.store = &store;
  options.progress = &progress;
  options.should_stop = stop_requested;
  options.remote = remote.get();
  if (sweep)
    options.on_point_done = [&](const app::Ensemble& ens, const std::vector<std::uint64_t>& done) {
      if (done.size() < e.points()) snapshots.offer(ens, done, false);
    };
  app::Ensemble ensemble;
  try {
    ensemble = app::run_ensemble(e, options);
  } catch (const app::Interrupted& i) {
    if (sweep) snapshots.offer(i.partial, i.partial.done_points, true);
    std::cerr << "\nloyalsim: interrupted; " << i.units_saved << " of " << units
              << (sweep ? " point-replications" : " replications") << " are saved in " << checkpoint_dir.string()
              << ".\n";
    if (sweep && !i.partial.done_points.empty())
      std::cerr << "  The " << i.partial.done_points.size() << " finished points are readable in "
                << app::partial_path(out).string() << ".\n";
    std::cerr << "  Finish with: " << (mpi ? "mpirun -np " + std::to_string(processes) + " " : "") << "loyalsim run "
              << a.experiment << (a.output.empty() ? "" : " -o " + a.output)
              << (a.replications ? " --replications " + std::to_string(a.replications) : "") << " --resume\n";
    if (mpi) mpi->abort(kExitInterrupted);  // workers may be waiting for an answer that will not come
    return kExitInterrupted;
  }
  progress.finish();

  app::RunFacts facts;
  facts.threads = threads;
  facts.processes = processes;
  facts.wall_seconds = progress.elapsed_seconds();
  try {
    app::write_results(out, e, ensemble, facts, ensemble.done_points, true);
  } catch (const std::exception& ex) {
    // Nothing is lost: every finished unit is in the checkpoint.
    std::error_code ec;
    const auto space = fs::space(out.parent_path().empty() ? fs::path(".") : out.parent_path(), ec);
    std::cerr << "loyalsim: could not write " << out.string() << ": " << ex.what() << '\n';
    if (!ec) std::cerr << "  The disk holding it has " << human_bytes(static_cast<double>(space.available)) << " free.\n";
    std::cerr << "  Every finished run is kept in " << checkpoint_dir.string()
              << "; fix the problem and finish with the same command and --resume.\n";
    return kExitFailure;
  }
  fs::remove(app::partial_path(out));
  store.remove();

  if (sweep) app::print_sweep_summary(out, std::cout);
  else app::print_table(app::horizon_table(out), std::cout);
  std::cout << "\nresults: " << out.string() << '\n';
  return 0;
}

// The preset an experiment starts from, and where each key it overrides comes from.
void print_preset(const app::Experiment& e, std::ostream& out) {
  if (e.preset.empty()) return;
  out << "  preset " << e.preset << " (" << e.preset_path.string() << "): ";
  if (e.preset_overrides.empty()) {
    out << "every key it sets is used as it is\n";
    return;
  }
  out << e.preset_overrides.size() << " key(s) set by the experiment instead:\n";
  for (const auto& o : e.preset_overrides)
    out << "    " << o.path << ": from " << e.source.string() << ":" << o.line << " (the preset's, line " << o.preset_line
        << ", is not used)\n";
}

int validate_command(const std::string& path, int threads) {
  const app::Experiment e = app::load_experiment(path);
  std::cout << path << ": ok: " << e.name << ", " << e.scenario.policies.size() << " policies x "
            << e.replications << " replications, " << e.scenario.population.customers << " customers + "
            << e.scenario.population.prospects << " prospects, " << e.scenario.horizon_months
            << " months -> " << e.output_path.string() << '\n';
  threads = threads > 0 ? threads : omp_get_max_threads();
  const app::ThreadPlan plan = app::plan_threads(
      threads, e.scenario.population.customers + e.scenario.population.prospects,
      static_cast<std::uint32_t>(std::min<std::uint64_t>(e.points() * e.replications, 1u << 30)));
  print_plan(e, threads, plan, app::estimate_run(e, plan, threads), std::cout);
  print_preset(e, std::cout);
  if (e.sweep.active()) {
    const auto& s = e.sweep;
    for (std::size_t i = 0; i < s.dims(); ++i) {
      const auto& p = s.parameters[i];
      std::cout << "  " << p.path << ": " << app::kSweepKindNames[static_cast<int>(p.kind)] << ", first points "
                << s.describe_value(0, i);
      for (std::uint64_t k = 1; k < std::min<std::uint64_t>(4, e.points()); ++k) std::cout << ", " << s.describe_value(k, i);
      std::cout << (e.points() > 4 ? ", ...\n" : "\n");
    }
  }
  return 0;
}

int info_command(const std::string& path, std::optional<std::size_t> point) {
  if (!fs::exists(path)) throw engine::RuntimeFailure(path + ": no such file");
  app::print_provenance(path, std::cout);
  std::cout << '\n';
  const engine::h5::File f = engine::h5::File::open_read(path);
  const bool sweep = f.has_attribute("sweep_design") && f.string_attribute("sweep_design") != "none";
  if (sweep && !point) {
    app::print_sweep_summary(path, std::cout);
    return 0;
  }
  std::size_t position = 0;
  if (point) {  // a design index: find its position in the file
    const auto ids = f.read_int64("point");
    const auto it = std::find(ids.begin(), ids.end(), static_cast<std::int64_t>(*point));
    if (it == ids.end()) throw engine::RuntimeFailure(path + " has no point " + std::to_string(*point));
    position = static_cast<std::size_t>(it - ids.begin());
  }
  app::print_table(app::horizon_table(path, position), std::cout);
  return 0;
}

int sensitivity_command(const std::string& path, app::SensitivityOptions options, const std::string& month, bool csv) {
  if (month == "all") {
    options.all_months = true;
  } else if (!month.empty()) {
    std::size_t used = 0;
    unsigned long t = 0;
    try {
      t = std::stoul(month, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != month.size()) {
      std::cerr << "loyalsim: --month " << month << ": expected a month number or \"all\"\n";
      return kExitBadInput;
    }
    options.month = static_cast<std::uint32_t>(t);
  }
  const app::SensitivityResult result = app::analyse_sensitivity(path, options);
  if (csv) app::print_sensitivity_csv(result, std::cout);
  else app::print_sensitivity(result, std::cout);
  return 0;
}

// The model's parameter table: a terminal summary, the Markdown tables of
// docs/experiment-format.md, or JSON for tools (python's loyalsim.parameters()).
int parameters_command(const std::string& format) {
  using srp1::ParameterScope;
  if (format == "json") {
    std::cout << srp1::parameters_json();
    return 0;
  }
  for (const auto scope : {ParameterScope::run, ParameterScope::population, ParameterScope::segment, ParameterScope::model,
                           ParameterScope::wom, ParameterScope::policy}) {
    if (format == "markdown") {
      const char* name = srp1::kScopeNames[static_cast<int>(scope)];
      std::cout << "### " << (scope == ParameterScope::run ? "top level" : name) << "\n\n"
                << srp1::parameters_markdown(scope) << '\n';
      continue;
    }
    for (const srp1::ParameterRow* row : srp1::rows_of(scope))
      std::cout << row->path() << " = "
                << (row->default_note.empty() ? row->describe_value(row->default_value()) : std::string(row->default_note))
                << "  (" << row->allowed() << (row->unit == "1" || row->unit == "choice" ? "" : ", " + std::string(row->unit))
                << ")\n    " << row->meaning << "\n";
  }
  return 0;
}

CLI::App* add_calibrate_command(CLI::App& cli, app::CalibrateArgs& a) {
  auto* cmd = cli.add_subcommand("calibrate", "fit the experiment's [calibration] parameters to its targets");
  cmd->add_option("experiment", a.experiment, "experiment file (TOML) with a [calibration] table")->required();
  cmd->add_option("-o,--output", a.output, "calibration file (default: [output].path of the experiment)");
  cmd->add_option("--threads", a.threads, "threads to use (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));
  cmd->add_flag("--force", a.force, "replace an existing calibration file / discard a checkpoint");
  cmd->add_flag("--resume", a.resume, "finish an interrupted calibration from its checkpoint");
  cmd->add_flag("--check", a.check, "fit nothing: the targets at the experiment's own parameters (exit 3 if one is missed)");
  cmd->add_flag("-q,--quiet", a.quiet, "no progress on stderr");
  return cmd;
}

int calibrate(const app::CalibrateArgs& a, const distributed::Session* mpi) {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  return app::calibrate_command(a, mpi, [] { return g_stop.load(std::memory_order_relaxed); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyalsim: Monte Carlo customer loyalty under service failures and recoveries (SRP-1)"};
  cli.set_version_flag("--version", std::string("loyalsim ") + engine::kEngineVersion +
                                        (distributed::available() ? " (with MPI)" : " (without MPI)"));
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

  app::CalibrateArgs calib;
  auto* calib_cmd = add_calibrate_command(cli, calib);

  std::string validate_path, info_path;
  int validate_threads = 0;
  auto* validate_cmd = cli.add_subcommand("validate", "check an experiment file and tell what running it costs");
  validate_cmd->add_option("experiment", validate_path, "experiment file (TOML)")->required();
  validate_cmd->add_option("--threads", validate_threads, "threads the estimate assumes (default: all cores)")
      ->check(CLI::Range(1, 4096));
  auto* info_cmd = cli.add_subcommand("info", "print the provenance and policy table (or sweep summary) of a results file");
  info_cmd->add_option("results", info_path, "results file (HDF5)")->required();
  std::optional<std::size_t> info_point;
  info_cmd->add_option("--point", info_point, "the policy table of one sweep point (its index in the design)");

  std::string sens_path, sens_month;
  bool sens_csv = false;
  app::SensitivityOptions sens;
  auto* sens_cmd = cli.add_subcommand("sensitivity", "which swept parameters move a metric (Sobol' indices, SRC, PRCC)");
  sens_cmd->add_option("results", sens_path, "results file of a sweep (HDF5)")->required();
  sens_cmd->add_option("--metric", sens.metric, "metric (default net_value; flows are summed over months 1..t)");
  sens_cmd->add_option("--month", sens_month, "month t (default: the horizon), or \"all\" for indices along the months");
  sens_cmd->add_option("--policy", sens.policies, "policy to analyse (repeatable; default: every policy)");
  sens_cmd->add_flag("--contrast", sens.contrast, "analyse the paired difference to the baseline policy");
  sens_cmd->add_option("--method", sens.method, "sobol (Saltelli designs) or regression (default: from the design)")
      ->check(CLI::IsMember({"sobol", "regression"}));
  sens_cmd->add_option("--bootstrap", sens.bootstrap, "bootstrap resamples for the intervals (default 1000)")
      ->check(CLI::Range(0, 1000000));
  sens_cmd->add_option("--seed", sens.seed, "seed of the bootstrap (default 0)");
  sens_cmd->add_flag("--csv", sens_csv, "print CSV (policy, month, parameter, index, estimate, ci_low, ci_high)");

  std::string params_format = "text";
  auto* params_cmd = cli.add_subcommand("parameters", "list every model parameter: default, range, unit, meaning, evidence");
  params_cmd->add_option("--format", params_format, "text (default), markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }

  try {
    engine::simd::configure_from_environment();  // LOYALSIM_SIMD (docs/performance.md)
  } catch (const engine::InputError& e) {
    std::cerr << e.what() << "\nloyalsim: bad environment; nothing was run.\n";
    return kExitBadInput;
  }
  engine::h5::silence_library_errors();
  // Under an MPI launcher, `run` becomes one rank of a distributed run. A
  // failure on any rank ends every rank (MPI_Abort), so none waits forever.
  std::unique_ptr<distributed::Session> mpi;
  auto fail = [&](int code) {
    if (mpi && mpi->size() > 1) mpi->abort(code);
    return code;
  };
  try {
    if ((*run_cmd || *calib_cmd) && distributed::launched_ranks() > 1)
      mpi = std::make_unique<distributed::Session>(argc, argv);
    if (*run_cmd) return run_command(run, mpi && mpi->size() > 1 ? mpi.get() : nullptr);
    if (*calib_cmd) return calibrate(calib, mpi && mpi->size() > 1 ? mpi.get() : nullptr);
    if (*validate_cmd) return validate_command(validate_path, validate_threads);
    if (*params_cmd) return parameters_command(params_format);
    if (*sens_cmd) return sensitivity_command(sens_path, sens, sens_month, sens_csv);
    return info_command(info_path, info_point);
  } catch (const engine::InputError& e) {
    std::cerr << e.what() << '\n'
              << "loyalsim: " << e.problems().size() << " problem(s) in the experiment; nothing was run.\n";
    return fail(kExitBadInput);
  } catch (const std::exception& e) {
    std::cerr << "loyalsim" << (mpi && mpi->size() > 1 ? " (rank " + std::to_string(mpi->rank()) + ")" : "") << ": "
              << e.what() << '\n';
    return fail(kExitFailure);
  }
}
