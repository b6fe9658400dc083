#include "app/calibration_reader.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "app/sweep_reader.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::app {

namespace {

using engine::config::format_number;
using engine::config::Reader;
using engine::config::type_name;
namespace cal = engine::calibration;

constexpr const char* kPriorForms =
    "{ prior = \"uniform\" or \"loguniform\", bounds = [low, high] } or { prior = \"normal\", mean = M, sd = S }";
constexpr const char* kErrorForms = "value = V with sd = S, at_least = B or at_most = B with soft = W, or range = [low, high] with soft = W";
// Normal priors: mean +- this many sd must lie in the parameter's allowed range.
constexpr double kNormalReach = 6.0;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

template <class Names>
std::vector<std::string> as_strings(const Names& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.emplace_back(n);
  return out;
}

template <class T>
std::vector<std::string> names_of(const std::vector<T>& entries) {
  std::vector<std::string> out;
  for (const auto& x : entries) out.push_back(x.name);
  return out;
}

// Two finite numbers [low, high] from an array node, or false with a problem.
bool read_pair(Reader& r, const toml::node* n, const std::string& key, double& low, double& high, const char* allowed) {
  const toml::array* a = n ? n->as_array() : nullptr;
  if (!a || a->size() != 2 || !a->get(0)->is_number() || !a->get(1)->is_number()) {
    r.problem(n, key, "expected two numbers [low, high]" + (a ? std::string() : ", got " + type_name(*n)), allowed);
    return false;
  }
  low = a->get(0)->value<double>().value_or(NAN);
  high = a->get(1)->value<double>().value_or(NAN);
  if (!std::isfinite(low) || !std::isfinite(high) || std::abs(low) > 1e12 || std::abs(high) > 1e12) {
    r.problem(n, key, "the bounds are not usable numbers", "finite numbers at most 1e12 in size");
    return false;
  }
  if (!(low < high)) {
    r.problem(n, key, "low " + format_number(low) + " is not below high " + format_number(high), "low < high");
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- settings

void read_settings(Reader& r, const toml::table& t, Calibration& c) {
  int method = 0;
  c.method = CalibrationMethod::abc_smc;  // the default
  if (r.choice(t, "method", "calibration.method", method, {"abc-smc", "optimize"}))
    c.method = method == 0 ? CalibrationMethod::abc_smc : CalibrationMethod::optimize;
  const bool smc = c.method != CalibrationMethod::optimize;
  const auto count = [&](const char* key, std::int64_t lo, std::int64_t hi, auto& out, bool applies) {
    const std::string path = std::string("calibration.") + key;
    if (!t.get(key)) return false;
    if (!applies) {
      r.problem(t.get(key), path, std::string(key) + " does not apply to method \"" +
                                      kCalibrationMethodNames[static_cast<int>(c.method)] + "\"",
                smc ? "seeds, start_points, fresh_repeats are for optimize" : "particles, draws, round_fill are for abc-smc");
      return false;
    }
    std::int64_t v = static_cast<std::int64_t>(out);
    if (!r.integer(t, key, path, v, lo, hi)) return false;
    out = static_cast<std::remove_reference_t<decltype(out)>>(v);
    return true;
  };
  count("particles", 2, 1'000'000, c.particles, smc);
  count("draws", 1, 1'000'000, c.draws, smc);
  count("round_fill", 0, 10'000'000, c.round_fill, smc);
  count("seeds", 1, 1000, c.seeds, !smc);
  count("start_points", 0, 1'000'000, c.start_points, !smc);
  count("fresh_repeats", 1, 10'000, c.fresh_repeats, !smc);
  c.max_simulations_given = count("max_simulations", 1, 1'000'000'000'000, c.max_simulations, true);
  if (!c.max_simulations_given && !smc) c.max_simulations = kOptimizeDefaultBudget;
  c.replications_given = count("replications", 1, 10'000, c.replications, true);
}

// ---------------------------------------------------------------- parameters

// The prior of one [calibration.parameters] entry, checked against the
// parameter's allowed range.
bool read_prior(Reader& r, const toml::node& spec, const std::string& key, const srp1::ParameterRow& row, cal::Prior& p) {
  const toml::table* t = spec.as_table();
  if (!t) {
    r.problem(&spec, key, "expected a table, got " + type_name(spec), kPriorForms);
    return false;
  }
  int kind = 0;
  if (!t->get("prior")) {
    r.problem(&spec, key + ".prior", "missing", "\"uniform\", \"loguniform\" or \"normal\"");
    return false;
  }
  if (!r.choice(*t, "prior", key + ".prior", kind, {"uniform", "loguniform", "normal"})) return false;
  p.kind = static_cast<cal::PriorKind>(kind);
  if (p.kind == cal::PriorKind::normal) {
    r.only_keys(*t, key, {"prior", "mean", "sd"});
    double mean = NAN, sd = NAN;
    const bool ok = r.real(*t, "mean", key + ".mean", mean, engine::config::any_number()) &
                    r.real(*t, "sd", key + ".sd", sd, engine::config::above(0.0));
    if (!t->get("mean") || !t->get("sd"))
      r.problem(&spec, key, "a normal prior needs mean and sd", kPriorForms);
    if (!ok || !std::isfinite(mean) || !std::isfinite(sd)) return false;
    p.a = mean, p.b = sd;
    if (!row.range.contains(mean - kNormalReach * sd) || !row.range.contains(mean + kNormalReach * sd)) {
      r.problem(&spec, key, "mean +- 6 sd = [" + format_number(mean - kNormalReach * sd) + ", " +
                                format_number(mean + kNormalReach * sd) + "] leaves the parameter's range",
                "mean +- 6 sd inside " + row.range.describe() + "; or a uniform prior");
      return false;
    }
    return true;
  }
  r.only_keys(*t, key, {"prior", "bounds"});
  if (!t->get("bounds")) {
    r.problem(&spec, key + ".bounds", "missing", "bounds = [low, high]");
    return false;
  }
  if (!read_pair(r, t->get("bounds"), key + ".bounds", p.a, p.b, "bounds = [low, high] with low < high")) return false;
  for (const double b : {p.a, p.b})
    if (!row.range.contains(b)) {
      r.problem(t->get("bounds"), key + ".bounds", "bound " + format_number(b) + " is outside the parameter's range",
                "bounds that are each " + row.range.describe());
      return false;
    }
  if (p.kind == cal::PriorKind::loguniform && !(p.a > 0)) {
    r.problem(t->get("bounds"), key + ".bounds", "a loguniform bound must be > 0, got " + format_number(p.a),
              "0 < low < high");
    return false;
  }
  return true;
}

void read_parameters(Reader& r, const toml::table& t, Experiment& e) {
  const toml::table* params = r.table(t, "parameters", "calibration.parameters");
  if (!params || params->empty()) {
    if (!t.get("parameters") || params)
      r.problem(params ? static_cast<const toml::node*>(params) : &t, "calibration.parameters", "no parameters to fit",
                "a [calibration.parameters] table, e.g. \"model.gain\" = { prior = \"uniform\", bounds = [0.2, 1.0] }");
    return;
  }
  for (const auto& [path, node] : in_file_order(*params)) {
    const std::string key = "calibration.parameters.\"" + path + "\"";
    const auto ref = srp1::find_parameter(e.scenario, path);
    if (!ref) {
      report_unknown_path(r, node, key, path, e.scenario);
      continue;
    }
    if (!ref->row->sweepable || ref->row->kind != srp1::ParameterKind::real) {
      r.problem(node, key, path + " cannot be calibrated: it is " +
                               (ref->row->sweepable ? "not a real number" : "the size or length of the run"),
                "a real-valued parameter (model.KEY, wom.KEY, segments.NAME.KEY, policies.NAME.KEY)");
      continue;
    }
    if (path.find_first_of(" \t") != std::string::npos) {
      r.problem(node, key, "the path contains a space, which a coordinate cannot have",
                "rename the policy or segment without spaces to calibrate it");
      continue;
    }
    CalibrationParameter p;
    p.path = path;
    p.ref = *ref;
    if (read_prior(r, *node, key, *ref->row, p.prior)) e.calibration.parameters.push_back(std::move(p));
  }
}

// ---------------------------------------------------------------- targets

// A name from a list (a policy, segment, class or band): its index, or -1
// with a problem naming the ones that exist.
int read_named(Reader& r, const toml::table& t, const char* key, const std::string& path,
               const std::vector<std::string>& names, const char* what) {
  std::string v;
  if (!r.string(t, key, path, v)) return -1;
  const auto it = std::find(names.begin(), names.end(), v);
  if (it == names.end()) {
    r.problem(t.get(key), path, "no " + std::string(what) + " named \"" + v + "\"", "one of: " + joined(names));
    return -1;
  }
  return static_cast<int>(it - names.begin());
}

class TargetReader {
 public:
  TargetReader(Reader& r, const toml::table& t, const std::string& key, const Experiment& e)
      : r_(r), t_(t), key_(key), e_(e) {}

  bool read(CalibrationTarget& out) {
    r_.only_keys(t_, key_, {"name", "quantity", "policy", "band", "fact_class", "segment", "months", "value", "sd",
                            "at_least", "at_most", "range", "soft"});
    int q = 0;
    const std::vector<std::string_view> quantities(std::begin(kQuantityNames), std::end(kQuantityNames));
    if (!t_.get("quantity")) {
      r_.problem(&t_, key_ + ".quantity", "missing", "one of: " + joined(as_strings(quantities)));
      return false;
    }
    if (!r_.choice(t_, "quantity", key_ + ".quantity", q, quantities)) return false;
    out.quantity = static_cast<Quantity>(q);
    const bool filters_ok = read_filters(out);
    return read_error(out.target) && filters_ok;
  }

 private:
  bool read_filters(CalibrationTarget& out) {
    const QuantityFilters allowed = filters_of(out.quantity);
    const std::string qname = kQuantityNames[static_cast<int>(out.quantity)];
    const std::pair<const char*, bool> filters[] = {{"policy", allowed.policy},         {"band", allowed.band},
                                                    {"fact_class", allowed.fact_class}, {"segment", allowed.segment},
                                                    {"months", allowed.months}};
    std::string takes;
    for (const auto& [name, on] : filters)
      if (on) takes += (takes.empty() ? "" : ", ") + std::string(name);
    bool ok = true;
    for (const auto& [name, on] : filters)
      if (t_.get(name) && !on) {
        r_.problem(t_.get(name), key_ + "." + name, std::string(name) + " does not apply to " + qname,
                   "the filters of " + qname + ": " + (takes.empty() ? "none" : takes));
        ok = false;
      }
    const srp1::Scenario& sc = e_.scenario;
    TargetFilter& f = out.filter;
    if (allowed.policy) {
      if (!t_.get("policy")) {
        r_.problem(&t_, key_ + ".policy", "missing: " + qname + " depends on the policy",
                   "one of: " + joined(names_of(sc.policies)));
        ok = false;
      } else if ((f.policy = read_named(r_, t_, "policy", key_ + ".policy", names_of(sc.policies), "policy")) < 0) {
        ok = false;
      }
    }
    if (allowed.segment && t_.get("segment"))
      ok &= (f.segment = read_named(r_, t_, "segment", key_ + ".segment", names_of(sc.segments), "segment")) >= 0;
    if (allowed.band && t_.get("band"))
      ok &= (f.band = read_named(r_, t_, "band", key_ + ".band", as_strings(srp1::kBandNames), "severity band")) >= 0;
    if (allowed.fact_class) ok &= read_fact_class(f);
    if (allowed.months) ok &= read_months(f);
    if ((out.quantity == Quantity::retention_top_vs_bottom || out.quantity == Quantity::churn_hazard_bottom_vs_top) &&
        sc.horizon_months < 12) {
      r_.problem(&t_, key_ + ".quantity", qname + " needs 12 months, the horizon is " + std::to_string(sc.horizon_months),
                 "horizon_months >= 12");
      ok = false;
    }
    return ok;
  }

  bool read_fact_class(TargetFilter& f) {
    // The reference group's index is 1 by definition: not a target.
    const std::vector<std::string> classes(srp1::kFactClassNames.begin() + 1, srp1::kFactClassNames.end());
    if (!t_.get("fact_class")) {
      r_.problem(&t_, key_ + ".fact_class", "missing: loyalty_index compares a class with the reference group",
                 "one of: " + joined(classes));
      return false;
    }
    const int c = read_named(r_, t_, "fact_class", key_ + ".fact_class", classes, "fact class");
    if (c < 0) return false;
    f.fact_class = c + 1;
    if (e_.scenario.horizon_months <= 12) {
      r_.problem(t_.get("fact_class"), key_ + ".fact_class",
                 "loyalty_index follows first failures for 12 months; the horizon is " +
                     std::to_string(e_.scenario.horizon_months),
                 "horizon_months >= 13");
      return false;
    }
    return true;
  }

  bool read_months(TargetFilter& f) {
    const std::uint32_t T = e_.scenario.horizon_months;
    f.months = T;
    std::int64_t m = T;
    if (!t_.get("months")) return true;
    if (!r_.integer(t_, "months", key_ + ".months", m, 1, T)) return false;
    f.months = static_cast<std::uint32_t>(m);
    return true;
  }

  // The declared error: exactly one of value (+ sd), at_least, at_most, range (+ soft).
  bool read_error(cal::Target& target) {
    const bool has_value = t_.get("value"), has_low = t_.get("at_least"), has_high = t_.get("at_most"),
               has_range = t_.get("range");
    const int forms = has_value + has_low + has_high + has_range;
    if (forms != 1) {
      const char* what = forms == 0 ? "no value, bound or range" : (has_value ? "a value together with a bound or range"
                                                                              : "more than one bound or range");
      r_.problem(&t_, key_, what, kErrorForms);
      return false;
    }
    const auto number = [&](const char* key, double& out, const engine::config::Range& range) {
      return r_.real(t_, key, key_ + "." + key, out, range);
    };
    const auto refuse = [&](const char* key, const char* why) {
      if (!t_.get(key)) return true;
      r_.problem(t_.get(key), key_ + "." + key, why, kErrorForms);
      return false;
    };
    using engine::config::above;
    using engine::config::any_number;
    if (has_value) {
      target.kind = cal::TargetKind::value;
      bool ok = refuse("soft", "soft applies to bounds and ranges; a value has sd");
      if (!t_.get("sd")) {
        r_.problem(&t_, key_ + ".sd", "missing: a measured value needs its uncertainty", "sd > 0");
        ok = false;
      }
      return number("value", target.value, any_number()) & number("sd", target.sd, above(0.0)) & ok;
    }
    bool ok = refuse("sd", "sd applies to a value; a bound or range has soft");
    if (!t_.get("soft")) {
      r_.problem(&t_, key_ + ".soft", "missing: the width of the bound's edge", "soft > 0");
      ok = false;
    }
    ok &= number("soft", target.soft, above(0.0));
    if (has_low) target.kind = cal::TargetKind::at_least, ok &= number("at_least", target.low, any_number());
    if (has_high) target.kind = cal::TargetKind::at_most, ok &= number("at_most", target.high, any_number());
    if (has_range) {
      target.kind = cal::TargetKind::range;
      ok &= read_pair(r_, t_.get("range"), key_ + ".range", target.low, target.high, "range = [low, high] with low < high");
    }
    return ok;
  }

  Reader& r_;
  const toml::table& t_;
  std::string key_;
  const Experiment& e_;
};

void read_targets(Reader& r, const toml::table& t, Experiment& e) {
  const toml::array* targets = r.table_array(t, "targets", "calibration.targets");
  if (!targets || targets->empty()) {
    if (!t.get("targets") || targets)
      r.problem(targets ? static_cast<const toml::node*>(targets) : &t, "calibration.targets", "no targets",
                "one [[calibration.targets]] table per target");
    return;
  }
  std::map<std::string, std::int64_t> first_line;
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const toml::table& tt = *targets->get(i)->as_table();
    CalibrationTarget target;
    std::string key = "calibration.targets[" + std::to_string(i) + "]";
    if (!r.string(tt, "name", key + ".name", target.target.name, true)) continue;
    if (target.target.name.empty()) {
      r.problem(tt.get("name"), key + ".name", "the name is empty", "a non-empty, unique name");
      continue;
    }
    if (const auto [it, fresh] = first_line.emplace(target.target.name, engine::config::line_of(tt.get("name"))); !fresh) {
      r.problem(tt.get("name"), key + ".name",
                "duplicate name \"" + target.target.name + "\" (first used on line " + std::to_string(it->second) + ")",
                "unique names");
      continue;
    }
    key = "calibration.targets." + target.target.name;
    if (TargetReader(r, tt, key, e).read(target)) e.calibration.targets.push_back(std::move(target));
  }
}

// The budget must cover what the method does before it can stop: the prior
// sample (abc-smc), the start batch and the fresh re-simulation (optimize).
void check_budget(Reader& r, const toml::table& t, const Calibration& c) {
  const toml::node* where = t.get("max_simulations") ? t.get("max_simulations") : &t;
  if (c.method == CalibrationMethod::abc_smc && c.max_simulations < c.particles)
    r.problem(where, "calibration.max_simulations",
              std::to_string(c.max_simulations) + " simulations cannot draw the " + std::to_string(c.particles) +
                  " particles of the prior sample",
              "max_simulations >= particles (a calibration takes ~10-20 x particles)");
  if (c.method != CalibrationMethod::optimize || c.parameters.empty()) return;
  const std::uint64_t start = c.start_points ? c.start_points : 10 * c.parameters.size();
  const std::uint64_t needed = (start + c.fresh_repeats) * c.seeds;
  if (c.max_simulations < needed)
    r.problem(where, "calibration.max_simulations",
              std::to_string(c.max_simulations) + " simulations do not cover the start batch and the fresh re-simulation (" +
                  std::to_string(needed) + ")",
              "max_simulations >= (start_points + fresh_repeats) x seeds, and more for the search");
}

}  // namespace

QuantityFilters filters_of(Quantity q) {
  QuantityFilters f;
  switch (q) {
    case Quantity::complaint_rate: f.band = true; break;
    case Quantity::loyalty_index: f.fact_class = f.band = true; break;
    case Quantity::monthly_churn: f.segment = true; break;
    case Quantity::retention:
    case Quantity::problem_share: f.months = true; break;
    case Quantity::spend_ratio: f.policy = false, f.segment = true; break;
    default: break;
  }
  return f;
}

void read_calibration(Reader& r, const toml::table& t, Experiment& e) {
  r.only_keys(t, "calibration", {"method", "particles", "max_simulations", "replications", "draws", "round_fill",
                                 "seeds", "start_points", "fresh_repeats", "parameters", "targets"});
  read_settings(r, t, e.calibration);
  read_parameters(r, t, e);
  read_targets(r, t, e);
  check_budget(r, t, e.calibration);
}

}  // namespace loyalsim::app
