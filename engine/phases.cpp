#include "engine/phases.hpp"

namespace loyalsim::engine::phases {

namespace {
std::atomic<bool> g_enabled{false};
std::array<std::atomic<std::uint64_t>, static_cast<int>(Phase::count)> g_nanoseconds{};
}  // namespace

void enable(bool on) { g_enabled.store(on, std::memory_order_relaxed); }
bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

void reset() {
  for (auto& n : g_nanoseconds) n.store(0);
}

std::array<double, static_cast<int>(Phase::count)> seconds() {
  std::array<double, static_cast<int>(Phase::count)> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(g_nanoseconds[i].load()) * 1e-9;
  return out;
}

void add(Phase phase, double s) {
  g_nanoseconds[static_cast<int>(phase)].fetch_add(static_cast<std::uint64_t>(s * 1e9), std::memory_order_relaxed);
}

}  // namespace loyalsim::engine::phases
