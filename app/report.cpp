#include "app/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <map>
#include <sstream>

#include "engine/errors.hpp"
#include "app/results.hpp"
#include "engine/hdf5.hpp"
#include "engine/statistics.hpp"
#include "models/srp1/model.hpp"

namespace loyalsim::app {

namespace {

namespace h5 = engine::h5;

// A metric's values as [point][policy][replication][month] for `count`
// points from position `first` in the file.
struct Cube {
  std::size_t points, policies, reps, months;  // months = T + 1
  std::vector<double> v;
  [[nodiscard]] double at(std::size_t pt, std::size_t p, std::size_t r, std::size_t t) const {
    return v[((pt * policies + p) * reps + r) * months + t];
  }
};

Cube read_cube(const h5::File& f, const std::string& name, std::size_t first, std::size_t count) {
  const auto shape = f.shape(name);
  if (shape.size() != 4)
    throw engine::RuntimeFailure("results file: '" + name + "' does not have dims (point, policy, replication, month)");
  if (first + count > shape[0])
    throw engine::RuntimeFailure("results file has " + std::to_string(shape[0]) + " point(s); there is no point " +
                                 std::to_string(first + count - 1));
  Cube c{count, shape[1], shape[2], shape[3], {}};
  const std::vector<double> all = f.read_doubles(name);
  const std::size_t n = c.policies * c.reps * c.months;
  c.v.assign(all.begin() + static_cast<std::ptrdiff_t>(first * n), all.begin() + static_cast<std::ptrdiff_t>((first + count) * n));
  return c;
}

// Per point, policy and replication: the value at the horizon, or the sum over months 1..T.
Runs per_run(const Cube& c, bool sum) {
  Runs out{c.points, c.policies, c.reps, std::vector<double>(c.points * c.policies * c.reps)};
  for (std::size_t pt = 0; pt < c.points; ++pt)
    for (std::size_t p = 0; p < c.policies; ++p)
      for (std::size_t r = 0; r < c.reps; ++r) {
        double s = 0.0;
        if (sum)
          for (std::size_t t = 1; t < c.months; ++t) s += c.at(pt, p, r, t);
        out.at(pt, p, r) = sum ? s : c.at(pt, p, r, c.months - 1);
      }
  return out;
}

// The measures of srp1::kMeasureInfo per run, each metric read once. A metric
// the file lacks (a 1.0 file has no programme cost, no proactive recoveries)
// leaves its measure out, or its term out of a denominator: that is exactly
// the 1.0 definition.
class MeasureReader {
 public:
  MeasureReader(const h5::File& f, std::size_t first, std::size_t count) : f_(f), first_(first), count_(count) {}

  [[nodiscard]] bool present(const srp1::MeasureInfo& m) const {
    return std::all_of(m.numerator.begin(), m.numerator.end(),
                       [&](srp1::Metric x) { return f_.has_dataset(srp1::kMetricInfo[x].name); });
  }

  // The measure per (point, policy, replication); the file must hold its numerator.
  Runs values(const srp1::MeasureInfo& m) {
    Runs out = total(m.numerator, m.level);
    if (!m.denominator.empty()) {
      const Runs den = total(m.denominator, false);
      for (std::size_t i = 0; i < out.v.size(); ++i) out.v[i] = den.v[i] > 0 ? out.v[i] / den.v[i] : std::nan("");
    }
    if (*m.divide_by_attribute) {
      const double by = f_.number_attribute(m.divide_by_attribute);
      for (double& x : out.v) x /= by;
    }
    return out;
  }

 private:
  const Runs& metric(const std::string& name, bool level) {
    auto& cache = level ? levels_ : sums_;
    auto it = cache.find(name);
    if (it == cache.end()) it = cache.emplace(name, per_run(read_cube(f_, name, first_, count_), !level)).first;
    return it->second;
  }

  Runs total(const std::vector<srp1::Metric>& metrics, bool level) {
    Runs out;
    for (const srp1::Metric m : metrics) {
      const std::string name = srp1::kMetricInfo[m].name;
      if (!f_.has_dataset(name)) continue;
      const Runs& v = metric(name, level);
      if (out.v.empty()) out = v;
      else
        for (std::size_t i = 0; i < out.v.size(); ++i) out.v[i] += v.v[i];
    }
    return out;
  }

  const h5::File& f_;
  std::size_t first_, count_;
  std::map<std::string, Runs> sums_, levels_;
};

// Display scale of a table row: a unit from its largest |mean| (M from a
// million, k from 100,000; % for shares) and enough decimals that its
// smallest CI half-width shows two significant digits. Where that would take
// more than 2 decimals of M or k the row steps down a unit ("+301.2k ± 4.0k",
// not "+0.30M ± 0.00M"); plain numbers and percentages take the decimals they
// need (up to 6). Without an interval: 3 significant digits of the largest
// value, at most 2 decimals; a row of zeros none.
struct Scale {
  double divisor = 1.0;
  const char* suffix = "";
  int decimals = 0;
};

int decimals_for(double x, int significant) {
  return significant - 1 - static_cast<int>(std::floor(std::log10(x)));
}

Scale scale_for(const std::string& kind, double largest, double smallest_half_width) {
  static constexpr Scale kUnits[] = {{1e6, "M", 0}, {1e3, "k", 0}, {1.0, "", 0}};
  const bool share = kind == "share";
  std::size_t unit = largest >= 1e6 ? 0 : largest >= 1e5 ? 1 : 2;
  Scale s = share ? Scale{0.01, "%", 0} : kUnits[unit];
  if (std::isfinite(smallest_half_width) && smallest_half_width > 0) {
    while (!share && unit < 2 && decimals_for(smallest_half_width / s.divisor, 2) > 2) s = kUnits[++unit];
    s.decimals = std::clamp(decimals_for(smallest_half_width / s.divisor, 2), 0, 6);
  } else if (std::isfinite(largest) && largest > 0) {
    s.decimals = std::clamp(decimals_for(largest / s.divisor, 3), 0, 2);
  } else {
    s.decimals = 0;  // all zero (a policy identical to the baseline, a cost nobody pays): "0 ± 0"
  }
  return s;
}

// Fixed decimals with thousands separators: 12,345.6
std::string number(double x, const Scale& s, bool sign) {
  if (!std::isfinite(x)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", s.decimals, std::abs(x) / s.divisor);
  const std::string plain = buf;
  const std::size_t dot = std::min(plain.find('.'), plain.size());
  std::string digits;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    if (i > 0 && i < dot && (dot - i) % 3 == 0) digits += ',';
    digits += plain[i];
  }
  const bool negative = x < 0 && digits.find_first_not_of("0.,") != std::string::npos;
  std::string out = negative ? "-" : (sign ? "+" : "");
  out.append(digits).append(s.suffix);
  return out;
}

std::string cell(const engine::Interval& iv, const Scale& s, bool sign) {
  std::string text = number(iv.mean, s, sign);
  if (std::isfinite(iv.low)) text += " ± " + number((iv.high - iv.low) / 2, s, false);
  return text;
}

}  // namespace

Runs horizon_runs(const std::filesystem::path& results, const std::string& measure) {
  h5::File f = h5::File::open_read(results);
  const auto it = std::find_if(srp1::kMeasureInfo.begin(), srp1::kMeasureInfo.end(),
                               [&](const srp1::MeasureInfo& m) { return m.name == measure; });
  if (it == srp1::kMeasureInfo.end()) throw engine::RuntimeFailure("no measure is named '" + measure + "'");
  MeasureReader reader(f, 0, static_cast<std::size_t>(f.shape("point").at(0)));
  if (!reader.present(*it))
    throw engine::RuntimeFailure(results.string() + " lacks the metrics of the measure '" + measure + "'");
  return reader.values(*it);
}

std::size_t display_width(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;  // count UTF-8 lead bytes only
  return n;
}

std::vector<std::string> format_numbers(const std::vector<double>& values, const std::string& kind,
                                        double smallest_half_width, bool sign) {
  double largest = 0.0;
  for (double x : values)
    if (std::isfinite(x)) largest = std::max(largest, std::abs(x));
  const Scale s = scale_for(kind, largest, smallest_half_width);
  std::vector<std::string> out;
  for (double x : values) out.push_back(number(x, s, sign));
  return out;
}

std::vector<std::string> format_row(const std::vector<engine::Interval>& cells, const std::string& kind, bool sign) {
  double largest = 0.0, smallest_half_width = INFINITY;
  for (const auto& iv : cells) {
    if (std::isfinite(iv.mean)) largest = std::max(largest, std::abs(iv.mean));
    const double hw = (iv.high - iv.low) / 2;
    if (hw > 0) smallest_half_width = std::min(smallest_half_width, hw);
  }
  const Scale s = scale_for(kind, largest, smallest_half_width);
  std::vector<std::string> out;
  for (const auto& iv : cells) out.push_back(cell(iv, s, sign));
  return out;
}

HorizonTable horizon_table(const std::filesystem::path& results, std::size_t point) {
  h5::File f = h5::File::open_read(results);
  HorizonTable table;
  table.experiment = f.string_attribute("experiment_name");
  if (f.has_attribute("sweep_design") && f.string_attribute("sweep_design") != "none") {
    table.experiment += ", point " + std::to_string(f.read_int64("point").at(point));
    for (const auto& name : sweep_parameters(f)) {
      const auto kind = f.dataset_string_attribute(name, "sweep_kind");
      std::ostringstream v;
      if (kind == "choices") v << f.read_strings(name).at(point);
      else v << std::setprecision(4) << f.read_doubles(name).at(point);
      table.point_values += (table.point_values.empty() ? "" : ", ") + name + " = " + v.str();
    }
  }
  table.policies = f.read_strings("policy");

  const auto shape = f.shape("active");  // (point, policy, replication, month)
  if (point >= shape.at(0))
    throw engine::RuntimeFailure("results file has " + std::to_string(shape[0]) + " point(s); there is no point " +
                                 std::to_string(point));
  table.month = static_cast<std::uint32_t>(shape.at(3) - 1);
  table.replications = static_cast<std::uint32_t>(shape.at(2));
  // The measures are srp1::kMeasureInfo, the definitions every 1.1 file also
  // carries in its `measures` attribute.
  table.customers = f.number_attribute("customers");
  table.represents = f.has_attribute("represents") ? f.number_attribute("represents") : table.customers;
  table.factor = table.customers > 0 ? table.represents / table.customers : 1.0;
  MeasureReader reader(f, point, 1);
  for (const auto& m : srp1::kMeasureInfo) {
    if (!reader.present(m)) continue;
    const Runs runs = reader.values(m);
    const double factor = std::string(m.kind) == "share" ? 1.0 : table.factor;
    std::vector<std::vector<double>> values(runs.policies, std::vector<double>(runs.reps));
    for (std::size_t p = 0; p < runs.policies; ++p)
      for (std::size_t r = 0; r < runs.reps; ++r) values[p][r] = runs.at(0, p, r) * factor;
    table.measures.push_back({m.name, m.label, m.kind, std::move(values)});
  }
  return table;
}

void print_table(const HorizonTable& t, std::ostream& out) {
  const std::size_t P = t.policies.size();
  out << t.experiment << ": month " << t.month << ", " << count_of(t.replications, "replication")
      << ". Mean ± 95% CI half-width; Δ = paired difference to " << t.policies.front()
      << ".\n" << (t.point_values.empty() ? "" : "Point values: " + t.point_values + ".\n")
      << "Money, WOM and shares are totals over months 1.." << t.month
      << "; net value is after recovery, programme and acquisition costs; shares are of all recoveries\n"
         "(complaints and proactive); retention is of the initial customers.\n";
  if (t.factor != 1.0)
    out << "Counts, money and WOM at the firm's scale: x " << std::setprecision(4) << t.factor << std::setprecision(6)
        << " the simulation's (population.represents " << static_cast<std::uint64_t>(t.represents) << " / "
        << static_cast<std::uint64_t>(t.customers) << " simulated customers); per customer = per real customer.\n";

  // Cells first, so columns can be sized to fit.
  std::vector<std::string> labels;
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : t.measures) {
    std::vector<engine::Interval> level(P), diff(P - 1);
    for (std::size_t p = 0; p < P; ++p) {
      level[p] = engine::mean_interval(m.values[p]);
      if (p == 0) continue;
      std::vector<double> d(m.values[p].size());
      for (std::size_t r = 0; r < d.size(); ++r) d[r] = m.values[p][r] - m.values[0][r];
      diff[p - 1] = engine::mean_interval(d);
    }
    // The level and the difference rows each get their own scale: a
    // difference is often a small part of the level.
    std::vector<std::string> dv = format_row(diff, m.kind, true);
    dv.insert(dv.begin(), "baseline");
    labels.push_back(m.label);
    rows.push_back(format_row(level, m.kind, false));
    labels.push_back("  Δ");
    rows.push_back(dv);
    if (m.name == "net_value" && t.represents > 0) {  // what it is worth per (real) customer
      for (auto& x : diff) x.mean /= t.represents, x.low /= t.represents, x.high /= t.represents;
      std::vector<std::string> per = format_row(diff, m.kind, true);
      per.insert(per.begin(), "");
      labels.push_back("  Δ per customer");
      rows.push_back(per);
    }
  }

  std::size_t label_width = 0;
  for (const auto& l : labels) label_width = std::max(label_width, l.size());
  std::vector<std::size_t> width(P);
  for (std::size_t p = 0; p < P; ++p) {
    width[p] = t.policies[p].size();
    for (const auto& r : rows) width[p] = std::max(width[p], r[p].size());
  }
  auto pad_left = [&](const std::string& s, std::size_t w) { return std::string(w - std::min(w, display_width(s)), ' ') + s; };
  auto pad_right = [&](const std::string& s, std::size_t w) { return s + std::string(w - std::min(w, display_width(s)), ' '); };

  // Policies in groups that fit a 120-column terminal.
  constexpr std::size_t kScreen = 120;
  for (std::size_t first = 0; first < P;) {
    std::size_t last = first, used = label_width;
    while (last < P && (last == first || used + 3 + width[last] <= kScreen)) used += 3 + width[last++];
    out << '\n' << pad_right("", label_width);
    for (std::size_t p = first; p < last; ++p) out << "   " << pad_left(t.policies[p], width[p]);
    out << '\n';
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out << pad_right(labels[i], label_width);
      for (std::size_t p = first; p < last; ++p) out << "   " << pad_left(rows[i][p], width[p]);
      out << '\n';
    }
    first = last;
  }
}

void print_sweep_summary(const std::filesystem::path& results, std::ostream& out) {
  h5::File f = h5::File::open_read(results);
  const auto params = sweep_parameters(f);
  const auto points = static_cast<std::size_t>(f.shape("point")[0]);
  const auto policies = f.read_strings("policy");
  const auto total = static_cast<std::int64_t>(f.number_attribute("points_total"));
  out << f.string_attribute("experiment_name") << ": " << f.string_attribute("sweep_design") << " sweep of "
      << params.size() << " parameter(s), " << points << " of " << total << " points";
  for (std::size_t i = 0; i < params.size(); ++i) out << (i ? ", " : " (") << params[i];
  out << ")\n\n";
  if (f.string_attribute("sweep_design") == "posterior" && points >= 2) {
    print_posterior_decision(posterior_decision(results), out);
    out << "\nWhich parameters' uncertainty matters: loyalsim sensitivity " << results.string() << " --metric net_value\n"
        << "One draw in full:                      loyalsim info " << results.string() << " --point K\n";
    return;
  }
  out << "Net value (discounted, months 1..T, mean over replications) across points:\n";
  // Per policy: min, median, max over points, and the point of the max.
  const Runs net = horizon_runs(results, "net_value");
  const auto point_ids = f.read_int64("point");
  std::size_t width = 6;
  for (const auto& p : policies) width = std::max(width, p.size());
  char line[256];
  std::snprintf(line, sizeof line, "  %-*s  %14s  %14s  %14s  %s\n", static_cast<int>(width), "policy", "min", "median",
                "max", "best point");
  out << line;
  for (std::size_t p = 0; p < net.policies; ++p) {
    std::vector<std::pair<double, std::int64_t>> v;
    for (std::size_t pt = 0; pt < points; ++pt) {
      double s = 0;
      for (std::size_t r = 0; r < net.reps; ++r) s += net.at(pt, p, r);
      v.emplace_back(s / static_cast<double>(net.reps), point_ids[pt]);
    }
    std::sort(v.begin(), v.end());
    const Scale sc = scale_for("money", std::max(std::abs(v.front().first), std::abs(v.back().first)), INFINITY);
    std::snprintf(line, sizeof line, "  %-*s  %14s  %14s  %14s  %lld\n", static_cast<int>(width), policies[p].c_str(),
                  number(v.front().first, sc, false).c_str(), number(v[v.size() / 2].first, sc, false).c_str(),
                  number(v.back().first, sc, false).c_str(), static_cast<long long>(v.back().second));
    out << line;
  }
  out << "\nWhich parameters matter: loyalsim sensitivity " << results.string() << " --metric net_value\n"
      << "One point in full:      loyalsim info " << results.string() << " --point K\n";
}

void print_provenance(const std::filesystem::path& results, std::ostream& out) {
  h5::File f = h5::File::open_read(results);
  auto text = [&](const char* name) { return f.has_attribute(name) ? f.string_attribute(name) : std::string("?"); };
  auto num = [&](const char* name) {
    std::ostringstream o;
    o << std::setprecision(15) << f.number_attribute(name);
    return o.str();
  };
  out << "file:        " << results.string() << '\n'
      << "format:      " << text("format") << ' ' << text("format_version") << ", model " << text("model") << '\n'
      << "experiment:  " << text("experiment_name") << " (sha256 " << text("experiment_sha256").substr(0, 16)
      << "…)\n";
  const std::string description = text("experiment_description");
  if (!description.empty()) out << "             " << description << '\n';
  out << "population:  " << num("customers") << " customers, " << num("prospects") << " prospects, "
      << num("horizon_months") << " months, " << num("replications") << " replications, seed " << f.uint64_attribute("seed")
      << '\n'
      << "engine:      loyalsim " << text("engine_version") << " (commit "
      << (text("git_commit").empty() ? "unknown" : text("git_commit").substr(0, 12)) << ")\n"
      << "run:         " << text("created_utc") << " on " << text("host") << ", " << num("threads")
      << " threads, " << num("processes") << " process(es), " << num("wall_seconds") << " s\n";
}

}  // namespace loyalsim::app
