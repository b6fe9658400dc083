// loyalsim: the command line. This file declares the commands and their
// options and turns what they throw into exit codes; the commands
// themselves are in app/cli_*.cpp (app/cli.hpp).
//
//   loyalsim run EXPERIMENT.toml [-o PATH] [--threads N] [--replications R] [--force] [--resume] [--quiet]
//   loyalsim calibrate EXPERIMENT.toml [-o PATH] [--threads N] [--force] [--resume] [--check] [--quiet]
//   loyalsim report RESULTS.h5 [-o REPORT.html] [--pdf REPORT.pdf] [--point K] [--force]
//   loyalsim validate EXPERIMENT.toml [--threads N]
//   loyalsim info RESULTS.h5 [--point K]
//   loyalsim sensitivity RESULTS.h5 [--metric M] [--month T|all] [--policy NAME] [--contrast] [--csv]
//   loyalsim parameters [--format text|markdown|json]
//
// Exit codes: 0 done; 1 the environment failed (disk, permissions, HDF5);
// 2 bad input or usage; 3 calibration targets not met (app/calibrate_command.hpp);
// 130 interrupted (finished work kept for --resume).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <optional>

#include "app/calibrate_command.hpp"
#include "app/cli.hpp"
#include "app/distributed.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/simd.hpp"
#include "engine/version.hpp"

using namespace loyalsim;
namespace cli = loyalsim::app::cli;
namespace distributed = loyalsim::app::distributed;

namespace {

struct Commands {
  CLI::App* run = nullptr;
  CLI::App* calibrate = nullptr;
  CLI::App* report = nullptr;
  CLI::App* validate = nullptr;
  CLI::App* info = nullptr;
  CLI::App* sensitivity = nullptr;
  CLI::App* parameters = nullptr;
  cli::RunArgs run_args;
  app::CalibrateArgs calibrate_args;
  std::vector<std::string> report_args;
  std::string validate_path, info_path, sensitivity_path, sensitivity_month;
  int validate_threads = 0;
  std::optional<std::size_t> info_point;
  app::SensitivityOptions sensitivity_options;
  bool sensitivity_csv = false;
  std::string parameters_format = "text";
};

void add_run(CLI::App& app, Commands& c) {
  auto& a = c.run_args;
  c.run = app.add_subcommand("run", "run every policy x replication of an experiment and write results");
  c.run->add_option("experiment", a.experiment, "experiment file (TOML)")->required();
  c.run->add_option("-o,--output", a.output, "results file (default: [output].path of the experiment)");
  c.run->add_option("--threads", a.threads, "threads to use (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));
  c.run->add_option("--replications", a.replications, "override the experiment's replications")
      ->check(CLI::Range(1, 100000));
  c.run->add_flag("--force", a.force, "replace an existing results file / discard a checkpoint");
  c.run->add_flag("--resume", a.resume, "finish an interrupted run from its checkpoint");
  c.run->add_flag("-q,--quiet", a.quiet, "no progress on stderr");
}

void add_calibrate(CLI::App& app, Commands& c) {
  auto& a = c.calibrate_args;
  c.calibrate = app.add_subcommand("calibrate", "fit the experiment's [calibration] parameters to its targets");
  c.calibrate->add_option("experiment", a.experiment, "experiment file (TOML) with a [calibration] table")->required();
  c.calibrate->add_option("-o,--output", a.output, "calibration file (default: [output].path of the experiment)");
  c.calibrate->add_option("--threads", a.threads, "threads to use (default: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, 4096));
  c.calibrate->add_flag("--force", a.force, "replace an existing calibration file / discard a checkpoint");
  c.calibrate->add_flag("--resume", a.resume, "finish an interrupted calibration from its checkpoint");
  c.calibrate->add_flag("--check", a.check,
                        "fit nothing: the targets at the experiment's own parameters (exit 3 if one is missed)");
  c.calibrate->add_flag("-q,--quiet", a.quiet, "no progress on stderr");
}

// `report` hands everything after it to the Python package, which owns the
// report's options (loyalsim report --help lists them).
void add_report(CLI::App& app, Commands& c) {
  c.report = app.add_subcommand("report", "the strategist's HTML report of a results file (python3 -m loyalsim report)");
  c.report->allow_extras();
  c.report->set_help_flag();
  c.report->prefix_command();
}

void add_validate_and_info(CLI::App& app, Commands& c) {
  c.validate = app.add_subcommand("validate", "check an experiment file and tell what running it costs");
  c.validate->add_option("experiment", c.validate_path, "experiment file (TOML)")->required();
  c.validate->add_option("--threads", c.validate_threads, "threads the estimate assumes (default: all cores)")
      ->check(CLI::Range(1, 4096));
  c.info = app.add_subcommand("info", "print the provenance and policy table (or sweep summary) of a results file, "
                                      "or the fit of a calibration file");
  c.info->add_option("results", c.info_path, "results or calibration file (HDF5)")->required();
  c.info->add_option("--point", c.info_point, "the policy table of one sweep point (its index in the design)");
}

void add_sensitivity(CLI::App& app, Commands& c) {
  auto& o = c.sensitivity_options;
  c.sensitivity = app.add_subcommand("sensitivity", "which swept parameters move a metric (Sobol' indices, SRC, PRCC)");
  c.sensitivity->add_option("results", c.sensitivity_path, "results file of a sweep (HDF5)")->required();
  c.sensitivity->add_option("--metric", o.metric, "metric (default net_value; flows are summed over months 1..t)");
  c.sensitivity->add_option("--month", c.sensitivity_month,
                            "month t (default: the horizon), or \"all\" for indices along the months");
  c.sensitivity->add_option("--policy", o.policies, "policy to analyse (repeatable; default: every policy)");
  c.sensitivity->add_flag("--contrast", o.contrast, "analyse the paired difference to the baseline policy");
  c.sensitivity->add_option("--method", o.method, "sobol (Saltelli designs) or regression (default: from the design)")
      ->check(CLI::IsMember({"sobol", "regression"}));
  c.sensitivity->add_option("--bootstrap", o.bootstrap, "bootstrap resamples for the intervals (default 1000)")
      ->check(CLI::Range(0, 1000000));
  c.sensitivity->add_option("--seed", o.seed, "seed of the bootstrap (default 0)");
  c.sensitivity->add_flag("--csv", c.sensitivity_csv,
                          "print CSV (policy, month, parameter, index, estimate, ci_low, ci_high)");
}

void add_parameters(CLI::App& app, Commands& c) {
  c.parameters = app.add_subcommand("parameters", "list every model parameter: default, range, unit, meaning, evidence");
  c.parameters->add_option("--format", c.parameters_format, "text (default), markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
}

}  // namespace

int main(int argc, char** argv) {
  const cli::Invocation invocation(argc, argv);  // before MPI_Init may edit argv
  CLI::App app{"loyalsim: Monte Carlo customer loyalty under service failures and recoveries (SRP-1)"};
  app.set_version_flag("--version", std::string("loyalsim ") + engine::kEngineVersion +
                                        (distributed::available() ? " (with MPI)" : " (without MPI)"));
  app.require_subcommand(1);
  Commands c;
  add_run(app, c);
  add_calibrate(app, c);
  add_report(app, c);
  add_validate_and_info(app, c);
  add_sensitivity(app, c);
  add_parameters(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : cli::kExitBadInput;
  }

  try {
    engine::simd::configure_from_environment();  // LOYALSIM_SIMD (docs/performance.md)
  } catch (const engine::InputError& e) {
    std::cerr << e.what() << "\nloyalsim: bad environment; nothing was run.\n";
    return cli::kExitBadInput;
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
    if ((*c.run || *c.calibrate) && distributed::launched_ranks() > 1)
      mpi = std::make_unique<distributed::Session>(argc, argv);
    const distributed::Session* ranks = mpi && mpi->size() > 1 ? mpi.get() : nullptr;
    if (*c.run) return cli::run_command(c.run_args, invocation, ranks);
    if (*c.calibrate) {
      cli::install_stop_handlers();
      return app::calibrate_command(c.calibrate_args, ranks, cli::stop_requested);
    }
    if (*c.report) return cli::report_command(c.report->remaining());
    if (*c.validate) return cli::validate_command(c.validate_path, c.validate_threads);
    if (*c.parameters) return cli::parameters_command(c.parameters_format);
    if (*c.sensitivity)
      return cli::sensitivity_command(c.sensitivity_path, c.sensitivity_options, c.sensitivity_month, c.sensitivity_csv);
    return cli::info_command(c.info_path, c.info_point);
  } catch (const engine::InputError& e) {
    std::cerr << e.what() << '\n'
              << "loyalsim: " << e.problems().size() << " problem(s) in the experiment; nothing was run.\n";
    return fail(cli::kExitBadInput);
  } catch (const engine::UsageError& e) {
    std::cerr << "loyalsim: " << e.what() << '\n';
    return fail(cli::kExitBadInput);
  } catch (const std::exception& e) {
    std::cerr << "loyalsim" << (mpi && mpi->size() > 1 ? " (rank " + std::to_string(mpi->rank()) + ")" : "") << ": "
              << e.what() << '\n';
    return fail(cli::kExitFailure);
  }
}
