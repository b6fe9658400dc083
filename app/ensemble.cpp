#include "app/ensemble.hpp"

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

#include "engine/errors.hpp"
#include "engine/phases.hpp"

namespace loyalsim::app {

namespace {

// Units side by side (one thread each) beat threads inside a unit: no
// barriers, no shared cache lines, network builds in parallel for free
// (docs/performance.md). Threads inside a unit pay when there are too few
// units to keep every thread busy, or a unit is so large that several at once
// would not fit in memory: from this many nodes on, a unit gets a thread per
// this many nodes whatever the number of units.
constexpr std::uint64_t kNodesPerRunThread = 1u << 22;
// Parallel efficiency of a second thread inside one unit (measured: 1.8x at 2).
constexpr double kInsideEfficiency = 0.9;

struct Interrupt {};  // unwinds a run from its month callback

}  // namespace

ThreadPlan plan_threads(int threads, std::uint64_t nodes, std::uint32_t units) {
  threads = std::max(1, threads);
  units = std::max<std::uint32_t>(1, units);
  ThreadPlan plan;
  plan.per_run = static_cast<int>(std::clamp<std::uint64_t>(nodes / kNodesPerRunThread, 1, threads));
  if (plan.per_run == 1) {
    // Rounds of `threads` units at once, against every unit with all threads:
    // the first wastes the last round's idle threads, the second the barriers.
    const double side_by_side = std::ceil(static_cast<double>(units) / threads);
    const double inside = units / (1.0 + (threads - 1) * kInsideEfficiency);
    if (inside < side_by_side) plan.per_run = threads;
  }
  plan.concurrent = std::max(1, std::min<int>(threads / plan.per_run, static_cast<int>(units)));
  // With fewer units than threads, give the spare threads to the runs.
  plan.per_run = std::max(plan.per_run, threads / plan.concurrent);
  return plan;
}

ThreadPlan plan_for(const Experiment& e, int threads) {
  const auto units = std::min<std::uint64_t>(e.points() * e.replications, 1u << 30);
  return plan_threads(threads, e.scenario.population.customers + e.scenario.population.prospects,
                      static_cast<std::uint32_t>(units));
}

std::uint64_t progress_units(const Experiment& e) {
  return e.points() * e.replications * e.scenario.policies.size() * e.scenario.horizon_months;
}

RunEstimate estimate_run(const Experiment& e, const ThreadPlan& plan, int threads) {
  // Reference speed: node-months per second per thread of the main job's
  // population on the development machine (docs/performance.md), with the
  // measured 2-thread efficiency. The progress line refines it as it runs.
  constexpr double kNodeMonthsPerThreadSecond = 1.8e7, kParallelEfficiency = 0.9;
  const auto& sc = e.scenario;
  const double nodes = static_cast<double>(sc.population.customers + sc.population.prospects);
  RunEstimate est;
  est.runs = e.points() * e.replications * sc.policies.size();
  est.node_months = static_cast<double>(est.runs) * nodes * sc.horizon_months;
  est.seconds = est.node_months / (kNodeMonthsPerThreadSecond * threads * (threads > 1 ? kParallelEfficiency : 1.0));
  // In flight: each unit holds its network (offsets, degrees and ties) and one run's state.
  const double network = nodes * (8.0 + 4.0 + 4.0 * (sc.wom.strong_ties + sc.wom.weak_ties));
  const std::size_t lanes = std::min(sc.policies.size(), srp1::max_lanes());
  const double in_flight = plan.concurrent * (network + static_cast<double>(srp1::run_state_bytes(sc, lanes)));
  // Held until written: every run's series and fact cells; writing adds one metric over all runs.
  const double per_run = static_cast<double>(srp1::kMetricCount) * (sc.horizon_months + 1.0) * sizeof(double) +
                         2.0 * (srp1::kFactCells + srp1::kQuintiles) * sizeof(std::int64_t);
  est.results_bytes = static_cast<double>(est.runs) * per_run * 1.3;  // raw + summaries over replications
  est.peak_bytes = in_flight + static_cast<double>(est.runs) * per_run +
                   static_cast<double>(est.runs) * (sc.horizon_months + 1.0) * sizeof(double);
  return est;
}

namespace {

// Every field of a run, in one order, for the checkpoint codec: fixed-size
// arrays and vectors whose sizes follow from (months, segments).
template <class F>
void for_each_field(srp1::RunResult& r, F&& f) {
  f(r.series.data(), r.series.size());
  f(r.fact_count.data(), r.fact_count.size());
  f(r.fact_retained.data(), r.fact_retained.size());
  f(r.quintile_count.data(), r.quintile_count.size());
  f(r.quintile_retained.data(), r.quintile_retained.size());
  f(r.band_failures.data(), r.band_failures.size());
  f(r.band_complaints.data(), r.band_complaints.size());
  f(r.segment_churned.data(), r.segment_churned.size());
  f(r.segment_active_start.data(), r.segment_active_start.size());
  f(r.first_failures.data(), r.first_failures.size());
}

srp1::RunResult sized_run(std::uint32_t months, std::size_t segments) {
  srp1::RunResult r;
  r.months = months;
  r.series.resize(static_cast<std::size_t>(srp1::kMetricCount) * (months + 1));
  r.segment_churned.resize(segments * (months + 1));
  r.segment_active_start.resize(segments * (months + 1));
  r.first_failures.resize(months + 1);
  return r;
}

}  // namespace

std::vector<std::byte> encode_replication(const std::vector<srp1::RunResult>& runs) {
  std::vector<std::byte> out;
  for (srp1::RunResult r : runs)
    for_each_field(r, [&out](const auto* p, std::size_t n) {
      const auto* b = reinterpret_cast<const std::byte*>(p);
      out.insert(out.end(), b, b + n * sizeof(*p));
    });
  return out;
}

std::vector<srp1::RunResult> decode_replication(const std::vector<std::byte>& bytes, std::uint32_t policies,
                                                std::uint32_t months, std::size_t segments) {
  std::vector<srp1::RunResult> runs(policies, sized_run(months, segments));
  std::size_t expected = 0;
  for_each_field(runs.front(), [&](const auto* p, std::size_t n) { expected += n * sizeof(*p); });
  if (bytes.size() != expected * policies)
    throw engine::RuntimeFailure("checkpoint unit has " + std::to_string(bytes.size()) + " bytes, expected " +
                                 std::to_string(expected * policies));
  const std::byte* at = bytes.data();
  for (auto& r : runs)
    for_each_field(r, [&at](auto* p, std::size_t n) {
      std::memcpy(p, at, n * sizeof(*p));
      at += n * sizeof(*p);
    });
  return runs;
}

std::vector<srp1::RunResult> run_unit(const Experiment& e, std::uint64_t unit, int threads,
                                      const std::function<void()>& on_month) {
  const std::uint64_t point = unit / e.replications;
  const auto rep = static_cast<std::uint32_t>(unit % e.replications);
  const srp1::Scenario sc = e.scenario_at(point);
  const std::uint64_t seed = e.seed_at(point);
  const engine::RingOrderNetwork network = [&] {
    const engine::phases::Scope timed(engine::phases::Phase::build);
    return srp1::build_ring_network(sc, seed, rep, threads);
  }();
  std::vector<std::size_t> policies(sc.policies.size());
  std::iota(policies.begin(), policies.end(), 0);
  return srp1::simulate_policies(sc, policies, seed, rep, network, threads, on_month);
}

Ensemble run_ensemble(const Experiment& e, const EnsembleOptions& opt) {
  const std::uint32_t R = e.replications;
  Ensemble ens;
  ens.points = e.points();
  ens.policies = static_cast<std::uint32_t>(e.scenario.policies.size());
  ens.replications = R;
  ens.runs.resize(ens.points * ens.policies * R);
  const std::uint32_t T = e.scenario.horizon_months;
  const std::uint64_t months_per_unit = static_cast<std::uint64_t>(ens.policies) * T;
  const std::uint64_t units = ens.points * R;

  // Bookkeeping shared by the workers, under one mutex: placing a unit's runs
  // and counting a point's finished replications take microseconds.
  std::mutex mutex;
  std::vector<std::uint32_t> reps_done(ens.points, 0);
  auto place = [&](std::uint64_t unit, std::vector<srp1::RunResult>&& runs) {
    const std::uint64_t point = unit / R, rep = unit % R;
    for (std::uint32_t p = 0; p < ens.policies; ++p) ens.runs[(point * ens.policies + p) * R + rep] = std::move(runs[p]);
    if (++reps_done[point] == R) ens.done_points.insert(std::upper_bound(ens.done_points.begin(), ens.done_points.end(), point), point);
    return reps_done[point] == R;
  };

  // Units already finished by an earlier, interrupted run.
  std::vector<std::uint64_t> todo;
  for (std::uint64_t u = 0; u < units; ++u) {
    std::optional<std::vector<std::byte>> saved;
    if (opt.store) saved = opt.store->load(u);
    if (saved) {
      place(u, decode_replication(*saved, ens.policies, T, e.scenario.segments.size()));
      if (opt.progress) opt.progress->advance(months_per_unit);
    } else {
      todo.push_back(u);
    }
  }

  const ThreadPlan plan = plan_threads(opt.threads, e.scenario.population.customers + e.scenario.population.prospects,
                                       static_cast<std::uint32_t>(std::clamp<std::uint64_t>(todo.size(), 1, 1u << 30)));
  std::atomic<std::uint64_t> saved_count{units - todo.size()};
  std::atomic<bool> interrupted{false};
  std::mutex publish_mutex;  // one on_point_done call at a time; others skip theirs

  // Units are handed out in id order, to local workers and remote ones alike,
  // so points finish in order.
  std::atomic<std::size_t> next{0};
  auto take = [&]() -> std::optional<std::uint64_t> {
    if (interrupted.load()) return std::nullopt;
    const std::size_t i = next++;
    return i < todo.size() ? std::optional(todo[i]) : std::nullopt;
  };
  // A finished unit, from here or elsewhere: saved, placed, maybe published.
  auto finish = [&](std::uint64_t unit, std::vector<srp1::RunResult>&& runs) {
    if (opt.store) opt.store->save(unit, encode_replication(runs));
    ++saved_count;
    bool point_done = false;
    {
      const std::lock_guard lock(mutex);
      point_done = place(unit, std::move(runs));
    }
    if (point_done && opt.on_each_point) opt.on_each_point(ens, unit / R);
    if (point_done && opt.on_point_done) {
      std::unique_lock publishing(publish_mutex, std::try_to_lock);
      if (publishing.owns_lock()) {
        std::vector<std::uint64_t> done;  // the finished points, as of now
        {
          const std::lock_guard lock(mutex);
          done = ens.done_points;
        }
        // Runs of finished points are never written again: reading them needs no lock.
        opt.on_point_done(ens, done);
      }
    }
  };
  auto on_month = [&] {
    if (opt.progress) opt.progress->advance();
    if (opt.should_stop && opt.should_stop()) throw Interrupt{};
  };
  auto local_worker = [&] {
    while (const auto unit = take()) {
      try {
        finish(*unit, run_unit(e, *unit, plan.per_run, on_month));
      } catch (const Interrupt&) {
        interrupted = true;
      }
    }
  };

  // One arena holds the budget: `concurrent` workers, none beyond it.
  tbb::task_arena arena(plan.concurrent);
  auto run_local = [&] {
    arena.execute([&] {
      tbb::task_group group;
      for (int w = 0; w < plan.concurrent; ++w) group.run(local_worker);
      group.wait();
    });
  };
  if (opt.remote) {
    // Other processes take units from the same queue; this thread serves them
    // while the local workers run beside it.
    std::exception_ptr local_error;
    std::thread local([&] {
      try {
        run_local();
      } catch (...) {
        local_error = std::current_exception();
        interrupted = true;
      }
    });
    try {
      opt.remote->serve(take,
                        [&](std::uint64_t unit, const std::vector<std::byte>& bytes) {
                          finish(unit, decode_replication(bytes, ens.policies, T, e.scenario.segments.size()));
                          if (opt.progress) opt.progress->advance(months_per_unit);
                        },
                        [&] {
                          if (opt.should_stop && opt.should_stop()) interrupted = true;
                          return interrupted.load();
                        });
    } catch (...) {
      interrupted = true;
      local.join();
      throw;
    }
    local.join();
    if (local_error) std::rethrow_exception(local_error);
  } else {
    run_local();
  }
  if (interrupted) throw Interrupted{saved_count.load(), std::move(ens)};
  return ens;
}

}  // namespace loyalsim::app
