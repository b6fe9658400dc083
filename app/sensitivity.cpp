#include "app/sensitivity.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "app/report.hpp"
#include "app/results.hpp"
#include "engine/config.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/sensitivity.hpp"

namespace loyalsim::app {

namespace {

namespace h5 = engine::h5;
namespace sa = engine::sensitivity;

// The swept parameters as regression inputs: values, log values for log
// ranges, choice indices for choices.
Eigen::MatrixXd parameter_matrix(const h5::File& f, const std::vector<std::string>& params, std::size_t points) {
  Eigen::MatrixXd x(static_cast<Eigen::Index>(points), static_cast<Eigen::Index>(params.size()));
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string kind = f.dataset_string_attribute(params[i], "sweep_kind");
    std::vector<double> v;
    if (kind == "choices") {
      const auto choices = split_lines(f.dataset_string_attribute(params[i], "sweep_choices"));
      for (const auto& name : f.read_strings(params[i]))
        v.push_back(static_cast<double>(std::find(choices.begin(), choices.end(), name) - choices.begin()));
    } else {
      v = f.read_doubles(params[i]);
      if (kind == "log_range")
        for (double& y : v) y = std::log(y);
    }
    for (std::size_t p = 0; p < points; ++p) x(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(i)) = v[p];
  }
  return x;
}

// Positions (in the file's point order) of the points of complete Saltelli
// rows, laid out row-interleaved as engine::sensitivity expects.
std::vector<std::size_t> complete_saltelli_rows(const h5::File& f, std::size_t k) {
  const auto row = f.read_int64("saltelli_row");
  const auto matrix = f.read_int64("saltelli_matrix");
  std::map<std::int64_t, std::vector<std::int64_t>> slots;  // row -> file position of each matrix
  for (std::size_t p = 0; p < row.size(); ++p) {
    auto& s = slots[row[p]];
    s.resize(k + 2, -1);
    s[static_cast<std::size_t>(matrix[p])] = static_cast<std::int64_t>(p);
  }
  std::vector<std::size_t> order;
  for (const auto& [j, s] : slots)
    if (std::none_of(s.begin(), s.end(), [](std::int64_t p) { return p < 0; }))
      for (const auto p : s) order.push_back(static_cast<std::size_t>(p));
  return order;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "did you mean X? " when `name` is a likely typo of one of `known`, or of
// its beginning (names are long: "empowred" for empowered_front_line), else "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& known) {
  auto guess = engine::config::suggest(name, std::vector<std::string_view>(known.begin(), known.end()));
  if (!guess && name.size() >= 4) {
    std::vector<std::string_view> beginnings;
    for (const auto& k : known) beginnings.push_back(std::string_view(k).substr(0, name.size() + 1));
    if (const auto b = engine::config::suggest(name, beginnings))
      for (std::size_t i = 0; i < known.size() && !guess; ++i)
        if (beginnings[i] == *b) guess = known[i];
  }
  return guess ? "did you mean " + *guess + "? " : "";
}

std::string fixed(double x, int decimals = 3) {
  if (!std::isfinite(x)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

// Sobol' estimates that cannot be right: an index outside [0, 1] or a
// first-order index above the total. Small amounts are the estimators'
// noise; a violation is reported when it is larger than the intervals say
// noise can be (kNoisy when there is no interval: bootstrap 0), or when the
// intervals themselves are too wide to tell (half-width above kNoisy): both
// mean the base sample N is too small.
constexpr double kNoisy = 0.1, kTargetHalfWidth = 0.05;

double half_width(const SensitivityRow& r) { return (r.high - r.low) / 2; }  // NaN without an interval
double tolerance(const SensitivityRow& r) { return std::isfinite(half_width(r)) ? half_width(r) : kNoisy; }
bool noisy(const SensitivityRow& r) { return half_width(r) > kNoisy; }

// The implausible estimates of one (policy, month) block: k S1 rows, then k ST rows.
void implausible_estimates(const SensitivityRow* s1, const SensitivityRow* st, std::size_t k,
                           std::vector<std::string>& out) {
  auto where = [](const SensitivityRow& r) { return r.parameter + " (" + r.policy + ", month " + std::to_string(r.month) + ")"; };
  for (std::size_t i = 0; i < k; ++i) {
    for (const SensitivityRow* r : {&s1[i], &st[i]}) {
      const double beyond = std::max(-r->estimate, r->estimate - 1.0);
      if (std::isfinite(beyond) && beyond > 0 && (beyond > tolerance(*r) || noisy(*r)))
        out.push_back(r->index + " of " + where(*r) + " is " + fixed(r->estimate) + (r->estimate > 1 ? ", above 1" : ", below 0"));
    }
    const double excess = s1[i].estimate - st[i].estimate;
    if (std::isfinite(excess) && excess > 0 && (excess > tolerance(s1[i]) + tolerance(st[i]) || noisy(s1[i]) || noisy(st[i])))
      out.push_back("S1 of " + where(s1[i]) + " is " + fixed(s1[i].estimate) + ", above its ST " + fixed(st[i].estimate));
  }
}

}  // namespace

std::optional<std::string> sobol_sample_warning(const SensitivityResult& res, std::size_t parameters,
                                                std::uint64_t base_points) {
  std::vector<std::string> problems;
  double widest = 0;
  for (std::size_t i = 0; i + 2 * parameters <= res.rows.size(); i += 2 * parameters) {
    implausible_estimates(&res.rows[i], &res.rows[i + parameters], parameters, problems);
    for (std::size_t j = i; j < i + 2 * parameters; ++j)
      if (std::isfinite(half_width(res.rows[j]))) widest = std::max(widest, half_width(res.rows[j]));
  }
  if (problems.empty()) return std::nullopt;
  // Intervals narrow as 1/sqrt(N): the N at which the widest would be +-kTargetHalfWidth, as a power of two.
  const double wanted = std::max(2.0, widest > 0 ? std::pow(widest / kTargetHalfWidth, 2) : 4.0) * base_points;
  std::uint64_t n = 1;
  while (static_cast<double>(n) < wanted && n < (std::uint64_t{1} << 40)) n *= 2;
  std::string text = "these Sobol' indices come from a base sample of N = " + std::to_string(base_points) +
                     " points, too small for them: ";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, problems.size()); ++i) text += (i ? "; " : "") + problems[i];
  if (problems.size() > 3) text += "; and " + std::to_string(problems.size() - 3) + " more";
  return text + ". Run the sweep with points = " + std::to_string(n) + " (intervals narrow as 1/sqrt(N); N = " +
         std::to_string(n) + " should bring them to about +-" + fixed(kTargetHalfWidth, 2) + ")";
}

SensitivityResult analyse_sensitivity(const std::filesystem::path& path, const SensitivityOptions& opt) {
  const h5::File f = h5::File::open_read(path);
  const std::string design = f.has_attribute("sweep_design") ? f.string_attribute("sweep_design") : "none";
  if (design == "none")
    throw engine::UsageError(path.string() + " holds no sweep (one point): nothing to analyse. "
                                 "Add a [sweep] table to the experiment (docs/experiment-format.md).");
  if (!f.has_dataset(opt.metric) || f.shape(opt.metric).size() != 4) {
    std::vector<std::string> known;
    for (const auto& n : f.dataset_names())
      if (f.shape(n).size() == 4) known.push_back(n);
    throw engine::UsageError("--metric " + opt.metric + ": no such metric in " + path.string() + " (" +
                             did_you_mean(opt.metric, known) + "metrics: " + joined(known) + ")");
  }
  const auto shape = f.shape(opt.metric);
  const std::size_t P = shape[0], NP = shape[1], R = shape[2], M = shape[3];
  const bool flow = f.dataset_string_attribute(opt.metric, "metric_kind") == "flow";
  const auto policy_names = f.read_strings("policy");
  const auto params = sweep_parameters(f);
  const std::size_t k = params.size();

  std::vector<std::size_t> policies;
  if (opt.policies.empty()) {
    for (std::size_t p = opt.contrast ? 1 : 0; p < NP; ++p) policies.push_back(p);
  } else {
    for (const auto& name : opt.policies) {
      const auto it = std::find(policy_names.begin(), policy_names.end(), name);
      if (it == policy_names.end())
        throw engine::UsageError("--policy " + name + ": no such policy (" + did_you_mean(name, policy_names) +
                                 "policies: " + joined(policy_names) + ")");
      policies.push_back(static_cast<std::size_t>(it - policy_names.begin()));
    }
  }
  if (policies.empty()) throw engine::UsageError("--contrast needs a policy besides the baseline");
  std::vector<std::uint32_t> months;
  if (opt.all_months) {
    for (std::uint32_t t = 1; t < M; ++t) months.push_back(t);
  } else {
    const std::uint32_t t = opt.month.value_or(static_cast<std::uint32_t>(M - 1));
    if (t >= M)
      throw engine::UsageError("--month " + std::to_string(t) + ": beyond the horizon of " + path.string() +
                               " (months 0.." + std::to_string(M - 1) + ", or \"all\")");
    months.push_back(t);
  }

  std::string method = opt.method.empty() ? (design == "sobol" ? "sobol" : "regression") : opt.method;
  if (method == "sobol" && design != "sobol")
    throw engine::UsageError("Sobol' indices need a Saltelli design (design = \"sobol\"); this sweep is " + design +
                                 ": use --method regression");
  if (method != "sobol" && method != "regression")
    throw engine::UsageError("unknown method '" + method + "' (sobol or regression)");

  // Which file positions enter the analysis, in the order the estimator wants.
  std::vector<std::size_t> use;
  if (method == "sobol") {
    use = complete_saltelli_rows(f, k);
    if (use.size() < 2 * (k + 2))
      throw engine::UsageError("Sobol' indices need at least 2 complete Saltelli rows; this file has " +
                                   std::to_string(use.size() / (k + 2)));
  } else {
    for (std::size_t p = 0; p < P; ++p) use.push_back(p);
    if (P < k + 3)
      throw engine::UsageError("regression needs more points than parameters + 2; this file has " + std::to_string(P));
  }
  Eigen::MatrixXd x;
  if (method == "regression") x = parameter_matrix(f, params, P);

  const std::vector<double> raw = f.read_doubles(opt.metric);  // [point][policy][rep][month]
  auto at = [&](std::size_t pt, std::size_t pol, std::size_t r, std::size_t t) {
    return raw[((pt * NP + pol) * R + r) * M + t];
  };
  // The outcome of one run: the level at t, or the sum over months 1..t.
  auto outcome = [&](std::size_t pt, std::size_t pol, std::size_t r, std::uint32_t t) {
    if (!flow) return at(pt, pol, r, t);
    double s = 0;
    for (std::uint32_t u = 1; u <= t; ++u) s += at(pt, pol, r, u);
    return s;
  };

  SensitivityResult res;
  res.metric = opt.metric;
  res.method = method;
  res.points_used = use.size();
  res.outcome = std::string(opt.contrast ? "paired difference to " + policy_names[0] + " of " : "") +
                (flow ? "the sum of " + opt.metric + " over months 1..t" : opt.metric + " at month t") +
                ", mean over " + count_of(R, "replication");
  std::vector<double> values(use.size() * R);
  for (const std::size_t pol : policies)
    for (const std::uint32_t t : months) {
      for (std::size_t i = 0; i < use.size(); ++i)
        for (std::size_t r = 0; r < R; ++r)
          values[i * R + r] = outcome(use[i], pol, r, t) - (opt.contrast ? outcome(use[i], 0, r, t) : 0.0);
      auto add = [&](const std::string& index, const std::vector<sa::Estimate>& est) {
        for (std::size_t i = 0; i < k; ++i)
          res.rows.push_back({policy_names[pol], t, params[i], index, est[i].value, est[i].low, est[i].high});
      };
      if (method == "sobol") {
        const auto s = sa::sobol_indices(values, R, k, opt.bootstrap, opt.seed);
        add("S1", s.first);
        add("ST", s.total);
        res.fits.push_back({policy_names[pol], t, s.noise_share, std::nan("")});
      } else {
        const auto s = sa::regression_indices(x, values, R, opt.bootstrap, opt.seed);
        add("SRC", s.src);
        add("PRCC", s.prcc);
        res.fits.push_back({policy_names[pol], t, s.noise_share, s.r_squared});
      }
    }
  if (method == "sobol")
    if (auto w = sobol_sample_warning(res, k, use.size() / (k + 2))) res.warnings.push_back(*w);
  return res;
}

void print_sensitivity(const SensitivityResult& res, std::ostream& out) {
  const bool sobol = res.method == "sobol";
  out << "Sensitivity of " << res.outcome << "\n"
      << (sobol ? "Sobol' indices (S1 first-order, ST total)" : "standardised regression coefficients (SRC) and "
                                                                 "partial rank correlations (PRCC)")
      << " from " << res.points_used << " points; [95% bootstrap interval over points and replications]\n";
  for (const auto& w : res.warnings) out << "\nwarning: " << w << '\n';
  std::size_t width = 9;
  for (const auto& r : res.rows) width = std::max(width, r.parameter.size());
  const std::string a = sobol ? "S1" : "SRC", b = sobol ? "ST" : "PRCC";
  std::size_t fit = 0;
  for (std::size_t i = 0; i < res.rows.size();) {
    const auto& head = res.rows[i];
    const auto& f = res.fits[fit++];
    out << "\n" << head.policy << ", month " << head.month << ": Monte Carlo noise "
        << (std::isfinite(f.noise_share) ? fixed(100 * f.noise_share, 1) + "%" : std::string("n/a (one replication)"))
        << " of the variance between points" << (sobol ? "" : ", R² " + fixed(f.r_squared, 2)) << "\n";
    if (std::isfinite(f.noise_share) && f.noise_share > 0.1)
      out << "  (noise above 10%: indices are blurred; add replications)\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-*s  %26s  %26s\n", static_cast<int>(width), "parameter", a.c_str(), b.c_str());
    out << line;
    // The rows of this block: k of index a, then k of index b; ranked by b (ST / PRCC magnitude).
    std::size_t k = 0;
    while (i + k < res.rows.size() && res.rows[i + k].policy == head.policy && res.rows[i + k].month == head.month &&
           res.rows[i + k].index == head.index)
      ++k;
    std::vector<std::size_t> order(k);
    for (std::size_t j = 0; j < k; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      return std::abs(res.rows[i + k + x].estimate) > std::abs(res.rows[i + k + y].estimate);
    });
    auto cell = [](const SensitivityRow& r) {
      return fixed(r.estimate) + " [" + fixed(r.low) + ", " + fixed(r.high) + "]";
    };
    for (const std::size_t j : order) {
      std::snprintf(line, sizeof line, "  %-*s  %26s  %26s\n", static_cast<int>(width), res.rows[i + j].parameter.c_str(),
                    cell(res.rows[i + j]).c_str(), cell(res.rows[i + k + j]).c_str());
      out << line;
    }
    i += 2 * k;
  }
}

void print_sensitivity_csv(const SensitivityResult& res, std::ostream& out) {
  out << "policy,month,parameter,index,estimate,ci_low,ci_high\n";
  char buf[128];
  for (const auto& r : res.rows) {
    std::snprintf(buf, sizeof buf, ",%.17g,%.17g,%.17g\n", r.estimate, r.low, r.high);
    out << '"' << r.policy << "\"," << r.month << ",\"" << r.parameter << "\"," << r.index << buf;
  }
}

}  // namespace loyalsim::app
