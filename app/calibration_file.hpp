// The calibration file (CALIBRATION.md, docs/calibration.md "The calibration
// file"): format "loyalsim-calibration", netCDF-4 compatible like the results
// file, written beside its name and renamed; the calibrated preset
// OUT.preset.toml; and the reading a posterior sweep needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "app/calibrate.hpp"
#include "app/experiment.hpp"
#include "app/results.hpp"

namespace loyalsim::app {

inline constexpr const char* kCalibrationFormat = "loyalsim-calibration";
inline constexpr const char* kCalibrationFormatVersion = "1.0";

// Summaries of a fit per parameter and target, shared by the file, the stdout
// table and the preset: for abc-smc from the last complete generation
// (weighted), for optimize from the best fit.
struct FitSummary {
  std::vector<double> prior_low, prior_high;        // 95% prior interval
  std::vector<double> estimate, low, high;          // posterior mean and 95% interval (optimize: the best fit)
  std::vector<double> contraction;                  // 1 - Var(post)/Var(prior) (optimize: NaN)
  std::vector<double> predictive_mean, predictive_low, predictive_high;  // per target (optimize: fresh runs)
  std::vector<double> within_share;                 // per target: share of runs within tolerance
  std::vector<double> misfit;                       // per target: misfit of predictive_mean
  std::string stop_reason, stop_message;
  std::vector<std::string> conflicting;             // targets that conflict or cannot be reached
};
FitSummary summarise_fit(const Experiment& e, const CalibrationResult& result);

// Writes the file to temporary_path(path) and renames it into place.
void write_calibration_file(const std::filesystem::path& path, const Experiment& e, const CalibrationResult& result,
                            const FitSummary& summary, const RunFacts& facts);

// OUT.preset.toml for OUT.h5.
std::filesystem::path preset_path(const std::filesystem::path& calibration_file);
// The calibrated market as a preset (EXPERIMENT.md "Presets"): [population]
// without sizes, [[segments]], [model], [wom], with the estimates written in
// and a comment naming the calibration file.
std::string preset_text(const Experiment& e, const std::vector<double>& estimate, const std::string& source,
                        const std::string& source_sha256);

// A calibration file's posterior draws, for a posterior sweep.
struct PosteriorDraws {
  std::vector<std::string> parameters;  // paths
  std::vector<double> values;           // [draw * parameters + i]
  std::size_t draws = 0;
  std::string sha256;                   // of the file's bytes
};
// Throws engine::RuntimeFailure saying what is wrong (missing, unreadable, not
// a calibration file), naming the file as `shown`.
PosteriorDraws read_posterior_draws(const std::filesystem::path& path, const std::string& shown);

// SHA-256 of a file's bytes (hex).
std::string file_sha256(const std::filesystem::path& path);

// `loyalsim info` on a calibration file: the fit's tables as the file holds them.
void print_calibration_file(const std::filesystem::path& path, std::ostream& out);

// The stdout tables: after a fit, and for --check.
void print_fit(const Experiment& e, const CalibrationResult& result, const FitSummary& summary, std::ostream& out);
void print_check(const Experiment& e, const std::vector<TargetCheck>& checks, std::uint32_t replications,
                 std::ostream& out);

}  // namespace loyalsim::app
