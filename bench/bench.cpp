// loyalsim_bench: node-months per second, peak bytes per node, thread scaling.
//
//   loyalsim_bench [--experiment FILE] [--threads 1,2] [--replications 2] [--memory-nodes 10000000]
//   loyalsim_bench --network-only [--network-nodes 200000,400000,10000000] [--threads 1,2] [--repeats 5]
//
// Speed: the experiment's population (default: experiments/policy-comparison.toml,
// 100k customers + 100k prospects, 36 months), every policy of `replications`
// replications through the same ensemble code as `loyalsim run`, at each
// thread count; node-months = (customers + prospects) x months x runs.
// Memory: a child process builds a population of --memory-nodes nodes (network
// included) and simulates 12 months of one policy; its peak resident set over
// the process baseline, divided by the nodes, is the figure reported.
// Network only: the experiment's WOM network (half customers, half prospects)
// built in ring order (groups [0, N) and [N, n), as the kernel uses it) and in
// node order (today's model), at each size and thread count: the fastest of
// --repeats builds, in ms and ns per node; bytes per node held by the result;
// and, per size, a child process's peak resident set over its baseline for one
// ring-order build (the build's transient included).
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "engine/network.hpp"
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

// Bytes of this process's anonymous memory on transparent huge pages.
std::uint64_t huge_page_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("AnonHugePages:", 0) == 0) return std::stoull(line.substr(14)) * 1024;
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

engine::SmallWorldSpec network_spec(const srp1::Scenario& sc, std::uint32_t nodes) {
  engine::SmallWorldSpec spec;
  spec.nodes = nodes;
  spec.ring_neighbours = sc.wom.strong_ties;
  spec.random_ties = sc.wom.weak_ties;
  spec.rewire = sc.wom.rewire;
  return spec;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Fastest of `repeats` calls of build(replication): wall and process CPU
// seconds, each the minimum (on a shared machine the CPU time is the steadier).
struct Fastest {
  double wall = 1e300, cpu = 1e300;
};
template <class F>
Fastest fastest(int repeats, F&& build) {
  Fastest best;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    build(static_cast<std::uint32_t>(r));
    best.wall = std::min(best.wall, seconds_since(t0));
    best.cpu = std::min(best.cpu, cpu_seconds() - c0);
  }
  return best;
}

// One size, in a child process (fork before any thread pool exists): its peak
// RSS is then one build's, transient included.
void measure_network(const app::Experiment& e, std::uint32_t nodes, const std::vector<int>& thread_counts, int repeats) {
  const std::uint64_t baseline = proc_status_kib("VmRSS:");
  const engine::SmallWorldSpec spec = network_spec(e.scenario, nodes);
  const std::uint32_t groups[] = {nodes / 2};
  std::uint64_t ring_bytes = 0, node_bytes = 0, edges = 0, huge = 0;
  {
    const auto net = engine::build_small_world_ring_order(spec, engine::RandomStream(e.seed, 0, 0, srp1::kNetworkDraw),
                                                          thread_counts.front(), groups);
    ring_bytes = net.bytes();
    edges = net.graph.edges();
    engine::release_cached_buffers();  // the transients' mappings, kept for reuse: not the result
    huge = huge_page_bytes();
  }
  const std::uint64_t peak = proc_status_kib("VmHWM:");
  for (const int threads : thread_counts) {
    const Fastest ring = fastest(repeats, [&](std::uint32_t rep) {
      const auto net = engine::build_small_world_ring_order(
          spec, engine::RandomStream(e.seed, rep, 0, srp1::kNetworkDraw), threads, groups);
    });
    const Fastest node = fastest(repeats, [&](std::uint32_t rep) {
      const auto g = engine::build_small_world(spec, engine::RandomStream(e.seed, rep, 0, srp1::kNetworkDraw), threads);
      node_bytes = g.bytes();
    });
    std::printf("network: %u nodes, %d thread(s): ring order %.1f ms wall (%.1f ns/node), %.1f ms CPU; "
                "node order %.1f ms wall (%.1f ns/node), %.1f ms CPU\n",
                nodes, threads, ring.wall * 1e3, ring.wall / nodes * 1e9, ring.cpu * 1e3, node.wall * 1e3,
                node.wall / nodes * 1e9, node.cpu * 1e3);
  }
  std::printf("network: %u nodes, %.2f ties/node: ring order holds %.1f B/node (graph + both permutations), "
              "node order %.1f B/node; peak RSS of one ring-order build %.1f B/node over a %.1f MiB baseline; "
              "%.0f%% of the result on huge pages\n",
              nodes, 2.0 * static_cast<double>(edges) / nodes, static_cast<double>(ring_bytes) / nodes,
              static_cast<double>(node_bytes) / nodes, static_cast<double>(peak - baseline) / nodes,
              baseline / 1048576.0, 100.0 * static_cast<double>(huge) / static_cast<double>(ring_bytes));
}

// Runs f in a child process; false if it failed.
template <class F>
bool in_child(F&& f) {
  const pid_t pid = fork();
  if (pid == 0) {
    f();
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyalsim benchmark: speed, memory, thread scaling"};
  std::string experiment = std::string(LOYALSIM_SOURCE_DIR) + "/experiments/policy-comparison.toml";
  std::vector<int> thread_counts = {1, 2};
  std::uint32_t replications = 2;
  std::uint64_t memory_nodes = 10'000'000;
  bool network_only = false;
  std::vector<std::uint32_t> network_nodes = {200'000, 400'000, 10'000'000};
  int repeats = 5;
  cli.add_option("--experiment", experiment, "experiment whose population is benchmarked");
  cli.add_option("--threads", thread_counts, "thread counts to compare")->delimiter(',');
  cli.add_option("--replications", replications, "replications per measurement");
  cli.add_option("--memory-nodes", memory_nodes, "population of the memory measurement (0: skip)");
  cli.add_flag("--network-only", network_only, "benchmark the network builder only");
  cli.add_option("--network-nodes", network_nodes, "network sizes (with --network-only)")->delimiter(',');
  cli.add_option("--repeats", repeats, "builds per network measurement; the fastest is reported")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(cli, argc, argv);

  try {
    app::Experiment e = app::load_experiment(experiment);
    e.replications = replications;
    if (network_only) {
      for (const std::uint32_t nodes : network_nodes)
        if (!in_child([&] { measure_network(e, nodes, thread_counts, repeats); })) {
          std::fprintf(stderr, "network measurement failed\n");
          return 1;
        }
      return 0;
    }
    // Memory first: fork before this process starts any thread pool.
    if (memory_nodes > 0 && !in_child([&] { measure_memory(e, memory_nodes, thread_counts.back()); })) {
      std::fprintf(stderr, "memory measurement failed\n");
      return 1;
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
