#include "app/experiment.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
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
// `entries`: each named uniquely, its keys checked, its values read. Without
// `merge` the array replaces the entries; with it (an experiment over a
// preset's segments) an entry whose name is already there sets that entry's
// keys, and a new name adds an entry.
template <class T>
void read_named_entries(Reader& r, const toml::array& array, const char* name, ParameterScope scope,
                        srp1::Scenario& sc, std::vector<T>& entries, bool merge = false) {
  if (!merge) entries.clear();
  std::set<std::string> seen;
  std::map<std::string, std::int64_t> lines;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& t = *array.get(i)->as_table();
    std::string entry_name;
    read_name(r, t, entry_path(name, "", i), entry_name, seen, lines);
    std::size_t at = entries.size();
    for (std::size_t k = 0; merge && !entry_name.empty() && k < entries.size(); ++k)
      if (entries[k].name == entry_name) at = k;
    if (at == entries.size()) {
      entries.push_back(T{});
      entries.back().name = entry_name;
    }
    const std::string path = entry_path(name, entry_name, i);
    r.only_keys(t, path, keys_of(scope, {"name"}));
    read_scope(r, t, scope, path, sc, at);
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

// Reads a whole file as bytes; false (errno set) if it cannot be read.
// stdio rather than iostreams: errno says why a read failed (missing file,
// permissions, a directory), and the bytes are kept exactly as they are.
bool read_text_file(const std::filesystem::path& file, std::string& text) {
  errno = 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!f) {
    if (errno == 0) errno = EIO;
    return false;
  }
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) text.append(buffer, n);
  if (std::ferror(f.get())) {
    if (errno == 0) errno = EIO;
    return false;
  }
  return true;
}

// The file a `preset` value names: a path (it contains '/' or ends in
// .toml) relative to the experiment's folder, or a shipped preset's name.
std::filesystem::path preset_file(const std::string& value, const std::filesystem::path& experiment) {
  if (value.find('/') != std::string::npos || value.ends_with(".toml"))
    return (experiment.parent_path() / value).lexically_normal();
  return shipped_presets_folder() / (value + ".toml");
}

std::vector<std::string> shipped_preset_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(shipped_presets_folder(), ec))
    if (entry.path().extension() == ".toml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Reads a preset (docs/experiment-format.md "Presets": a market without its size and its
// policies) into the scenario, with its own reader so that its problems name
// the preset's file and lines. Returns the text, or nothing if unreadable.
std::optional<std::string> read_preset(Reader& experiment_reader, const toml::node* where, const std::string& value,
                                       const std::filesystem::path& file, srp1::Scenario& sc, Reader& r) {
  std::string text;
  if (!read_text_file(file, text)) {
    const bool named = file.parent_path() == shipped_presets_folder() && value.find('/') == std::string::npos &&
                       !value.ends_with(".toml");
    if (!named) {
      experiment_reader.problem(where, "preset", "cannot read the preset file " + file.string() + ": " + std::strerror(errno),
                                "a shipped preset's name, or a path to a preset file relative to the experiment");
      return std::nullopt;
    }
    const auto names = shipped_preset_names();
    std::string what = "no shipped preset is named \"" + value + "\"";
    const std::vector<std::string_view> known(names.begin(), names.end());
    if (const auto guess = engine::config::suggest(value, known)) what += " (did you mean \"" + *guess + "\"?)";
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    // A path is told from a name by a '/' or a .toml ending: "mine" is a name, "./mine" a path.
    const std::string path = "a path to a preset file, with a '/' or ending in .toml";
    experiment_reader.problem(where, "preset", what,
                              names.empty() ? "no preset ships with this build; " + path : "one of: " + list + "; or " + path);
    return std::nullopt;
  }
  const auto doc = r.parse(text);
  if (!doc) return text;
  const toml::table& root = *doc;
  r.only_keys(root, "", {"description", "population", "segments", "model", "wom"});
  if (const toml::table* t = r.table(root, "population", "population")) {
    r.only_keys(*t, "population", {"initial_tenure_max"});  // sizes and scale belong to the experiment
    read_scope(r, *t, ParameterScope::population, "population", sc);
  }
  if (const toml::array* segs = r.table_array(root, "segments", "segments")) {
    if (segs->empty()) r.problem(segs, "segments", "no segments", "at least one [[segments]] table, or none at all");
    read_named_entries(r, *segs, "segments", ParameterScope::segment, sc, sc.segments);
  }
  for (const auto scope : {ParameterScope::model, ParameterScope::wom}) {
    const char* name = srp1::kScopeNames[static_cast<int>(scope)];
    if (const toml::table* t = r.table(root, name, name)) {
      r.only_keys(*t, name, keys_of(scope, {}));
      read_scope(r, *t, scope, name, sc);
    }
  }
  return text;
}

// The keys an experiment sets over its preset's (for `validate`): every
// parameter path present in both files, with both lines.
std::vector<PresetOverride> overrides_of(const toml::table& experiment, const toml::table& preset, const srp1::Scenario& sc) {
  std::vector<PresetOverride> out;
  auto node_at = [](const toml::table& root, const srp1::ParameterRow& row, const std::string& entry) -> const toml::node* {
    const toml::table* t = &root;
    if (row.scope != ParameterScope::run) {
      const char* table = srp1::kScopeNames[static_cast<int>(row.scope)];
      if (row.in_entry()) {
        const toml::array* a = root.get_as<toml::array>(table);
        t = nullptr;
        for (std::size_t i = 0; a && i < a->size(); ++i)
          if (const toml::table* e = a->get(i)->as_table(); e && e->get("name") && e->get("name")->value<std::string>() == entry) t = e;
      } else {
        t = root.get_as<toml::table>(table);
      }
    }
    if (t && !row.group().empty()) t = t->get_as<toml::table>(row.group());
    return t ? t->get(row.leaf()) : nullptr;
  };
  for (const auto& ref : srp1::scenario_parameters(sc, false)) {
    const std::string entry = ref.row->in_entry() ? (ref.row->scope == ParameterScope::segment ? sc.segments[ref.entry].name
                                                                                                : sc.policies[ref.entry].name)
                                                  : "";
    const toml::node* e = node_at(experiment, *ref.row, entry);
    const toml::node* p = node_at(preset, *ref.row, entry);
    if (e && p) out.push_back({ref.path, engine::config::line_of(e), engine::config::line_of(p)});
  }
  return out;
}

}  // namespace

std::filesystem::path shipped_presets_folder() {
  if (const char* env = std::getenv("LOYALSIM_PRESETS"); env && *env) return env;
  return LOYALSIM_PRESET_DIR;
}

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

  // A preset first: the experiment's own keys then override it key by key.
  std::optional<Reader> preset_reader;
  std::optional<toml::table> preset_doc;
  if (r.string(root, "preset", "preset", e.preset) && !e.preset.empty()) {
    e.preset_path = preset_file(e.preset, source_name);
    preset_reader.emplace(e.preset_path.string());
    if (auto preset_text = read_preset(r, root.get("preset"), e.preset, e.preset_path, sc, *preset_reader)) {
      e.preset_toml = *preset_text;
      if (preset_reader->ok()) preset_doc = toml::parse(e.preset_toml, e.preset_path.string());
    }
  } else if (root.get("preset") && root.get("preset")->is_string()) {  // (a non-string was refused by r.string)
    r.problem(root.get("preset"), "preset", "the preset name is empty", "a shipped preset's name, or a path to a preset file");
  }
  read_scope(r, root, ParameterScope::run, "", sc);
  read_population(r, root, sc);
  // Unset, the simulated customers stand for themselves (no [population] table included).
  if (!(sc.population.represents > 0)) sc.population.represents = static_cast<double>(sc.population.customers);

  if (const toml::array* segs = r.table_array(root, "segments", "segments")) {
    if (segs->empty())
      r.problem(segs, "segments", "no segments",
                "at least one [[segments]] table, or no segments key for one default segment");
    if (segs->size() > 255) r.problem(segs, "segments", std::to_string(segs->size()) + " segments", "at most 255");
    read_named_entries(r, *segs, "segments", ParameterScope::segment, sc, sc.segments, preset_doc.has_value());
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
  if (preset_doc) e.preset_overrides = overrides_of(root, *preset_doc, sc);

  // The preset's problems (named by its own file) come first, then the experiment's.
  if (preset_reader && !preset_reader->ok()) {
    auto by_line = [](std::vector<engine::Problem> v) {
      std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
      return v;
    };
    std::vector<engine::Problem> all = by_line(preset_reader->problems());
    for (auto& p : by_line(r.problems())) all.push_back(std::move(p));
    throw engine::InputError(std::move(all));
  }
  r.throw_if_problems();
  return e;
}

Experiment load_experiment(const std::filesystem::path& file) {
  std::string text;
  if (!read_text_file(file, text))
    throw engine::InputError({{file.string(), 0, "", std::string("cannot read file: ") + std::strerror(errno), ""}});
  return parse_experiment(text, file);
}

}  // namespace loyalsim::app
