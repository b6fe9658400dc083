// Priors and their transforms, target kernels, keys and seeds, validation:
// the pieces abc_smc (calibration_smc.cpp) and optimize
// (calibration_optimize.cpp) share.
#include "engine/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>
#include <string>

namespace loyalsim::engine::calibration {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kUnitHalfWidth = 6.0;  // normal priors: the optimiser's box is mean ± 6 sd

// log(1 + e^t) without overflow or loss for large |t|.
double softplus(double t) { return t > 0.0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

// 1 / (1 + e^-z), accurate in both tails.
double sigmoid(double z) {
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

// Log density of the standard logistic distribution: sigmoid(z) * sigmoid(-z).
double log_logistic_density(double z) { return -softplus(z) - softplus(-z); }

// The interval the logit acts on: [a, b], or [log a, log b] for loguniform.
struct Span {
  double low, high;
};
Span logit_span(const Prior& p) {
  if (p.kind == PriorKind::loguniform) return {std::log(p.a), std::log(p.b)};
  return {p.a, p.b};
}

double position_variable(const Prior& p, double x) { return p.kind == PriorKind::loguniform ? std::log(x) : x; }

// Maps z to [low, high] from the nearer end, so both ends keep full precision.
double logistic_to_span(const Span& s, double z) {
  const double v = z >= 0.0 ? s.high - (s.high - s.low) * sigmoid(-z) : s.low + (s.high - s.low) * sigmoid(z);
  return std::clamp(v, s.low, s.high);
}

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument(what);
}

void validate_prior(const Parameter& p) {
  const std::string where = "parameter '" + p.name + "': ";
  const Prior& q = p.prior;
  const bool finite = std::isfinite(q.a) && std::isfinite(q.b);
  switch (q.kind) {
    case PriorKind::uniform:
      require(finite && q.a < q.b, where + "uniform bounds must be finite with low < high");
      break;
    case PriorKind::loguniform:
      require(finite && q.a > 0.0 && q.a < q.b, where + "loguniform bounds must be finite with 0 < low < high");
      break;
    case PriorKind::normal:
      require(finite && q.b > 0.0, where + "normal prior needs a finite mean and sd > 0");
      break;
  }
}

void validate_target(const Target& t) {
  const std::string where = "target '" + t.name + "': ";
  const bool soft_ok = std::isfinite(t.soft) && t.soft > 0.0;
  switch (t.kind) {
    case TargetKind::value:
      require(std::isfinite(t.value) && std::isfinite(t.sd) && t.sd > 0.0,
              where + "a measured value needs a finite value and sd > 0");
      break;
    case TargetKind::at_least:
      require(std::isfinite(t.low) && soft_ok, where + "at_least needs a finite bound and soft > 0");
      break;
    case TargetKind::at_most:
      require(std::isfinite(t.high) && soft_ok, where + "at_most needs a finite bound and soft > 0");
      break;
    case TargetKind::range:
      require(std::isfinite(t.low) && std::isfinite(t.high) && t.low <= t.high && soft_ok,
              where + "a range needs finite bounds with low <= high and soft > 0");
      break;
  }
}

template <class Item>
void require_unique_names(const std::vector<Item>& items, const char* what) {
  std::set<std::string> seen;
  for (const Item& item : items) {
    require(!item.name.empty(), std::string(what) + " with an empty name (names must be non-empty)");
    require(seen.insert(item.name).second,
            std::string(what) + " '" + item.name + "' appears twice (names must be unique)");
  }
}

}  // namespace

// ------------------------------------------------------------------ priors

double to_unbounded(const Prior& p, double x) {
  if (p.kind == PriorKind::normal) return x;
  const Span s = logit_span(p);
  const double v = position_variable(p, x);
  return std::log(v - s.low) - std::log(s.high - v);  // logit, without forming 1 - u
}

double from_unbounded(const Prior& p, double z) {
  if (p.kind == PriorKind::normal) return z;
  const double v = logistic_to_span(logit_span(p), z);
  return p.kind == PriorKind::loguniform ? std::clamp(std::exp(v), p.a, p.b) : v;
}

double log_jacobian(const Prior& p, double z) {
  switch (p.kind) {
    case PriorKind::uniform:
      return std::log(p.b - p.a) + log_logistic_density(z);
    case PriorKind::loguniform:
      return std::log(from_unbounded(p, z)) + std::log(std::log(p.b / p.a)) + log_logistic_density(z);
    case PriorKind::normal:
      return 0.0;
  }
  return 0.0;
}

double log_prior_density(const Prior& p, double x) {
  switch (p.kind) {
    case PriorKind::uniform:
      return x >= p.a && x <= p.b ? -std::log(p.b - p.a) : -kInf;
    case PriorKind::loguniform:
      return x >= p.a && x <= p.b ? -std::log(x) - std::log(std::log(p.b / p.a)) : -kInf;
    case PriorKind::normal: {
      const double u = (x - p.a) / p.b;
      return -0.5 * u * u - std::log(p.b) - 0.5 * std::log(2.0 * std::numbers::pi);
    }
  }
  return -kInf;
}

double log_prior_unbounded(const Prior& p, double z) {
  // Uniform and loguniform: the prior density times the Jacobian is exactly
  // the logistic density, whatever the bounds.
  if (p.kind == PriorKind::normal) return log_prior_density(p, z);
  return log_logistic_density(z);
}

double prior_mean(const Prior& p) {
  switch (p.kind) {
    case PriorKind::uniform:
      return 0.5 * (p.a + p.b);
    case PriorKind::loguniform:
      return (p.b - p.a) / std::log(p.b / p.a);
    case PriorKind::normal:
      return p.a;
  }
  return 0.0;
}

double prior_variance(const Prior& p) {
  switch (p.kind) {
    case PriorKind::uniform:
      return (p.b - p.a) * (p.b - p.a) / 12.0;
    case PriorKind::loguniform: {
      const double l = std::log(p.b / p.a), m = (p.b - p.a) / l;
      return (p.b * p.b - p.a * p.a) / (2.0 * l) - m * m;
    }
    case PriorKind::normal:
      return p.b * p.b;
  }
  return 0.0;
}

double to_unit(const Prior& p, double x) {
  if (p.kind == PriorKind::normal) return 0.5 + (x - p.a) / (2.0 * kUnitHalfWidth * p.b);
  const Span s = logit_span(p);
  return (position_variable(p, x) - s.low) / (s.high - s.low);
}

double from_unit(const Prior& p, double y) {
  y = std::clamp(y, 0.0, 1.0);
  if (p.kind == PriorKind::normal) return p.a + (y - 0.5) * 2.0 * kUnitHalfWidth * p.b;
  const Span s = logit_span(p);
  const double v = s.low + (s.high - s.low) * y;
  return p.kind == PriorKind::loguniform ? std::clamp(std::exp(v), p.a, p.b) : v;
}

// ----------------------------------------------------------------- targets

namespace {
Target make_target(std::string name, TargetKind kind, double low, double high, double soft) {
  Target t;
  t.name = std::move(name);
  t.kind = kind;
  t.low = low;
  t.high = high;
  t.soft = soft;
  return t;
}
}  // namespace

Target Target::measured(std::string name, double value, double sd) {
  Target t = make_target(std::move(name), TargetKind::value, 0.0, 0.0, 0.0);
  t.value = value;
  t.sd = sd;
  return t;
}

Target Target::at_least(std::string name, double bound, double soft) {
  return make_target(std::move(name), TargetKind::at_least, bound, 0.0, soft);
}

Target Target::at_most(std::string name, double bound, double soft) {
  return make_target(std::move(name), TargetKind::at_most, 0.0, bound, soft);
}

Target Target::within(std::string name, double low, double high, double soft) {
  return make_target(std::move(name), TargetKind::range, low, high, soft);
}

double misfit(const Target& t, double s) {
  switch (t.kind) {
    case TargetKind::value:
      return (s - t.value) / t.sd;
    case TargetKind::at_least:
      return s < t.low ? (s - t.low) / t.soft : 0.0;
    case TargetKind::at_most:
      return s > t.high ? (s - t.high) / t.soft : 0.0;
    case TargetKind::range:
      if (s < t.low) return (s - t.low) / t.soft;
      return s > t.high ? (s - t.high) / t.soft : 0.0;
  }
  return 0.0;
}

void validate(const Problem& problem) {
  require(!problem.parameters.empty(), "calibration: no parameters (at least one is needed)");
  require(!problem.targets.empty(), "calibration: no targets (at least one is needed)");
  require_unique_names(problem.parameters, "parameter");
  require_unique_names(problem.targets, "target");
  for (const Parameter& p : problem.parameters) validate_prior(p);
  for (const Target& t : problem.targets) validate_target(t);
}

// ------------------------------------------------------------ keys, seeds

std::uint64_t pack_key(const Key& k) {
  if (k.generation > kOptimizeFresh || k.slot >= kMaxSlots || k.attempt >= kMaxAttempts)
    throw std::out_of_range("calibration key out of range (generation < 4096, slot < 2^28, attempt < 2^24)");
  return static_cast<std::uint64_t>(k.generation) << 52 | static_cast<std::uint64_t>(k.slot) << 24 | k.attempt;
}

Key unpack_key(std::uint64_t packed) {
  return {static_cast<std::uint32_t>(packed >> 52), static_cast<std::uint32_t>((packed >> 24) & (kMaxSlots - 1)),
          static_cast<std::uint32_t>(packed & (kMaxAttempts - 1))};
}

namespace {
// The SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijection of 64-bit
// words (xor-shifts and odd multipliers are invertible) with full avalanche.
std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

std::uint64_t simulation_seed(std::uint64_t seed, std::uint64_t key) {
  return mix64(key ^ mix64(seed + 0x9e3779b97f4a7c15ULL));
}

// ----------------------------------------------------------------- detail

namespace detail {

std::vector<Outcome> run_batch(const BatchSimulator& simulate, std::span<const Proposal> batch,
                               std::size_t targets) {
  std::vector<Outcome> out = simulate(batch);
  if (out.size() != batch.size())
    throw std::runtime_error("calibration: the simulator returned " + std::to_string(out.size()) +
                             " outcomes for a batch of " + std::to_string(batch.size()));
  for (Outcome& o : out) {
    if (!o.ok) continue;
    if (o.value.size() != targets || o.se.size() != targets)
      throw std::runtime_error("calibration: an outcome has " + std::to_string(o.value.size()) +
                               " values for " + std::to_string(targets) + " targets");
    for (double v : o.value) o.ok = o.ok && std::isfinite(v);
  }
  return out;
}

double joint_log_kernel(const std::vector<Target>& targets, const Outcome& o) {
  double sum = 0.0;
  for (std::size_t k = 0; k < targets.size(); ++k) sum += log_kernel(targets[k], o.value[k]);
  return sum;
}

}  // namespace detail

}  // namespace loyalsim::engine::calibration
