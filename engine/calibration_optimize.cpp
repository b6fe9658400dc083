// optimize: a fast best fit at common random numbers (docs/calibration.md).
//
// Stage 1 evaluates a Latin-hypercube batch of candidates in the unit box of
// the priors (one batch: the sweep runner runs it in parallel). Stage 2 runs
// NLopt's BOBYQA (Powell 2009) from the best of them: a trust-region method
// on quadratic models, economical in evaluations and sound on a deterministic
// objective, which the fixed seeds make this one. Each evaluation is one
// batch of `seeds` runs. Stage 3 re-simulates the winner at fresh seeds.
// BOBYQA has no random numbers: the whole search is a pure function of the
// outcomes, so a rerun with cached outcomes retraces it exactly.
#include <nlopt.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <tuple>
#include <stdexcept>

#include "engine/calibration.hpp"
#include "engine/designs.hpp"

namespace loyalsim::engine::calibration {

namespace {

// The fixed seeds of candidate evaluations live in a slot no search reaches.
constexpr std::uint32_t kFixedSeedSlot = kMaxSlots - 1;

void validate_settings(const OptimizeSettings& s, std::size_t dims) {
  const auto require = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("optimize settings: ") + what);
  };
  require(s.seeds >= 1 && s.seeds < kMaxAttempts, "seeds must be in [1, 2^24)");
  require(s.fresh_repeats >= 1 && s.fresh_repeats < kMaxSlots, "fresh_repeats must be in [1, 2^28)");
  require(s.initial_step > 0.0 && s.initial_step <= 0.5, "initial_step must be in (0, 0.5]");
  require(s.tolerance > 0.0 && s.tolerance < s.initial_step, "tolerance must be in (0, initial_step)");
  const std::uint64_t start = s.start_points == 0 ? 10 * dims : s.start_points;
  require(start < kFixedSeedSlot, "start_points must be below 2^28 - 1");
  require((start + s.fresh_repeats) * s.seeds <= s.max_simulations,
          "max_simulations must cover the start batch and the fresh re-simulation: (start_points + fresh_repeats) * seeds");
}

// Mean of the ok outcomes' values per target; ok = false if any failed.
Outcome mean_outcome(std::span<const Outcome> runs, std::size_t targets) {
  Outcome mean{std::vector<double>(targets, 0.0), std::vector<double>(targets, 0.0), true};
  for (const Outcome& o : runs) {
    if (!o.ok) return {{}, {}, false};
    for (std::size_t k = 0; k < targets; ++k) {
      mean.value[k] += o.value[k] / static_cast<double>(runs.size());
      mean.se[k] += o.se[k] * o.se[k] / static_cast<double>(runs.size() * runs.size());
    }
  }
  for (double& se : mean.se) se = std::sqrt(se);
  return mean;
}

// NLopt's objective callback. NLopt's C++ wrapper swallows exceptions, so the
// simulator's is kept here and rethrown once the search has stopped.
struct Callback {
  std::function<double(const std::vector<double>&)> objective;
  std::exception_ptr failure;

  static double call(const std::vector<double>& y, std::vector<double>& /*gradient*/, void* data) {
    auto* self = static_cast<Callback*>(data);
    try {
      return self->objective(y);
    } catch (...) {
      self->failure = std::current_exception();
      throw nlopt::forced_stop();
    }
  }
};

class Optimizer {
 public:
  Optimizer(const Problem& problem, const OptimizeSettings& settings, const BatchSimulator& simulate)
      : problem_(problem), s_(settings), simulate_(simulate), d_(problem.parameters.size()),
        start_(settings.start_points == 0 ? static_cast<std::uint32_t>(10 * d_) : settings.start_points) {}

  OptimizeResult run() {
    result_.objective = std::numeric_limits<double>::infinity();
    result_.trace.resize(0, static_cast<Eigen::Index>(d_));
    evaluate_start_batch();
    search();
    resimulate_fresh();
    result_.optimism_gap = result_.fresh_objective - result_.objective;
    return std::move(result_);
  }

 private:
  [[nodiscard]] std::vector<double> natural(const std::vector<double>& y) const {
    std::vector<double> theta(d_);
    for (std::size_t p = 0; p < d_; ++p) theta[p] = from_unit(problem_.parameters[p].prior, y[p]);
    return theta;
  }

  // `seeds` proposals of theta at the fixed seeds, keyed (stage, index, r).
  void append_candidate(std::vector<Proposal>& batch, std::uint32_t stage, std::uint32_t index,
                        const std::vector<double>& theta) const {
    for (std::uint32_t r = 0; r < s_.seeds; ++r)
      batch.push_back({theta, pack_key({stage, index, r}), simulation_seed(s_.seed, pack_key({kOptimizeSearch, kFixedSeedSlot, r}))});
  }

  std::vector<Outcome> run(const std::vector<Proposal>& batch) {
    std::vector<Outcome> out = detail::run_batch(simulate_, batch, problem_.targets.size());
    result_.simulations += batch.size();
    for (const Outcome& o : out) result_.failed += o.ok ? 0 : 1;
    return out;
  }

  // J of a candidate from its runs; records it in the trace and keeps the best.
  double record(const std::vector<double>& theta, std::span<const Outcome> runs) {
    const Outcome mean = mean_outcome(runs, problem_.targets.size());
    const double j = mean.ok ? -2.0 * detail::joint_log_kernel(problem_.targets, mean) : kFailedObjective;
    const Eigen::Index row = result_.trace.rows();
    result_.trace.conservativeResize(row + 1, Eigen::NoChange);
    for (std::size_t p = 0; p < d_; ++p) result_.trace(row, static_cast<Eigen::Index>(p)) = theta[p];
    result_.trace_objective.push_back(j);
    ++result_.evaluations;
    if (j < result_.objective) {
      result_.objective = j;
      result_.theta = theta;
      result_.value = mean.value;
      result_.misfit.assign(problem_.targets.size(), std::nan(""));
      for (std::size_t k = 0; mean.ok && k < problem_.targets.size(); ++k)
        result_.misfit[k] = misfit(problem_.targets[k], mean.value[k]);
    }
    return j;
  }

  void evaluate_start_batch() {
    const Eigen::MatrixXd cube = design::latin_hypercube(start_, d_, s_.seed);
    std::vector<Proposal> batch;
    std::vector<std::vector<double>> units(start_, std::vector<double>(d_));
    for (std::uint32_t c = 0; c < start_; ++c) {
      for (std::size_t p = 0; p < d_; ++p) units[c][p] = cube(c, static_cast<Eigen::Index>(p));
      append_candidate(batch, kOptimizeDesign, c, natural(units[c]));
    }
    const std::vector<Outcome> out = run(batch);
    double best = std::numeric_limits<double>::infinity();
    for (std::uint32_t c = 0; c < start_; ++c) {
      const double j = record(batch[c * s_.seeds].theta, std::span(out).subspan(c * s_.seeds, s_.seeds));
      if (j < best) {
        best = j;
        start_unit_ = units[c];
      }
    }
  }

  void search() {
    const std::uint64_t reserved = static_cast<std::uint64_t>(start_ + s_.fresh_repeats) * s_.seeds;
    const std::uint64_t evaluations = (s_.max_simulations - reserved) / s_.seeds;
    if (evaluations < 2 * d_ + 2) {  // fewer than BOBYQA's first quadratic model needs
      result_.stop = OptimizeStop::budget_exhausted;
      return;
    }
    nlopt::opt opt(nlopt::LN_BOBYQA, static_cast<unsigned>(d_));
    opt.set_lower_bounds(std::vector<double>(d_, 0.0));
    opt.set_upper_bounds(std::vector<double>(d_, 1.0));
    opt.set_initial_step(s_.initial_step);
    opt.set_xtol_abs(s_.tolerance);
    opt.set_maxeval(static_cast<int>(std::min<std::uint64_t>(evaluations, kFixedSeedSlot - 1)));
    std::uint32_t index = 0;
    Callback callback{[&](const std::vector<double>& y) {
      std::vector<Proposal> batch;
      append_candidate(batch, kOptimizeSearch, index++, natural(y));
      const std::vector<Outcome> out = run(batch);
      return record(batch.front().theta, out);
    }, nullptr};
    opt.set_min_objective(&Callback::call, &callback);
    std::vector<double> y = start_unit_;
    double f = 0.0;
    nlopt::result status = nlopt::SUCCESS;
    try {
      status = opt.optimize(y, f);
    } catch (const nlopt::roundoff_limited&) {
      status = nlopt::SUCCESS;  // the best point so far is kept by record()
    } catch (const nlopt::forced_stop&) {
      if (callback.failure) std::rethrow_exception(callback.failure);
      throw;
    }
    if (callback.failure) std::rethrow_exception(callback.failure);
    result_.stop = status == nlopt::MAXEVAL_REACHED ? OptimizeStop::budget_exhausted : OptimizeStop::converged;
  }

  void resimulate_fresh() {
    std::vector<Proposal> batch;
    for (std::uint32_t q = 0; q < s_.fresh_repeats; ++q)
      for (std::uint32_t r = 0; r < s_.seeds; ++r) {
        const std::uint64_t key = pack_key({kOptimizeFresh, q, r});
        batch.push_back({result_.theta, key, simulation_seed(s_.seed, key)});
      }
    const std::vector<Outcome> out = run(batch);
    std::vector<double> objective;
    for (std::uint32_t q = 0; q < s_.fresh_repeats; ++q) {
      const Outcome mean = mean_outcome(std::span(out).subspan(q * s_.seeds, s_.seeds), problem_.targets.size());
      objective.push_back(mean.ok ? -2.0 * detail::joint_log_kernel(problem_.targets, mean) : kFailedObjective);
    }
    std::tie(result_.fresh_objective, result_.fresh_objective_se) = mean_and_se(objective);
    result_.fresh_value.assign(problem_.targets.size(), std::nan(""));
    result_.fresh_value_se.assign(problem_.targets.size(), std::nan(""));
    for (std::size_t k = 0; k < problem_.targets.size(); ++k) {
      std::vector<double> v;
      for (const Outcome& o : out)
        if (o.ok) v.push_back(o.value[k]);
      std::tie(result_.fresh_value[k], result_.fresh_value_se[k]) = mean_and_se(v);
    }
  }

  static std::pair<double, double> mean_and_se(const std::vector<double>& v) {
    if (v.empty()) return {std::nan(""), std::nan("")};
    double mean = 0.0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    if (v.size() < 2) return {mean, std::nan("")};
    double ss = 0.0;
    for (double x : v) ss += (x - mean) * (x - mean);
    const double n = static_cast<double>(v.size());
    return {mean, std::sqrt(ss / (n - 1.0) / n)};
  }

  const Problem& problem_;
  const OptimizeSettings& s_;
  const BatchSimulator& simulate_;
  std::size_t d_;
  std::uint32_t start_;
  std::vector<double> start_unit_;
  OptimizeResult result_;
};

}  // namespace

OptimizeResult optimize(const Problem& problem, const OptimizeSettings& settings, const BatchSimulator& simulate) {
  validate(problem);
  validate_settings(settings, problem.parameters.size());
  return Optimizer(problem, settings, simulate).run();
}

}  // namespace loyalsim::engine::calibration
