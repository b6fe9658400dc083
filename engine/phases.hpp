// Where the time goes: wall seconds per phase of a simulation, summed over
// every thread that ran the phase, for the benchmark (bench/bench.cpp) and
// docs/performance.md. Off unless enable() was called: a disabled scope is a
// load and a branch.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace loyalsim::engine::phases {

enum class Phase : int { build, initial, warmup, customers, exposure, close, facts, count };
inline constexpr const char* kPhaseNames[] = {"network build", "initial state", "warm-up", "customer step",
                                              "exposure and adoption", "month close (reductions)", "fact cohorts"};

void enable(bool on = true);
[[nodiscard]] bool enabled();
void reset();
// Seconds spent in each phase since reset(), over every thread.
[[nodiscard]] std::array<double, static_cast<int>(Phase::count)> seconds();
void add(Phase phase, double seconds);

// Times its scope into `phase` when profiling is on.
class Scope {
 public:
  explicit Scope(Phase phase) : phase_(phase), on_(enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~Scope() {
    if (on_) add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Phase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace loyalsim::engine::phases
