#include "app/ensemble.hpp"

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "engine/errors.hpp"

namespace loyalsim::app {

namespace {

// A run profits from one more OpenMP thread per this many nodes; below it,
// threads are better spent on other replications (no barriers, no sharing).
// 2^16 nodes is ~32 blocks of engine::kBlock: enough work per month that the
// three barriers of a month cost well under a percent.
constexpr std::uint64_t kNodesPerRunThread = 1u << 16;

struct Interrupt {};  // unwinds a run from its month callback

}  // namespace

ThreadPlan plan_threads(int threads, std::uint64_t nodes, std::uint32_t replications) {
  threads = std::max(1, threads);
  ThreadPlan plan;
  plan.per_run = static_cast<int>(std::clamp<std::uint64_t>(nodes / kNodesPerRunThread, 1, threads));
  plan.concurrent = std::max(1, std::min<int>(threads / plan.per_run, static_cast<int>(replications)));
  // With fewer replications than threads, give the spare threads to the runs.
  plan.per_run = std::max(plan.per_run, threads / plan.concurrent);
  return plan;
}

std::uint64_t progress_units(const Experiment& e) {
  return static_cast<std::uint64_t>(e.replications) * e.scenario.policies.size() * e.scenario.horizon_months;
}

std::vector<std::byte> encode_replication(const std::vector<srp1::RunResult>& runs) {
  std::vector<std::byte> out;
  auto put = [&out](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  };
  for (const auto& r : runs) {
    put(r.series.data(), r.series.size() * sizeof(double));
    put(r.fact_count.data(), sizeof(r.fact_count));
    put(r.fact_retained.data(), sizeof(r.fact_retained));
  }
  return out;
}

std::vector<srp1::RunResult> decode_replication(const std::vector<std::byte>& bytes, std::uint32_t policies,
                                                std::uint32_t months) {
  const std::size_t series = static_cast<std::size_t>(srp1::kMetricCount) * (months + 1);
  const std::size_t per_run = series * sizeof(double) + 2 * sizeof(std::array<std::int64_t, srp1::kFactCells>);
  if (bytes.size() != per_run * policies)
    throw engine::RuntimeFailure("checkpoint unit has " + std::to_string(bytes.size()) + " bytes, expected " +
                                 std::to_string(per_run * policies));
  std::vector<srp1::RunResult> runs(policies);
  const std::byte* p = bytes.data();
  for (auto& r : runs) {
    r.months = months;
    r.series.resize(series);
    std::memcpy(r.series.data(), p, series * sizeof(double));
    p += series * sizeof(double);
    std::memcpy(r.fact_count.data(), p, sizeof(r.fact_count));
    p += sizeof(r.fact_count);
    std::memcpy(r.fact_retained.data(), p, sizeof(r.fact_retained));
    p += sizeof(r.fact_retained);
  }
  return runs;
}

Ensemble run_ensemble(const Experiment& e, const EnsembleOptions& opt) {
  const srp1::Scenario& sc = e.scenario;
  Ensemble ens;
  ens.policies = static_cast<std::uint32_t>(sc.policies.size());
  ens.replications = e.replications;
  ens.runs.resize(static_cast<std::size_t>(ens.policies) * ens.replications);
  const std::uint64_t months_per_rep = static_cast<std::uint64_t>(ens.policies) * sc.horizon_months;

  auto place = [&ens](std::uint32_t rep, std::vector<srp1::RunResult>&& runs) {
    for (std::uint32_t p = 0; p < ens.policies; ++p)
      ens.runs[static_cast<std::size_t>(p) * ens.replications + rep] = std::move(runs[p]);
  };

  // Replications already finished by an earlier, interrupted run.
  std::vector<std::uint32_t> todo;
  for (std::uint32_t rep = 0; rep < e.replications; ++rep) {
    std::optional<std::vector<std::byte>> saved;
    if (opt.store) saved = opt.store->load(rep);
    if (saved) {
      place(rep, decode_replication(*saved, ens.policies, sc.horizon_months));
      if (opt.progress) opt.progress->advance(months_per_rep);
    } else {
      todo.push_back(rep);
    }
  }

  const ThreadPlan plan = plan_threads(opt.threads, sc.population.customers + sc.population.prospects,
                                       static_cast<std::uint32_t>(std::max<std::size_t>(1, todo.size())));
  std::atomic<std::uint32_t> saved_count{static_cast<std::uint32_t>(e.replications - todo.size())};
  std::atomic<bool> interrupted{false};
  std::mutex place_mutex;

  auto on_month = [&] {
    if (opt.progress) opt.progress->advance();
    if (opt.should_stop && opt.should_stop()) throw Interrupt{};
  };
  auto run_replication = [&](std::uint32_t rep) {
    if (interrupted.load()) return;
    try {
      const engine::TieGraph network = srp1::build_network(sc, e.seed, rep, plan.per_run);
      std::vector<srp1::RunResult> runs;
      runs.reserve(ens.policies);
      for (std::uint32_t p = 0; p < ens.policies; ++p)
        runs.push_back(srp1::simulate(sc, p, e.seed, rep, network, plan.per_run, on_month));
      if (opt.store) opt.store->save(rep, encode_replication(runs));
      ++saved_count;
      const std::lock_guard lock(place_mutex);
      place(rep, std::move(runs));
    } catch (const Interrupt&) {
      interrupted = true;
    }
  };

  // One arena holds the budget: `concurrent` workers, none beyond it.
  tbb::task_arena arena(plan.concurrent);
  arena.execute([&] {
    tbb::task_group group;
    for (const std::uint32_t rep : todo) group.run([&, rep] { run_replication(rep); });
    group.wait();
  });
  if (interrupted) throw Interrupted{saved_count.load()};
  return ens;
}

}  // namespace loyalsim::app
