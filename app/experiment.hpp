// The experiment file (docs/experiment-format.md): TOML text -> a validated Experiment.
//
// This is the one place where file keys meet model parameters: the engine's
// config reader supplies typed, located access to TOML; the model supplies
// the parameter structs; this module maps one onto the other and checks every
// range, collecting all problems before refusing the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "app/calibration_spec.hpp"
#include "app/sweep.hpp"
#include "engine/config.hpp"
#include "models/srp1/parameters.hpp"

namespace loyalsim::app {

// A key an experiment sets over its preset's, for `validate`.
struct PresetOverride {
  std::string path;                // "model.gain", "segments.regular.churn_hazard"
  std::int64_t line = 0;           // in the experiment
  std::int64_t preset_line = 0;    // in the preset
};

struct Experiment {
  std::string name;
  std::string description;
  std::uint64_t seed = 0;
  std::uint32_t replications = 30;
  srp1::Scenario scenario;                // population, segments, model, wom, policies, horizon
  std::filesystem::path source;           // the experiment file as given
  std::filesystem::path output_path;      // [output].path resolved against the file's folder
  std::string toml_text;                  // the input text exactly as given
  Sweep sweep;                            // [sweep]; design none for a plain experiment
  std::string preset;                     // `preset` as given ("" without one)
  std::filesystem::path preset_path;      // the preset file it names
  std::string preset_toml;                // the preset's text exactly as read
  std::vector<PresetOverride> preset_overrides;
  Calibration calibration;                // [calibration]; method none without one

  // Number of points: 1 without a sweep.
  [[nodiscard]] std::uint64_t points() const { return sweep.active() ? sweep.points() : 1; }
  // The scenario of point k (the base scenario without a sweep).
  [[nodiscard]] srp1::Scenario scenario_at(std::uint64_t point) const {
    return sweep.active() ? sweep.scenario_at(scenario, point) : scenario;
  }
  // The simulation seed of point k: the experiment's, except in a calibration batch.
  [[nodiscard]] std::uint64_t seed_at(std::uint64_t point) const {
    return sweep.seeds.empty() ? seed : sweep.seeds[point];
  }
};

// The top-level keys the experiment file has besides the model's own
// (parameter_table.hpp): what the loader accepts and the docs describe.
inline constexpr std::string_view kExperimentKeys[] = {"name", "description", "preset", "seed", "replications",
                                                       "population", "segments", "model", "wom", "policies", "output",
                                                       "sweep", "calibration"};

// Where shipped presets live: $LOYALSIM_PRESETS, else the project's
// experiments/presets folder (fixed when the engine is built).
std::filesystem::path shipped_presets_folder();

// Parses and validates. Throws engine::InputError listing every problem as
// "file:line: key: what is wrong (what is allowed)". `source_name` is used
// in messages and to resolve the relative output path.
Experiment parse_experiment(std::string_view text, const std::filesystem::path& source_name);

// Reads the file (refusing unreadable or non-UTF-8 input) and parses it.
Experiment load_experiment(const std::filesystem::path& file);

}  // namespace loyalsim::app
