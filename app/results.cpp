#include "app/results.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
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

Summary summarise(const Ensemble& ens, srp1::Metric m, std::uint32_t months) {
  const std::size_t cells = static_cast<std::size_t>(ens.policies) * (months + 1);
  Summary s;
  for (auto* v : {&s.mean, &s.low, &s.high, &s.diff_mean, &s.diff_low, &s.diff_high}) v->resize(cells);
  std::vector<double> values(ens.replications), diffs(ens.replications);
  for (std::uint32_t p = 0; p < ens.policies; ++p) {
    for (std::uint32_t t = 0; t <= months; ++t) {
      for (std::uint32_t r = 0; r < ens.replications; ++r) {
        values[r] = ens.run(p, r).at(m, t);
        diffs[r] = values[r] - ens.run(0, r).at(m, t);
      }
      const auto level = engine::mean_interval(values);
      const auto diff = engine::mean_interval(diffs);
      const std::size_t i = static_cast<std::size_t>(p) * (months + 1) + t;
      s.mean[i] = level.mean, s.low[i] = level.low, s.high[i] = level.high;
      s.diff_mean[i] = diff.mean, s.diff_low[i] = diff.low, s.diff_high[i] = diff.high;
    }
  }
  return s;
}

}  // namespace

std::filesystem::path partial_path(const std::filesystem::path& results) {
  return results.string() + ".partial";
}

std::string experiment_fingerprint(const Experiment& e) {
  return engine::sha256_hex(e.toml_text) + " replications=" + std::to_string(e.replications) +
         " engine=" + engine::kEngineVersion + " commit=" + engine::kGitCommit;
}

void write_results(const std::filesystem::path& path, const Experiment& e, const Ensemble& ens,
                   const RunFacts& facts) {
  namespace h5 = engine::h5;
  const srp1::Scenario& sc = e.scenario;
  const std::uint32_t T = sc.horizon_months, P = ens.policies, R = ens.replications;
  const auto partial = partial_path(path);
  {
    h5::File f = h5::File::create(partial);

    const std::vector<std::int64_t> point_values = {0};
    std::vector<std::string> policy_names;
    for (const auto& pol : sc.policies) policy_names.push_back(pol.name);
    std::vector<std::int32_t> reps(R), months(T + 1);
    std::iota(reps.begin(), reps.end(), 0);
    std::iota(months.begin(), months.end(), 0);
    const std::vector<std::string> classes(srp1::kFactClassNames.begin(), srp1::kFactClassNames.end());
    const std::vector<std::string> bands(srp1::kBandNames.begin(), srp1::kBandNames.end());

    const auto d_point = f.add_dimension("point", std::span<const std::int64_t>(point_values),
                                         "sweep point (one point without a sweep)");
    const auto d_policy = f.add_dimension("policy", policy_names, "recovery policy; the first is the baseline");
    const auto d_rep = f.add_dimension("replication", std::span<const std::int32_t>(reps), "Monte Carlo replication");
    const auto d_month = f.add_dimension("month", std::span<const std::int32_t>(months),
                                         "month; 0 is the initial state");
    const auto d_class = f.add_dimension("fact_class", classes, "stylised-fact class of a first failure");
    const auto d_band = f.add_dimension("severity_band", bands, "severity band of a first failure");

    // Raw metrics, chunked per (policy): reading one metric of one policy reads one chunk.
    std::vector<double> raw(static_cast<std::size_t>(P) * R * (T + 1));
    for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
      const auto m = static_cast<srp1::Metric>(mi);
      const auto& info = srp1::kMetricInfo[mi];
      for (std::uint32_t p = 0; p < P; ++p)
        for (std::uint32_t r = 0; r < R; ++r)
          for (std::uint32_t t = 0; t <= T; ++t)
            raw[(static_cast<std::size_t>(p) * R + r) * (T + 1) + t] = ens.run(p, r).at(m, t);
      f.write(info.name, {d_point, d_policy, d_rep, d_month}, raw, {1, 1, R, T + 1},
              {{"units", info.units}, {"long_name", info.long_name}});
    }

    // Summaries over replications, and paired contrasts with the baseline.
    for (int mi = 0; mi < srp1::kMetricCount; ++mi) {
      const auto m = static_cast<srp1::Metric>(mi);
      const auto& info = srp1::kMetricInfo[mi];
      const Summary s = summarise(ens, m, T);
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
                {{"units", info.units}, {"long_name", what + info.long_name}});
    }

    // Stylised-fact cohorts.
    const std::size_t cells = static_cast<std::size_t>(P) * R * srp1::kFactCells;
    std::vector<std::int64_t> count(cells), retained(cells);
    for (std::uint32_t p = 0; p < P; ++p)
      for (std::uint32_t r = 0; r < R; ++r)
        for (int c = 0; c < srp1::kFactCells; ++c) {
          const std::size_t i = (static_cast<std::size_t>(p) * R + r) * srp1::kFactCells + c;
          count[i] = ens.run(p, r).fact_count[c];
          retained[i] = ens.run(p, r).fact_retained[c];
        }
    const std::vector<h5::Dimension> fact_dims = {d_point, d_policy, d_rep, d_class, d_band};
    const std::vector<hsize_t> fact_chunk = {1, P, R, srp1::kFactClasses, srp1::kBands};
    f.write("fact_count", fact_dims, count, fact_chunk,
            {{"units", "customers"},
             {"long_name", "first failures in months 1..T-12 by class and band (reference: initial customers "
                           "without a failure in months 1-12, repeated in both bands)"}});
    f.write("fact_retained", fact_dims, retained, fact_chunk,
            {{"units", "customers"}, {"long_name", "of fact_count, still active 12 months later"}});

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
    f.set_attribute("created_utc", utc_now());
    f.set_attribute("threads", static_cast<std::int64_t>(facts.threads));
    f.set_attribute("processes", static_cast<std::int64_t>(facts.processes));
    f.set_attribute("wall_seconds", facts.wall_seconds);
    f.set_attribute("host", host_name());
    f.close();
  }
  engine::publish_file(partial, path);
}

}  // namespace loyalsim::app
