// loyalsim_bench: node-months per second, peak bytes per node, thread scaling.
//
//   loyalsim_bench [--experiment FILE] [--threads 1,2] [--replications 2] [--memory-nodes 10000000]
//
// Speed: the experiment's population (default: experiments/policy-comparison.toml,
// 100k customers + 100k prospects, 36 months), every policy of `replications`
// replications through the same ensemble code as `loyalsim run`, at each
// thread count; node-months = (customers + prospects) x months x runs.
// Memory: a child process builds a population of --memory-nodes nodes (network
// included) and simulates 12 months of one policy; its peak resident set over
// the process baseline, divided by the nodes, is the figure reported.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "engine/phases.hpp"

using namespace loyalsim;

namespace {

// Resident-set figures of this process from /proc, in bytes.
std::uint64_t proc_status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::strlen(field) + 1)) * 1024;
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs in a child so its peak RSS is its own.
void measure_memory(app::Experiment e, std::uint64_t nodes, int threads) {
  const std::uint64_t baseline = proc_status_kib("VmRSS:");
  e.scenario.population.customers = nodes / 2;
  e.scenario.population.prospects = nodes - nodes / 2;
  e.scenario.horizon_months = 12;
  e.scenario.policies.resize(1);
  const auto t0 = std::chrono::steady_clock::now();
  const auto network = srp1::build_network(e.scenario, e.seed, 0, threads);
  const double build_s = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  const auto run = srp1::simulate(e.scenario, 0, e.seed, 0, network, threads);
  const double run_s = seconds_since(t1);
  const std::uint64_t peak = proc_status_kib("VmHWM:");
  std::printf("memory: %llu nodes (network %.1f B/node + state %.1f B/node allocated)\n",
              static_cast<unsigned long long>(nodes), static_cast<double>(network.bytes()) / nodes,
              static_cast<double>(srp1::run_state_bytes(e.scenario)) / nodes);
  std::printf("memory: peak resident %.2f GiB over a %.1f MiB baseline = %.1f bytes/node "
              "(network build %.1f s, 12 months %.1f s, %.0fM node-months/s, final active %.0f)\n",
              peak / 1073741824.0, baseline / 1048576.0, static_cast<double>(peak - baseline) / nodes, build_s,
              run_s, nodes * 12.0 / run_s / 1e6, run.at(srp1::kActive, 12));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyalsim benchmark: speed, memory, thread scaling"};
  std::string experiment = std::string(LOYALSIM_SOURCE_DIR) + "/experiments/policy-comparison.toml";
  std::vector<int> thread_counts = {1, 2};
  std::uint32_t replications = 2;
  std::uint64_t memory_nodes = 10'000'000;
  cli.add_option("--experiment", experiment, "experiment whose population is benchmarked");
  cli.add_option("--threads", thread_counts, "thread counts to compare")->delimiter(',');
  cli.add_option("--replications", replications, "replications per measurement");
  cli.add_option("--memory-nodes", memory_nodes, "population of the memory measurement (0: skip)");
  CLI11_PARSE(cli, argc, argv);

  try {
    app::Experiment e = app::load_experiment(experiment);
    e.replications = replications;
    // Memory first: fork before this process starts any thread pool.
    if (memory_nodes > 0) {
      const pid_t pid = fork();
      if (pid == 0) {
        measure_memory(e, memory_nodes, thread_counts.back());
        std::fflush(stdout);
        _exit(0);
      }
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "memory measurement failed\n");
        return 1;
      }
    }
    const auto& sc = e.scenario;
    const double nodes = static_cast<double>(sc.population.customers + sc.population.prospects);
    const double node_months = nodes * sc.horizon_months * sc.policies.size() * replications;
    std::printf("speed: %s: %.0f nodes x %u months x %zu policies x %u replications = %.3g node-months\n",
                e.name.c_str(), nodes, sc.horizon_months, sc.policies.size(), replications, node_months);
    double base_rate = 0.0;
    for (const int threads : thread_counts) {
      const auto plan = app::plan_threads(threads, static_cast<std::uint64_t>(nodes), replications);
      app::EnsembleOptions opt;
      opt.threads = threads;
      engine::phases::reset();
      engine::phases::enable();
      const auto t0 = std::chrono::steady_clock::now();
      const auto ens = app::run_ensemble(e, opt);
      const double s = seconds_since(t0);
      engine::phases::enable(false);
      const auto phase = engine::phases::seconds();
      double timed = 0;
      for (double x : phase) timed += x;
      for (std::size_t i = 0; i < phase.size(); ++i)
        std::printf("  phase %-26s %7.3f thread-s (%4.1f%%)\n", engine::phases::kPhaseNames[i], phase[i], 100 * phase[i] / timed);
      const double rate = node_months / s;
      if (base_rate == 0.0) base_rate = rate;
      std::printf("speed: threads %d (%d at once x %d each): %.2f s, %.1fM node-months/s, speed-up %.2fx "
                  "(check: active %.0f)\n",
                  threads, plan.concurrent, plan.per_run, s, rate / 1e6, rate / base_rate,
                  ens.run(0, 0, 0).at(srp1::kActive, sc.horizon_months));
    }
    std::fflush(stdout);

  } catch (const std::exception& ex) {
    std::fprintf(stderr, "loyalsim_bench: %s\n", ex.what());
    return 1;
  }
  return 0;
}
