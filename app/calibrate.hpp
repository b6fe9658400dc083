// Running a calibration (CALIBRATION.md) on the model: the generic engine
// (engine/calibration.hpp) proposes batches; each batch becomes one
// experiment whose points are the proposals (design batch: each point its
// proposal's parameter values AND its own simulation seed), run by the
// ordinary ensemble runner (threads, oneTBB, MPI ranks, progress), and every
// point's runs become the proposal's Outcome (app/calibration_quantities.hpp).
//
// Resume: each proposal's Outcome is saved in the checkpoint store under its
// key as soon as its point finishes. The driver is a pure function of the
// outcomes, so rerunning it against the store asks for the same proposals,
// gets the saved outcomes back and runs only the rest: the resumed file is
// bit-identical to an unbroken run's.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <vector>

#include "app/ensemble.hpp"
#include "app/experiment.hpp"
#include "engine/calibration.hpp"
#include "engine/checkpoint.hpp"

namespace loyalsim::app {

namespace cal = engine::calibration;

// The experiment whose points are the batch's proposals, each run with
// `replications` replications of every policy at its own seed.
Experiment batch_experiment(const Experiment& base, std::span<const cal::Proposal> batch, std::uint32_t replications);

// MPI (app/distributed.cpp): what rank 0 sends with a unit of a batch
// experiment (replications, seed and parameter values of its point), and how
// a worker holding the base experiment runs it.
std::vector<std::byte> batch_unit_payload(const Experiment& batch, std::uint64_t unit);
std::vector<srp1::RunResult> run_batch_unit(const Experiment& base, std::uint64_t unit,
                                            std::span<const std::byte> payload, int threads,
                                            const std::function<void()>& on_month);

// A proposal's Outcome in the checkpoint store.
std::vector<std::byte> encode_outcome(const cal::Outcome& outcome);
std::optional<cal::Outcome> decode_outcome(const std::vector<std::byte>& bytes, std::size_t targets);

struct CalibrationOptions {
  int threads = 1;
  engine::CheckpointStore* store = nullptr;  // optional: outcomes by proposal key
  std::function<bool()> should_stop;         // optional: SIGINT/SIGTERM (throws app::Interrupted)
  RemoteWorkers* remote = nullptr;           // optional: MPI ranks (persistent serving)
  std::ostream* log = nullptr;               // optional: progress lines (stderr)
};

// The engine's BatchSimulator on the model.
class ModelSimulator {
 public:
  ModelSimulator(const Experiment& experiment, const CalibrationOptions& options);
  std::vector<cal::Outcome> operator()(std::span<const cal::Proposal> batch);
  [[nodiscard]] std::uint64_t proposals() const { return proposals_; }  // asked for
  [[nodiscard]] std::uint64_t simulated() const { return simulated_; }  // run here (not cached, not refused)
  [[nodiscard]] std::uint64_t cached() const { return cached_; }

 private:
  // A proposal the model cannot run (a value outside its allowed range, a
  // weight group summing to 0): failed without running.
  [[nodiscard]] bool runnable(const cal::Proposal& proposal) const;
  void log_round(const cal::Proposal& first, std::size_t size, std::size_t cached, std::size_t refused) const;

  const Experiment& e_;
  CalibrationOptions options_;
  std::uint32_t replications_;
  std::uint64_t proposals_ = 0, simulated_ = 0, cached_ = 0;
};

struct CalibrationResult {
  std::optional<cal::SmcResult> smc;       // method abc-smc
  std::optional<cal::OptimizeResult> fit;  // method optimize
  std::uint64_t simulated = 0, cached = 0;
  double wall_seconds = 0.0;
};

// The fit of e.calibration. Throws app::Interrupted when stopped (outcomes so
// far are in the store), and what the simulator throws.
CalibrationResult run_calibration(const Experiment& e, const CalibrationOptions& options);

// `calibrate --check`: every target at the experiment's own parameters and
// seed, `replications` replications of every probe policy (what
// `loyalsim run` computes), without fitting.
struct TargetCheck {
  double value = 0.0, se = 0.0, misfit = 0.0;
  bool within = false;  // |misfit| <= kWithinMisfit
};
std::vector<TargetCheck> check_targets(const Experiment& e, std::uint32_t replications, const EnsembleOptions& options);

// The replications a check runs: [calibration].replications if given, else the experiment's.
std::uint32_t check_replications(const Experiment& e);

}  // namespace loyalsim::app
