// `loyalsim validate`, and the plan `run` and `validate` both print: what
// the experiment is, how the threads are split, what it will cost.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "app/cli.hpp"
#include "app/ensemble.hpp"
#include "app/report.hpp"
#include "engine/progress.hpp"

namespace loyalsim::app::cli {

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

void print_plan(const Experiment& e, int threads, int processes, std::ostream& out) {
  const auto& sc = e.scenario;
  const ThreadPlan plan = plan_for(e, threads);
  const RunEstimate est = estimate_run(e, plan, threads * processes);
  out << "loyalsim: " << e.name << ": ";
  if (e.sweep.active()) {
    out << kSweepDesignNames[static_cast<int>(e.sweep.design)] << " sweep of " << e.sweep.dims() << " parameter(s), "
        << e.points() << " points x ";
  }
  out << sc.policies.size() << " policies x " << count_of(e.replications, "replication") << " = " << est.runs << " runs of "
      << sc.population.customers + sc.population.prospects << " nodes x " << sc.horizon_months << " months\n"
      << "  threads " << threads << " (" << plan.concurrent << " unit(s) at once x " << plan.per_run
      << " thread(s) each); estimated " << engine::format_duration(std::max(1.0, est.seconds)) << ", peak memory ~"
      << human_bytes(est.peak_bytes) << ", results ~" << human_bytes(est.results_bytes) << " before compression\n";
}

namespace {

// The preset an experiment starts from, and where each key it overrides comes from.
void print_preset(const Experiment& e, std::ostream& out) {
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

}  // namespace

int validate_command(const std::string& path, int threads) {
  const Experiment e = load_experiment(path);
  std::cout << path << ": ok: " << e.name << ", " << e.scenario.policies.size() << " policies x "
            << count_of(e.replications, "replication") << ", " << e.scenario.population.customers << " customers + "
            << e.scenario.population.prospects << " prospects, " << e.scenario.horizon_months << " months -> "
            << e.output_path.string() << '\n';
  print_plan(e, threads > 0 ? threads : omp_get_max_threads(), 1, std::cout);
  print_preset(e, std::cout);
  if (!e.sweep.active()) return 0;
  const auto& s = e.sweep;
  for (std::size_t i = 0; i < s.dims(); ++i) {
    std::cout << "  " << s.parameters[i].path << ": " << kSweepKindNames[static_cast<int>(s.parameters[i].kind)]
              << ", first points " << s.describe_value(0, i);
    for (std::uint64_t k = 1; k < std::min<std::uint64_t>(4, e.points()); ++k) std::cout << ", " << s.describe_value(k, i);
    std::cout << (e.points() > 4 ? ", ...\n" : "\n");
  }
  return 0;
}

}  // namespace loyalsim::app::cli
