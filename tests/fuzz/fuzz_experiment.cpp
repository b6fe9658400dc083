// libFuzzer target: arbitrary bytes as an experiment file.
//
// parse_experiment must either return a valid Experiment or throw
// engine::InputError listing the problems. Anything else (another exception,
// a crash, a sanitizer report, a hang) is a finding: we abort so that
// libFuzzer saves the input. Build and run: scripts/sanitize --fuzz
// (docs/reliability.md).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "app/experiment.hpp"
#include "engine/errors.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_experiment: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

// What a returned Experiment promises to every caller (docs/experiment-format.md).
void check(const loyalsim::app::Experiment& e) {
  const auto& sc = e.scenario;
  if (e.name.empty()) finding("accepted an empty name");
  if (sc.policies.empty()) finding("accepted an experiment without policies");
  if (sc.segments.empty() || sc.segments.size() > 255) finding("accepted a bad number of segments");
  if (e.replications < 1 || e.replications > 100'000) finding("replications out of range");
  if (sc.horizon_months < 1 || sc.horizon_months > 1200) finding("horizon out of range");
  if (sc.population.customers < 1 || sc.population.customers + sc.population.prospects > 2'147'483'647ULL)
    finding("population out of range");
  const std::uint64_t points = e.points();
  if (points < 1 || points > 1'000'000) finding("number of sweep points out of range");
  // The first and last points exist and can be built and described (what a run and its results file do).
  for (const std::uint64_t p : {std::uint64_t{0}, points - 1}) {
    const auto s = e.scenario_at(p);
    if (s.policies.size() != sc.policies.size()) finding("a sweep point changed the policies");
    for (std::size_t i = 0; i < e.sweep.parameters.size(); ++i) (void)e.sweep.describe_value(p, i);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check(loyalsim::app::parse_experiment(text, "fuzz.toml"));
  } catch (const loyalsim::engine::InputError& e) {
    if (e.problems().empty()) finding("InputError without problems");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_experiment: unexpected exception: %s\n", e.what());
    finding("an exception other than engine::InputError");
  } catch (...) {
    finding("a non-standard exception");
  }
  return 0;
}
