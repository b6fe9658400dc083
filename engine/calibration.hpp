// Calibration: the parameters of a stochastic simulator, with their
// uncertainty, from targets with declared errors. Generic: it knows
// parameters, targets and a batch of simulator runs, nothing about customers.
//
// Two methods (docs/calibration.md has the maths and the references):
//  - abc_smc: sequential Monte Carlo ABC whose acceptance kernel IS each
//    target's declared error (Normal for value ± sd; flat with Normal edges of
//    width `soft` for bounds and ranges), tempered from T = infinity (the prior
//    predictive) down to exactly T = 1. At T = 1 the weighted population is the
//    posterior of "target = simulated quantity + declared error" (Wilkinson
//    2013): the simulator's own Monte Carlo noise enters once, through the
//    simulation, and must NOT be added to the kernel. Temperatures are chosen
//    by the conditional effective sample size of the previous population;
//    perturbation is a Gaussian with the locally optimal covariance (Filippi
//    et al. 2013) in an unbounded space; weights are prior / kernel mixture.
//  - optimize: a best fit of the sum of squared standardised misfits at FIXED
//    simulation seeds (common random numbers make the objective a
//    deterministic function of theta), by a Latin-hypercube start batch and
//    NLopt's BOBYQA, then the winner re-simulated at fresh seeds to measure
//    the optimism of the fixed-seed objective.
//
// Determinism and resume. The simulator sees batches of Proposals and returns
// one Outcome per proposal; it may evaluate them in any order, on any number
// of threads or processes. Every random number of the driver is drawn from a
// Philox stream keyed (seed, generation, slot, attempt), and every proposal's
// simulation seed is a bijection of its key, so the driver is a pure function
// of (problem, settings, outcomes): results are bit-identical at any thread or
// process count, no two proposals share a simulation seed, and a killed
// calibration resumes by rerunning the driver with a simulator that returns
// cached outcomes for the keys it already has.
#pragma once

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace loyalsim::engine::calibration {

// ---------------------------------------------------------------- parameters

enum class PriorKind { uniform, loguniform, normal };
inline constexpr const char* kPriorKindNames[] = {"uniform", "loguniform", "normal"};

// uniform / loguniform: bounds [a, b] (loguniform needs a > 0);
// normal: mean a, standard deviation b.
struct Prior {
  PriorKind kind = PriorKind::uniform;
  double a = 0.0, b = 1.0;

  static Prior uniform(double low, double high) { return {PriorKind::uniform, low, high}; }
  static Prior loguniform(double low, double high) { return {PriorKind::loguniform, low, high}; }
  static Prior normal(double mean, double sd) { return {PriorKind::normal, mean, sd}; }
};

struct Parameter {
  std::string name;
  Prior prior;
};

// The unbounded space the sampler works in: z = logit of the position of x in
// [a, b] (of log x in [log a, log b] for loguniform); z = x for normal.
// Uniform and loguniform priors are both the standard logistic density in z.
double to_unbounded(const Prior& prior, double x);
double from_unbounded(const Prior& prior, double z);
// log |dx/dz|.
double log_jacobian(const Prior& prior, double z);
// Prior log density of x (natural space); -infinity outside the support.
double log_prior_density(const Prior& prior, double x);
// Prior log density in the unbounded space: log_prior_density(x(z)) +
// log_jacobian(z), computed without cancellation far in the tails.
double log_prior_unbounded(const Prior& prior, double z);
double prior_mean(const Prior& prior);
double prior_variance(const Prior& prior);
// The optimiser's coordinate in [0, 1]: the position in [a, b] (of log x for
// loguniform); for normal, the position in [mean - 6 sd, mean + 6 sd].
double to_unit(const Prior& prior, double x);
double from_unit(const Prior& prior, double y);

// ------------------------------------------------------------------- targets

enum class TargetKind { value, at_least, at_most, range };
inline constexpr const char* kTargetKindNames[] = {"value", "at_least", "at_most", "range"};

struct Target {
  std::string name;
  TargetKind kind = TargetKind::value;
  double value = 0.0, sd = 0.0;   // value: the measured value and its sd
  double low = 0.0, high = 0.0;   // at_least: low; at_most: high; range: both
  double soft = 0.0;              // bounds: sd of the Normal edge outside them

  static Target measured(std::string name, double value, double sd);
  static Target at_least(std::string name, double bound, double soft);
  static Target at_most(std::string name, double bound, double soft);
  static Target within(std::string name, double low, double high, double soft);
};

// Standardised signed misfit of a simulated value s: (s - value) / sd; for
// bounds 0 inside and (distance past the bound) / soft outside, negative below
// the low bound, positive above the high one.
double misfit(const Target& target, double s);
// The declared error kernel as a log density normalised to a maximum of 0:
// -misfit^2 / 2.
inline double log_kernel(const Target& target, double s) {
  const double m = misfit(target, s);
  return -0.5 * m * m;
}
// |misfit| <= kWithinMisfit counts as "within tolerance" (a Normal target's
// 95% band; two soft widths past a bound).
inline constexpr double kWithinMisfit = 2.0;

struct Problem {
  std::vector<Parameter> parameters;
  std::vector<Target> targets;
};

// Throws std::invalid_argument naming the parameter or target at fault and
// what is allowed (empty or duplicate names, reversed or non-finite bounds, a
// loguniform bound <= 0, sd or soft <= 0, no parameters or no targets).
void validate(const Problem& problem);

// ------------------------------------------------------- the batch interface

// A proposal's key packs (generation, slot, attempt): 12 + 28 + 24 bits.
// optimize uses generations kOptimizeDesign.. (never reached by abc_smc).
struct Key {
  std::uint32_t generation = 0, slot = 0, attempt = 0;
  friend bool operator==(const Key&, const Key&) = default;
};
inline constexpr std::uint32_t kMaxGenerations = 4092;
inline constexpr std::uint32_t kMaxSlots = 1u << 28;
inline constexpr std::uint32_t kMaxAttempts = 1u << 24;
inline constexpr std::uint32_t kOptimizeDesign = 4093, kOptimizeSearch = 4094, kOptimizeFresh = 4095;
std::uint64_t pack_key(const Key& key);
Key unpack_key(std::uint64_t packed);

// A simulation seed per key: a bijection of the key for a given calibration
// seed, so distinct keys always get distinct seeds.
std::uint64_t simulation_seed(std::uint64_t seed, std::uint64_t key);

// One simulator run to do: parameter values (natural space, in the order of
// Problem::parameters), its key and the seed of its random numbers.
struct Proposal {
  std::vector<double> theta;
  std::uint64_t key = 0;
  std::uint64_t sim_seed = 0;
};

// A run's simulated target values (order of Problem::targets) and their Monte
// Carlo standard errors (stored and reported, never added to the kernel).
// ok = false (a failed run) or a non-finite value rejects the proposal.
struct Outcome {
  std::vector<double> value;
  std::vector<double> se;
  bool ok = false;
};

// Runs a batch and returns one Outcome per Proposal, in the batch's order.
// It may run them in any order and in parallel, and may return cached
// outcomes by key; it may throw (the driver then throws, keeping nothing).
using BatchSimulator = std::function<std::vector<Outcome>(std::span<const Proposal>)>;

// ------------------------------------------------------------------- abc_smc

struct Generation;

struct SmcSettings {
  std::uint64_t seed = 1;
  std::uint32_t particles = 1000;
  std::uint64_t max_simulations = 200'000;  // proposals; stop before a round that would pass it
  std::uint32_t max_attempts = 100'000;     // per slot and generation; then stop
  std::uint32_t max_generations = 100;      // including generation 0
  std::uint32_t draws = 200;                // equal-weight posterior draws
  double ess_fraction = 0.5;                // conditional ESS kept by each temperature step
  // A round proposes ceil(round_fill / open slots) attempts for each open slot
  // (capped at about 2 / acceptance rate), so batches stay large when few
  // slots are still open; 0 = one attempt per open slot. Never derive it from
  // the thread or process count: it shapes the result.
  std::uint32_t round_fill = 0;
  std::uint32_t conflict_particles = 10;    // best runs the conflict report averages
  int threads = 1;                          // for the driver's own loops
  // Optional: told of each generation as it completes (progress; shapes nothing).
  std::function<void(const Generation&)> on_generation;
};

enum class StopReason { temperature_one, budget_exhausted, attempts_exhausted, generations_exhausted };
inline constexpr const char* kStopReasonNames[] = {"temperature_one", "budget_exhausted", "attempts_exhausted",
                                                   "generations_exhausted"};

// One complete generation: every slot closed with an accepted proposal.
struct Generation {
  double temperature = 0.0;         // +infinity for generation 0 (the prior)
  double ess = 0.0;                 // 1 / sum of squared normalised weights
  double acceptance_rate = 0.0;     // accepted / attempts up to each slot's acceptance
  std::uint64_t simulations = 0;    // proposals run in this generation (all rounds)
  std::uint64_t failed = 0;         // of which failed (ok = false or non-finite)
  Eigen::MatrixXd theta;            // particles x parameters, natural space
  std::vector<double> log_weight;   // normalised: log sum exp = 0
  Eigen::MatrixXd value, se;        // particles x targets: each particle's run
  std::vector<std::uint64_t> key;   // the accepted proposal of each slot
};

// Per target, from every run of the calibration.
struct TargetDiagnosis {
  double best_misfit = 0.0;     // mean signed misfit over the `conflict_particles` best runs
  double closest_misfit = 0.0;  // the smallest |misfit| this target reached in any run
  double within_share = 0.0;    // final population: weighted share with |misfit| <= kWithinMisfit
  // Met alone by some run but missed (|best_misfit| > kWithinMisfit) by the
  // runs that fit all targets best: it conflicts with other targets.
  bool conflicting = false;
  bool unreachable = false;     // no run came within kWithinMisfit of it
};

struct SmcResult {
  StopReason stop = StopReason::temperature_one;
  std::string stop_message;             // for people: why it stopped, what conflicts
  std::vector<Generation> generations;  // the complete ones, 0 = the prior sample
  std::uint64_t simulations = 0;        // all proposals run, partial generation included
  // Of the last complete generation (the posterior when stop is temperature_one):
  Eigen::MatrixXd draws;                // draws x parameters, equal weight
  std::vector<double> contraction;      // per parameter: 1 - Var(post) / Var(prior)
  std::vector<TargetDiagnosis> targets;
};

// Throws std::invalid_argument for a bad problem or settings, and passes on
// what the simulator throws.
SmcResult abc_smc(const Problem& problem, const SmcSettings& settings, const BatchSimulator& simulate);

// ------------------------------------------------------------------ optimize

struct OptimizeSettings {
  std::uint64_t seed = 1;
  std::uint64_t max_simulations = 5'000;  // proposals, fresh re-simulation included
  std::uint32_t seeds = 1;         // fixed seeds per candidate (objective = misfits of their mean)
  std::uint32_t start_points = 0;  // Latin-hypercube start batch; 0 = 10 per parameter
  std::uint32_t fresh_repeats = 10;  // fresh groups of `seeds` runs for the optimism gap
  double initial_step = 0.1;       // BOBYQA's first trust radius, unit coordinates
  double tolerance = 1e-4;         // its last one (x tolerance), unit coordinates
};

enum class OptimizeStop { converged, budget_exhausted };
inline constexpr const char* kOptimizeStopNames[] = {"converged", "budget_exhausted"};

// Objective J = sum over targets of misfit^2 of the simulated values averaged
// over the `seeds` fixed seeds (a failed run makes J = kFailedObjective).
inline constexpr double kFailedObjective = 1e10;

struct OptimizeResult {
  OptimizeStop stop = OptimizeStop::converged;
  std::vector<double> theta;        // the best fit, natural space
  double objective = 0.0;           // J at the fixed seeds
  std::vector<double> value;        // per target: mean over the fixed seeds
  std::vector<double> misfit;       // per target, of `value`
  // The best fit at fresh seeds: J of each fresh group of `seeds` runs,
  // averaged, and its standard error; per target the mean over all fresh runs
  // and its standard error.
  double fresh_objective = 0.0, fresh_objective_se = 0.0;
  std::vector<double> fresh_value, fresh_value_se;
  double optimism_gap = 0.0;        // fresh_objective - objective (> 0: fitted to the seeds' noise)
  std::uint64_t evaluations = 0;    // candidates evaluated (start batch + search)
  std::uint64_t simulations = 0;    // proposals run
  std::uint64_t failed = 0;         // failed runs
  Eigen::MatrixXd trace;            // evaluations x parameters, natural space, in order
  std::vector<double> trace_objective;
};

OptimizeResult optimize(const Problem& problem, const OptimizeSettings& settings, const BatchSimulator& simulate);

}  // namespace loyalsim::engine::calibration

namespace loyalsim::engine::calibration::detail {

// Runs a batch, checks the simulator returned one outcome per proposal with
// one value and se per target (else std::runtime_error: a simulator bug), and
// marks outcomes with a non-finite value as failed.
std::vector<Outcome> run_batch(const BatchSimulator& simulate, std::span<const Proposal> batch,
                               std::size_t targets);
// Sum over targets of log_kernel; the outcome must be ok.
double joint_log_kernel(const std::vector<Target>& targets, const Outcome& outcome);

}  // namespace loyalsim::engine::calibration::detail
