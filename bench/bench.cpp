// loyalsim_bench: node-months per second, peak bytes per node, thread scaling.
//
//   loyalsim_bench [--experiment FILE] [--threads 1,2] [--replications 2] [--memory-nodes 10000000] [--whole]
//   loyalsim_bench --network-only [--network-nodes 200000,400000,10000000] [--threads 1,2] [--repeats 5]
//
// Speed: the experiment's population (default: experiments/policy-comparison.toml,
// 100k customers + 100k prospects, 36 months), every policy of `replications`
// replications through the same ensemble code as `loyalsim run`, at each
// thread count; node-months = (customers + prospects) x months x runs.
// Phases: thread-seconds per phase of the month (engine/phases.hpp) of those runs.
// Speed of light: the same state streamed once a month, and the customers'
// monthly draws alone, at each thread count (speed_of_light below).
// Whole command (--whole): `loyalsim run FILE` with the file's own replications,
// network builds, warm-up and the results file included; node-months count the
// horizon's months (the warm-up's are extra work on top).
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
#include "engine/random.hpp"
#include "models/srp1/model.hpp"

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
  const auto network = srp1::build_ring_network(e.scenario, e.seed, 0, threads);  // as runs build it
  const double build_s = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  const std::size_t first[] = {0};
  const auto run = srp1::simulate_policies(e.scenario, first, e.seed, 0, network, threads).front();
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

// The speed of light of a month, measured on this machine in this run: (a)
// streaming the per-node state of every lane once (read and write, the
// least a month can touch; its size is run_state_bytes), and (b) the draws
// every customer needs every month whether or not anything happens (one
// Philox block: failure and churn), in the batched form the kernel uses.
// Each is a bound the kernel cannot beat; their sum is the tighter one.
void speed_of_light(const srp1::Scenario& sc, int threads) {
  const std::uint64_t nodes = sc.population.customers + sc.population.prospects;
  const std::size_t lanes = std::min(sc.policies.size(), srp1::max_lanes());
  const std::size_t words = srp1::run_state_bytes(sc, lanes) / sizeof(std::uint64_t);
  std::vector<std::uint64_t> state(words, 1);
  constexpr int kMonths = 12;
  double stream_s = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int m = 0; m < kMonths; ++m) {
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::size_t i = 0; i < words; ++i) state[i] = state[i] * 3 + 1;
    }
    stream_s = std::min(stream_s, seconds_since(t0));
  }
  std::vector<std::uint32_t> ids(2048);
  std::vector<double> a(ids.size()), b(ids.size());
  double draw_s = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int m = 0; m < kMonths; ++m) {
      const engine::RandomStream rng(1, 0, static_cast<std::uint32_t>(m + 1), srp1::kFailureDraw);
#pragma omp parallel for num_threads(threads) schedule(static) firstprivate(ids, a, b)
      for (std::uint64_t first = 0; first < sc.population.customers; first += 2048) {
        const std::size_t n = std::min<std::uint64_t>(2048, sc.population.customers - first);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(first + i);
        rng.uniform_pairs(ids.data(), n, a.data(), b.data());
      }
    }
    draw_s = std::min(draw_s, seconds_since(t0));
  }
  const double lane_node_months = static_cast<double>(nodes) * kMonths * lanes;
  std::printf("speed of light, %d thread(s), %zu lanes a pass: streaming the state (%.0f B/node) %.0fM node-months/s "
              "(%.1f GB/s); the customers' monthly draws %.0fM; both %.0fM\n",
              threads, lanes, 8.0 * words / nodes, lane_node_months / stream_s / 1e6,
              2.0 * 8.0 * words * kMonths / stream_s / 1e9, lane_node_months / draw_s / 1e6,
              lane_node_months / (stream_s + draw_s) / 1e6);
}

// Wall seconds of the whole command `loyalsim run EXPERIMENT` (network builds,
// warm-up and the file write included) at `threads`, fastest of two.
double whole_command(const std::string& experiment, int threads) {
  const std::string out = "/tmp/loyalsim-bench-" + std::to_string(getpid()) + ".h5";
  const std::string cmd = std::string(LOYALSIM_BINARY) + " run '" + experiment + "' -o " + out +
                          " --force -q --threads " + std::to_string(threads) + " > /dev/null";
  double best = 1e300;
  for (int rep = 0; rep < 2; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    best = std::min(best, seconds_since(t0));
  }
  std::remove(out.c_str());
  return best;
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
  bool network_only = false, whole = false;
  std::vector<std::uint32_t> network_nodes = {200'000, 400'000, 10'000'000};
  int repeats = 5;
  cli.add_option("--experiment", experiment, "experiment whose population is benchmarked");
  cli.add_option("--threads", thread_counts, "thread counts to compare")->delimiter(',');
  cli.add_option("--replications", replications, "replications per measurement");
  cli.add_option("--memory-nodes", memory_nodes, "population of the memory measurement (0: skip)");
  cli.add_flag("--network-only", network_only, "benchmark the network builder only");
  cli.add_flag("--whole", whole, "also time the whole `loyalsim run` of the experiment, with its own replications");
  cli.add_option("--network-nodes", network_nodes, "network sizes (with --network-only)")->delimiter(',');
  cli.add_option("--repeats", repeats, "builds per network measurement; the fastest is reported")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(cli, argc, argv);

  try {
    app::Experiment e = app::load_experiment(experiment);
    const std::uint32_t file_replications = e.replications;  // the whole command runs them all
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
    for (const int threads : thread_counts) speed_of_light(sc, threads);
    std::fflush(stdout);
    if (whole) {
      const double months = static_cast<double>(sc.horizon_months) * sc.policies.size() * file_replications;
      for (const int threads : thread_counts) {
        const double s = whole_command(experiment, threads);
        std::printf("whole command: loyalsim run %s --threads %d: %.2f s wall, %.1fM node-months/s "
                    "(%u replications, file write included)\n",
                    experiment.c_str(), threads, s, nodes * months / s / 1e6, file_replications);
      }
    }

  } catch (const std::exception& ex) {
    std::fprintf(stderr, "loyalsim_bench: %s\n", ex.what());
    return 1;
  }
  return 0;
}
