#include "app/experiment.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <functional>
#include <tuple>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "engine/config.hpp"
#include "engine/designs.hpp"

namespace loyalsim::app {

namespace {

using engine::config::above;
using engine::config::any_number;
using engine::config::at_least;
using engine::config::closed;
using engine::config::open;
using engine::config::Range;
using engine::config::Reader;

// A real-valued parameter: its key, where it lives, and what is allowed.
template <class T>
struct RealField {
  std::string_view key;
  double T::*field;
  Range range;
};

template <class T, std::size_t K>
void read_reals(Reader& r, const toml::table& t, const std::string& prefix, T& out,
                const std::array<RealField<T>, K>& fields) {
  for (const auto& f : fields) r.real(t, f.key, prefix + "." + std::string(f.key), out.*(f.field), f.range);
}

const std::array<RealField<srp1::Segment>, 9> kSegmentFields = {{
    {"share", &srp1::Segment::share, above(0)},
    {"base_spend", &srp1::Segment::base_spend, at_least(0)},
    {"churn_hazard", &srp1::Segment::churn_hazard, at_least(0)},
    {"failure_rate", &srp1::Segment::failure_rate, at_least(0)},
    {"satisfaction_mean", &srp1::Segment::satisfaction_mean, open(0, 1)},
    {"satisfaction_sd", &srp1::Segment::satisfaction_sd, at_least(0)},
    {"complaint_bias", &srp1::Segment::complaint_bias, any_number()},
    {"wom_rate", &srp1::Segment::wom_rate, at_least(0)},
    {"recovery_responsiveness", &srp1::Segment::recovery_responsiveness, at_least(0)},
}};

const std::array<RealField<srp1::ModelParams>, 34> kModelFields = {{
    {"satisfaction_ref", &srp1::ModelParams::satisfaction_ref, closed(0, 1)},
    {"relaxation", &srp1::ModelParams::relaxation, closed(0, 1)},
    {"severity_a", &srp1::ModelParams::severity_a, above(0)},
    {"severity_b", &srp1::ModelParams::severity_b, above(0)},
    {"major_threshold", &srp1::ModelParams::major_threshold, closed(0, 1)},
    {"loss_weight", &srp1::ModelParams::loss_weight, at_least(0)},
    {"complaint_intercept", &srp1::ModelParams::complaint_intercept, any_number()},
    {"complaint_severity", &srp1::ModelParams::complaint_severity, any_number()},
    {"complaint_blame", &srp1::ModelParams::complaint_blame, any_number()},
    {"complaint_after_bad", &srp1::ModelParams::complaint_after_bad, any_number()},
    {"speed_scale_days", &srp1::ModelParams::speed_scale_days, above(0)},
    {"contact_elasticity", &srp1::ModelParams::contact_elasticity, at_least(0)},
    {"quick_days", &srp1::ModelParams::quick_days, at_least(0)},
    {"over_compensation_penalty", &srp1::ModelParams::over_compensation_penalty, at_least(0)},
    {"expectation_base", &srp1::ModelParams::expectation_base, any_number()},
    {"expectation_severity", &srp1::ModelParams::expectation_severity, any_number()},
    {"expectation_repeat", &srp1::ModelParams::expectation_repeat, any_number()},
    {"disconfirmation_sd", &srp1::ModelParams::disconfirmation_sd, at_least(0)},
    {"gain", &srp1::ModelParams::gain, at_least(0)},
    {"double_deviation", &srp1::ModelParams::double_deviation, at_least(0)},
    {"repeat_damping", &srp1::ModelParams::repeat_damping, closed(0, 1)},
    {"stability_penalty", &srp1::ModelParams::stability_penalty, closed(0, 1)},
    {"surplus_decay", &srp1::ModelParams::surplus_decay, closed(0, 1)},
    // exp(churn_satisfaction * (ref - S)) must stay finite: |x| <= 100 keeps it below e^100.
    {"churn_satisfaction", &srp1::ModelParams::churn_satisfaction, closed(-100, 100)},
    {"churn_tenure", &srp1::ModelParams::churn_tenure, at_least(0)},
    {"spike_silent", &srp1::ModelParams::spike_silent, at_least(0)},
    {"spike_unresolved", &srp1::ModelParams::spike_unresolved, at_least(0)},
    {"spike_recovered", &srp1::ModelParams::spike_recovered, at_least(0)},
    {"spike_decay", &srp1::ModelParams::spike_decay, closed(0, 1)},
    {"spend_slope", &srp1::ModelParams::spend_slope, any_number()},
    {"margin", &srp1::ModelParams::margin, any_number()},
    {"loss_value_months", &srp1::ModelParams::loss_value_months, at_least(0)},
    {"fix_effect", &srp1::ModelParams::fix_effect, at_least(0)},
    {"quality_floor", &srp1::ModelParams::quality_floor, {0, 1, true, false}},
}};

const std::array<RealField<srp1::WomParams>, 12> kWomFields = {{
    {"rewire", &srp1::WomParams::rewire, closed(0, 1)},
    {"ambient_positive", &srp1::WomParams::ambient_positive, at_least(0)},
    {"ambient_negative", &srp1::WomParams::ambient_negative, at_least(0)},
    {"silent", &srp1::WomParams::silent, at_least(0)},
    {"complainant_satisfied", &srp1::WomParams::complainant_satisfied, at_least(0)},
    {"complainant_dissatisfied", &srp1::WomParams::complainant_dissatisfied, at_least(0)},
    {"churned", &srp1::WomParams::churned, at_least(0)},
    {"advertising", &srp1::WomParams::advertising, closed(0, 1)},
    {"strong_tie_effect", &srp1::WomParams::strong_tie_effect, closed(0, 1)},
    {"weak_tie_effect", &srp1::WomParams::weak_tie_effect, closed(0, 1)},
    {"negative_weight", &srp1::WomParams::negative_weight, at_least(0)},
    {"deterrence", &srp1::WomParams::deterrence, {0, 1, false, true}},
}};

const std::array<RealField<srp1::Policy>, 11> kPolicyFields = {{
    {"response_days", &srp1::Policy::response_days, closed(0, 3650)},
    {"first_contact_resolution", &srp1::Policy::first_contact_resolution, {0, 1, true, false}},
    {"apology", &srp1::Policy::apology, closed(0, 1)},
    {"empathy", &srp1::Policy::empathy, closed(0, 1)},
    {"explanation", &srp1::Policy::explanation, closed(0, 1)},
    {"follow_up", &srp1::Policy::follow_up, closed(0, 1)},
    {"gesture", &srp1::Policy::gesture, closed(0, 1)},
    {"gesture_cost", &srp1::Policy::gesture_cost, at_least(0)},
    {"compensation", &srp1::Policy::compensation, closed(0, 1e6)},
    {"root_cause_fix", &srp1::Policy::root_cause_fix, closed(0, 1)},
    {"cost_per_contact", &srp1::Policy::cost_per_contact, at_least(0)},
}};

// Key lists for unknown-key checks, in file order of EXPERIMENT.md.
template <class T, std::size_t K>
std::vector<std::string_view> keys_of(const std::array<RealField<T>, K>& fields,
                                      std::initializer_list<std::string_view> extra) {
  std::vector<std::string_view> keys(extra);
  for (const auto& f : fields) keys.push_back(f.key);
  return keys;
}

// A small table of named weights, e.g. cause_share = { product = 0.4, ... }.
template <std::size_t K>
void read_weights(Reader& r, const toml::table& parent, std::string_view key, const std::string& path,
                  const std::array<std::string_view, K>& names, std::array<double*, K> out, bool need_positive_sum) {
  const toml::table* t = r.table(parent, key, path);
  if (!t) return;
  r.only_keys(*t, path, std::vector<std::string_view>(names.begin(), names.end()));
  double sum = 0;
  for (std::size_t i = 0; i < K; ++i) {
    r.real(*t, names[i], path + "." + std::string(names[i]), *out[i], at_least(0));
    sum += *out[i];
  }
  if (need_positive_sum && !(sum > 0))
    r.problem(parent.get(key), path, "the weights sum to 0", "non-negative weights with a positive sum");
}

std::string entry_path(const char* array, const std::string& name, std::size_t index) {
  return name.empty() ? std::string(array) + "[" + std::to_string(index) + "]" : std::string(array) + "." + name;
}

// A name that must identify an entry: non-empty, unique in its array.
bool read_name(Reader& r, const toml::table& t, const std::string& fallback_path, std::string& out,
               std::set<std::string>& seen, std::map<std::string, std::int64_t>& lines) {
  if (!r.string(t, "name", fallback_path + ".name", out, true)) return false;
  if (out.empty()) {
    r.problem(t.get("name"), fallback_path + ".name", "the name is empty", "a non-empty string");
    return false;
  }
  if (!seen.insert(out).second) {
    r.problem(t.get("name"), fallback_path + ".name",
              "duplicate name \"" + out + "\" (first used on line " + std::to_string(lines[out]) + ")", "unique names");
    return false;
  }
  lines[out] = engine::config::line_of(t.get("name"));
  return true;
}

// The entries of an array of named tables ([[segments]], [[policies]]): each
// named uniquely, its keys checked, its numbers read into a default T.
template <class T, std::size_t K>
std::vector<T> read_named_entries(Reader& r, const toml::array& entries, const char* array,
                                  const std::array<RealField<T>, K>& fields) {
  std::vector<T> out;
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> lines;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const toml::table& t = *entries.get(i)->as_table();
    T entry;
    std::string name;
    read_name(r, t, entry_path(array, "", i), name, seen, lines);
    entry.name = name;
    const std::string path = entry_path(array, name, i);
    r.only_keys(t, path, keys_of(fields, {"name"}));
    read_reals(r, t, path, entry, fields);
    out.push_back(entry);
  }
  return out;
}

// ---- [sweep] ----

using SweepTarget = ParameterTarget;

}  // namespace

// Built from the same field tables as the loader, so the two cannot disagree.
std::map<std::string, ParameterTarget> parameter_targets(const srp1::Scenario& sc) {
  std::map<std::string, SweepTarget> out;
  auto real = [&](std::string path, Range range, std::function<void(srp1::Scenario&, double)> apply) {
    out[std::move(path)] = {SweepTarget::real, range, {}, std::move(apply)};
  };
  for (const auto& f : kModelFields)
    real("model." + std::string(f.key), f.range, [m = f.field](srp1::Scenario& s, double v) { s.model.*m = v; });
  real("model.discount_rate_annual", {-1, 100, true, false},
       [](srp1::Scenario& s, double v) { s.model.discount_rate_annual = v; });
  for (int c = 0; c < srp1::kCauses; ++c) {
    const std::string cause = srp1::kCauseNames[c];
    real("model.cause_share." + cause, at_least(0), [c](srp1::Scenario& s, double v) { s.model.cause_share[c] = v; });
    real("model.cause_loss." + cause, at_least(0), [c](srp1::Scenario& s, double v) { s.model.cause_loss[c] = v; });
  }
  for (auto [key, field] : {std::pair{"distributive", &srp1::JusticeWeights::distributive},
                            std::pair{"interactional", &srp1::JusticeWeights::interactional},
                            std::pair{"procedural", &srp1::JusticeWeights::procedural}})
    real(std::string("model.justice_weights.") + key, at_least(0),
         [f = field](srp1::Scenario& s, double v) { s.model.justice_weights.*f = v; });
  for (auto [key, field] : {std::pair{"apology", &srp1::InteractionalWeights::apology},
                            std::pair{"empathy", &srp1::InteractionalWeights::empathy},
                            std::pair{"explanation", &srp1::InteractionalWeights::explanation},
                            std::pair{"follow_up", &srp1::InteractionalWeights::follow_up},
                            std::pair{"gesture", &srp1::InteractionalWeights::gesture}})
    real(std::string("model.interactional_weights.") + key, at_least(0),
         [f = field](srp1::Scenario& s, double v) { s.model.interactional_weights.*f = v; });
  out["model.paradox_scope"] = {SweepTarget::choice, {}, {srp1::kParadoxScopeNames.begin(), srp1::kParadoxScopeNames.end()},
                                [](srp1::Scenario& s, double v) { s.model.paradox_scope = static_cast<srp1::ParadoxScope>(v); }};
  for (const auto& f : kWomFields)
    real("wom." + std::string(f.key), f.range, [m = f.field](srp1::Scenario& s, double v) { s.wom.*m = v; });
  for (auto [key, field] : {std::pair{"strong_ties", &srp1::WomParams::strong_ties},
                            std::pair{"weak_ties", &srp1::WomParams::weak_ties}})
    out[std::string("wom.") + key] = {SweepTarget::even_integer, closed(0, 64), {},
                                      [f = field](srp1::Scenario& s, double v) { s.wom.*f = static_cast<std::uint32_t>(v); }};
  for (std::size_t i = 0; i < sc.segments.size(); ++i)
    for (const auto& f : kSegmentFields)
      real("segments." + sc.segments[i].name + "." + std::string(f.key), f.range,
           [i, m = f.field](srp1::Scenario& s, double v) { s.segments[i].*m = v; });
  for (std::size_t i = 0; i < sc.policies.size(); ++i)
    for (const auto& f : kPolicyFields)
      real("policies." + sc.policies[i].name + "." + std::string(f.key), f.range,
           [i, m = f.field](srp1::Scenario& s, double v) { s.policies[i].*m = v; });
  return out;
}

namespace {

// Reads one [sweep.parameters] entry into `p`; false (with problems) if it is unusable.
bool read_sweep_parameter(Reader& r, const toml::node& spec, const SweepTarget& target, SweepParameter& p) {
  const std::string& path = p.path;
  const std::string key = "sweep.parameters.\"" + path + "\"";
  const std::string allowed_real = target.range.describe();
  const std::string kForms = "[low, high], { range = [low, high], scale = \"log\" } or { values = [...] }";
  auto numbers = [&](const toml::array& a, std::vector<double>& out) {
    for (const auto& n : a) {
      const auto v = n.value<double>();
      if (!n.is_number() || !v) {
        r.problem(&n, key, "expected a number, got " + engine::config::type_name(n), allowed_real);
        return false;
      }
      out.push_back(*v);
    }
    return true;
  };
  auto check_value = [&](const toml::node& where, double v) {
    if (target.type == SweepTarget::even_integer) {
      // Range first: casting a double beyond int64 (1e20, inf) is undefined behaviour.
      if (v != std::floor(v) || !target.range.contains(v) || static_cast<std::int64_t>(v) % 2 != 0) {
        r.problem(&where, key, "value " + engine::config::format_number(v) + " is not allowed", "even integers in [0, 64]");
        return false;
      }
    } else if (!std::isfinite(v) || std::abs(v) > 1e12) {
      r.problem(&where, key, "value " + engine::config::format_number(v) + " is not a usable number", target.range.usable());
      return false;
    } else if (!target.range.contains(v)) {
      r.problem(&where, key, "value " + engine::config::format_number(v) + " is out of range", allowed_real);
      return false;
    }
    return true;
  };
  auto read_choices = [&](const toml::array& a) {
    std::set<std::string> seen;
    for (const auto& n : a) {
      const auto* s = n.as_string();
      std::string allowed;
      for (const auto& c : target.choices) allowed += (allowed.empty() ? "" : ", ") + c;
      if (!s) {
        r.problem(&n, key, "expected a name, got " + engine::config::type_name(n), "one of " + allowed);
        return false;
      }
      const auto it = std::find(target.choices.begin(), target.choices.end(), s->get());
      if (it == target.choices.end()) {
        r.problem(&n, key, "unknown choice \"" + s->get() + "\"", "one of " + allowed);
        return false;
      }
      if (!seen.insert(s->get()).second) {
        r.problem(&n, key, "\"" + s->get() + "\" is listed twice", "each choice once");
        return false;
      }
      p.choices.push_back(s->get());
    }
    p.kind = SweepKind::choices;
    return !p.choices.empty() || (r.problem(&spec, key, "no choices", "a list of at least one name"), false);
  };
  auto read_range = [&](const toml::array& a, bool log) {
    std::vector<double> lh;
    if (!numbers(a, lh)) return false;
    if (lh.size() != 2 || !(lh[0] < lh[1])) {
      r.problem(&a, key, "a range needs two numbers, low < high", kForms);
      return false;
    }
    if (!check_value(*a.get(0), lh[0]) || !check_value(*a.get(1), lh[1])) return false;
    if (log && !(lh[0] > 0)) {
      r.problem(&a, key, "a log range must be positive", "0 < low < high");
      return false;
    }
    p.low = lh[0], p.high = lh[1];
    p.kind = log ? SweepKind::log_range : SweepKind::range;
    if (target.type == SweepTarget::even_integer) {  // a range of tie counts: every even count in it
      p.kind = SweepKind::values;
      for (double v = lh[0]; v <= lh[1]; v += 2) p.values.push_back(v);
    }
    return true;
  };
  auto read_values = [&](const toml::array& a) {
    std::set<double> seen;
    if (!numbers(a, p.values)) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!check_value(*a.get(i), p.values[i])) return false;
      if (!seen.insert(p.values[i]).second) {
        r.problem(a.get(i), key, "value " + engine::config::format_number(p.values[i]) + " is listed twice", "distinct values");
        return false;
      }
    }
    p.kind = SweepKind::values;
    return !p.values.empty() || (r.problem(&spec, key, "no values", "a list of at least one number"), false);
  };

  p.integer = target.type == SweepTarget::even_integer;
  p.apply = target.apply;
  if (target.type == SweepTarget::choice) {
    std::string allowed;
    for (const auto& c : target.choices) allowed += (allowed.empty() ? "[\"" : "\", \"") + c;
    allowed += "\"] or a part of that list";
    const toml::array* list = spec.as_array();
    if (const auto* t = spec.as_table(); t && t->get("values") && t->get("values")->is_array()) {
      r.only_keys(*t, key, {"values"});
      list = t->get("values")->as_array();
    }
    if (list) {
      if (!read_choices(*list)) return false;
      // The point's value is an index into the listed choices; the target takes its own index.
      std::vector<double> own;
      for (const auto& c : p.choices)
        own.push_back(static_cast<double>(std::find(target.choices.begin(), target.choices.end(), c) - target.choices.begin()));
      p.apply = [own, set = target.apply](srp1::Scenario& sc, double listed) { set(sc, own[static_cast<std::size_t>(listed)]); };
      return true;
    }
    r.problem(&spec, key, "expected a list of choices, got " + engine::config::type_name(spec), allowed);
    return false;
  }
  if (const auto* a = spec.as_array()) {
    if (!a->empty() && a->get(0)->is_string()) {
      r.problem(&spec, key, "a list of names, but " + path + " is a number", kForms);
      return false;
    }
    return read_range(*a, false);
  }
  if (const auto* t = spec.as_table()) {
    r.only_keys(*t, key, {"range", "scale", "values"});
    const bool has_range = t->get("range"), has_values = t->get("values");
    if (has_range == has_values) {
      r.problem(&spec, key, has_range ? "both range and values" : "neither range nor values", kForms);
      return false;
    }
    int scale = 0;
    r.choice(*t, "scale", key + ".scale", scale, {"linear", "log"});
    const toml::node* list = t->get(has_range ? "range" : "values");
    if (!list->is_array()) {
      r.problem(list, key, "expected an array, got " + engine::config::type_name(*list), kForms);
      return false;
    }
    if (has_values && t->get("scale")) r.problem(t->get("scale"), key + ".scale", "scale applies to ranges only", kForms);
    return has_range ? read_range(*list->as_array(), scale == 1) : read_values(*list->as_array());
  }
  r.problem(&spec, key, "expected a range or a list, got " + engine::config::type_name(spec), kForms);
  return false;
}

// A weight group that needs a positive sum (model.cause_share, justice and
// interactional weights) can reach 0 only through a sweep: checked per point.
std::optional<std::string> zero_weight_group(const srp1::Scenario& sc) {
  const auto& m = sc.model;
  double cause = 0;
  for (const double w : m.cause_share) cause += w;
  const auto& jw = m.justice_weights;
  const auto& iw = m.interactional_weights;
  if (!(cause > 0)) return "model.cause_share";
  if (!(jw.distributive + jw.interactional + jw.procedural > 0)) return "model.justice_weights";
  if (!(iw.apology + iw.empathy + iw.explanation + iw.follow_up + iw.gesture > 0)) return "model.interactional_weights";
  return std::nullopt;
}

constexpr std::uint64_t kMaxSweepPoints = 1'000'000;

template <class T>
std::vector<std::string> entry_names(const std::vector<T>& entries) {
  std::vector<std::string> out;
  for (const auto& x : entries) out.push_back(x.name);
  return out;
}

void read_sweep(Reader& r, const toml::table& t, Experiment& e) {
  Sweep& s = e.sweep;
  r.only_keys(t, "sweep", {"design", "points", "levels", "parameters"});
  int design = 0;
  if (!t.get("design")) r.problem(&t, "sweep.design", "missing", "\"grid\", \"random\", \"lhs\" or \"sobol\"");
  if (!r.choice(t, "design", "sweep.design", design, {"grid", "random", "lhs", "sobol"})) return;
  s.design = static_cast<SweepDesign>(design + 1);

  std::int64_t v = 0;
  if (s.design == SweepDesign::grid) {
    if (t.get("points"))
      r.problem(t.get("points"), "sweep.points", "a grid has as many points as its levels make",
                "no points for a grid; set levels (for ranges) instead");
    v = s.levels;
    if (r.integer(t, "levels", "sweep.levels", v, 2, 1000)) s.levels = static_cast<std::uint32_t>(v);
  } else {
    if (t.get("levels")) r.problem(t.get("levels"), "sweep.levels", "levels apply to grids only", "remove levels, or design = \"grid\"");
    if (r.integer(t, "points", "sweep.points", v, 1, kMaxSweepPoints, true)) {
      s.base_points = static_cast<std::uint32_t>(v);
      if (s.design == SweepDesign::sobol && (v < 2 || (v & (v - 1)) != 0))
        r.problem(t.get("points"), "sweep.points", "sobol needs a power of two, got " + std::to_string(v),
                  "2, 4, 8, ..., e.g. " + std::to_string(std::bit_ceil(static_cast<std::uint64_t>(std::max<std::int64_t>(v, 2)))));
    }
  }

  const toml::table* params = r.table(t, "parameters", "sweep.parameters");
  if (!params || params->empty()) {
    if (!t.get("parameters") || (params && params->empty()))
      r.problem(params ? static_cast<const toml::node*>(params) : &t, "sweep.parameters", "no parameters to sweep",
                "a [sweep.parameters] table, e.g. \"model.gain\" = [0.2, 1.0]");
    return;
  }
  // Parameters in file order (toml++ tables are sorted by key).
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : *params) entries.emplace_back(std::string(key.str()), &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });

  const auto targets = parameter_targets(e.scenario);
  std::vector<std::string_view> known;
  for (const auto& [path, target] : targets) known.push_back(path);
  for (const auto& [path, node] : entries) {
    const std::string where = "sweep.parameters.\"" + path + "\"";
    const auto it = targets.find(path);
    if (it == targets.end()) {
      std::string what = "\"" + path + "\" names no parameter of this experiment";
      if (const auto guess = engine::config::suggest(path, known)) what += " (did you mean \"" + *guess + "\"?)";
      std::string allowed = "model.KEY, wom.KEY, segments.NAME.KEY or policies.NAME.KEY of a real or choice parameter";
      // A policy or segment that does not exist: say which ones do.
      for (const auto& [array, names] : {std::pair{std::string("policies."), entry_names(e.scenario.policies)},
                                         std::pair{std::string("segments."), entry_names(e.scenario.segments)}}) {
        if (path.rfind(array, 0) != 0) continue;
        const bool named = std::any_of(names.begin(), names.end(),
                                       [&p = path, &a = array](const std::string& n) { return p.rfind(a + n + ".", 0) == 0; });
        if (named) continue;
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        allowed = array + "NAME.KEY with NAME one of: " + list;
      }
      r.problem(node, where, what, allowed);
      continue;
    }
    if (path.find_first_of(" \t") != std::string::npos) {
      r.problem(node, where, "the path contains a space, which a results coordinate cannot have",
                "rename the policy or segment without spaces to sweep it");
      continue;
    }
    SweepParameter p;
    p.path = path;
    if (read_sweep_parameter(r, *node, it->second, p)) s.parameters.push_back(std::move(p));
  }
  if (s.design == SweepDesign::sobol && 2 * entries.size() > engine::design::kSobolMaxDims)
    r.problem(params, "sweep.parameters", std::to_string(entries.size()) + " parameters",
              "at most " + std::to_string(engine::design::kSobolMaxDims / 2) + " for a Sobol' design");
  if (!r.ok()) return;

  const std::uint64_t P = Sweep::points_of(s.design, s.base_points, s.levels, s.parameters);
  if (P > kMaxSweepPoints) {
    r.problem(&t, "sweep", "the design has " + std::to_string(P) + " points",
              "at most " + std::to_string(kMaxSweepPoints) + " points; fewer levels, points or parameters");
    return;
  }
  build_sweep_points(s, e.seed);
  const bool sweeps_weights = std::any_of(s.parameters.begin(), s.parameters.end(), [](const SweepParameter& p) {
    return p.path.rfind("model.cause_share.", 0) == 0 || p.path.rfind("model.justice_weights.", 0) == 0 ||
           p.path.rfind("model.interactional_weights.", 0) == 0;
  });
  for (std::uint64_t pt = 0; sweeps_weights && pt < P; ++pt)
    if (const auto group = zero_weight_group(s.scenario_at(e.scenario, pt))) {
      r.problem(params, "sweep.parameters", "at point " + std::to_string(pt) + " the weights of " + *group + " sum to 0",
                "ranges that keep a positive sum");
      return;
    }
}

}  // namespace

Experiment parse_experiment(std::string_view text, const std::filesystem::path& source_name) {
  Reader r(source_name.string());
  Experiment e;
  e.source = source_name;
  e.toml_text = std::string(text);
  auto& sc = e.scenario;
  const auto doc = r.parse(text);
  if (!doc) r.throw_if_problems();
  const toml::table& root = *doc;

  r.only_keys(root, "", {"name", "description", "seed", "replications", "horizon_months", "population",
                          "segments", "model", "wom", "policies", "output", "sweep"});

  // The name is stored in the results and names the default results file,
  // so it must be usable as one file name on every platform we write to.
  if (r.string(root, "name", "name", e.name, true)) {
    constexpr const char* kAllowed = "a non-empty name without /, \\ or NUL characters, not . or ..";
    if (e.name.empty()) {
      r.problem(root.get("name"), "name", "the name is empty", kAllowed);
    } else if (e.name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos || e.name == "." ||
               e.name == "..") {
      std::string shown;
      for (const char c : e.name) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
      r.problem(root.get("name"), "name", "\"" + shown + "\" cannot be used in a file name", kAllowed);
    }
  }
  r.string(root, "description", "description", e.description);
  {
    // TOML integers are signed 64-bit: seeds above 2^63-1 cannot be written, so the range is [0, 2^63-1].
    std::int64_t seed = 0;
    if (r.integer(root, "seed", "seed", seed, 0, std::numeric_limits<std::int64_t>::max(), true))
      e.seed = static_cast<std::uint64_t>(seed);
  }
  std::int64_t v = e.replications;
  if (r.integer(root, "replications", "replications", v, 1, 100'000)) e.replications = static_cast<std::uint32_t>(v);
  v = sc.horizon_months;
  if (r.integer(root, "horizon_months", "horizon_months", v, 1, 1200)) sc.horizon_months = static_cast<std::uint32_t>(v);

  if (const toml::table* t = r.table(root, "population", "population")) {
    r.only_keys(*t, "population", {"customers", "prospects", "initial_tenure_max"});
    constexpr std::int64_t kMaxNodes = 2'147'483'647;  // node ids are 32-bit
    std::int64_t customers = static_cast<std::int64_t>(sc.population.customers);
    std::int64_t prospects = static_cast<std::int64_t>(sc.population.prospects);
    r.integer(*t, "customers", "population.customers", customers, 1, kMaxNodes);
    r.integer(*t, "prospects", "population.prospects", prospects, 0, kMaxNodes);
    if (customers + prospects > kMaxNodes)
      r.problem(t, "population", "customers + prospects = " + std::to_string(customers + prospects) + " is too many",
                "at most 2147483647 nodes in all");
    sc.population.customers = static_cast<std::uint64_t>(customers);
    sc.population.prospects = static_cast<std::uint64_t>(prospects);
    v = sc.population.initial_tenure_max;
    if (r.integer(*t, "initial_tenure_max", "population.initial_tenure_max", v, 1, 1200))
      sc.population.initial_tenure_max = static_cast<std::uint32_t>(v);
  }

  if (const toml::array* segs = r.table_array(root, "segments", "segments")) {
    sc.segments.clear();
    if (segs->empty())
      r.problem(segs, "segments", "no segments",
                "at least one [[segments]] table, or no segments key for one default segment");
    if (segs->size() > 255) r.problem(segs, "segments", std::to_string(segs->size()) + " segments", "at most 255");
    sc.segments = read_named_entries(r, *segs, "segments", kSegmentFields);
  }

  if (const toml::table* t = r.table(root, "model", "model")) {
    auto& m = sc.model;
    r.only_keys(*t, "model",
              keys_of(kModelFields, {"paradox_scope", "cause_share", "cause_loss", "justice_weights",
                                     "interactional_weights", "discount_rate_annual"}));
    int scope = static_cast<int>(m.paradox_scope);
    if (r.choice(*t, "paradox_scope", "model.paradox_scope", scope, {"none", "satisfaction_only", "behavioural"}))
      m.paradox_scope = static_cast<srp1::ParadoxScope>(scope);
    read_reals(r, *t, "model", m, kModelFields);
    r.real(*t, "discount_rate_annual", "model.discount_rate_annual", m.discount_rate_annual, {-1, 100, true, false});
    const std::array<std::string_view, 4> causes = {"product", "staff", "process", "customer"};
    read_weights<4>(r, *t, "cause_share", "model.cause_share", causes,
                    {&m.cause_share[0], &m.cause_share[1], &m.cause_share[2], &m.cause_share[3]}, true);
    read_weights<4>(r, *t, "cause_loss", "model.cause_loss", causes,
                    {&m.cause_loss[0], &m.cause_loss[1], &m.cause_loss[2], &m.cause_loss[3]}, false);
    auto& jw = m.justice_weights;
    read_weights<3>(r, *t, "justice_weights", "model.justice_weights", {"distributive", "interactional", "procedural"},
                    {&jw.distributive, &jw.interactional, &jw.procedural}, true);
    auto& iw = m.interactional_weights;
    read_weights<5>(r, *t, "interactional_weights", "model.interactional_weights",
                    {"apology", "empathy", "explanation", "follow_up", "gesture"},
                    {&iw.apology, &iw.empathy, &iw.explanation, &iw.follow_up, &iw.gesture}, true);
  }

  if (const toml::table* t = r.table(root, "wom", "wom")) {
    r.only_keys(*t, "wom", keys_of(kWomFields, {"strong_ties", "weak_ties"}));
    for (auto [key, field] : {std::pair{"strong_ties", &srp1::WomParams::strong_ties},
                              std::pair{"weak_ties", &srp1::WomParams::weak_ties}}) {
      v = sc.wom.*field;
      const std::string path = std::string("wom.") + key;
      if (r.integer(*t, key, path, v, 0, 64)) {
        if (v % 2 != 0) r.problem(t->get(key), path, "value " + std::to_string(v) + " is odd", "an even integer in [0, 64]");
        else sc.wom.*field = static_cast<std::uint32_t>(v);
      }
    }
    read_reals(r, *t, "wom", sc.wom, kWomFields);
  }

  // Policies have no default: an experiment compares the policies it names.
  sc.policies.clear();
  constexpr const char* kPoliciesAllowed = "one [[policies]] table per policy; the first is the baseline";
  if (const toml::array* pols = r.table_array(root, "policies", "policies")) {
    sc.policies = read_named_entries(r, *pols, "policies", kPolicyFields);
    if (pols->empty()) r.problem(pols, "policies", "at least one policy is required", kPoliciesAllowed);
  } else if (!root.get("policies")) {
    r.problem(&root, "policies", "at least one policy is required", kPoliciesAllowed);
  }

  std::string output = "results/" + e.name + ".h5";
  if (const toml::table* t = r.table(root, "output", "output")) {
    r.only_keys(*t, "output", {"path"});
    if (r.string(*t, "path", "output.path", output) && output.empty())
      r.problem(t->get("path"), "output.path", "the path is empty", "a file path, relative to the experiment's folder");
  }
  e.output_path = (source_name.parent_path() / output).lexically_normal();

  if (const toml::table* t = r.table(root, "sweep", "sweep")) read_sweep(r, *t, e);

  r.throw_if_problems();
  return e;
}

Experiment load_experiment(const std::filesystem::path& file) {
  // stdio rather than iostreams: errno says why a read failed (missing file,
  // permissions, a directory), and the bytes are kept exactly as they are.
  const auto fail = [&](int err) {
    return engine::InputError({{file.string(), 0, "", std::string("cannot read file: ") + std::strerror(err), ""}});
  };
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) throw fail(errno != 0 ? errno : EIO);
  std::string text;
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) text.append(buffer, n);
  if (std::ferror(f.get())) throw fail(errno != 0 ? errno : EIO);
  return parse_experiment(text, file);
}

}  // namespace loyalsim::app
