// The SRP-1 parameter table: every parameter an experiment can set, declared once.
//
// One row per parameter: where it lives (its path), what kind of value it is,
// its unit, the range the model accepts, a one-line meaning and the evidence
// behind its default. The default itself is not in the row: it is read through
// the row's accessor from a default-constructed Scenario, so it lives once, in
// the structs of parameters.hpp.
//
// Everything that names parameters derives from this table: the experiment
// loader (keys, types, ranges, unknown-key lists), sweep and calibration paths,
// the parameter tables of docs/experiment-format.md (`loyalsim parameters
// --markdown`), the fuzz dictionary, the Python `loyalsim.parameters()`, and the
// resolved values every results file records. Tests compare each of them with
// the table. Adding a parameter = its struct member + one row + its equation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "models/srp1/parameters.hpp"

namespace loyalsim::srp1 {

// The table a parameter belongs to in the experiment file.
enum class ParameterScope : std::uint8_t {
  run,         // top-level keys of the scenario (horizon_months, warmup_months)
  population,  // [population]
  model,       // [model]
  wom,         // [wom]
  segment,     // each [[segments]] entry: path segments.NAME.KEY
  policy,      // each [[policies]] entry: path policies.NAME.KEY
};
inline constexpr const char* kScopeNames[] = {"", "population", "model", "wom", "segments", "policies"};

enum class ParameterKind : std::uint8_t {
  real,          // a real number in `range`
  integer,       // an integer in `range`
  even_integer,  // an even integer in `range` (tie counts)
  choice,        // one of `choices`, stored as its index
};
inline constexpr const char* kKindNames[] = {"real", "integer", "even_integer", "choice"};

struct ParameterRow {
  ParameterScope scope;
  // Key inside its table; "group.name" for a member of a sub-table such as
  // cause_share = { product = ... } (key "cause_share.product").
  std::string_view key;
  ParameterKind kind;
  engine::config::Range range;
  std::string_view unit;
  std::string_view meaning;
  std::string_view evidence;  // fact ids of docs/facts.md (F*, C*), a source, or "assumption"
  // The group's weights must have a positive sum (cause_share, justice weights).
  bool positive_sum_group = false;
  // A sweep or a calibration may set it (sizes and horizons change every
  // array's shape, so they are fixed per experiment).
  bool sweepable = true;
  std::span<const char* const> choices = {};
  // Shown instead of the struct's default where the default is derived ("customers").
  std::string_view default_note = {};
  // Accessors; `entry` is the segment or policy index (ignored elsewhere).
  double (*get)(const Scenario&, std::size_t entry) = nullptr;
  void (*set)(Scenario&, std::size_t entry, double value) = nullptr;

  [[nodiscard]] bool in_entry() const { return scope == ParameterScope::segment || scope == ParameterScope::policy; }
  // "model.gain", "segments.NAME.share" (NAME given), "horizon_months".
  [[nodiscard]] std::string path(std::string_view entry_name = "NAME") const;
  // The sub-table of a grouped key ("cause_share" of "cause_share.product"), or "".
  [[nodiscard]] std::string_view group() const;
  // The key inside its group ("product"), or the whole key.
  [[nodiscard]] std::string_view leaf() const;
  // The default, read from a default Scenario (entry 0 of its segments/policies).
  [[nodiscard]] double default_value() const;
  // The default as people read it: 0.35, "satisfaction_only", 8.
  [[nodiscard]] std::string describe_value(double value) const;
  // What the loader accepts, in its messages' words ("a number in [0, 1]").
  [[nodiscard]] std::string allowed() const;
};

// Every row, in the order of docs/experiment-format.md's tables.
std::span<const ParameterRow> parameter_table();

// A row bound to one entry: what a path names in a given scenario.
struct ParameterRef {
  const ParameterRow* row = nullptr;
  std::size_t entry = 0;
  std::string path;
  [[nodiscard]] double get(const Scenario& s) const { return row->get(s, entry); }
  void set(Scenario& s, double v) const { row->set(s, entry, v); }
};

// Every parameter of a scenario by path, entries expanded with their names
// ("segments.regular.churn_hazard"); `sweepable_only` leaves out sizes.
std::vector<ParameterRef> scenario_parameters(const Scenario& scenario, bool sweepable_only);
// The parameter a path names in this scenario, if any.
std::optional<ParameterRef> find_parameter(const Scenario& scenario, std::string_view path);

// The rows of one scope (for loaders and documentation).
std::vector<const ParameterRow*> rows_of(ParameterScope scope);

// A group that needs a positive sum and has none in this scenario (only a
// sweep or a calibration can reach it: the loader refuses a zero sum).
std::optional<std::string> zero_weight_group(const Scenario& scenario);

// Rules between parameters that no single range expresses (a policy's start
// month within the horizon, the baseline starting in month 1). Checked by the
// loader (with lines) and for every point of a sweep or calibration.
struct ScenarioProblem {
  std::string path, what, allowed;
};
std::vector<ScenarioProblem> scenario_problems(const Scenario& scenario);

// The parameter tables for docs/experiment-format.md (one per scope), and the
// whole table as JSON for tools (`loyalsim parameters --json`).
std::string parameters_markdown(ParameterScope scope);
std::string parameters_json();

}  // namespace loyalsim::srp1
