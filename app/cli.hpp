// The commands of the `loyalsim` program, one function each. app/main.cpp
// parses the command line and calls them; they return the exit code, or
// throw: engine::InputError / engine::UsageError for bad input (exit 2),
// anything else for a failure of the environment (exit 1).
//
//   cli_run.cpp      run: refuse an unsafe start, run, explain an interruption
//   cli_plan.cpp     validate, and the plan both commands print
//   cli_inspect.cpp  info and sensitivity: reading a results file
//   cli_parameters.cpp  parameters: the model's parameter table
//   cli_report.cpp   report: the strategist's HTML report (the Python package)
//   calibrate_command.cpp  calibrate (app/calibrate_command.hpp)
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/distributed.hpp"
#include "app/experiment.hpp"
#include "app/sensitivity.hpp"

namespace loyalsim::app::cli {

// Exit codes: 0 done; 1 the environment failed (disk, permissions, HDF5);
// 2 bad input or usage; 130 interrupted (finished work kept for --resume).
inline constexpr int kExitFailure = 1, kExitBadInput = 2, kExitInterrupted = 130;

// The command line as the user typed it, for messages that say what to type next.
class Invocation {
 public:
  Invocation() = default;
  Invocation(int argc, const char* const* argv) : argv_(argv, argv + argc) {}
  // The same command with `flag` (once), every word quoted for a POSIX shell
  // where needed: "build/loyalsim run 'my exp.toml' -o r.h5 --resume".
  [[nodiscard]] std::string with_flag(const std::string& flag) const;

 private:
  std::vector<std::string> argv_;
};

// A word as a POSIX shell reads it back: as is when it is plain, else in single quotes.
std::string shell_quote(const std::string& word);

struct RunArgs {
  std::string experiment;
  std::string output;  // empty: [output].path of the experiment
  int threads = 0;
  std::uint32_t replications = 0;
  bool force = false, resume = false, quiet = false;
};

// Ctrl-C and SIGTERM ask long commands to stop (and keep their finished work);
// a second Ctrl-C ends the process at once.
void install_stop_handlers();
bool stop_requested();

// `mpi` is set when an MPI launcher started several ranks: rank 0 runs the
// command as a single process would and serves units to the other ranks.
int run_command(const RunArgs& args, const Invocation& invocation, const distributed::Session* mpi);
int validate_command(const std::string& experiment, int threads);
int info_command(const std::string& results, std::optional<std::size_t> point);
int sensitivity_command(const std::string& results, SensitivityOptions options, const std::string& month, bool csv);
// format: "text", "markdown" or "json".
int parameters_command(const std::string& format);
// Runs `python3 -m loyalsim report ARGS...` with this project's Python package;
// `program` is argv[0] (to find the package beside the binary's source tree).
int report_command(const std::vector<std::string>& args);

// What a run will do and cost, told before it starts (run) or instead (validate).
void print_plan(const Experiment& experiment, int threads, int processes, std::ostream& out);
// "1.5 GiB": sizes for humans.
std::string human_bytes(double bytes);

}  // namespace loyalsim::app::cli
