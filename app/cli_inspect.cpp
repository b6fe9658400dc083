// `loyalsim info` and `loyalsim sensitivity`: reading a results file (info
// also reads a calibration file). Every request is checked against the file
// before anything is printed.
#include <algorithm>
#include <iostream>

#include "app/calibration_file.hpp"
#include "app/cli.hpp"
#include "app/report.hpp"
#include "app/results.hpp"
#include "engine/errors.hpp"
#include "engine/hdf5.hpp"

namespace loyalsim::app::cli {

namespace fs = std::filesystem;

namespace {

// Refuses what is not a loyalsim results file, with the words loyalsim.open
// uses: bad input (UsageError) for a missing path, a directory, a file that
// is not HDF5 or not ours; a RuntimeFailure for a truncated or damaged one.
engine::h5::File open_results_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    const fs::path snapshot = partial_path(path);
    throw engine::UsageError("no such results file: " + path +
                             (fs::exists(snapshot, ec) ? "; a sweep in progress (or stopped) has written its finished "
                                                         "points to " + snapshot.string() + ", which loyalsim info reads"
                                                       : std::string()));
  }
  if (fs::is_directory(path, ec)) throw engine::UsageError(path + " is a directory, not a loyalsim results file");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw engine::UsageError(path + " is not an HDF5 file, so it is not a loyalsim results file");
  engine::h5::File f = engine::h5::File::open_read(path);
  const std::string format = f.has_attribute("format") ? f.string_attribute("format") : "";
  if (format != kResultsFormat)
    throw engine::UsageError(path + " is not a loyalsim results file (" +
                             (format.empty() ? std::string("no 'format' attribute") : "its format is '" + format + "'") +
                             "; expected '" + kResultsFormat + "')");
  return f;
}

// "0 to 5", or the design indices themselves when they are not 0..P-1 (a snapshot).
std::string describe_points(const std::vector<std::int64_t>& ids) {
  bool consecutive = true;
  for (std::size_t i = 0; i < ids.size(); ++i) consecutive = consecutive && ids[i] == static_cast<std::int64_t>(i);
  if (consecutive) return ids.size() == 1 ? "only point 0" : "points 0 to " + std::to_string(ids.size() - 1);
  std::string out = "points";
  for (std::size_t i = 0; i < std::min<std::size_t>(ids.size(), 20); ++i) out += (i ? ", " : " ") + std::to_string(ids[i]);
  return out + (ids.size() > 20 ? ", ... (" + std::to_string(ids.size()) + " in all)" : "");
}

// The position in the file of design point `point`.
std::size_t position_of(const engine::h5::File& f, const std::string& path, std::size_t point) {
  const auto ids = f.read_int64("point");
  const auto it = std::find(ids.begin(), ids.end(), static_cast<std::int64_t>(point));
  if (it == ids.end())
    throw engine::UsageError("--point " + std::to_string(point) + ": " + path + " has no such point (it has " +
                             describe_points(ids) + ")");
  return static_cast<std::size_t>(it - ids.begin());
}

std::uint32_t parse_month(const std::string& month) {
  std::size_t used = 0;
  unsigned long t = 0;
  try {
    t = std::stoul(month, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != month.size() || t > 1'000'000)
    throw engine::UsageError("--month " + month + ": expected a month number or \"all\"");
  return static_cast<std::uint32_t>(t);
}

}  // namespace

int info_command(const std::string& path, std::optional<std::size_t> point) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && H5Fis_hdf5(path.c_str()) > 0) {
    const engine::h5::File probe = engine::h5::File::open_read(path);
    if (probe.has_attribute("format") && probe.string_attribute("format") == kCalibrationFormat) {
      if (point) throw engine::UsageError("--point: " + path + " is a calibration file, which has no points");
      print_calibration_file(path, std::cout);
      return 0;
    }
  }
  const engine::h5::File f = open_results_file(path);
  const bool sweep = f.has_attribute("sweep_design") && f.string_attribute("sweep_design") != "none";
  const std::size_t position = point ? position_of(f, path, *point) : 0;
  print_provenance(path, std::cout);
  std::cout << '\n';
  if (sweep && !point) print_sweep_summary(path, std::cout);
  else print_table(horizon_table(path, position), std::cout);
  return 0;
}

int sensitivity_command(const std::string& path, SensitivityOptions options, const std::string& month, bool csv) {
  open_results_file(path);
  if (month == "all") options.all_months = true;
  else if (!month.empty()) options.month = parse_month(month);
  const SensitivityResult result = analyse_sensitivity(path, options);
  if (!csv) {
    print_sensitivity(result, std::cout);
    return 0;
  }
  for (const auto& w : result.warnings) std::cerr << "loyalsim: warning: " << w << '\n';
  print_sensitivity_csv(result, std::cout);
  return 0;
}

}  // namespace loyalsim::app::cli
