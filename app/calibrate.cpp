#include "app/calibrate.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <ostream>

#include "app/calibration_quantities.hpp"
#include "engine/errors.hpp"

namespace loyalsim::app {

namespace {

// Payload of a batch unit: replications, then the point's seed and values.
struct PayloadHeader {
  std::uint32_t replications;
  std::uint32_t parameters;
  std::uint64_t seed;
};

Sweep batch_sweep(const Calibration& c) {
  Sweep s;
  s.design = SweepDesign::batch;
  for (const CalibrationParameter& p : c.parameters) {
    SweepParameter sp;
    sp.path = p.path;
    sp.kind = SweepKind::range;
    sp.apply = [ref = p.ref](srp1::Scenario& sc, double v) { ref.set(sc, v); };
    s.parameters.push_back(std::move(sp));
  }
  return s;
}

cal::Outcome failed_outcome(std::size_t targets) {
  cal::Outcome o;
  o.value.assign(targets, std::nan(""));
  o.se.assign(targets, std::nan(""));
  o.ok = false;
  return o;
}

}  // namespace

Experiment batch_experiment(const Experiment& base, std::span<const cal::Proposal> batch, std::uint32_t replications) {
  Experiment e = base;
  e.replications = replications;
  e.sweep = batch_sweep(base.calibration);
  e.sweep.base_points = static_cast<std::uint32_t>(batch.size());
  for (const cal::Proposal& p : batch) {
    e.sweep.values.insert(e.sweep.values.end(), p.theta.begin(), p.theta.end());
    e.sweep.seeds.push_back(p.sim_seed);
  }
  return e;
}

std::vector<std::byte> batch_unit_payload(const Experiment& batch, std::uint64_t unit) {
  const std::uint64_t point = unit / batch.replications;
  const std::size_t k = batch.sweep.dims();
  const PayloadHeader h{batch.replications, static_cast<std::uint32_t>(k), batch.seed_at(point)};
  std::vector<std::byte> out(sizeof h + k * sizeof(double));
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + sizeof h, batch.sweep.values.data() + point * k, k * sizeof(double));
  return out;
}

std::vector<srp1::RunResult> run_batch_unit(const Experiment& base, std::uint64_t unit,
                                            std::span<const std::byte> payload, int threads,
                                            const std::function<void()>& on_month) {
  PayloadHeader h{};
  if (payload.size() < sizeof h) throw engine::RuntimeFailure("MPI: a calibration unit's payload is too short");
  std::memcpy(&h, payload.data(), sizeof h);
  if (h.replications == 0 || h.parameters != base.calibration.parameters.size() ||
      payload.size() != sizeof h + h.parameters * sizeof(double))
    throw engine::RuntimeFailure("MPI: a calibration unit does not fit this rank's experiment");
  cal::Proposal p;
  p.theta.resize(h.parameters);
  std::memcpy(p.theta.data(), payload.data() + sizeof h, h.parameters * sizeof(double));
  p.sim_seed = h.seed;
  const Experiment one = batch_experiment(base, std::span(&p, 1), h.replications);
  return run_unit(one, unit % h.replications, threads, on_month);
}

// ------------------------------------------------------------ outcome cache

std::vector<std::byte> encode_outcome(const cal::Outcome& o) {
  std::vector<std::byte> out(1 + 2 * o.value.size() * sizeof(double));
  out[0] = std::byte{static_cast<unsigned char>(o.ok ? 1 : 0)};
  std::memcpy(out.data() + 1, o.value.data(), o.value.size() * sizeof(double));
  std::memcpy(out.data() + 1 + o.value.size() * sizeof(double), o.se.data(), o.se.size() * sizeof(double));
  return out;
}

std::optional<cal::Outcome> decode_outcome(const std::vector<std::byte>& bytes, std::size_t targets) {
  if (bytes.size() != 1 + 2 * targets * sizeof(double)) return std::nullopt;
  cal::Outcome o;
  o.ok = bytes[0] == std::byte{1};
  o.value.resize(targets);
  o.se.resize(targets);
  std::memcpy(o.value.data(), bytes.data() + 1, targets * sizeof(double));
  std::memcpy(o.se.data(), bytes.data() + 1 + targets * sizeof(double), targets * sizeof(double));
  return o;
}

// ------------------------------------------------------------ the simulator

ModelSimulator::ModelSimulator(const Experiment& e, const CalibrationOptions& options)
    : e_(e), options_(options), replications_(e.calibration.replications) {}

bool ModelSimulator::runnable(const cal::Proposal& p) const {
  const auto& params = e_.calibration.parameters;
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!params[i].ref.row->range.contains(p.theta[i])) return false;  // a normal prior's far tail
  srp1::Scenario sc = e_.scenario;
  for (std::size_t i = 0; i < params.size(); ++i) params[i].ref.set(sc, p.theta[i]);
  return !srp1::zero_weight_group(sc) && srp1::scenario_problems(sc).empty();
}

void ModelSimulator::log_round(const cal::Proposal& first, std::size_t size, std::size_t cached,
                               std::size_t refused) const {
  if (!options_.log) return;
  const cal::Key key = cal::unpack_key(first.key);
  const char* stage = key.generation == cal::kOptimizeDesign   ? "start design"
                      : key.generation == cal::kOptimizeSearch ? "search"
                      : key.generation == cal::kOptimizeFresh  ? "fresh seeds"
                                                               : nullptr;
  *options_.log << "calibrate: " << (stage ? std::string(stage) : "generation " + std::to_string(key.generation))
                << ": " << size << " proposal(s)";
  if (cached) *options_.log << ", " << cached << " from the checkpoint";
  if (refused) *options_.log << ", " << refused << " outside the model's ranges";
  *options_.log << "; " << proposals_ << " of " << e_.calibration.max_simulations << " simulations of the budget\n";
}

std::vector<cal::Outcome> ModelSimulator::operator()(std::span<const cal::Proposal> batch) {
  const std::size_t K = e_.calibration.targets.size();
  std::vector<cal::Outcome> out(batch.size());
  std::vector<cal::Proposal> todo;
  std::vector<std::size_t> where;
  std::size_t cached = 0, refused = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<cal::Outcome> saved;
    if (options_.store)
      if (const auto bytes = options_.store->load(batch[i].key)) saved = decode_outcome(*bytes, K);
    if (saved) {
      out[i] = std::move(*saved), ++cached;
    } else if (!runnable(batch[i])) {
      out[i] = failed_outcome(K), ++refused;
    } else {
      todo.push_back(batch[i]), where.push_back(i);
    }
  }
  proposals_ += batch.size();
  cached_ += cached;
  simulated_ += todo.size();
  log_round(batch.front(), batch.size(), cached, refused);
  if (todo.empty()) return out;

  const Experiment be = batch_experiment(e_, todo, replications_);
  EnsembleOptions eo;
  eo.threads = options_.threads;
  eo.should_stop = options_.should_stop;
  eo.remote = options_.remote;
  if (options_.remote) options_.remote->unit_payload = [&be](std::uint64_t unit) { return batch_unit_payload(be, unit); };
  // Each proposal's outcome as soon as its point is done: a kill loses only the points in flight.
  eo.on_each_point = [&](const Ensemble& ens, std::uint64_t point) {
    const srp1::Scenario sc = be.scenario_at(point);
    cal::Outcome o = evaluate_targets(
        e_.calibration.targets, sc, [&](std::uint32_t pol, std::uint32_t r) -> const srp1::RunResult& {
          return ens.run(point, pol, r);
        },
        replications_);
    if (options_.store) options_.store->save(todo[point].key, encode_outcome(o));
    out[where[point]] = std::move(o);  // each point's slot is written by one thread only
  };
  run_ensemble(be, eo);
  return out;
}

// ------------------------------------------------------------ the fit

CalibrationResult run_calibration(const Experiment& e, const CalibrationOptions& options) {
  const Calibration& c = e.calibration;
  const auto start = std::chrono::steady_clock::now();
  ModelSimulator model(e, options);
  const cal::BatchSimulator simulate = [&model](std::span<const cal::Proposal> batch) { return model(batch); };
  CalibrationResult result;
  if (c.method == CalibrationMethod::optimize) {
    cal::OptimizeSettings s;
    s.seed = e.seed;
    s.max_simulations = c.max_simulations;
    s.seeds = c.seeds;
    s.start_points = c.start_points;
    s.fresh_repeats = c.fresh_repeats;
    result.fit = cal::optimize(c.problem(), s, simulate);
  } else {
    cal::SmcSettings s;
    s.seed = e.seed;
    s.particles = c.particles;
    s.max_simulations = c.max_simulations;
    s.draws = c.draws;
    s.round_fill = c.round_fill;
    s.threads = options.threads;  // the driver's own loops: results do not depend on it
    std::uint32_t done = 0;
    if (options.log)
      s.on_generation = [&](const cal::Generation& g) {
        *options.log << "calibrate: generation " << done++ << " complete: temperature " << g.temperature
                     << ", acceptance " << g.acceptance_rate << ", ESS " << g.ess << " of " << c.particles << "; "
                     << model.proposals() << " of " << c.max_simulations << " simulations\n";
      };
    result.smc = cal::abc_smc(c.problem(), s, simulate);
  }
  result.simulated = model.simulated();
  result.cached = model.cached();
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// ------------------------------------------------------------ --check

std::uint32_t check_replications(const Experiment& e) {
  return e.calibration.replications_given ? e.calibration.replications : e.replications;
}

std::vector<TargetCheck> check_targets(const Experiment& base, std::uint32_t replications, const EnsembleOptions& options) {
  Experiment e = base;
  e.replications = replications;
  const Ensemble ens = run_ensemble(e, options);
  const cal::Outcome o = evaluate_targets(
      e.calibration.targets, e.scenario,
      [&](std::uint32_t pol, std::uint32_t r) -> const srp1::RunResult& { return ens.run(0, pol, r); }, replications);
  std::vector<TargetCheck> out;
  for (std::size_t k = 0; k < o.value.size(); ++k) {
    TargetCheck t;
    t.value = o.value[k], t.se = o.se[k];
    t.misfit = cal::misfit(e.calibration.targets[k].target, t.value);
    t.within = std::isfinite(t.misfit) && std::abs(t.misfit) <= cal::kWithinMisfit;
    out.push_back(t);
  }
  return out;
}

}  // namespace loyalsim::app
