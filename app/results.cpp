#include "app/results.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <sstream>
#include <tuple>
#include <numeric>

#include "engine/checkpoint.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/sha256.hpp"
#include "engine/statistics.hpp"
#include "engine/version.hpp"

namespace loyalsim::app {

namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
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

// The swept parameters as coordinates on `point` (OUTPUT.md), and for
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
  return engine::sha256_hex(e.toml_text) + " replications=" + std::to_string(e.replications) +
         " engine=" + engine::kEngineVersion + " commit=" + engine::kGitCommit;
}

void write_results(const std::filesystem::path& path, const Experiment& e, const Ensemble& ens,
                   const RunFacts& facts, const std::vector<std::uint64_t>& points, bool complete) {
  namespace h5 = engine::h5;
  const srp1::Scenario& sc = e.scenario;
  const std::uint32_t T = sc.horizon_months, P = ens.policies, R = ens.replications;
  const auto Pn = static_cast<hsize_t>(points.size());
  const auto partial = temporary_path(path);
  // A failed write (disk full, I/O error) leaves nothing behind under either name.
  struct RemoveUnlessPublished {
    const std::filesystem::path& file;
    bool published = false;
    ~RemoveUnlessPublished() {
      std::error_code ec;
      if (!published) std::filesystem::remove(file, ec);
    }
  } cleanup{partial};
  {
    h5::File f = h5::File::create(partial);

    const std::vector<std::int64_t> point_values(points.begin(), points.end());
    std::vector<std::string> policy_names;
    for (const auto& pol : sc.policies) policy_names.push_back(pol.name);
    std::vector<std::int32_t> reps(R), months(T + 1);
    std::iota(reps.begin(), reps.end(), 0);
    std::iota(months.begin(), months.end(), 0);
    const std::vector<std::string> classes(srp1::kFactClassNames.begin(), srp1::kFactClassNames.end());
    const std::vector<std::string> bands(srp1::kBandNames.begin(), srp1::kBandNames.end());

    const auto d_point = f.add_dimension("point", std::span<const std::int64_t>(point_values),
                                         "sweep point: index in the design (one point without a sweep)");
    const auto d_policy = f.add_dimension("policy", policy_names, "recovery policy; the first is the baseline");
    const auto d_rep = f.add_dimension("replication", std::span<const std::int32_t>(reps), "Monte Carlo replication");
    const auto d_month = f.add_dimension("month", std::span<const std::int32_t>(months),
                                         "month; 0 is the initial state");
    const auto d_class = f.add_dimension("fact_class", classes, "stylised-fact class of a first failure");
    const auto d_band = f.add_dimension("severity_band", bands, "severity band of a first failure");

    const std::string coordinates = write_sweep_coordinates(f, d_point, e.sweep, points);
    // Point variables name the sweep coordinates (CF), so xarray attaches them to `point`.
    auto with_coordinates = [&](std::vector<std::pair<std::string, std::string>> attrs) {
      if (!coordinates.empty()) attrs.emplace_back("coordinates", coordinates);
      return attrs;
    };

    // Raw metrics, chunked per (point, policy): one metric of one policy at one point is one chunk.
    std::vector<double> raw(Pn * P * R * (T + 1));
    for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
      const auto m = static_cast<srp1::Metric>(mi);
      const auto& info = srp1::kMetricInfo[mi];
      std::size_t i = 0;
      for (const std::uint64_t pt : points)
        for (std::uint32_t p = 0; p < P; ++p)
          for (std::uint32_t r = 0; r < R; ++r)
            for (std::uint32_t t = 0; t <= T; ++t) raw[i++] = ens.run(pt, p, r).at(m, t);
      f.write(info.name, {d_point, d_policy, d_rep, d_month}, raw, {1, 1, R, T + 1},
              with_coordinates({{"units", info.units},
                                {"long_name", info.long_name},
                                {"metric_kind", info.stock ? "stock" : "flow"}}));
    }

    // Summaries over replications, and paired contrasts with the baseline.
    for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
      const auto m = static_cast<srp1::Metric>(mi);
      const auto& info = srp1::kMetricInfo[mi];
      const Summary s = summarise(ens, points, m, T);
      const std::string base = info.name, baseline = sc.policies.front().name;
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
        f.write(base + suffix, {d_point, d_policy, d_month}, *values, {1, P, T + 1},
                with_coordinates({{"units", info.units}, {"long_name", what + info.long_name}}));
    }

    // Stylised-fact cohorts.
    const std::size_t cells = Pn * P * R * srp1::kFactCells;
    std::vector<std::int64_t> count(cells), retained(cells);
    std::size_t i = 0;
    for (const std::uint64_t pt : points)
      for (std::uint32_t p = 0; p < P; ++p)
        for (std::uint32_t r = 0; r < R; ++r)
          for (int c = 0; c < srp1::kFactCells; ++c, ++i) {
            count[i] = ens.run(pt, p, r).fact_count[c];
            retained[i] = ens.run(pt, p, r).fact_retained[c];
          }
    const std::vector<h5::Dimension> fact_dims = {d_point, d_policy, d_rep, d_class, d_band};
    const std::vector<hsize_t> fact_chunk = {1, P, R, srp1::kFactClasses, srp1::kBands};
    f.write("fact_count", fact_dims, count, fact_chunk,
            with_coordinates({{"units", "customers"},
                              {"long_name", "first failures in months 1..T-12 by class and band (reference: initial "
                                            "customers without a failure in months 1-12, repeated in both bands)"}}));
    f.write("fact_retained", fact_dims, retained, fact_chunk,
            with_coordinates({{"units", "customers"}, {"long_name", "of fact_count, still active 12 months later"}}));

    // Provenance and run facts.
    f.set_attribute("format", std::string(kResultsFormat));
    f.set_attribute("format_version", std::string(kResultsFormatVersion));
    f.set_attribute("model", std::string("SRP-1"));
    f.set_attribute("title", "loyalsim results: " + e.name);
    f.set_attribute("engine_version", std::string(engine::kEngineVersion));
    f.set_attribute("git_commit", std::string(engine::kGitCommit));
    f.set_attribute("experiment_name", e.name);
    f.set_attribute("experiment_description", e.description);
    f.set_attribute("experiment_toml", e.toml_text);
    f.set_attribute("experiment_sha256", engine::sha256_hex(e.toml_text));
    f.set_attribute("seed", static_cast<std::uint64_t>(e.seed));
    f.set_attribute("replications", static_cast<std::int64_t>(R));
    f.set_attribute("horizon_months", static_cast<std::int64_t>(T));
    f.set_attribute("customers", static_cast<std::int64_t>(sc.population.customers));
    f.set_attribute("prospects", static_cast<std::int64_t>(sc.population.prospects));
    f.set_attribute("baseline_policy", sc.policies.front().name);
    // The sweep (docs/results-format.md): design, parameters in sweep order, and how far the run got.
    const Sweep& sweep = e.sweep;
    std::string parameter_paths;
    for (const auto& par : sweep.parameters) parameter_paths += (parameter_paths.empty() ? "" : "\n") + par.path;
    f.set_attribute("sweep_design", std::string(kSweepDesignNames[static_cast<int>(sweep.design)]));
    f.set_attribute("sweep_parameters", parameter_paths);
    f.set_attribute("sweep_base_points", static_cast<std::int64_t>(sweep.active() ? sweep.base_points : 1));
    if (sweep.design == SweepDesign::grid) f.set_attribute("sweep_levels", static_cast<std::int64_t>(sweep.levels));
    f.set_attribute("points_total", static_cast<std::int64_t>(e.points()));
    f.set_attribute("points_done", static_cast<std::int64_t>(points.size()));
    f.set_attribute("complete", static_cast<std::int64_t>(complete ? 1 : 0));
    f.set_attribute("created_utc", utc_now());
    f.set_attribute("threads", static_cast<std::int64_t>(facts.threads));
    f.set_attribute("processes", static_cast<std::int64_t>(facts.processes));
    f.set_attribute("wall_seconds", facts.wall_seconds);
    f.set_attribute("host", host_name());
    f.close();
  }
  engine::publish_file(partial, path);
  cleanup.published = true;
}

}  // namespace loyalsim::app
