#include "app/calibration_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <set>
#include <sstream>

#include "app/calibration_quantities.hpp"
#include "engine/checkpoint.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/sha256.hpp"
#include "engine/version.hpp"

namespace loyalsim::app {

namespace {

namespace h5 = engine::h5;
using Attributes = std::vector<std::pair<std::string, std::string>>;
constexpr double kZ975 = 1.959963984540054;  // the standard normal's 97.5% quantile

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The p-quantile of values with weights (summing to 1): the smallest value
// whose cumulative weight reaches p. NaN values carry no weight.
double weighted_quantile(std::vector<std::pair<double, double>> vw, double p) {
  std::erase_if(vw, [](const auto& x) { return !std::isfinite(x.first); });
  if (vw.empty()) return std::nan("");
  std::sort(vw.begin(), vw.end());
  double total = 0.0;
  for (const auto& x : vw) total += x.second;
  double cum = 0.0;
  for (const auto& [v, w] : vw)
    if ((cum += w) >= p * total) return v;
  return vw.back().first;
}

// The 95% interval of a prior.
std::pair<double, double> prior_interval(const cal::Prior& p) {
  switch (p.kind) {
    case cal::PriorKind::uniform: return {p.a + 0.025 * (p.b - p.a), p.a + 0.975 * (p.b - p.a)};
    case cal::PriorKind::loguniform: {
      const double la = std::log(p.a), lb = std::log(p.b);
      return {std::exp(la + 0.025 * (lb - la)), std::exp(la + 0.975 * (lb - la))};
    }
    case cal::PriorKind::normal: return {p.a - kZ975 * p.b, p.a + kZ975 * p.b};
  }
  return {0, 0};
}

// Weighted mean and 95% interval of a column of the last generation.
void summarise_column(const Eigen::MatrixXd& m, Eigen::Index column, const std::vector<double>& weight, double& mean,
                      double& low, double& high) {
  std::vector<std::pair<double, double>> vw;
  double s = 0.0, w = 0.0;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const double v = m(i, column);
    vw.emplace_back(v, weight[static_cast<std::size_t>(i)]);
    if (std::isfinite(v)) s += weight[static_cast<std::size_t>(i)] * v, w += weight[static_cast<std::size_t>(i)];
  }
  mean = w > 0 ? s / w : std::nan("");
  low = weighted_quantile(vw, 0.025);
  high = weighted_quantile(vw, 0.975);
}

void summarise_smc(const Experiment& e, const cal::SmcResult& r, FitSummary& s) {
  const std::size_t d = e.calibration.parameters.size(), K = e.calibration.targets.size();
  s.stop_reason = cal::kStopReasonNames[static_cast<int>(r.stop)];
  s.stop_message = r.stop_message;
  s.contraction = r.contraction;
  for (auto* v : {&s.estimate, &s.low, &s.high}) v->assign(d, std::nan(""));
  for (auto* v : {&s.predictive_mean, &s.predictive_low, &s.predictive_high, &s.within_share, &s.misfit})
    v->assign(K, std::nan(""));
  if (s.contraction.size() != d) s.contraction.assign(d, std::nan(""));
  for (std::size_t k = 0; k < K && k < r.targets.size(); ++k) {
    s.within_share[k] = r.targets[k].within_share;
    if (r.targets[k].conflicting || r.targets[k].unreachable) s.conflicting.push_back(e.calibration.targets[k].target.name);
  }
  if (r.generations.empty()) return;
  const cal::Generation& g = r.generations.back();
  std::vector<double> w;
  for (const double lw : g.log_weight) w.push_back(std::exp(lw));
  for (std::size_t p = 0; p < d; ++p) summarise_column(g.theta, static_cast<Eigen::Index>(p), w, s.estimate[p], s.low[p], s.high[p]);
  for (std::size_t k = 0; k < K; ++k) {
    summarise_column(g.value, static_cast<Eigen::Index>(k), w, s.predictive_mean[k], s.predictive_low[k],
                     s.predictive_high[k]);
    s.misfit[k] = cal::misfit(e.calibration.targets[k].target, s.predictive_mean[k]);
  }
}

void summarise_optimize(const Experiment& e, const cal::OptimizeResult& r, FitSummary& s) {
  const std::size_t d = e.calibration.parameters.size(), K = e.calibration.targets.size();
  s.stop_reason = cal::kOptimizeStopNames[static_cast<int>(r.stop)];
  s.stop_message = "objective " + engine::config::format_number(r.objective) + " at the fixed seeds, " +
                   engine::config::format_number(r.fresh_objective) + " +- " +
                   engine::config::format_number(r.fresh_objective_se) + " at fresh seeds (optimism gap " +
                   engine::config::format_number(r.optimism_gap) + ")";
  s.estimate = r.theta, s.low = r.theta, s.high = r.theta;
  s.contraction.assign(d, std::nan(""));
  for (std::size_t k = 0; k < K; ++k) {
    const double m = r.fresh_value[k], se = r.fresh_value_se[k];
    s.predictive_mean.push_back(m);
    s.predictive_low.push_back(m - kZ975 * se);
    s.predictive_high.push_back(m + kZ975 * se);
    s.misfit.push_back(cal::misfit(e.calibration.targets[k].target, m));
    const bool within = std::abs(s.misfit.back()) <= cal::kWithinMisfit;
    s.within_share.push_back(within ? 1.0 : 0.0);
    if (!within) s.conflicting.push_back(e.calibration.targets[k].target.name);
  }
}

// ------------------------------------------------------------ writing

struct Dims {
  h5::Dimension parameter, target;
};

std::vector<std::int64_t> iota64(std::size_t n) {
  std::vector<std::int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

Dims write_specs(h5::File& f, const Experiment& e) {
  const Calibration& c = e.calibration;
  std::vector<std::string> paths, prior_kind, names, quantity, kind, policy, band, fact_class, segment;
  std::vector<double> a, b, value, sd, low, high, soft;
  std::vector<std::int64_t> months;
  for (const auto& p : c.parameters) {
    paths.push_back(p.path);
    prior_kind.emplace_back(cal::kPriorKindNames[static_cast<int>(p.prior.kind)]);
    a.push_back(p.prior.a), b.push_back(p.prior.b);
  }
  const auto name_or_empty = [](int i, const auto& names) { return i < 0 ? std::string() : std::string(names[static_cast<std::size_t>(i)]); };
  std::vector<std::string> policy_names, segment_names;
  for (const auto& p : e.scenario.policies) policy_names.push_back(p.name);
  for (const auto& s : e.scenario.segments) segment_names.push_back(s.name);
  for (const auto& t : c.targets) {
    names.push_back(t.target.name);
    quantity.emplace_back(kQuantityNames[static_cast<int>(t.quantity)]);
    kind.emplace_back(cal::kTargetKindNames[static_cast<int>(t.target.kind)]);
    policy.push_back(name_or_empty(t.filter.policy, policy_names));
    band.push_back(name_or_empty(t.filter.band, srp1::kBandNames));
    fact_class.push_back(name_or_empty(t.filter.fact_class, srp1::kFactClassNames));
    segment.push_back(name_or_empty(t.filter.segment, segment_names));
    months.push_back(t.filter.months);
    const bool v = t.target.kind == cal::TargetKind::value;
    const bool lo = t.target.kind == cal::TargetKind::at_least || t.target.kind == cal::TargetKind::range;
    const bool hi = t.target.kind == cal::TargetKind::at_most || t.target.kind == cal::TargetKind::range;
    value.push_back(v ? t.target.value : std::nan("")), sd.push_back(v ? t.target.sd : std::nan(""));
    low.push_back(lo ? t.target.low : std::nan("")), high.push_back(hi ? t.target.high : std::nan(""));
    soft.push_back(v ? std::nan("") : t.target.soft);
  }
  Dims d;
  d.parameter = f.add_dimension("parameter", paths, "calibrated parameter, by its path in the experiment file");
  d.target = f.add_dimension("target", names, "calibration target, by its name");
  f.write("prior_kind", {d.parameter}, prior_kind, {{"long_name", "prior: uniform, loguniform or normal"}});
  f.write("prior_a", {d.parameter}, a, {}, {{"long_name", "prior low bound (normal: mean)"}});
  f.write("prior_b", {d.parameter}, b, {}, {{"long_name", "prior high bound (normal: sd)"}});
  f.write("target_quantity", {d.target}, quantity, {{"long_name", "the target's quantity (docs/calibration.md)"}});
  f.write("target_kind", {d.target}, kind, {{"long_name", "value, at_least, at_most or range"}});
  f.write("target_policy", {d.target}, policy, {{"long_name", "policy filter ('' when none)"}});
  f.write("target_band", {d.target}, band, {{"long_name", "severity band filter ('' when none)"}});
  f.write("target_fact_class", {d.target}, fact_class, {{"long_name", "fact class filter ('' when none)"}});
  f.write("target_segment", {d.target}, segment, {{"long_name", "segment filter ('' when none)"}});
  f.write("target_months", {d.target}, std::span<const std::int64_t>(months), {}, {{"long_name", "months filter (0 when none)"}});
  f.write("target_value", {d.target}, value, {}, {{"long_name", "measured value (value targets)"}});
  f.write("target_sd", {d.target}, sd, {}, {{"long_name", "sd of the measured value (value targets)"}});
  f.write("target_low", {d.target}, low, {}, {{"long_name", "low bound (at_least, range)"}});
  f.write("target_high", {d.target}, high, {}, {{"long_name", "high bound (at_most, range)"}});
  f.write("target_soft", {d.target}, soft, {}, {{"long_name", "width of a bound's Normal edge"}});
  return d;
}

void write_summary(h5::File& f, const Dims& d, const FitSummary& s) {
  f.write("prior_low", {d.parameter}, s.prior_low, {}, {{"long_name", "2.5% quantile of the prior"}});
  f.write("prior_high", {d.parameter}, s.prior_high, {}, {{"long_name", "97.5% quantile of the prior"}});
  f.write("posterior_mean", {d.parameter}, s.estimate, {},
          {{"long_name", "posterior mean (optimize: the best fit); written into the preset"}});
  f.write("posterior_low", {d.parameter}, s.low, {}, {{"long_name", "2.5% weighted quantile of the posterior"}});
  f.write("posterior_high", {d.parameter}, s.high, {}, {{"long_name", "97.5% weighted quantile of the posterior"}});
  f.write("contraction", {d.parameter}, s.contraction, {}, {{"long_name", "1 - Var(posterior) / Var(prior)"}});
  f.write("predictive_mean", {d.target}, s.predictive_mean, {},
          {{"long_name", "posterior-predictive mean of the simulated target (optimize: the best fit at fresh seeds)"}});
  f.write("predictive_low", {d.target}, s.predictive_low, {}, {{"long_name", "2.5% quantile of the posterior predictive"}});
  f.write("predictive_high", {d.target}, s.predictive_high, {}, {{"long_name", "97.5% quantile of the posterior predictive"}});
  f.write("predictive_within", {d.target}, s.within_share, {},
          {{"long_name", "posterior-predictive share of runs within tolerance (|misfit| <= 2)"}});
  f.write("predictive_misfit", {d.target}, s.misfit, {}, {{"long_name", "standardised misfit of predictive_mean"}});
}

void write_smc(h5::File& f, const Dims& d, const Experiment& e, const cal::SmcResult& r) {
  const std::size_t G = r.generations.size(), N = e.calibration.particles, P = d.parameter.size, K = d.target.size;
  const auto gens = iota64(G), parts = iota64(N), draws = iota64(static_cast<std::size_t>(r.draws.rows()));
  const auto dg = f.add_dimension("generation", std::span<const std::int64_t>(gens), "ABC-SMC generation (0: the prior)");
  const auto dp = f.add_dimension("particle", std::span<const std::int64_t>(parts), "particle (slot) of a generation");
  const auto dd = f.add_dimension("draw", std::span<const std::int64_t>(draws), "equal-weight posterior draw");
  std::vector<double> theta, logw, value, se, temperature, ess, acceptance;
  std::vector<std::int64_t> attempt, simulations, failed;
  for (const cal::Generation& g : r.generations) {
    for (std::size_t i = 0; i < N; ++i) {
      for (std::size_t p = 0; p < P; ++p) theta.push_back(g.theta(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(p)));
      for (std::size_t k = 0; k < K; ++k) {
        value.push_back(g.value(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)));
        se.push_back(g.se(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)));
      }
      logw.push_back(g.log_weight[i]);
      attempt.push_back(cal::unpack_key(g.key[i]).attempt);
    }
    temperature.push_back(g.temperature), ess.push_back(g.ess), acceptance.push_back(g.acceptance_rate);
    simulations.push_back(static_cast<std::int64_t>(g.simulations)), failed.push_back(static_cast<std::int64_t>(g.failed));
  }
  const hsize_t n = N, p = P, k = K;
  f.write("theta", {dg, dp, d.parameter}, theta, {1, n, p}, {{"long_name", "particles' parameter values"}});
  f.write("log_weight", {dg, dp}, logw, {1, n}, {{"long_name", "normalised log importance weight of each particle"}});
  f.write("target_sim", {dg, dp, d.target}, value, {1, n, k}, {{"long_name", "each particle's simulated target value"}});
  f.write("target_se", {dg, dp, d.target}, se, {1, n, k},
          {{"long_name", "Monte Carlo standard error of target_sim (reported, not in the kernel)"}});
  f.write("particle_attempt", {dg, dp}, std::span<const std::int64_t>(attempt), {1, n},
          {{"long_name", "attempt that closed the slot: key (generation, particle, attempt) replays the particle"}});
  f.write("temperature", {dg}, temperature, {}, {{"long_name", "temperature of the generation (inf: the prior)"}});
  f.write("ess", {dg}, ess, {}, {{"long_name", "effective sample size 1 / sum of squared weights"}});
  f.write("acceptance_rate", {dg}, acceptance, {}, {{"long_name", "accepted / attempts"}});
  f.write("simulations", {dg}, std::span<const std::int64_t>(simulations), {}, {{"long_name", "proposals run in the generation"}});
  f.write("failed", {dg}, std::span<const std::int64_t>(failed), {}, {{"long_name", "of which failed (undefined quantities)"}});
  std::vector<double> dv(r.draws.size());
  for (Eigen::Index i = 0; i < r.draws.rows(); ++i)
    for (Eigen::Index j = 0; j < r.draws.cols(); ++j) dv[static_cast<std::size_t>(i * r.draws.cols() + j)] = r.draws(i, j);
  f.write("posterior_draws", {dd, d.parameter}, dv, {}, {{"long_name", "equal-weight posterior draws for downstream runs"}});
  std::vector<double> best, closest;
  std::vector<std::int64_t> conflicting, unreachable;
  for (const auto& t : r.targets) {
    best.push_back(t.best_misfit), closest.push_back(t.closest_misfit);
    conflicting.push_back(t.conflicting), unreachable.push_back(t.unreachable);
  }
  if (r.targets.size() == K) {
    f.write("best_misfit", {d.target}, best, {}, {{"long_name", "mean signed misfit of the best-fitting runs"}});
    f.write("closest_misfit", {d.target}, closest, {}, {{"long_name", "smallest |misfit| any run reached"}});
    f.write("conflicting", {d.target}, std::span<const std::int64_t>(conflicting), {},
            {{"long_name", "1: met alone, missed by the runs that fit all targets best"}});
    f.write("unreachable", {d.target}, std::span<const std::int64_t>(unreachable), {},
            {{"long_name", "1: no run came within tolerance"}});
  }
}

void write_optimize(h5::File& f, const Dims& d, const cal::OptimizeResult& r) {
  const auto evals = iota64(static_cast<std::size_t>(r.trace.rows()));
  const auto de = f.add_dimension("evaluation", std::span<const std::int64_t>(evals), "optimizer evaluation, in order");
  const std::vector<std::int64_t> one = {0};
  const auto dd = f.add_dimension("draw", std::span<const std::int64_t>(one), "the best fit as the one draw");
  std::vector<double> trace(r.trace.size());
  for (Eigen::Index i = 0; i < r.trace.rows(); ++i)
    for (Eigen::Index j = 0; j < r.trace.cols(); ++j) trace[static_cast<std::size_t>(i * r.trace.cols() + j)] = r.trace(i, j);
  f.write("trace", {de, d.parameter}, trace, {}, {{"long_name", "every candidate evaluated"}});
  f.write("trace_objective", {de}, r.trace_objective, {}, {{"long_name", "its objective at the fixed seeds"}});
  f.write("best_fit", {d.parameter}, r.theta, {}, {{"long_name", "the best fit"}});
  f.write("posterior_draws", {dd, d.parameter}, r.theta, {}, {{"long_name", "the best fit (optimize has no posterior)"}});
  f.write("fit_value", {d.target}, r.value, {}, {{"long_name", "target at the best fit, mean over the fixed seeds"}});
  f.write("fit_misfit", {d.target}, r.misfit, {}, {{"long_name", "misfit of fit_value"}});
  f.write("fresh_value", {d.target}, r.fresh_value, {}, {{"long_name", "target at the best fit, fresh seeds"}});
  f.write("fresh_value_se", {d.target}, r.fresh_value_se, {}, {{"long_name", "its standard error"}});
  f.set_attribute("objective", r.objective);
  f.set_attribute("fresh_objective", r.fresh_objective);
  f.set_attribute("fresh_objective_se", r.fresh_objective_se);
  f.set_attribute("optimism_gap", r.optimism_gap);
  f.set_attribute("evaluations", static_cast<std::int64_t>(r.evaluations));
}

void write_provenance(h5::File& f, const Experiment& e, const CalibrationResult& r, const FitSummary& s,
                      const RunFacts& facts) {
  const Calibration& c = e.calibration;
  f.set_attribute("format", std::string(kCalibrationFormat));
  f.set_attribute("format_version", std::string(kCalibrationFormatVersion));
  f.set_attribute("model", std::string("SRP-1"));
  f.set_attribute("model_revision", std::string(srp1::kModelRevision));
  f.set_attribute("title", "loyalsim calibration: " + e.name);
  f.set_attribute("engine_version", std::string(engine::kEngineVersion));
  f.set_attribute("git_commit", std::string(engine::kGitCommit));
  f.set_attribute("experiment_name", e.name);
  f.set_attribute("experiment_toml", e.toml_text);
  f.set_attribute("experiment_sha256", engine::sha256_hex(e.toml_text));
  f.set_attribute("seed", static_cast<std::uint64_t>(e.seed));
  f.set_attribute("method", std::string(kCalibrationMethodNames[static_cast<int>(c.method)]));
  f.set_attribute("particles", static_cast<std::int64_t>(c.method == CalibrationMethod::abc_smc ? c.particles : 0));
  f.set_attribute("max_simulations", static_cast<std::int64_t>(c.max_simulations));
  f.set_attribute("replications", static_cast<std::int64_t>(c.replications));
  f.set_attribute("customers", static_cast<std::int64_t>(e.scenario.population.customers));
  f.set_attribute("horizon_months", static_cast<std::int64_t>(e.scenario.horizon_months));
  std::string policies;
  for (const auto& p : e.scenario.policies) policies += (policies.empty() ? "" : "\n") + p.name;
  f.set_attribute("probe_policies", policies);
  f.set_attribute("stop_reason", s.stop_reason);
  f.set_attribute("stop_message", s.stop_message);
  std::string conflicting;
  for (const auto& n : s.conflicting) conflicting += (conflicting.empty() ? "" : "\n") + n;
  f.set_attribute("conflicting_targets", conflicting);
  const std::uint64_t total = r.smc ? r.smc->simulations : r.fit->simulations;
  f.set_attribute("simulations_total", static_cast<std::int64_t>(total));
  f.set_attribute("created_utc", utc_now());
  f.set_attribute("threads", static_cast<std::int64_t>(facts.threads));
  f.set_attribute("processes", static_cast<std::int64_t>(facts.processes));
  f.set_attribute("wall_seconds", facts.wall_seconds);
  char host[256] = {};
  f.set_attribute("host", ::gethostname(host, sizeof host - 1) == 0 ? std::string(host) : std::string("unknown"));
}

// The shortest decimal that reads back as the same double.
std::string exact_number(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // a TOML float, not an integer
  return s;
}

std::string toml_value(const srp1::ParameterRow& row, double v) {
  switch (row.kind) {
    case srp1::ParameterKind::choice: return "\"" + row.describe_value(v) + "\"";
    case srp1::ParameterKind::integer:
    case srp1::ParameterKind::even_integer: return std::to_string(static_cast<std::int64_t>(v));
    case srp1::ParameterKind::real: return exact_number(v);
  }
  return exact_number(v);
}

// The keys of one scope's table, grouped keys as inline tables.
void write_scope(std::ostream& out, const srp1::Scenario& sc, srp1::ParameterScope scope, std::size_t entry,
                 const std::set<std::string_view>& skip) {
  std::set<std::string_view> groups;
  for (const srp1::ParameterRow* row : srp1::rows_of(scope)) {
    if (skip.count(row->key)) continue;
    const std::string_view group = row->group();
    if (group.empty()) {
      out << row->key << " = " << toml_value(*row, row->get(sc, entry)) << '\n';
      continue;
    }
    if (!groups.insert(group).second) continue;
    out << group << " = { ";
    bool first = true;
    for (const srp1::ParameterRow* m : srp1::rows_of(scope))
      if (m->group() == group) {
        out << (first ? "" : ", ") << m->leaf() << " = " << toml_value(*m, m->get(sc, entry));
        first = false;
      }
    out << " }\n";
  }
}

}  // namespace

FitSummary summarise_fit(const Experiment& e, const CalibrationResult& result) {
  FitSummary s;
  for (const auto& p : e.calibration.parameters) {
    const auto [lo, hi] = prior_interval(p.prior);
    s.prior_low.push_back(lo), s.prior_high.push_back(hi);
  }
  if (result.smc) summarise_smc(e, *result.smc, s);
  else summarise_optimize(e, *result.fit, s);
  return s;
}

void write_calibration_file(const std::filesystem::path& path, const Experiment& e, const CalibrationResult& result,
                            const FitSummary& summary, const RunFacts& facts) {
  write_then_publish(path, [&](const std::filesystem::path& tmp) {
    h5::File f = h5::File::create(tmp);
    const Dims d = write_specs(f, e);
    write_summary(f, d, summary);
    if (result.smc) write_smc(f, d, e, *result.smc);
    else write_optimize(f, d, *result.fit);
    write_provenance(f, e, result, summary, facts);
    f.close();
  });
}

std::filesystem::path preset_path(const std::filesystem::path& file) {
  std::filesystem::path p = file;
  return p.replace_extension(".preset.toml");
}

std::string preset_text(const Experiment& e, const std::vector<double>& estimate, const std::string& source,
                        const std::string& source_sha256) {
  srp1::Scenario sc = e.scenario;
  std::vector<std::string> left_out;
  for (std::size_t i = 0; i < e.calibration.parameters.size(); ++i) {
    const auto& p = e.calibration.parameters[i];
    p.ref.set(sc, estimate[i]);
    if (p.ref.row->scope == srp1::ParameterScope::policy) left_out.push_back(p.path);
  }
  std::ostringstream out;
  const bool fit = e.calibration.method == CalibrationMethod::optimize;
  out << "# loyalsim preset: the market calibrated by " << source << "\n"
      << "# (sha256 " << source_sha256 << "), experiment \"" << e.name << "\", "
      << (fit ? "best fit" : "posterior means") << " written in:\n";
  for (std::size_t i = 0; i < e.calibration.parameters.size(); ++i)
    out << "#   " << e.calibration.parameters[i].path << " = " << exact_number(estimate[i]) << '\n';
  for (const auto& p : left_out) out << "# " << p << " is a policy's parameter: a preset has no policies, so it is left out.\n";
  out << "\n[population]\n";
  write_scope(out, sc, srp1::ParameterScope::population, 0, {"customers", "prospects", "represents"});
  for (std::size_t s = 0; s < sc.segments.size(); ++s) {
    out << "\n[[segments]]\nname = \"" << sc.segments[s].name << "\"\n";
    write_scope(out, sc, srp1::ParameterScope::segment, s, {});
  }
  out << "\n[model]\n";
  write_scope(out, sc, srp1::ParameterScope::model, 0, {});
  out << "\n[wom]\n";
  write_scope(out, sc, srp1::ParameterScope::wom, 0, {});
  return out.str();
}

std::string file_sha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return engine::sha256_hex(s.str());
}

PosteriorDraws read_posterior_draws(const std::filesystem::path& path, const std::string& shown) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw engine::RuntimeFailure(shown + ": no such file");
  PosteriorDraws d;
  try {
    const h5::File f = h5::File::open_read(path);
    if (!f.has_attribute("format") || f.string_attribute("format") != kCalibrationFormat)
      throw engine::RuntimeFailure(shown + " is not a loyalsim calibration file");
    d.parameters = f.read_strings("parameter");
    d.values = f.read_doubles("posterior_draws");
  } catch (const engine::RuntimeFailure& ex) {
    const std::string what = ex.what();
    throw engine::RuntimeFailure(what.find("calibration file") != std::string::npos
                                     ? what
                                     : shown + " is not a readable loyalsim calibration file");
  }
  d.draws = d.parameters.empty() ? 0 : d.values.size() / d.parameters.size();
  d.sha256 = file_sha256(path);
  return d;
}

// ------------------------------------------------------------ tables

namespace {

std::string fmt(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "-" : (v > 0 ? "inf" : "-inf");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string tolerance(const cal::Target& t) {
  switch (t.kind) {
    case cal::TargetKind::value: return fmt(t.value) + " +- " + fmt(t.sd);
    case cal::TargetKind::at_least: return ">= " + fmt(t.low) + " (soft " + fmt(t.soft) + ")";
    case cal::TargetKind::at_most: return "<= " + fmt(t.high) + " (soft " + fmt(t.soft) + ")";
    case cal::TargetKind::range: return "[" + fmt(t.low) + ", " + fmt(t.high) + "] (soft " + fmt(t.soft) + ")";
  }
  return "";
}

std::string describe_target(const Experiment& e, const CalibrationTarget& t) {
  std::string s = kQuantityNames[static_cast<int>(t.quantity)];
  const auto add = [&](const char* key, const std::string& v) { s += std::string(" ") + key + "=" + v; };
  if (t.filter.policy >= 0) add("policy", e.scenario.policies[static_cast<std::size_t>(t.filter.policy)].name);
  if (t.filter.band >= 0) add("band", srp1::kBandNames[static_cast<std::size_t>(t.filter.band)]);
  if (t.filter.fact_class >= 0) add("class", srp1::kFactClassNames[static_cast<std::size_t>(t.filter.fact_class)]);
  if (t.filter.segment >= 0) add("segment", e.scenario.segments[static_cast<std::size_t>(t.filter.segment)].name);
  if (t.filter.months > 0) add("months", std::to_string(t.filter.months));
  return s;
}

void print_row(std::ostream& out, const std::vector<std::pair<std::string, int>>& cells) {
  out << ' ';
  for (const auto& [text, width] : cells) out << ' ' << std::left << std::setw(width) << text;
  out << '\n';
}

// The target, parameter and generation tables of a fit, from its summary
// (print_fit) or from its file (print_calibration_file): one layout.
struct FitTables {
  bool smc = false;
  std::vector<std::string> target_name, target_quantity, target_tolerance, parameter, prior_kind;
  FitSummary s;
  std::vector<double> temperature, ess, acceptance;
  std::vector<std::int64_t> simulations;
};

void print_fit_tables(const FitTables& t, std::ostream& out) {
  const FitSummary& s = t.s;
  const bool smc = t.smc;
  out << "targets\n";
  print_row(out, {{"target", 14}, {"quantity", 44}, {"target value", 26},
                  {smc ? "predictive mean [95%]" : "fit at fresh seeds [95%]", 30}, {"within", 8}});
  for (std::size_t k = 0; k < t.target_name.size(); ++k) {
    const std::string within = smc ? fmt(100 * s.within_share[k]) + "%" : (s.within_share[k] > 0 ? "yes" : "NO");
    print_row(out, {{t.target_name[k], 14}, {t.target_quantity[k], 44}, {t.target_tolerance[k], 26},
                    {fmt(s.predictive_mean[k]) + " [" + fmt(s.predictive_low[k]) + ", " + fmt(s.predictive_high[k]) + "]", 30},
                    {within, 8}});
  }
  out << "\nparameters\n";
  print_row(out, {{"parameter", 36}, {"prior", 12}, {"prior 95%", 24}, {smc ? "posterior mean [95%]" : "best fit", 30},
                  {smc ? "contraction" : "", 11}});
  for (std::size_t p = 0; p < t.parameter.size(); ++p)
    print_row(out, {{t.parameter[p], 36}, {t.prior_kind[p], 12},
                    {"[" + fmt(s.prior_low[p]) + ", " + fmt(s.prior_high[p]) + "]", 24},
                    {smc ? fmt(s.estimate[p]) + " [" + fmt(s.low[p]) + ", " + fmt(s.high[p]) + "]" : fmt(s.estimate[p]), 30},
                    {smc ? fmt(s.contraction[p]) : "", 11}});
  if (!smc) return;
  out << "\ngenerations\n";
  print_row(out, {{"generation", 10}, {"temperature", 12}, {"ESS", 10}, {"acceptance", 10}, {"simulations", 12}});
  for (std::size_t g = 0; g < t.temperature.size(); ++g)
    print_row(out, {{std::to_string(g), 10}, {fmt(t.temperature[g]), 12}, {fmt(t.ess[g]), 10},
                    {fmt(t.acceptance[g]), 10}, {std::to_string(t.simulations[g]), 12}});
}

std::string tolerance_in_file(const std::string& kind, double value, double sd, double low, double high, double soft) {
  cal::Target t;
  t.kind = kind == "at_least" ? cal::TargetKind::at_least
           : kind == "at_most" ? cal::TargetKind::at_most
           : kind == "range"   ? cal::TargetKind::range
                               : cal::TargetKind::value;
  t.value = value, t.sd = sd, t.low = low, t.high = high, t.soft = soft;
  return tolerance(t);
}

}  // namespace

void print_calibration_file(const std::filesystem::path& path, std::ostream& out) {
  const h5::File f = h5::File::open_read(path);
  FitTables t;
  t.smc = f.string_attribute("method") == "abc-smc";
  t.target_name = f.read_strings("target");
  t.parameter = f.read_strings("parameter");
  t.prior_kind = f.read_strings("prior_kind");
  const auto quantity = f.read_strings("target_quantity"), kind = f.read_strings("target_kind");
  const std::vector<std::string> filters[] = {f.read_strings("target_policy"), f.read_strings("target_band"),
                                              f.read_strings("target_fact_class"), f.read_strings("target_segment")};
  const char* filter_names[] = {"policy", "band", "class", "segment"};
  const auto months = f.read_int64("target_months");
  const auto value = f.read_doubles("target_value"), sd = f.read_doubles("target_sd"),
             low = f.read_doubles("target_low"), high = f.read_doubles("target_high"),
             soft = f.read_doubles("target_soft");
  for (std::size_t k = 0; k < t.target_name.size(); ++k) {
    std::string q = quantity[k];
    for (std::size_t i = 0; i < 4; ++i)
      if (!filters[i][k].empty()) q += std::string(" ") + filter_names[i] + "=" + filters[i][k];
    if (months[k] > 0) q += " months=" + std::to_string(months[k]);
    t.target_quantity.push_back(q);
    t.target_tolerance.push_back(tolerance_in_file(kind[k], value[k], sd[k], low[k], high[k], soft[k]));
  }
  FitSummary& s = t.s;
  s.prior_low = f.read_doubles("prior_low"), s.prior_high = f.read_doubles("prior_high");
  s.estimate = f.read_doubles("posterior_mean"), s.low = f.read_doubles("posterior_low");
  s.high = f.read_doubles("posterior_high"), s.contraction = f.read_doubles("contraction");
  s.predictive_mean = f.read_doubles("predictive_mean"), s.predictive_low = f.read_doubles("predictive_low");
  s.predictive_high = f.read_doubles("predictive_high"), s.within_share = f.read_doubles("predictive_within");
  if (t.smc) {
    t.temperature = f.read_doubles("temperature"), t.ess = f.read_doubles("ess");
    t.acceptance = f.read_doubles("acceptance_rate"), t.simulations = f.read_int64("simulations");
  }
  out << "calibration of " << f.string_attribute("experiment_name") << " (" << f.string_attribute("method")
      << "): " << f.string_attribute("stop_reason") << ": " << f.string_attribute("stop_message") << '\n'
      << "  engine " << f.string_attribute("engine_version") << ", seed " << f.uint64_attribute("seed")
      << ", " << static_cast<std::int64_t>(f.number_attribute("simulations_total")) << " simulations of "
      << static_cast<std::int64_t>(f.number_attribute("customers")) << " customers, written "
      << f.string_attribute("created_utc") << "\n\n";
  print_fit_tables(t, out);
  const std::string conflicting = f.string_attribute("conflicting_targets");
  if (!conflicting.empty()) {
    std::string list = conflicting;
    std::replace(list.begin(), list.end(), '\n', ',');
    out << "\ntargets not met together: " << list << '\n';
  }
  out << "\nPosterior draws for a sweep: [sweep] design = \"posterior\", source = \"" << path.filename().string()
      << "\"; the calibrated market as a preset: " << preset_path(path).string() << '\n';
}

void print_fit(const Experiment& e, const CalibrationResult& r, const FitSummary& s, std::ostream& out) {
  const Calibration& c = e.calibration;
  out << "calibration of " << e.name << " (" << kCalibrationMethodNames[static_cast<int>(c.method)] << "): "
      << s.stop_reason << ": " << s.stop_message << "\n\n";
  FitTables t;
  t.smc = r.smc.has_value();
  t.s = s;
  for (const auto& target : c.targets) {
    t.target_name.push_back(target.target.name);
    t.target_quantity.push_back(describe_target(e, target));
    t.target_tolerance.push_back(tolerance(target.target));
  }
  for (const auto& par : c.parameters) {
    t.parameter.push_back(par.path);
    t.prior_kind.push_back(cal::kPriorKindNames[static_cast<int>(par.prior.kind)]);
  }
  if (t.smc)
    for (const auto& gen : r.smc->generations) {
      t.temperature.push_back(gen.temperature), t.ess.push_back(gen.ess);
      t.acceptance.push_back(gen.acceptance_rate), t.simulations.push_back(static_cast<std::int64_t>(gen.simulations));
    }
  print_fit_tables(t, out);
  const bool smc = t.smc;
  const std::uint64_t total = smc ? r.smc->simulations : r.fit->simulations;
  out << "\nsimulations: " << total << " of " << c.max_simulations << " (" << r.simulated << " run, " << r.cached
      << " from the checkpoint)\n";
  if (!s.conflicting.empty()) {
    out << "targets not met together: ";
    for (std::size_t i = 0; i < s.conflicting.size(); ++i) out << (i ? ", " : "") << s.conflicting[i];
    out << " (see the stop message; loosen or drop one, or free more parameters)\n";
  }
}

void print_check(const Experiment& e, const std::vector<TargetCheck>& checks, std::uint32_t replications,
                 std::ostream& out) {
  const Calibration& c = e.calibration;
  out << "check of " << e.name << " at its own parameters (" << replications << " replication(s) of "
      << e.scenario.policies.size() << " policies, seed " << e.seed << ")\n\n";
  print_row(out, {{"target", 14}, {"quantity", 44}, {"target value", 26}, {"simulated +- se", 22}, {"misfit", 8}, {"met", 4}});
  std::size_t met = 0;
  for (std::size_t k = 0; k < checks.size(); ++k) {
    const auto& t = c.targets[k];
    const auto& ch = checks[k];
    met += ch.within;
    print_row(out, {{t.target.name, 14}, {describe_target(e, t), 44}, {tolerance(t.target), 26},
                    {fmt(ch.value) + " +- " + fmt(ch.se), 22}, {fmt(ch.misfit), 8}, {ch.within ? "yes" : "NO", 4}});
  }
  out << '\n' << met << " of " << checks.size() << " targets met (|misfit| <= 2)\n";
}

}  // namespace loyalsim::app
