// Policy comparisons under a calibration's posterior (report.hpp): the
// numbers, and the table `loyalsim info` and `loyalsim run` print for a
// posterior sweep.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "app/report.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"
#include "engine/statistics.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::app {

namespace {

namespace h5 = engine::h5;

constexpr double kLevel = 0.95;

const srp1::MeasureInfo& measure_info(const std::string& name) {
  for (const auto& m : srp1::kMeasureInfo)
    if (m.name == name) return m;
  throw engine::RuntimeFailure("no measure is named '" + name + "'");
}

// Each draw's mean over its replications of policy p, in replication order.
std::vector<double> draw_means(const Runs& v, std::size_t p) {
  std::vector<double> out(v.points);
  for (std::size_t i = 0; i < v.points; ++i) {
    double s = 0.0;
    for (std::size_t r = 0; r < v.reps; ++r) s += v.at(i, p, r);
    out[i] = s / static_cast<double>(v.reps);
  }
  return out;
}

double mean_of(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

// P(best) and expected regret of every policy: y[i][p] is draw i's mean of
// policy p with the good direction up; ties share a draw.
void best_and_regret(const std::vector<std::vector<double>>& y, std::vector<PolicyUnderPosterior>& out) {
  const std::size_t P = out.size();
  for (auto& p : out) p.p_best = p.regret = 0.0;
  for (const auto& draw : y) {
    double top = -INFINITY;
    for (double v : draw)
      if (!std::isnan(v)) top = std::max(top, v);
    const auto winners = static_cast<double>(std::count(draw.begin(), draw.end(), top));
    for (std::size_t p = 0; p < P; ++p) {
      out[p].p_best += (draw[p] == top ? 1.0 / winners : 0.0) / static_cast<double>(y.size());
      out[p].regret += (top - draw[p]) / static_cast<double>(y.size());
    }
  }
}

// The contrast of policy p with the baseline: its summary over draws, its
// variance split and P(beats baseline) over every (draw, replication) run.
PolicyUnderPosterior contrast(const Runs& v, std::size_t p, double sign) {
  const std::size_t D = v.points, R = v.reps;
  std::vector<double> diff(D * R), score(D * R), means(D);
  for (std::size_t i = 0; i < D; ++i) {
    double s = 0.0;
    for (std::size_t r = 0; r < R; ++r) {
      const double d = v.at(i, p, r) - v.at(i, 0, r);
      diff[i * R + r] = d;
      score[i * R + r] = std::isnan(d) ? NAN : (sign * d > 0 ? 1.0 : d == 0 ? 0.5 : 0.0);
      s += d;
    }
    means[i] = s / static_cast<double>(R);
  }
  PolicyUnderPosterior out;
  const double tail = (1 - kLevel) / 2;
  out.contrast_mean = mean_of(means);
  out.contrast_low = engine::quantile(means, tail);
  out.contrast_high = engine::quantile(means, 1 - tail);
  // The split (docs/results-format.md): the seeds are shared by every draw,
  // so only the residual of the draw x replication table spreads the draw means.
  const engine::CrossedTable t = engine::crossed_table(diff, D, R);
  out.contrast_variance = t.between_rows;
  out.monte_carlo_variance = t.within_rows / static_cast<double>(R);
  const double parameters = t.between_rows - t.residual / static_cast<double>(R);
  out.parameter_variance = parameters < 0 ? 0.0 : parameters;  // NaN stays NaN (one replication: no residual)
  const engine::CrossedTable beats = engine::crossed_table(score, D, R);
  out.p_beats = beats.mean;
  out.p_beats_se = beats.standard_error;
  return out;
}

// Right-aligned columns but the first, each as wide as its widest cell.
void print_columns(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  for (const auto& row : rows) {
    std::string line = "  " + row[0] + std::string(width[0] - display_width(row[0]), ' ');
    for (std::size_t c = 1; c < row.size(); ++c) line += "  " + std::string(width[c] - display_width(row[c]), ' ') + row[c];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

double smallest_positive(const std::vector<double>& x) {
  double s = INFINITY;
  for (double v : x)
    if (v > 0) s = std::min(s, v);
  return s;
}

// What would narrow the contrast more: better data or more replications ("" for nothing to narrow).
std::string lever(const PolicyUnderPosterior& x) {
  if (!(std::isfinite(x.parameter_variance) && std::isfinite(x.monte_carlo_variance))) return "";
  if (x.parameter_variance == 0 && x.monte_carlo_variance == 0) return "";
  return x.monte_carlo_variance > x.parameter_variance ? "more replications" : "better data";
}

// The decision's cells, one row per policy, the header first.
std::vector<std::vector<std::string>> decision_cells(const PosteriorDecision& d) {
  const std::size_t P = d.policies.size();
  const double f = d.factor;
  std::vector<double> contrast, half_widths, beats, beats_se, best, regret;
  for (std::size_t p = 1; p < P; ++p) {
    const auto& x = d.policies[p];
    contrast.insert(contrast.end(), {x.contrast_mean * f, x.contrast_low * f, x.contrast_high * f});
    half_widths.push_back((x.contrast_high - x.contrast_low) / 2 * f);
    beats.push_back(x.p_beats);
    beats_se.push_back(x.p_beats_se);
  }
  for (const auto& x : d.policies) {
    best.push_back(x.p_best);
    regret.push_back(x.regret * f);
  }
  const auto c = format_numbers(contrast, d.kind, smallest_positive(half_widths), true);
  const auto b = format_numbers(beats, "share", smallest_positive(beats_se), false);
  const auto bse = format_numbers(beats_se, "share", smallest_positive(beats_se), false);
  const auto pb = format_numbers(best, "share", INFINITY, false);
  const auto rg = format_numbers(regret, d.kind, INFINITY, false);
  std::vector<std::vector<std::string>> rows = {
      {"policy", "Δ mean", "95% credible interval", "P(beats) ± se", "P(best)", "regret"},
      {d.policies[0].policy, "baseline", "", "", pb[0], rg[0]}};
  for (std::size_t p = 1; p < P; ++p) {
    const auto& x = d.policies[p];
    const std::size_t i = p - 1;
    const std::string beats_cell = !std::isfinite(x.p_beats) ? "" : x.p_beats_se > 0 ? b[i] + " ± " + bse[i] : b[i];
    rows.push_back({x.policy, c[3 * i], c[3 * i + 1] + " to " + c[3 * i + 2], beats_cell, pb[p], rg[p]});
  }
  return rows;
}

// The variance split's cells: each policy's parts as standard deviations, and the lever.
std::vector<std::vector<std::string>> split_cells(const PosteriorDecision& d) {
  std::vector<double> sds;
  for (std::size_t p = 1; p < d.policies.size(); ++p)
    sds.insert(sds.end(), {std::sqrt(d.policies[p].parameter_variance) * d.factor,
                           std::sqrt(d.policies[p].monte_carlo_variance) * d.factor});
  const auto sd = format_numbers(sds, d.kind, INFINITY, false);
  std::vector<std::vector<std::string>> rows = {{"policy", "parameters", "Monte Carlo", "narrowed most by"}};
  for (std::size_t p = 1; p < d.policies.size(); ++p)
    rows.push_back({d.policies[p].policy, sd[2 * (p - 1)], sd[2 * (p - 1) + 1], lever(d.policies[p])});
  return rows;
}

// What the numbers are in: the measure's unit, at the firm's scale.
std::string units_line(const PosteriorDecision& d) {
  if (d.kind == "share") return "Δ and regret of a share in percentage points; P(beats) and P(best) in % of runs and draws.";
  std::ostringstream s;
  s << (d.kind == "money" ? "Money in currency units" : d.kind == "messages" ? "In messages" : "In customers")
    << " at the firm's scale: " << std::setprecision(10);
  if (d.represents == d.customers) s << d.customers << " customers, as simulated.";
  else
    s << "x " << std::setprecision(4) << d.factor << std::setprecision(10) << " the simulation's (population.represents "
      << d.represents << " / " << d.customers << " simulated customers).";
  return s.str();
}

// "  name  meaning" lines, the names padded to one width.
void print_legend(const std::vector<std::pair<std::string, std::string>>& lines, std::ostream& out) {
  std::size_t width = 0;
  for (const auto& [name, _] : lines) width = std::max(width, display_width(name));
  for (const auto& [name, meaning] : lines)
    out << "  " << name << std::string(width - display_width(name), ' ') << "  " << meaning << '\n';
}

}  // namespace

void print_posterior_decision(const PosteriorDecision& d, std::ostream& out) {
  const std::string& base = d.policies.front().policy;
  out << "Under the posterior: " << d.label << ", months 1.." << d.month << "; Δ = paired difference to " << base
      << ",\nover " << d.draws << " posterior draws x " << count_of(d.replications, "replication")
      << " (each replication's seed the same at every draw).\n"
      << units_line(d) << "\n\n";
  print_columns(decision_cells(d), out);
  out << '\n';
  const std::string runs = std::to_string(d.draws * d.replications);
  print_legend({{"Δ mean", "the mean over draws of each draw's mean Δ over its replications"},
                {"95% credible interval", "the 2.5% and 97.5% quantiles of those draw means"},
                {"P(beats) ± se", "the share of the " + runs + " runs (draw x replication) beating " + base +
                                      " (ties half) ± its Monte Carlo s.e."},
                {"P(best)", "the share of draws in which the policy's mean is the best (ties share the draw)"},
                {"regret", "the mean over draws of the best policy's mean minus the policy's own"}},
               out);
  if (d.draws < kFewDraws)
    out << "Only " << d.draws << " draws: each end of the interval lies between the two most extreme draws on its side;\n"
        << "  a posterior sweep of at least " << kFewDraws << " points rests it on more of the posterior.\n";
  out << "\nWhat would narrow Δ: the spread of a draw's mean Δ in two parts, as standard deviations, same units.\n\n";
  print_columns(split_cells(d), out);
  out << '\n';
  if (d.replications < 2)
    out << "One replication per draw: nothing tells its noise from the parameters'; run at least 2 for the split.\n";
  print_legend({{"parameters", "the spread over the posterior's draws: better data (a narrower posterior) shrinks it"},
                {"Monte Carlo", "the replication noise of one draw's mean: x 1/√2 for twice the replications"},
                {"narrowed most by", "the larger part's remedy"}},
               out);
}

PosteriorDecision posterior_decision(const std::filesystem::path& results, const std::string& measure) {
  const srp1::MeasureInfo& m = measure_info(measure);
  PosteriorDecision d;
  {
    const h5::File f = h5::File::open_read(results);
    const std::string design = f.has_attribute("sweep_design") ? f.string_attribute("sweep_design") : "none";
    const auto points = f.shape("point").at(0);
    if (design != "posterior" || points < 2)
      throw engine::RuntimeFailure(results.string() + " is not a posterior sweep of at least two draws (design " +
                                   design + ", " + std::to_string(points) + " point(s))");
    d.customers = f.number_attribute("customers");
    d.represents = f.has_attribute("represents") ? f.number_attribute("represents") : d.customers;
    d.factor = std::string(m.kind) == "share" ? 1.0 : d.represents / d.customers;
    d.month = static_cast<std::uint32_t>(f.shape("month").at(0) - 1);
    for (const auto& name : f.read_strings("policy")) d.policies.push_back({.policy = name});
  }
  d.measure = m.name;
  d.label = m.label;
  d.kind = m.kind;
  d.better = m.better;
  const Runs v = horizon_runs(results, measure);
  d.draws = v.points;
  d.replications = v.reps;
  const double sign = d.better == "lower" ? -1.0 : 1.0;
  for (std::size_t p = 1; p < v.policies; ++p) {
    const std::string name = d.policies[p].policy;
    d.policies[p] = contrast(v, p, sign);
    d.policies[p].policy = name;
  }
  d.policies[0].p_beats = d.policies[0].p_beats_se = NAN;  // the baseline does not beat itself
  std::vector<std::vector<double>> y(v.points, std::vector<double>(v.policies));
  for (std::size_t p = 0; p < v.policies; ++p) {
    const auto means = draw_means(v, p);
    for (std::size_t i = 0; i < v.points; ++i) y[i][p] = sign * means[i];
  }
  best_and_regret(y, d.policies);
  if (d.better == "none")
    for (auto& p : d.policies) p.p_beats = p.p_beats_se = p.p_best = p.regret = NAN;
  return d;
}

}  // namespace loyalsim::app
