#include "app/experiment.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "app/calibration_reader.hpp"
#include "app/sweep_reader.hpp"
#include "engine/config.hpp"
#include "models/srp1/parameter_table.hpp"

namespace loyalsim::app {

namespace {

using engine::config::Reader;
using srp1::ParameterKind;
using srp1::ParameterRow;
using srp1::ParameterScope;

// The keys a table of this scope may hold: each row's key (a group once, by
// its sub-table name) and the `extra` keys its reader handles itself.
std::vector<std::string_view> keys_of(ParameterScope scope, std::initializer_list<std::string_view> extra) {
  std::vector<std::string_view> keys(extra);
  for (const ParameterRow* row : srp1::rows_of(scope)) {
    const std::string_view k = row->group().empty() ? row->key : row->group();
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  return keys;
}

// One value of a row from table `t` (the key's own table: the group's
// sub-table for grouped keys) into entry `entry` of the scenario.
void read_value(Reader& r, const toml::table& t, const ParameterRow& row, const std::string& path,
                srp1::Scenario& sc, std::size_t entry) {
  const std::string_view key = row.leaf();
  switch (row.kind) {
    case ParameterKind::real: {
      double v = row.get(sc, entry);
      if (r.real(t, key, path, v, row.range)) row.set(sc, entry, v);
      return;
    }
    case ParameterKind::integer:
    case ParameterKind::even_integer: {
      auto v = static_cast<std::int64_t>(row.get(sc, entry));
      if (!r.integer(t, key, path, v, static_cast<std::int64_t>(row.range.lo), static_cast<std::int64_t>(row.range.hi)))
        return;
      if (row.kind == ParameterKind::even_integer && v % 2 != 0)
        r.problem(t.get(key), path, "value " + std::to_string(v) + " is odd", row.allowed());
      else
        row.set(sc, entry, static_cast<double>(v));
      return;
    }
    case ParameterKind::choice: {
      auto v = static_cast<int>(row.get(sc, entry));
      const std::vector<std::string_view> choices(row.choices.begin(), row.choices.end());
      if (r.choice(t, key, path, v, choices)) row.set(sc, entry, v);
      return;
    }
  }
}

// Every parameter of one scope from its table `t`; `prefix` is the table's
// path in messages ("model", "segments.regular", "policies[2]"; "" at the top).
void read_scope(Reader& r, const toml::table& t, ParameterScope scope, const std::string& prefix, srp1::Scenario& sc,
                std::size_t entry = 0) {
  const auto path_of = [&](std::string_view key) { return prefix.empty() ? std::string(key) : prefix + "." + std::string(key); };
  std::set<std::string_view> groups_done;
  for (const ParameterRow* row : srp1::rows_of(scope)) {
    const std::string_view group = row->group();
    if (group.empty()) {
      read_value(r, t, *row, path_of(row->key), sc, entry);
      continue;
    }
    if (!groups_done.insert(group).second) continue;
    // A sub-table of named reals, e.g. cause_share = { product = 0.4, ... }.
    const std::string group_path = path_of(group);
    const toml::table* sub = r.table(t, group, group_path);
    if (!sub) continue;
    std::vector<std::string_view> names;
    for (const ParameterRow* member : srp1::rows_of(scope))
      if (member->group() == group) names.push_back(member->leaf());
    r.only_keys(*sub, group_path, names);
    double sum = 0;
    for (const ParameterRow* member : srp1::rows_of(scope))
      if (member->group() == group) {
        read_value(r, *sub, *member, group_path + "." + std::string(member->leaf()), sc, entry);
        sum += member->get(sc, entry);
      }
    if (row->positive_sum_group && !(sum > 0))
      r.problem(t.get(group), group_path, "the weights sum to 0", "non-negative weights with a positive sum");
  }
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

// The entries of an array of named tables ([[segments]], [[policies]]) into
// `entries` (replaced): each named uniquely, its keys checked, its values read.
template <class T>
void read_named_entries(Reader& r, const toml::array& array, const char* name, ParameterScope scope,
                        srp1::Scenario& sc, std::vector<T>& entries) {
  entries.assign(array.size(), T{});
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> lines;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& t = *array.get(i)->as_table();
    std::string entry_name;
    read_name(r, t, entry_path(name, "", i), entry_name, seen, lines);
    entries[i].name = entry_name;
    const std::string path = entry_path(name, entry_name, i);
    r.only_keys(t, path, keys_of(scope, {"name"}));
    read_scope(r, t, scope, path, sc, i);
  }
}

// The experiment's name is stored in the results and names the default
// results file, so it must be usable as one file name on every platform.
void read_experiment_name(Reader& r, const toml::table& root, std::string& name) {
  if (!r.string(root, "name", "name", name, true)) return;
  constexpr const char* kAllowed = "a non-empty name without /, \\ or NUL characters, not . or ..";
  if (name.empty()) {
    r.problem(root.get("name"), "name", "the name is empty", kAllowed);
  } else if (name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos || name == "." || name == "..") {
    std::string shown;
    for (const char c : name) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
    r.problem(root.get("name"), "name", "\"" + shown + "\" cannot be used in a file name", kAllowed);
  }
}

void read_population(Reader& r, const toml::table& root, srp1::Scenario& sc) {
  const toml::table* t = r.table(root, "population", "population");
  if (!t) return;
  r.only_keys(*t, "population", keys_of(ParameterScope::population, {}));
  read_scope(r, *t, ParameterScope::population, "population", sc);
  constexpr std::uint64_t kMaxNodes = 2'147'483'647;  // node ids are 32-bit
  const std::uint64_t nodes = sc.population.customers + sc.population.prospects;
  if (nodes > kMaxNodes)
    r.problem(t, "population", "customers + prospects = " + std::to_string(nodes) + " is too many",
              "at most 2147483647 nodes in all");
}

// Where a problem of the scenario's cross-parameter rules sits in the file.
const toml::node* node_of_path(const toml::table& root, const srp1::Scenario& sc, const std::string& path) {
  const auto ref = srp1::find_parameter(sc, path);
  if (!ref || !ref->row->in_entry()) return nullptr;
  const char* array = ref->row->scope == ParameterScope::policy ? "policies" : "segments";
  const toml::array* entries = root.get_as<toml::array>(array);
  if (!entries || ref->entry >= entries->size()) return nullptr;
  const toml::table* t = entries->get(ref->entry)->as_table();
  const toml::node* n = t ? t->get(ref->row->key) : nullptr;
  return n ? n : t;
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

  auto top_keys = keys_of(ParameterScope::run, {});
  top_keys.insert(top_keys.begin(), std::begin(kExperimentKeys), std::end(kExperimentKeys));
  r.only_keys(root, "", top_keys);
  read_experiment_name(r, root, e.name);
  r.string(root, "description", "description", e.description);
  {
    // TOML integers are signed 64-bit: seeds above 2^63-1 cannot be written, so the range is [0, 2^63-1].
    std::int64_t seed = 0;
    if (r.integer(root, "seed", "seed", seed, 0, std::numeric_limits<std::int64_t>::max(), true))
      e.seed = static_cast<std::uint64_t>(seed);
  }
  std::int64_t v = e.replications;
  if (r.integer(root, "replications", "replications", v, 1, 100'000)) e.replications = static_cast<std::uint32_t>(v);
  read_scope(r, root, ParameterScope::run, "", sc);
  read_population(r, root, sc);
  // Unset, the simulated customers stand for themselves (no [population] table included).
  if (!(sc.population.represents > 0)) sc.population.represents = static_cast<double>(sc.population.customers);

  if (const toml::array* segs = r.table_array(root, "segments", "segments")) {
    if (segs->empty())
      r.problem(segs, "segments", "no segments",
                "at least one [[segments]] table, or no segments key for one default segment");
    if (segs->size() > 255) r.problem(segs, "segments", std::to_string(segs->size()) + " segments", "at most 255");
    read_named_entries(r, *segs, "segments", ParameterScope::segment, sc, sc.segments);
  }
  for (const auto scope : {ParameterScope::model, ParameterScope::wom}) {
    const char* name = srp1::kScopeNames[static_cast<int>(scope)];
    if (const toml::table* t = r.table(root, name, name)) {
      r.only_keys(*t, name, keys_of(scope, {}));
      read_scope(r, *t, scope, name, sc);
    }
  }

  // Policies have no default: an experiment compares the policies it names.
  sc.policies.clear();
  constexpr const char* kPoliciesAllowed = "one [[policies]] table per policy; the first is the baseline";
  if (const toml::array* pols = r.table_array(root, "policies", "policies")) {
    read_named_entries(r, *pols, "policies", ParameterScope::policy, sc, sc.policies);
    if (pols->empty()) r.problem(pols, "policies", "at least one policy is required", kPoliciesAllowed);
  } else if (!root.get("policies")) {
    r.problem(&root, "policies", "at least one policy is required", kPoliciesAllowed);
  }
  // Values that failed to read kept their (valid) defaults, so these rules report no false problems.
  for (const auto& p : srp1::scenario_problems(sc)) r.problem(node_of_path(root, sc, p.path), p.path, p.what, p.allowed);

  std::string output = "results/" + e.name + ".h5";
  if (const toml::table* t = r.table(root, "output", "output")) {
    r.only_keys(*t, "output", {"path"});
    if (r.string(*t, "path", "output.path", output) && output.empty())
      r.problem(t->get("path"), "output.path", "the path is empty", "a file path, relative to the experiment's folder");
  }
  e.output_path = (source_name.parent_path() / output).lexically_normal();

  if (const toml::table* t = r.table(root, "sweep", "sweep")) read_sweep(r, *t, e);
  if (const toml::table* t = r.table(root, "calibration", "calibration")) {
    if (root.get("sweep"))
      r.problem(t, "calibration", "an experiment cannot both sweep and calibrate",
                "a [calibration] or a [sweep] table; sweep over a calibration with design = \"posterior\"");
    read_calibration(r, *t, e);
  }

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
