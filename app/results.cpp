#include "app/results.hpp"

#include <chrono>
#include <functional>
#include <ctime>
#include <sstream>
#include <tuple>
#include <numeric>

#include "engine/checkpoint.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/machine.hpp"
#include "engine/sha256.hpp"
#include "engine/statistics.hpp"
#include "engine/version.hpp"
#include "models/srp1/parameter_table.hpp"

namespace loyalsim::app {

namespace {

namespace h5 = engine::h5;

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Summaries over replications of one metric: mean and 95% Student-t interval
// per (policy, month), and the same for the paired difference to policy 0.
struct Summary {
  std::vector<double> mean, low, high, diff_mean, diff_low, diff_high;
};

// Cells are [point (position in `points`)][policy][month].
Summary summarise(const Ensemble& ens, const std::vector<std::uint64_t>& points, srp1::Metric m,
                  std::uint32_t months) {
  const std::size_t cells = points.size() * ens.policies * (months + 1);
  Summary s;
  for (auto* v : {&s.mean, &s.low, &s.high, &s.diff_mean, &s.diff_low, &s.diff_high}) v->resize(cells);
  std::vector<double> values(ens.replications), diffs(ens.replications);
  std::size_t i = 0;
  for (const std::uint64_t pt : points)
    for (std::uint32_t p = 0; p < ens.policies; ++p)
      for (std::uint32_t t = 0; t <= months; ++t, ++i) {
        for (std::uint32_t r = 0; r < ens.replications; ++r) {
          values[r] = ens.run(pt, p, r).at(m, t);
          diffs[r] = values[r] - ens.run(pt, 0, r).at(m, t);
        }
        const auto level = engine::mean_interval(values);
        const auto diff = engine::mean_interval(diffs);
        s.mean[i] = level.mean, s.low[i] = level.low, s.high[i] = level.high;
        s.diff_mean[i] = diff.mean, s.diff_low[i] = diff.low, s.diff_high[i] = diff.high;
      }
  return s;
}

// The swept parameters as coordinates on `point` (docs/results-format.md), and for
// Saltelli designs the row and matrix of each point (docs/results-format.md).
// Returns the names for the CF `coordinates` attribute of point variables.
std::string write_sweep_coordinates(engine::h5::File& f, const engine::h5::Dimension& d_point, const Sweep& sweep,
                                    const std::vector<std::uint64_t>& points) {
  std::string names;
  for (std::size_t i = 0; i < sweep.dims(); ++i) {
    const SweepParameter& par = sweep.parameters[i];
    std::vector<std::pair<std::string, std::string>> attrs = {{"long_name", "swept parameter " + par.path},
                                                              {"sweep_kind", kSweepKindNames[static_cast<int>(par.kind)]}};
    if (par.kind == SweepKind::choices) {
      std::string joined;
      for (const auto& c : par.choices) joined += (joined.empty() ? "" : "\n") + c;
      attrs.emplace_back("sweep_choices", joined);
      std::vector<std::string> v;
      for (const auto pt : points) v.push_back(par.choices[static_cast<std::size_t>(sweep.value(pt, i))]);
      f.write(par.path, {d_point}, v, attrs);
    } else if (par.integer) {
      std::vector<std::int64_t> v;
      for (const auto pt : points) v.push_back(static_cast<std::int64_t>(sweep.value(pt, i)));
      f.write(par.path, {d_point}, v, {}, attrs);
    } else {
      std::vector<double> v;
      for (const auto pt : points) v.push_back(sweep.value(pt, i));
      f.write(par.path, {d_point}, v, {}, attrs);
    }
    names += (names.empty() ? "" : " ") + par.path;
  }
  if (sweep.design == SweepDesign::sobol) {
    const std::uint64_t stride = sweep.dims() + 2;
    std::vector<std::int64_t> row, matrix;
    for (const auto pt : points) row.push_back(static_cast<std::int64_t>(pt / stride)), matrix.push_back(static_cast<std::int64_t>(pt % stride));
    f.write("saltelli_row", {d_point}, row, {}, {{"long_name", "row j of the Saltelli design (base point)"}});
    f.write("saltelli_matrix", {d_point}, matrix, {},
            {{"long_name", "Saltelli matrix of the point: 0 = A, 1 = B, 2 + i = A with parameter i from B"}});
    names += " saltelli_row saltelli_matrix";
  }
  return names;
}

}  // namespace

std::filesystem::path partial_path(const std::filesystem::path& results) {
  return results.string() + ".partial";
}

std::filesystem::path temporary_path(const std::filesystem::path& target) { return target.string() + ".tmp"; }

void write_then_publish(const std::filesystem::path& path,
                        const std::function<void(const std::filesystem::path& tmp)>& write) {
  const auto tmp = temporary_path(path);
  struct RemoveUnlessPublished {
    const std::filesystem::path& file;
    bool published = false;
    ~RemoveUnlessPublished() {
      std::error_code ec;
      if (!published) std::filesystem::remove(file, ec);
    }
  } cleanup{tmp};
  write(tmp);
  engine::publish_file(tmp, path);
  cleanup.published = true;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> sweep_parameters(const engine::h5::File& f) {
  return f.has_attribute("sweep_parameters") ? split_lines(f.string_attribute("sweep_parameters"))
                                             : std::vector<std::string>{};
}

std::string experiment_fingerprint(const Experiment& e) {
  // A preset's text and a posterior sweep's source file are inputs too: a changed one is other work.
  return engine::sha256_hex(e.toml_text) + " preset=" + engine::sha256_hex(e.preset_toml) + e.sweep.source_sha256 +
         " replications=" + std::to_string(e.replications) +         " engine=" + engine::kEngineVersion + " commit=" + engine::kGitCommit;
}

namespace {


// The dimensions every results file has, with their coordinates.
struct Dimensions {
  h5::Dimension point, policy, replication, month, fact_class, band, quintile, parameter, segment;
};

Dimensions write_dimensions(h5::File& f, const Experiment& e, const std::vector<std::uint64_t>& points,
                            const std::vector<std::string>& parameter_paths) {
  const srp1::Scenario& sc = e.scenario;
  const std::vector<std::int64_t> point_values(points.begin(), points.end());
  std::vector<std::string> policy_names;
  for (const auto& pol : sc.policies) policy_names.push_back(pol.name);
  std::vector<std::int32_t> reps(e.replications), months(sc.horizon_months + 1), quintiles(srp1::kQuintiles);
  std::iota(reps.begin(), reps.end(), 0);
  std::iota(months.begin(), months.end(), 0);
  std::iota(quintiles.begin(), quintiles.end(), 1);
  const std::vector<std::string> classes(srp1::kFactClassNames.begin(), srp1::kFactClassNames.end());
  const std::vector<std::string> bands(srp1::kBandNames.begin(), srp1::kBandNames.end());
  Dimensions d;
  d.point = f.add_dimension("point", std::span<const std::int64_t>(point_values),
                            "sweep point: index in the design (one point without a sweep)");
  d.policy = f.add_dimension("policy", policy_names, "recovery policy; the first is the baseline");
  d.replication = f.add_dimension("replication", std::span<const std::int32_t>(reps), "Monte Carlo replication");
  d.month = f.add_dimension("month", std::span<const std::int32_t>(months), "month; 0 is the initial state");
  d.fact_class = f.add_dimension("fact_class", classes, "stylised-fact class of a first failure");
  d.band = f.add_dimension("severity_band", bands, "severity band of a first failure");
  d.quintile = f.add_dimension("satisfaction_quintile", std::span<const std::int32_t>(quintiles),
                               "quintile of initial customers' reported satisfaction at month 0 (1 = lowest)");
  d.parameter = f.add_dimension("parameter", parameter_paths, "model parameter, by its path in the experiment file");
  std::vector<std::string> segment_names;
  for (const auto& seg : sc.segments) segment_names.push_back(seg.name);
  d.segment = f.add_dimension("segment", segment_names, "customer segment");
  return d;
}

using Attributes = std::vector<std::pair<std::string, std::string>>;

// Raw metrics, chunked per (point, policy): one metric of one policy at one point is one chunk.
void write_metric_series(h5::File& f, const Dimensions& d, const Ensemble& ens, const std::vector<std::uint64_t>& points,
                         const std::function<Attributes(Attributes)>& with_coordinates) {
  const std::uint32_t P = ens.policies, R = ens.replications, T = static_cast<std::uint32_t>(d.month.size - 1);
  std::vector<double> raw(points.size() * P * R * (T + 1));
  for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
    const auto m = static_cast<srp1::Metric>(mi);
    const auto& info = srp1::kMetricInfo[mi];
    std::size_t i = 0;
    for (const std::uint64_t pt : points)
      for (std::uint32_t p = 0; p < P; ++p)
        for (std::uint32_t r = 0; r < R; ++r)
          for (std::uint32_t t = 0; t <= T; ++t) raw[i++] = ens.run(pt, p, r).at(m, t);
    f.write(info.name, {d.point, d.policy, d.replication, d.month}, raw, {1, 1, R, T + 1},
            with_coordinates({{"units", info.units},
                              {"long_name", info.long_name},
                              {"metric_kind", info.stock ? "stock" : "flow"}}));
  }
}

// Summaries over replications, and paired contrasts with the baseline.
void write_summaries(h5::File& f, const Dimensions& d, const Ensemble& ens, const std::vector<std::uint64_t>& points,
                     const std::string& baseline, const std::function<Attributes(Attributes)>& with_coordinates) {
  const std::uint32_t P = ens.policies, T = static_cast<std::uint32_t>(d.month.size - 1);
  for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
    const auto m = static_cast<srp1::Metric>(mi);
    const auto& info = srp1::kMetricInfo[mi];
    const Summary s = summarise(ens, points, m, T);
    const std::string base = info.name;
    const std::string diff_to = "the paired difference to " + baseline + " of ";
    const std::array<std::tuple<const char*, std::string, const std::vector<double>*>, 6> parts = {{
        {"_mean", "mean over replications of ", &s.mean},
        {"_ci_low", "lower bound of the 95% Student-t interval of the mean of ", &s.low},
        {"_ci_high", "upper bound of the 95% Student-t interval of the mean of ", &s.high},
        {"_diff_mean", "mean of " + diff_to, &s.diff_mean},
        {"_diff_ci_low", "lower bound of the 95% interval of " + diff_to, &s.diff_low},
        {"_diff_ci_high", "upper bound of the 95% interval of " + diff_to, &s.diff_high},
    }};
    for (const auto& [suffix, what, values] : parts)
      f.write(base + suffix, {d.point, d.policy, d.month}, *values, {1, P, T + 1},
              with_coordinates({{"units", info.units}, {"long_name", what + info.long_name}}));
  }
}

// Stylised-fact cohorts and the initial-satisfaction quintiles (docs/model.md section 10).
void write_fact_cohorts(h5::File& f, const Dimensions& d, const Ensemble& ens, const std::vector<std::uint64_t>& points,
                        const std::function<Attributes(Attributes)>& with_coordinates) {
  const std::uint32_t P = ens.policies, R = ens.replications;
  auto gather = [&](auto member, int cells) {
    std::vector<std::int64_t> out;
    out.reserve(points.size() * P * R * cells);
    for (const std::uint64_t pt : points)
      for (std::uint32_t p = 0; p < P; ++p)
        for (std::uint32_t r = 0; r < R; ++r)
          for (const std::int64_t x : ens.run(pt, p, r).*member) out.push_back(x);
    return out;
  };
  const std::vector<h5::Dimension> fact_dims = {d.point, d.policy, d.replication, d.fact_class, d.band};
  const std::vector<hsize_t> fact_chunk = {1, P, R, srp1::kFactClasses, srp1::kBands};
  f.write("fact_count", fact_dims, gather(&srp1::RunResult::fact_count, srp1::kFactCells), fact_chunk,
          with_coordinates({{"units", "customers"},
                            {"long_name", "first failures in months 1..T-12 by class and band (reference: initial "
                                          "customers without a failure in months 1-12, repeated in both bands)"}}));
  f.write("fact_retained", fact_dims, gather(&srp1::RunResult::fact_retained, srp1::kFactCells), fact_chunk,
          with_coordinates({{"units", "customers"}, {"long_name", "of fact_count, still active 12 months later"}}));
  const std::vector<h5::Dimension> q_dims = {d.point, d.policy, d.replication, d.quintile};
  const std::vector<hsize_t> q_chunk = {1, P, R, srp1::kQuintiles};
  f.write("quintile_count", q_dims, gather(&srp1::RunResult::quintile_count, srp1::kQuintiles), q_chunk,
          with_coordinates({{"units", "customers"},
                            {"long_name", "initial customers by quintile of reported satisfaction at month 0 "
                                          "(0 everywhere when the horizon is under 12 months)"}}));
  f.write("quintile_retained", q_dims, gather(&srp1::RunResult::quintile_retained, srp1::kQuintiles), q_chunk,
          with_coordinates({{"units", "customers"}, {"long_name", "of quintile_count, active at the end of month 12"}}));
}

// The counts calibration targets need beyond the metrics (docs/model.md section 10).
void write_target_counts(h5::File& f, const Dimensions& d, const Ensemble& ens, const std::vector<std::uint64_t>& points,
                         const std::function<Attributes(Attributes)>& with_coordinates) {
  const std::uint32_t P = ens.policies, R = ens.replications, M = static_cast<std::uint32_t>(d.month.size);
  const auto S = static_cast<hsize_t>(d.segment.size);
  auto gather = [&](auto member) {
    std::vector<std::int64_t> out;
    for (const std::uint64_t pt : points)
      for (std::uint32_t p = 0; p < P; ++p)
        for (std::uint32_t r = 0; r < R; ++r)
          for (const std::int64_t x : ens.run(pt, p, r).*member) out.push_back(x);
    return out;
  };
  const std::vector<h5::Dimension> band_dims = {d.point, d.policy, d.replication, d.band};
  const std::vector<hsize_t> band_chunk = {1, P, R, srp1::kBands};
  f.write("band_failures", band_dims, gather(&srp1::RunResult::band_failures), band_chunk,
          with_coordinates({{"units", "failures"}, {"long_name", "failures in months 1..T by severity band"}}));
  f.write("band_complaints", band_dims, gather(&srp1::RunResult::band_complaints), band_chunk,
          with_coordinates({{"units", "complaints"}, {"long_name", "of band_failures, those complained about"}}));
  const std::vector<h5::Dimension> seg_dims = {d.point, d.policy, d.replication, d.segment, d.month};
  const std::vector<hsize_t> seg_chunk = {1, 1, R, S, M};
  f.write("segment_churned", seg_dims, gather(&srp1::RunResult::segment_churned), seg_chunk,
          with_coordinates({{"units", "customers"}, {"long_name", "customers of the segment who churned in the month"}}));
  f.write("segment_active_start", seg_dims, gather(&srp1::RunResult::segment_active_start), seg_chunk,
          with_coordinates({{"units", "customers"},
                            {"long_name", "customers of the segment active at the start of the month"}}));
  f.write("first_failures", {d.point, d.policy, d.replication, d.month}, gather(&srp1::RunResult::first_failures),
          {1, 1, R, M},
          with_coordinates({{"units", "customers"},
                            {"long_name", "initial customers whose first failure of the horizon fell in the month"}}));
}

// Every resolved parameter value of every point (defaults included), so a
// file keeps its inputs even if the engine's defaults change later.
void write_parameter_values(h5::File& f, const Dimensions& d, const Experiment& e, const std::vector<std::uint64_t>& points,
                            const std::vector<srp1::ParameterRef>& params,
                            const std::function<Attributes(Attributes)>& with_coordinates) {
  std::vector<double> values;
  values.reserve(points.size() * params.size());
  for (const std::uint64_t pt : points) {
    const srp1::Scenario sc = e.scenario_at(pt);
    for (const auto& ref : params) values.push_back(ref.get(sc));
  }
  f.write("parameter_value", {d.point, d.parameter}, values, {1, d.parameter.size},
          with_coordinates({{"long_name", "value of every model parameter at each point (choices: their index in "
                                          "parameter_choices)"}}));
  std::vector<std::string> units, choices;
  for (const auto& ref : params) {
    units.emplace_back(ref.row->unit);
    std::string c;
    for (const char* name : ref.row->choices) c.append(c.empty() ? "" : " ").append(name);
    choices.push_back(c);
  }
  f.write("parameter_unit", {d.parameter}, units, {{"long_name", "unit of the parameter"}});
  f.write("parameter_choices", {d.parameter}, choices,
          {{"long_name", "the choices of a choice parameter, space-separated, in index order ('' otherwise)"}});
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The policy-table measures (srp1::kMeasureInfo) as the JSON list of docs/results-format.md.
std::string measures_json() {
  auto names = [](const std::vector<srp1::Metric>& ms) {
    std::string out = "[";
    for (std::size_t i = 0; i < ms.size(); ++i) out += (i ? ", " : "") + json_string(srp1::kMetricInfo[ms[i]].name);
    return out + "]";
  };
  std::string out = "[";
  for (std::size_t i = 0; i < srp1::kMeasureInfo.size(); ++i) {
    const auto& m = srp1::kMeasureInfo[i];
    out += std::string(i ? ",\n " : "") + "{\"name\": " + json_string(m.name) + ", \"label\": " + json_string(m.label) +
           ", \"kind\": " + json_string(m.kind) + ", \"form\": " + json_string(m.level ? "level" : "sum") +
           ", \"numerator\": " + names(m.numerator) + ", \"denominator\": " + names(m.denominator) +
           ", \"divide_by_attribute\": " + json_string(m.divide_by_attribute) + ", \"better\": " + json_string(m.better) +
           "}";
  }
  return out + "]";
}

void write_provenance(h5::File& f, const Experiment& e, const RunFacts& facts, const std::vector<std::uint64_t>& points,
                      bool complete) {
  const srp1::Scenario& sc = e.scenario;
  f.set_attribute("format", std::string(kResultsFormat));
  f.set_attribute("format_version", std::string(kResultsFormatVersion));
  f.set_attribute("model", std::string("SRP-1"));
  f.set_attribute("model_revision", std::string(srp1::kModelRevision));
  f.set_attribute("title", "loyalsim results: " + e.name);
  f.set_attribute("engine_version", std::string(engine::kEngineVersion));
  f.set_attribute("git_commit", std::string(engine::kGitCommit));
  f.set_attribute("experiment_name", e.name);
  f.set_attribute("experiment_description", e.description);
  f.set_attribute("experiment_toml", e.toml_text);
  f.set_attribute("experiment_sha256", engine::sha256_hex(e.toml_text));
  if (!e.preset.empty()) {
    f.set_attribute("preset", e.preset);
    f.set_attribute("preset_toml", e.preset_toml);
    f.set_attribute("preset_sha256", engine::sha256_hex(e.preset_toml));
  }
  f.set_attribute("seed", static_cast<std::uint64_t>(e.seed));
  f.set_attribute("replications", static_cast<std::int64_t>(e.replications));
  f.set_attribute("horizon_months", static_cast<std::int64_t>(sc.horizon_months));
  f.set_attribute("warmup_months", static_cast<std::int64_t>(sc.warmup_months));
  f.set_attribute("customers", static_cast<std::int64_t>(sc.population.customers));
  f.set_attribute("prospects", static_cast<std::int64_t>(sc.population.prospects));
  f.set_attribute("represents", represented_customers(sc.population));
  f.set_attribute("baseline_policy", sc.policies.front().name);
  f.set_attribute("measures", measures_json());
  // The sweep (docs/results-format.md): design, parameters in sweep order, and how far the run got.
  const Sweep& sweep = e.sweep;
  std::string parameter_paths;
  for (const auto& par : sweep.parameters) parameter_paths += (parameter_paths.empty() ? "" : "\n") + par.path;
  f.set_attribute("sweep_design", std::string(kSweepDesignNames[static_cast<int>(sweep.design)]));
  f.set_attribute("sweep_parameters", parameter_paths);
  f.set_attribute("sweep_base_points", static_cast<std::int64_t>(sweep.active() ? sweep.base_points : 1));
  if (sweep.design == SweepDesign::grid) f.set_attribute("sweep_levels", static_cast<std::int64_t>(sweep.levels));
  if (sweep.design == SweepDesign::posterior) {
    f.set_attribute("source_calibration", sweep.source);
    f.set_attribute("source_calibration_sha256", sweep.source_sha256);
  }
  f.set_attribute("points_total", static_cast<std::int64_t>(e.points()));
  f.set_attribute("points_done", static_cast<std::int64_t>(points.size()));
  f.set_attribute("complete", static_cast<std::int64_t>(complete ? 1 : 0));
  f.set_attribute("created_utc", utc_now());
  f.set_attribute("threads", static_cast<std::int64_t>(facts.threads));
  f.set_attribute("processes", static_cast<std::int64_t>(facts.processes));
  f.set_attribute("wall_seconds", facts.wall_seconds);
  f.set_attribute("host", engine::host_name());
}

}  // namespace

double represented_customers(const srp1::Population& population) {
  return population.represents > 0 ? population.represents : static_cast<double>(population.customers);
}

void write_results(const std::filesystem::path& path, const Experiment& e, const Ensemble& ens,
                   const RunFacts& facts, const std::vector<std::uint64_t>& points, bool complete) {
  write_then_publish(path, [&](const std::filesystem::path& tmp) {
    h5::File f = h5::File::create(tmp);
    const auto params = srp1::scenario_parameters(e.scenario, false);
    std::vector<std::string> parameter_paths;
    for (const auto& ref : params) parameter_paths.push_back(ref.path);
    const Dimensions d = write_dimensions(f, e, points, parameter_paths);
    const std::string coordinates = write_sweep_coordinates(f, d.point, e.sweep, points);
    // Point variables name the sweep coordinates (CF), so xarray attaches them to `point`.
    const auto with_coordinates = [&](Attributes attrs) {
      if (!coordinates.empty()) attrs.emplace_back("coordinates", coordinates);
      return attrs;
    };
    write_metric_series(f, d, ens, points, with_coordinates);
    write_summaries(f, d, ens, points, e.scenario.policies.front().name, with_coordinates);
    write_fact_cohorts(f, d, ens, points, with_coordinates);
    write_target_counts(f, d, ens, points, with_coordinates);
    write_parameter_values(f, d, e, points, params, with_coordinates);
    write_provenance(f, e, facts, points, complete);
    f.close();
  });
}

}  // namespace loyalsim::app
