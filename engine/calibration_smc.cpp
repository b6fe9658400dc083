// abc_smc: tempered ABC-SMC with the targets' declared errors as the
// acceptance kernel (the method and its reasons: docs/calibration.md).
//
// Generation g has N slots. Generation 0 draws from the prior and accepts
// every run that did not fail (T = infinity): it is the prior predictive
// sample. Generation g > 0 proposes, for slot i and attempt a, an ancestor j
// of the previous population (probability W_j), a Gaussian step with the
// locally optimal covariance of ancestor j, a run at a seed of its own, and
// accepts with probability exp(log_kernel / T_g); the slot closes at its first
// acceptance. Attempts of one slot are independent and identically
// distributed, so the accepted particle has the same law whatever attempt
// accepted it: order, timing and batching cannot bias the population, and
// every random number is drawn from a stream keyed (seed, g, i, a).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numbers>
#include <sstream>
#include <stdexcept>

#include "engine/calibration.hpp"
#include "engine/random.hpp"

namespace loyalsim::engine::calibration {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// RandomStream purposes of the driver. Part of the counter, so frozen.
constexpr std::uint32_t kPriorPurpose = 0xCA01;     // generation 0: draw = parameter
constexpr std::uint32_t kAncestorPurpose = 0xCA02;  // generation > 0
constexpr std::uint32_t kPerturbPurpose = 0xCA03;   // draw = parameter
constexpr std::uint32_t kAcceptPurpose = 0xCA04;
constexpr std::uint32_t kDrawPurpose = 0xCA05;      // posterior draws: node = draw index

// A population in the unbounded space.
struct Population {
  Eigen::MatrixXd z;               // particles x parameters
  std::vector<double> log_weight;  // normalised
  std::vector<double> log_kernel;  // joint log kernel of each particle's run
};

double log_sum_exp(const std::vector<double>& v) {
  double top = -kInf;
  for (double x : v) top = std::max(top, x);
  if (!std::isfinite(top)) return top;
  double sum = 0.0;
  for (double x : v) sum += std::exp(x - top);
  return top + std::log(sum);
}

// Cumulative weights in index order, for inverse-CDF choice of an index.
std::vector<double> cumulative_weights(const std::vector<double>& log_weight) {
  std::vector<double> c(log_weight.size());
  double sum = 0.0;
  for (std::size_t j = 0; j < c.size(); ++j) c[j] = sum += std::exp(log_weight[j]);
  return c;
}

std::size_t choose_index(const std::vector<double>& cumulative, double u) {
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u * cumulative.back());
  return std::min(static_cast<std::size_t>(it - cumulative.begin()), cumulative.size() - 1);
}

// Conditional ESS (Zhou, Johansen & Aston 2016) of the previous population
// reweighted by exp(delta * log_kernel): the share of it that would survive a
// temperature step. In (0, 1].
double conditional_ess(const Population& p, double delta) {
  double top = -kInf;
  for (double l : p.log_kernel) top = std::max(top, l);
  double s1 = 0.0, s2 = 0.0;
  for (std::size_t j = 0; j < p.log_kernel.size(); ++j) {
    const double w = std::exp(p.log_weight[j]), v = std::exp(delta * (p.log_kernel[j] - top));
    s1 += w * v;
    s2 += w * v * v;
  }
  return s2 > 0.0 ? s1 * s1 / s2 : 0.0;
}

// The next inverse temperature: 1 if the step to it keeps `fraction` of the
// conditional ESS, else the largest step that does (bisection; the CESS falls
// as the step grows).
double next_inverse_temperature(const Population& p, double beta, double fraction) {
  if (conditional_ess(p, 1.0 - beta) >= fraction) return 1.0;
  double low = 0.0, high = 1.0 - beta;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (low + high);
    (conditional_ess(p, mid) >= fraction ? low : high) = mid;
  }
  return std::min(beta + std::max(low, 0x1.0p-60), std::nextafter(1.0, 0.0));
}

// The proposal of a generation: a mixture of Gaussians around the previous
// population, component j with the previous weight W_j and the locally
// optimal covariance (Filippi et al. 2013) Sigma_j = sum_k w_k (z_k - z_j)
// (z_k - z_j)^T = C + (m - z_j)(m - z_j)^T, where w_k ∝ W_k exp(delta l_k) is
// the previous population reweighted to the new temperature, m and C its mean
// and covariance.
class Mixture {
 public:
  Mixture(const Population& p, double delta, int threads)
      : n_(static_cast<std::size_t>(p.z.rows())), d_(static_cast<std::size_t>(p.z.cols())),
        cumulative_(cumulative_weights(p.log_weight)), centre_(n_ * d_), factor_(n_ * d_ * d_),
        inverse_(n_ * d_ * d_), log_coef_(n_) {
    const Eigen::Index n = p.z.rows(), d = p.z.cols();
    Eigen::VectorXd w(n);
    double top = -kInf;
    for (Eigen::Index j = 0; j < n; ++j) top = std::max(top, p.log_weight[j] + delta * p.log_kernel[j]);
    for (Eigen::Index j = 0; j < n; ++j) w[j] = std::exp(p.log_weight[j] + delta * p.log_kernel[j] - top);
    w /= w.sum();
    const Eigen::VectorXd m = p.z.transpose() * w;
    const Eigen::MatrixXd centred = p.z.rowwise() - m.transpose();
    Eigen::MatrixXd c = centred.transpose() * w.asDiagonal() * centred;
    // A relative ridge keeps C positive definite when particles coincide.
    c.diagonal() = c.diagonal() * (1.0 + 1e-9) + Eigen::VectorXd::Constant(d, 1e-12);
    const Eigen::LLT<Eigen::MatrixXd> base(c);
    const double log_norm = -0.5 * static_cast<double>(d) * std::log(2.0 * std::numbers::pi);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (Eigen::Index j = 0; j < n; ++j) {
      Eigen::LLT<Eigen::MatrixXd> local = base;
      local.rankUpdate(m - p.z.row(j).transpose(), 1.0);
      const Eigen::MatrixXd l = local.matrixL();
      const Eigen::MatrixXd inv = l.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(d, d));
      const std::size_t at = static_cast<std::size_t>(j) * d_;
      for (std::size_t r = 0; r < d_; ++r) {
        centre_[at + r] = p.z(j, static_cast<Eigen::Index>(r));
        for (std::size_t k = 0; k < d_; ++k) {
          factor_[(at + r) * d_ + k] = l(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k));
          inverse_[(at + r) * d_ + k] = inv(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(k));
        }
      }
      log_coef_[static_cast<std::size_t>(j)] = p.log_weight[j] + log_norm - l.diagonal().array().log().sum();
    }
  }

  // Ancestor from u_ancestor, step from d standard normals.
  [[nodiscard]] Eigen::VectorXd propose(double u_ancestor, const Eigen::VectorXd& normals) const {
    const std::size_t at = choose_index(cumulative_, u_ancestor) * d_;
    Eigen::VectorXd z(static_cast<Eigen::Index>(d_));
    for (std::size_t r = 0; r < d_; ++r) {
      double step = 0.0;
      for (std::size_t k = 0; k <= r; ++k) step += factor_[(at + r) * d_ + k] * normals[static_cast<Eigen::Index>(k)];
      z[static_cast<Eigen::Index>(r)] = centre_[at + r] + step;
    }
    return z;
  }

  // log sum_j W_j N(z; z_j, Sigma_j), in component order. Plain loops over
  // the stored inverse factors: this N x N sum is the driver's hot spot.
  [[nodiscard]] double log_density(const Eigen::VectorXd& z) const {
    std::vector<double> terms(n_, -kInf), diff(d_);
    double top = -kInf;
    for (std::size_t j = 0; j < n_; ++j) {
      if (!std::isfinite(log_coef_[j])) continue;
      const std::size_t at = j * d_;
      for (std::size_t r = 0; r < d_; ++r) diff[r] = z[static_cast<Eigen::Index>(r)] - centre_[at + r];
      double q = 0.0;
      for (std::size_t r = 0; r < d_; ++r) {
        const double* row = &inverse_[(at + r) * d_];
        double y = 0.0;
        for (std::size_t k = 0; k <= r; ++k) y += row[k] * diff[k];
        q += y * y;
      }
      terms[j] = log_coef_[j] - 0.5 * q;
      top = std::max(top, terms[j]);
    }
    if (!std::isfinite(top)) return top;
    double sum = 0.0;
    for (double t : terms) sum += std::exp(t - top);
    return top + std::log(sum);
  }

 private:
  std::size_t n_, d_;
  std::vector<double> cumulative_;
  std::vector<double> centre_;   // n x d
  std::vector<double> factor_;   // n x d x d: the lower Cholesky factor L_j of Sigma_j
  std::vector<double> inverse_;  // n x d x d: L_j^-1
  std::vector<double> log_coef_;
};

// The best runs overall and each target's closest approach: the evidence for
// the conflict report. Order-independent (ties broken by key).
class ConflictTracker {
 public:
  ConflictTracker(const std::vector<Target>& targets, std::uint32_t keep)
      : targets_(targets), keep_(keep), closest_(targets.size(), kInf) {}

  void observe(std::uint64_t key, const Outcome& o, double joint) {
    Run run{joint, key, std::vector<double>(targets_.size())};
    for (std::size_t k = 0; k < targets_.size(); ++k) {
      run.misfit[k] = misfit(targets_[k], o.value[k]);
      closest_[k] = std::min(closest_[k], std::fabs(run.misfit[k]));
    }
    const auto better = [](const Run& a, const Run& b) { return a.joint > b.joint || (a.joint == b.joint && a.key < b.key); };
    if (best_.size() == keep_ && !better(run, best_.back())) return;
    best_.insert(std::upper_bound(best_.begin(), best_.end(), run, better), std::move(run));
    if (best_.size() > keep_) best_.pop_back();
  }

  [[nodiscard]] std::vector<TargetDiagnosis> diagnose() const {
    std::vector<TargetDiagnosis> out(targets_.size());
    for (std::size_t k = 0; k < targets_.size(); ++k) {
      double sum = 0.0;
      for (const Run& r : best_) sum += r.misfit[k];
      TargetDiagnosis& t = out[k];
      t.best_misfit = best_.empty() ? std::nan("") : sum / static_cast<double>(best_.size());
      t.closest_misfit = closest_[k];
      t.unreachable = !(closest_[k] <= kWithinMisfit);
      t.conflicting = !t.unreachable && std::fabs(t.best_misfit) > kWithinMisfit;
      t.within_share = std::nan("");
    }
    return out;
  }

 private:
  struct Run {
    double joint;
    std::uint64_t key;
    std::vector<double> misfit;
  };
  const std::vector<Target>& targets_;
  std::uint32_t keep_;
  std::vector<double> closest_;
  std::vector<Run> best_;
};

void validate_settings(const SmcSettings& s) {
  const auto require = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("abc_smc settings: ") + what);
  };
  require(s.particles >= 2 && s.particles < kMaxSlots, "particles must be in [2, 2^28)");
  require(s.max_generations >= 1 && s.max_generations <= kMaxGenerations, "max_generations must be in [1, 4092]");
  require(s.max_attempts >= 1 && s.max_attempts <= kMaxAttempts, "max_attempts must be in [1, 2^24]");
  require(s.ess_fraction > 0.0 && s.ess_fraction < 1.0, "ess_fraction must be in (0, 1)");
  require(s.threads >= 1, "threads must be >= 1");
  require(s.conflict_particles >= 1, "conflict_particles must be >= 1");
}

// What one slot accepted.
struct Accepted {
  Eigen::VectorXd z;
  Outcome outcome;
  std::uint64_t key = 0;
  double log_kernel = 0.0;
};

// The bookkeeping of one generation's slots.
struct SlotBook {
  explicit SlotBook(std::uint32_t n) : next_attempt(n, 0), open(n, 1), accepted(n), open_count(n) {}
  std::vector<std::uint32_t> next_attempt;
  std::vector<char> open;
  std::vector<Accepted> accepted;
  std::uint32_t open_count;
  std::uint64_t simulations = 0, failed = 0, counted = 0, closed = 0;
};

class Driver {
 public:
  Driver(const Problem& problem, const SmcSettings& settings, const BatchSimulator& simulate)
      : problem_(problem), s_(settings), simulate_(simulate), d_(problem.parameters.size()),
        tracker_(problem.targets, settings.conflict_particles) {}

  SmcResult run() {
    Population pop;
    double beta = 0.0;
    for (std::uint32_t g = 0;; ++g) {
      if (g >= s_.max_generations) {
        stop(StopReason::generations_exhausted, "max_generations (" + std::to_string(s_.max_generations) +
                                                    ") complete generations ran before temperature 1");
        break;
      }
      const double next_beta = g == 0 ? 0.0 : next_inverse_temperature(pop, beta, s_.ess_fraction);
      std::unique_ptr<Mixture> mixture;
      if (g > 0) mixture = std::make_unique<Mixture>(pop, next_beta - beta, s_.threads);
      SlotBook book(s_.particles);
      if (!sample_generation(g, next_beta, mixture.get(), book)) break;
      pop = finish_generation(next_beta, mixture.get(), book);
      beta = next_beta;
      if (beta == 1.0) {
        stop(StopReason::temperature_one, "reached temperature 1 in generation " + std::to_string(g));
        break;
      }
    }
    summarise();
    return std::move(result_);
  }

 private:
  void stop(StopReason reason, const std::string& why) {
    result_.stop = reason;
    result_.stop_message = why;
  }

  // Attempts each open slot proposes this round (see SmcSettings::round_fill).
  [[nodiscard]] std::uint32_t attempts_per_slot(const SlotBook& b) const {
    if (s_.round_fill == 0 || b.counted == 0) return 1;
    const std::uint64_t fill = (s_.round_fill + b.open_count - 1) / b.open_count;
    const std::uint64_t cap = (2 * b.counted + std::max<std::uint64_t>(b.closed, 1) - 1) / std::max<std::uint64_t>(b.closed, 1);
    return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(std::min(fill, cap), 1, kMaxAttempts));
  }

  // The proposal of slot i, attempt a, in the unbounded space.
  [[nodiscard]] Eigen::VectorXd propose(std::uint32_t g, std::uint32_t i, std::uint32_t a, const Mixture* mix) const {
    Eigen::VectorXd z(d_);
    if (mix == nullptr) {  // generation 0: the prior (logistic in z, or the normal itself)
      const RandomStream r(s_.seed, i, g, kPriorPurpose);
      for (std::size_t p = 0; p < d_; ++p) {
        const double u = r.uniform(a, static_cast<std::uint32_t>(p));
        const Prior& q = problem_.parameters[p].prior;
        z[p] = q.kind == PriorKind::normal ? q.a + q.b * inverse_normal_cdf(u) : std::log(u) - std::log1p(-u);
      }
      return z;
    }
    const RandomStream step(s_.seed, i, g, kPerturbPurpose);
    Eigen::VectorXd normals(d_);
    for (std::size_t p = 0; p < d_; ++p) normals[p] = inverse_normal_cdf(step.uniform(a, static_cast<std::uint32_t>(p)));
    return mix->propose(RandomStream(s_.seed, i, g, kAncestorPurpose).uniform(a), normals);
  }

  [[nodiscard]] std::vector<double> natural(const Eigen::VectorXd& z) const {
    std::vector<double> theta(d_);
    for (std::size_t p = 0; p < d_; ++p) theta[p] = from_unbounded(problem_.parameters[p].prior, z[p]);
    return theta;
  }

  // One round's batch: attempts for every open slot. Returns false (and sets
  // the stop) if a slot has used max_attempts or the budget would be passed.
  bool build_round(std::uint32_t g, const Mixture* mix, const SlotBook& b, std::vector<Proposal>& batch,
                   std::vector<Eigen::VectorXd>& zs, std::vector<std::uint32_t>& slots) {
    const std::uint32_t per = attempts_per_slot(b);
    std::vector<Key> keys;
    for (std::uint32_t i = 0; i < s_.particles; ++i) {
      if (!b.open[i]) continue;
      const std::uint32_t m = std::min(per, s_.max_attempts - b.next_attempt[i]);
      if (m == 0) return stop_partial(StopReason::attempts_exhausted, g, b, "slot " + std::to_string(i) + " used max_attempts (" + std::to_string(s_.max_attempts) + ") without an acceptance");
      for (std::uint32_t a = b.next_attempt[i]; a < b.next_attempt[i] + m; ++a) {
        keys.push_back({g, i, a});
        slots.push_back(i);
      }
    }
    if (result_.simulations + keys.size() > s_.max_simulations)
      return stop_partial(StopReason::budget_exhausted, g, b, "the budget of " + std::to_string(s_.max_simulations) + " simulations ran out");
    batch.resize(keys.size());
    zs.resize(keys.size());
#pragma omp parallel for num_threads(s_.threads) schedule(static) if (s_.threads > 1)
    for (std::size_t k = 0; k < keys.size(); ++k) {
      zs[k] = propose(keys[k].generation, keys[k].slot, keys[k].attempt, mix);
      batch[k].theta = natural(zs[k]);
      batch[k].key = pack_key(keys[k]);
      batch[k].sim_seed = simulation_seed(s_.seed, batch[k].key);
    }
    return true;
  }

  bool stop_partial(StopReason reason, std::uint32_t g, const SlotBook& b, const std::string& why) {
    std::ostringstream msg;
    msg << why << " in generation " << g << " (" << b.closed << " of " << s_.particles << " particles accepted";
    if (!result_.generations.empty()) msg << "; the last complete generation is at temperature " << result_.generations.back().temperature;
    msg << ")";
    stop(reason, msg.str());
    return false;
  }

  // Runs rounds until every slot has accepted; false if stopped.
  bool sample_generation(std::uint32_t g, double beta, const Mixture* mix, SlotBook& b) {
    while (b.open_count > 0) {
      std::vector<Proposal> batch;
      std::vector<Eigen::VectorXd> zs;
      std::vector<std::uint32_t> slots;
      if (!build_round(g, mix, b, batch, zs, slots)) return false;
      const std::vector<Outcome> out = detail::run_batch(simulate_, batch, problem_.targets.size());
      result_.simulations += batch.size();
      b.simulations += batch.size();
      for (std::size_t k = 0; k < batch.size(); ++k) consider(g, beta, slots[k], batch[k], std::move(zs[k]), out[k], b);
      for (std::uint32_t i : slots) ++b.next_attempt[i];
    }
    return true;
  }

  // One run's verdict: count it, note it for the conflict report, and close
  // its slot if the slot is still open and the run is accepted.
  void consider(std::uint32_t g, double beta, std::uint32_t i, const Proposal& p, Eigen::VectorXd z,
                const Outcome& o, SlotBook& b) {
    const double joint = o.ok ? detail::joint_log_kernel(problem_.targets, o) : -kInf;
    if (o.ok) tracker_.observe(p.key, o, joint);
    else ++b.failed;
    if (!b.open[i]) return;  // closed by an earlier attempt of this round
    ++b.counted;
    if (!o.ok) return;
    const std::uint32_t a = unpack_key(p.key).attempt;
    const bool accept = beta == 0.0 || std::log(RandomStream(s_.seed, i, g, kAcceptPurpose).uniform(a)) < beta * joint;
    if (!accept) return;
    b.open[i] = 0;
    --b.open_count;
    ++b.closed;
    b.accepted[i] = {std::move(z), o, p.key, joint};
  }

  // Importance weights, the population and the generation's record.
  Population finish_generation(double beta, const Mixture* mix, const SlotBook& b) {
    const std::uint32_t n = s_.particles;
    const std::size_t targets = problem_.targets.size();
    Population pop{Eigen::MatrixXd(n, d_), std::vector<double>(n), std::vector<double>(n)};
#pragma omp parallel for num_threads(s_.threads) schedule(static) if (s_.threads > 1)
    for (std::uint32_t i = 0; i < n; ++i) {
      const Eigen::VectorXd& z = b.accepted[i].z;
      pop.z.row(i) = z.transpose();
      pop.log_kernel[i] = b.accepted[i].log_kernel;
      double prior = 0.0;
      for (std::size_t p = 0; p < d_; ++p) prior += log_prior_unbounded(problem_.parameters[p].prior, z[p]);
      pop.log_weight[i] = mix == nullptr ? 0.0 : prior - mix->log_density(z);
    }
    const double total = log_sum_exp(pop.log_weight);
    for (double& w : pop.log_weight) w -= total;

    Generation gen;
    gen.temperature = beta == 0.0 ? kInf : 1.0 / beta;
    gen.acceptance_rate = static_cast<double>(b.closed) / static_cast<double>(b.counted);
    gen.simulations = b.simulations;
    gen.failed = b.failed;
    gen.theta.resize(n, static_cast<Eigen::Index>(d_));
    gen.value.resize(n, static_cast<Eigen::Index>(targets));
    gen.se.resize(n, static_cast<Eigen::Index>(targets));
    double sum_sq = 0.0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::vector<double> theta = natural(pop.z.row(i).transpose());
      for (std::size_t p = 0; p < d_; ++p) gen.theta(i, static_cast<Eigen::Index>(p)) = theta[p];
      for (std::size_t k = 0; k < targets; ++k) {
        gen.value(i, static_cast<Eigen::Index>(k)) = b.accepted[i].outcome.value[k];
        gen.se(i, static_cast<Eigen::Index>(k)) = b.accepted[i].outcome.se[k];
      }
      gen.key.push_back(b.accepted[i].key);
      sum_sq += std::exp(2.0 * pop.log_weight[i]);
    }
    gen.ess = 1.0 / sum_sq;
    gen.log_weight = pop.log_weight;
    result_.generations.push_back(std::move(gen));
    if (s_.on_generation) s_.on_generation(result_.generations.back());
    return pop;
  }

  // Draws, contraction and the target report of the last complete generation.
  void summarise() {
    result_.targets = tracker_.diagnose();
    result_.contraction.assign(d_, std::nan(""));
    result_.draws.resize(0, static_cast<Eigen::Index>(d_));
    append_conflicts();
    if (result_.generations.empty()) return;
    const Generation& last = result_.generations.back();
    const std::vector<double> cumulative = cumulative_weights(last.log_weight);
    const RandomStream r(s_.seed, 0, 0, kDrawPurpose);
    result_.draws.resize(s_.draws, static_cast<Eigen::Index>(d_));
    for (std::uint32_t k = 0; k < s_.draws; ++k)
      result_.draws.row(k) = last.theta.row(static_cast<Eigen::Index>(choose_index(cumulative, r.uniform(k))));
    const Eigen::Map<const Eigen::VectorXd> log_w(last.log_weight.data(), static_cast<Eigen::Index>(last.log_weight.size()));
    const Eigen::VectorXd w = log_w.array().exp();
    for (std::size_t p = 0; p < d_; ++p) {
      const Eigen::VectorXd x = last.theta.col(static_cast<Eigen::Index>(p));
      const double mean = w.dot(x);
      const double var = w.dot((x.array() - mean).square().matrix());
      result_.contraction[p] = 1.0 - var / prior_variance(problem_.parameters[p].prior);
    }
    for (std::size_t k = 0; k < problem_.targets.size(); ++k) {
      double share = 0.0;
      for (Eigen::Index i = 0; i < last.value.rows(); ++i)
        if (std::fabs(misfit(problem_.targets[k], last.value(i, static_cast<Eigen::Index>(k)))) <= kWithinMisfit) share += w[i];
      result_.targets[k].within_share = share;
    }
  }

  void append_conflicts() {
    std::ostringstream msg;
    const char* sep = "; targets that conflict: ";
    for (std::size_t k = 0; k < problem_.targets.size(); ++k) {
      const TargetDiagnosis& t = result_.targets[k];
      if (!t.conflicting) continue;
      msg << sep << problem_.targets[k].name << " (misfit " << t.best_misfit << " in the best runs, " << t.closest_misfit << " at best alone)";
      sep = ", ";
    }
    sep = "; targets no run came near: ";
    for (std::size_t k = 0; k < problem_.targets.size(); ++k) {
      if (!result_.targets[k].unreachable) continue;
      msg << sep << problem_.targets[k].name << " (closest misfit " << result_.targets[k].closest_misfit << ")";
      sep = ", ";
    }
    result_.stop_message += msg.str();
  }

  const Problem& problem_;
  const SmcSettings& s_;
  const BatchSimulator& simulate_;
  std::size_t d_;
  ConflictTracker tracker_;
  SmcResult result_;
};

}  // namespace

SmcResult abc_smc(const Problem& problem, const SmcSettings& settings, const BatchSimulator& simulate) {
  validate(problem);
  validate_settings(settings);
  return Driver(problem, settings, simulate).run();
}

}  // namespace loyalsim::engine::calibration
