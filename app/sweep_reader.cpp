#include "app/sweep_reader.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>
#include <tuple>

#include "app/calibration_file.hpp"
#include "engine/designs.hpp"
#include "models/srp1/parameter_table.hpp"

namespace loyalsim::app {

namespace {

using engine::config::format_number;
using engine::config::Reader;
using engine::config::type_name;
using srp1::ParameterKind;

constexpr std::uint64_t kMaxSweepPoints = 1'000'000;
constexpr const char* kForms = "[low, high], { range = [low, high], scale = \"log\" } or { values = [...] }";

// Reads one [sweep.parameters] entry; each form of entry is one method.
class SweepParameterReader {
 public:
  SweepParameterReader(Reader& r, const toml::node& spec, const srp1::ParameterRef& target, SweepParameter& p)
      : r_(r), spec_(spec), row_(*target.row), p_(p), key_("sweep.parameters.\"" + p.path + "\"") {
    p_.integer = row_.kind == ParameterKind::even_integer || row_.kind == ParameterKind::integer;
    p_.apply = [target](srp1::Scenario& sc, double v) { target.set(sc, v); };
  }

  // False (with problems recorded) if the entry is unusable.
  bool read() {
    if (row_.kind == ParameterKind::choice) return read_choice_list();
    if (const auto* a = spec_.as_array()) {
      if (!a->empty() && a->get(0)->is_string()) {
        r_.problem(&spec_, key_, "a list of names, but " + p_.path + " is a number", kForms);
        return false;
      }
      return read_range(*a, false);
    }
    if (const auto* t = spec_.as_table()) return read_table_form(*t);
    r_.problem(&spec_, key_, "expected a range or a list, got " + type_name(spec_), kForms);
    return false;
  }

 private:
  [[nodiscard]] std::string integer_allowed() const {
    return std::string(row_.kind == ParameterKind::even_integer ? "even integers" : "integers") + " in [" +
           format_number(row_.range.lo) + ", " + format_number(row_.range.hi) + "]";
  }

  bool numbers(const toml::array& a, std::vector<double>& out) {
    for (const auto& n : a) {
      const auto v = n.value<double>();
      if (!n.is_number() || !v) {
        r_.problem(&n, key_, "expected a number, got " + type_name(n), row_.range.describe());
        return false;
      }
      out.push_back(*v);
    }
    return true;
  }

  bool check_value(const toml::node& where, double v) {
    if (p_.integer) {
      // Range first: casting a double beyond int64 (1e20, inf) is undefined behaviour.
      const bool even_needed = row_.kind == ParameterKind::even_integer;
      if (v != std::floor(v) || !row_.range.contains(v) || (even_needed && static_cast<std::int64_t>(v) % 2 != 0)) {
        r_.problem(&where, key_, "value " + format_number(v) + " is not allowed", integer_allowed());
        return false;
      }
    } else if (!std::isfinite(v) || std::abs(v) > 1e12) {
      r_.problem(&where, key_, "value " + format_number(v) + " is not a usable number", row_.range.usable());
      return false;
    } else if (!row_.range.contains(v)) {
      r_.problem(&where, key_, "value " + format_number(v) + " is out of range", row_.range.describe());
      return false;
    }
    return true;
  }

  bool read_range(const toml::array& a, bool log) {
    std::vector<double> lh;
    if (!numbers(a, lh)) return false;
    if (lh.size() != 2 || !(lh[0] < lh[1])) {
      r_.problem(&a, key_, "a range needs two numbers, low < high", kForms);
      return false;
    }
    if (!check_value(*a.get(0), lh[0]) || !check_value(*a.get(1), lh[1])) return false;
    if (log && !(lh[0] > 0)) {
      r_.problem(&a, key_, "a log range must be positive", "0 < low < high");
      return false;
    }
    p_.low = lh[0], p_.high = lh[1];
    p_.kind = log ? SweepKind::log_range : SweepKind::range;
    if (p_.integer) {  // a range of counts: every allowed count in it
      p_.kind = SweepKind::values;
      const double step = row_.kind == ParameterKind::even_integer ? 2 : 1;
      for (double v = lh[0]; v <= lh[1]; v += step) p_.values.push_back(v);
    }
    return true;
  }

  bool read_values(const toml::array& a) {
    std::set<double> seen;
    if (!numbers(a, p_.values)) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!check_value(*a.get(i), p_.values[i])) return false;
      if (!seen.insert(p_.values[i]).second) {
        r_.problem(a.get(i), key_, "value " + format_number(p_.values[i]) + " is listed twice", "distinct values");
        return false;
      }
    }
    p_.kind = SweepKind::values;
    if (p_.values.empty()) r_.problem(&spec_, key_, "no values", "a list of at least one number");
    return !p_.values.empty();
  }

  bool read_table_form(const toml::table& t) {
    r_.only_keys(t, key_, {"range", "scale", "values"});
    const bool has_range = t.get("range"), has_values = t.get("values");
    if (has_range == has_values) {
      r_.problem(&spec_, key_, has_range ? "both range and values" : "neither range nor values", kForms);
      return false;
    }
    int scale = 0;
    r_.choice(t, "scale", key_ + ".scale", scale, {"linear", "log"});
    const toml::node* list = t.get(has_range ? "range" : "values");
    if (!list->is_array()) {
      r_.problem(list, key_, "expected an array, got " + type_name(*list), kForms);
      return false;
    }
    if (has_values && t.get("scale")) r_.problem(t.get("scale"), key_ + ".scale", "scale applies to ranges only", kForms);
    return has_range ? read_range(*list->as_array(), scale == 1) : read_values(*list->as_array());
  }

  // A choice parameter: a list of choices, or { values = [...] }.
  bool read_choice_list() {
    const toml::array* list = spec_.as_array();
    if (const auto* t = spec_.as_table(); t && t->get("values") && t->get("values")->is_array()) {
      r_.only_keys(*t, key_, {"values"});
      list = t->get("values")->as_array();
    }
    if (!list) {
      std::string allowed;
      for (const char* c : row_.choices) allowed += (allowed.empty() ? "[\"" : "\", \"") + std::string(c);
      r_.problem(&spec_, key_, "expected a list of choices, got " + type_name(spec_), allowed + "\"] or a part of that list");
      return false;
    }
    if (!read_choices(*list)) return false;
    // The point's value is an index into the listed choices; the parameter takes its own index.
    std::vector<double> own;
    for (const auto& c : p_.choices)
      own.push_back(static_cast<double>(std::find(row_.choices.begin(), row_.choices.end(), c) - row_.choices.begin()));
    p_.apply = [own, set = p_.apply](srp1::Scenario& sc, double listed) { set(sc, own[static_cast<std::size_t>(listed)]); };
    return true;
  }

  bool read_choices(const toml::array& a) {
    std::set<std::string> seen;
    std::string allowed;
    for (const char* c : row_.choices) allowed += (allowed.empty() ? "" : ", ") + std::string(c);
    for (const auto& n : a) {
      const auto* s = n.as_string();
      if (!s) {
        r_.problem(&n, key_, "expected a name, got " + type_name(n), "one of " + allowed);
        return false;
      }
      if (std::find(row_.choices.begin(), row_.choices.end(), s->get()) == row_.choices.end()) {
        r_.problem(&n, key_, "unknown choice \"" + s->get() + "\"", "one of " + allowed);
        return false;
      }
      if (!seen.insert(s->get()).second) {
        r_.problem(&n, key_, "\"" + s->get() + "\" is listed twice", "each choice once");
        return false;
      }
      p_.choices.push_back(s->get());
    }
    p_.kind = SweepKind::choices;
    if (p_.choices.empty()) r_.problem(&spec_, key_, "no choices", "a list of at least one name");
    return !p_.choices.empty();
  }

  Reader& r_;
  const toml::node& spec_;
  const srp1::ParameterRow& row_;
  SweepParameter& p_;
  std::string key_;
};

template <class T>
std::vector<std::string> entry_names(const std::vector<T>& entries) {
  std::vector<std::string> out;
  for (const auto& x : entries) out.push_back(x.name);
  return out;
}

// [sweep] design, points and levels.
bool read_design(Reader& r, const toml::table& t, Sweep& s) {
  r.only_keys(t, "sweep", {"design", "points", "levels", "parameters", "source"});
  int design = 0;
  if (!t.get("design"))
    r.problem(&t, "sweep.design", "missing", "\"grid\", \"random\", \"lhs\", \"sobol\" or \"posterior\"");
  if (!r.choice(t, "design", "sweep.design", design, {"grid", "random", "lhs", "sobol", "posterior"})) return false;
  s.design = static_cast<SweepDesign>(design + 1);
  if (s.design != SweepDesign::posterior && t.get("source"))
    r.problem(t.get("source"), "sweep.source", "source applies to the posterior design only",
              "design = \"posterior\" with source = \"CALIBRATION.h5\"");

  std::int64_t v = 0;
  if (s.design == SweepDesign::grid) {
    if (t.get("points"))
      r.problem(t.get("points"), "sweep.points", "a grid has as many points as its levels make",
                "no points for a grid; set levels (for ranges) instead");
    v = s.levels;
    if (r.integer(t, "levels", "sweep.levels", v, 2, 1000)) s.levels = static_cast<std::uint32_t>(v);
    return true;
  }
  if (t.get("levels")) r.problem(t.get("levels"), "sweep.levels", "levels apply to grids only", "remove levels, or design = \"grid\"");
  if (r.integer(t, "points", "sweep.points", v, 1, kMaxSweepPoints, true)) {
    s.base_points = static_cast<std::uint32_t>(v);
    if (s.design == SweepDesign::sobol && (v < 2 || (v & (v - 1)) != 0))
      r.problem(t.get("points"), "sweep.points", "sobol needs a power of two, got " + std::to_string(v),
                "2, 4, 8, ..., e.g. " + std::to_string(std::bit_ceil(static_cast<std::uint64_t>(std::max<std::int64_t>(v, 2)))));
  }
  return true;
}

// Rules between parameters (a weight group's positive sum, a policy's start
// month) that a sweep can break at some points only.
void check_every_point(Reader& r, const toml::table& params, const Experiment& e) {
  const Sweep& s = e.sweep;
  const bool needed = std::any_of(s.parameters.begin(), s.parameters.end(), [&](const SweepParameter& p) {
    const auto ref = srp1::find_parameter(e.scenario, p.path);
    return ref && (ref->row->positive_sum_group || ref->row->key == "start_month");
  });
  for (std::uint64_t pt = 0; needed && pt < s.points(); ++pt) {
    const srp1::Scenario sc = s.scenario_at(e.scenario, pt);
    if (const auto group = srp1::zero_weight_group(sc)) {
      r.problem(&params, "sweep.parameters", "at point " + std::to_string(pt) + " the weights of " + *group + " sum to 0",
                "ranges that keep a positive sum");
      return;
    }
    for (const auto& p : srp1::scenario_problems(sc)) {
      r.problem(&params, "sweep.parameters", "at point " + std::to_string(pt) + ": " + p.path + ": " + p.what, p.allowed);
      return;
    }
  }
}

// design = "posterior": the points are a calibration file's posterior draws,
// each point one draw of every calibrated parameter (EXPERIMENT.md).
void read_posterior_sweep(Reader& r, const toml::table& t, Experiment& e) {
  Sweep& s = e.sweep;
  if (t.get("parameters"))
    r.problem(t.get("parameters"), "sweep.parameters", "a posterior sweep takes its parameters from the calibration file",
              "remove [sweep.parameters]; the calibrated parameters are swept");
  std::string source;
  if (!r.string(t, "source", "sweep.source", source, true)) return;
  const std::filesystem::path path = (std::filesystem::path(r.file()).parent_path() / source).lexically_normal();
  PosteriorDraws draws;
  try {
    draws = read_posterior_draws(path, source);
  } catch (const std::exception& ex) {
    r.problem(t.get("source"), "sweep.source", ex.what(), "the path of a calibration file written by loyalsim calibrate, relative to the experiment's folder");
    return;
  }
  if (!r.ok()) return;
  if (s.base_points > draws.draws) {
    r.problem(t.get("points"), "sweep.points",
              std::to_string(s.base_points) + " points, but " + source + " holds " + std::to_string(draws.draws) + " draws",
              "at most " + std::to_string(draws.draws) + " points");
    return;
  }
  const std::size_t k = draws.parameters.size();
  for (const std::string& path_of : draws.parameters) {
    const auto target = srp1::find_parameter(e.scenario, path_of);
    if (!target) {
      report_unknown_path(r, t.get("source"), "sweep.source", path_of, e.scenario, " (calibrated in " + source + ")");
      continue;
    }
    SweepParameter p;
    p.path = path_of;
    p.kind = SweepKind::range;
    p.apply = [ref = *target](srp1::Scenario& sc, double v) { ref.set(sc, v); };
    s.parameters.push_back(std::move(p));
  }
  if (!r.ok()) return;
  s.values.assign(draws.values.begin(), draws.values.begin() + static_cast<std::ptrdiff_t>(s.base_points * k));
  for (std::size_t i = 0; i < k; ++i) {
    auto& p = s.parameters[i];
    p.low = p.high = s.values[i];
    for (std::uint32_t pt = 0; pt < s.base_points; ++pt)
      p.low = std::min(p.low, s.values[pt * k + i]), p.high = std::max(p.high, s.values[pt * k + i]);
  }
  s.source = path.string();
  s.source_sha256 = draws.sha256;
  check_every_point(r, t, e);
}

}  // namespace

std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& params) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : params) entries.emplace_back(std::string(key.str()), &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.second->source().begin;
    const auto& pb = b.second->source().begin;
    return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
  });
  return entries;
}

void report_unknown_path(Reader& r, const toml::node* where, const std::string& key, const std::string& path,
                         const srp1::Scenario& sc, const std::string& origin) {
  const auto known_refs = srp1::scenario_parameters(sc, true);
  std::vector<std::string_view> known;
  for (const auto& k : known_refs) known.push_back(k.path);
  std::string what = "\"" + path + "\"" + origin + " names no parameter of this experiment";
  if (const auto guess = engine::config::suggest(path, known)) what += " (did you mean \"" + *guess + "\"?)";
  std::string allowed = "model.KEY, wom.KEY, segments.NAME.KEY or policies.NAME.KEY of a real or choice parameter";
  // A policy or segment that does not exist: say which ones do.
  for (const auto& [array, names] : {std::pair{std::string("policies."), entry_names(sc.policies)},
                                     std::pair{std::string("segments."), entry_names(sc.segments)}}) {
    if (path.rfind(array, 0) != 0) continue;
    const bool named = std::any_of(names.begin(), names.end(),
                                   [&p = path, &a = array](const std::string& n) { return p.rfind(a + n + ".", 0) == 0; });
    if (named) continue;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    allowed = array + "NAME.KEY with NAME one of: " + list;
  }
  r.problem(where, key, what, allowed);
}

void read_sweep(Reader& r, const toml::table& t, Experiment& e) {
  Sweep& s = e.sweep;
  if (!read_design(r, t, s)) return;
  if (s.design == SweepDesign::posterior) {
    read_posterior_sweep(r, t, e);
    return;
  }
  const toml::table* params = r.table(t, "parameters", "sweep.parameters");
  if (!params || params->empty()) {
    if (!t.get("parameters") || (params && params->empty()))
      r.problem(params ? static_cast<const toml::node*>(params) : &t, "sweep.parameters", "no parameters to sweep",
                "a [sweep.parameters] table, e.g. \"model.gain\" = [0.2, 1.0]");
    return;
  }
  const auto entries = in_file_order(*params);
  for (const auto& [path, node] : entries) {
    const std::string where = "sweep.parameters.\"" + path + "\"";
    const auto target = srp1::find_parameter(e.scenario, path);
    if (!target) {
      report_unknown_path(r, node, where, path, e.scenario);
      continue;
    }
    if (!target->row->sweepable) {
      r.problem(node, where, path + " cannot be swept: it sets the size or length of the run",
                "a separate experiment per value");
      continue;
    }
    if (path.find_first_of(" \t") != std::string::npos) {
      r.problem(node, where, "the path contains a space, which a results coordinate cannot have",
                "rename the policy or segment without spaces to sweep it");
      continue;
    }
    SweepParameter p;
    p.path = path;
    if (SweepParameterReader(r, *node, *target, p).read()) s.parameters.push_back(std::move(p));
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
  check_every_point(r, *params, e);
}

}  // namespace loyalsim::app
