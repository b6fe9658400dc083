#include "app/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "engine/designs.hpp"

namespace loyalsim::app {

namespace {

// Index of one of n discrete values at unit coordinate u: n equal bins.
std::size_t bin(double u, std::size_t n) {
  return std::min(n - 1, static_cast<std::size_t>(std::max(0.0, u) * static_cast<double>(n)));
}

std::size_t discrete_count(const SweepParameter& p) {
  return p.kind == SweepKind::choices ? p.choices.size() : p.values.size();
}

}  // namespace

std::uint32_t SweepParameter::grid_size(std::uint32_t levels) const {
  return kind == SweepKind::range || kind == SweepKind::log_range ? levels
                                                                  : static_cast<std::uint32_t>(discrete_count(*this));
}

double SweepParameter::value_at(double u) const {
  switch (kind) {
    case SweepKind::range:
      return low * (1 - u) + high * u;  // exact at both ends, and 0.6 (not 0.6000000000000001) mid-way of [0.2, 1]
    case SweepKind::log_range:
      return std::exp(std::log(low) + u * (std::log(high) - std::log(low)));
    case SweepKind::values:
      return values[bin(u, values.size())];
    case SweepKind::choices:
      return static_cast<double>(bin(u, choices.size()));
  }
  return 0.0;
}

double SweepParameter::grid_value(std::uint32_t i, std::uint32_t levels) const {
  if (kind == SweepKind::values) return values[i];
  if (kind == SweepKind::choices) return static_cast<double>(i);
  // Ranges: `levels` evenly spaced values including both ends, each the
  // double nearest its decimal where possible: (low (n-1-i) + high i) / (n-1).
  const double n = levels - 1.0;
  if (kind == SweepKind::log_range) return std::exp((std::log(low) * (n - i) + std::log(high) * i) / n);
  return (low * (n - i) + high * i) / n;
}

std::uint64_t Sweep::points() const {
  return parameters.empty() ? 1 : values.size() / parameters.size();
}

std::uint64_t Sweep::points_of(SweepDesign design, std::uint32_t base_points, std::uint32_t levels,
                               const std::vector<SweepParameter>& parameters) {
  switch (design) {
    case SweepDesign::none:
      return 1;
    case SweepDesign::grid: {
      std::uint64_t n = 1;
      for (const auto& p : parameters) {
        n *= std::max<std::uint32_t>(1, p.grid_size(levels));
        if (n > (std::uint64_t{1} << 40)) return n;  // far beyond any limit; stop before overflow
      }
      return n;
    }
    case SweepDesign::random:
    case SweepDesign::lhs:
    case SweepDesign::posterior:
    case SweepDesign::batch:
      return base_points;
    case SweepDesign::sobol:
      return static_cast<std::uint64_t>(base_points) * (parameters.size() + 2);
  }
  return 1;
}

void build_sweep_points(Sweep& s, std::uint64_t seed) {
  namespace design = engine::design;
  const std::size_t k = s.parameters.size();
  s.values.clear();
  if (!s.active() || k == 0) return;
  const std::uint64_t P = Sweep::points_of(s.design, s.base_points, s.levels, s.parameters);
  s.values.resize(P * k);
  if (s.design == SweepDesign::grid) {
    std::vector<std::uint32_t> sizes;
    for (const auto& p : s.parameters) sizes.push_back(p.grid_size(s.levels));
    const auto grid = design::grid_indices(sizes);
    for (std::uint64_t pt = 0; pt < P; ++pt)
      for (std::size_t i = 0; i < k; ++i) s.values[pt * k + i] = s.parameters[i].grid_value(grid[pt][i], s.levels);
    return;
  }
  Eigen::MatrixXd unit;
  switch (s.design) {
    case SweepDesign::random: unit = design::random_uniform(P, k, seed); break;
    case SweepDesign::lhs: unit = design::latin_hypercube(P, k, seed); break;
    default: unit = design::saltelli(s.base_points, k); break;
  }
  for (std::uint64_t pt = 0; pt < P; ++pt)
    for (std::size_t i = 0; i < k; ++i)
      s.values[pt * k + i] = s.parameters[i].value_at(unit(static_cast<Eigen::Index>(pt), static_cast<Eigen::Index>(i)));
}

srp1::Scenario Sweep::scenario_at(const srp1::Scenario& base, std::uint64_t point) const {
  srp1::Scenario sc = base;
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].apply(sc, value(point, i));
  return sc;
}

std::string Sweep::describe_value(std::uint64_t point, std::size_t i) const {
  const SweepParameter& p = parameters[i];
  const double v = value(point, i);
  if (p.kind == SweepKind::choices) return p.choices[static_cast<std::size_t>(v)];
  char buf[32];
  std::snprintf(buf, sizeof buf, p.integer ? "%.0f" : "%.4g", v);
  return buf;
}

}  // namespace loyalsim::app
