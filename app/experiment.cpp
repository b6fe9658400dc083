#include "app/experiment.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "engine/config.hpp"

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

  // [sweep] is part of the format (EXPERIMENT.md) but not implemented yet:
  // refused at its line. Sweep points will be built from the parsed base
  // experiment by replacing parameters named by the dotted paths used above.
  if (const toml::node* sweep = root.get("sweep"))
    r.problem(sweep, "sweep", "sweeps are not supported yet", "issue 4");

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
