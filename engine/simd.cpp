#include "engine/simd.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/errors.hpp"

namespace loyalsim::engine::simd {

namespace {

constexpr int kUnset = -1;
std::atomic<int> g_level{kUnset};

}  // namespace

bool supported(Level level) noexcept {
  switch (level) {
    case Level::portable:
      return true;
    case Level::avx2:
      // libgcc's check includes the OS saving the YMM state (XGETBV).
      return __builtin_cpu_supports("avx2");
    case Level::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
}

Level best() noexcept {
  if (supported(Level::avx512)) return Level::avx512;
  if (supported(Level::avx2)) return Level::avx2;
  return Level::portable;
}

const char* name(Level level) noexcept {
  switch (level) {
    case Level::portable:
      return "portable";
    case Level::avx2:
      return "avx2";
    case Level::avx512:
      return "avx512";
  }
  return "unknown";
}

Level parse_level(std::string_view text) {
  const auto problem = [&](std::string what, std::string allowed) {
    return InputError({Problem{"environment", 0, "LOYALSIM_SIMD", std::move(what), std::move(allowed)}});
  };
  if (text.empty() || text == "auto") return best();
  for (const Level l : {Level::portable, Level::avx2, Level::avx512}) {
    if (text != name(l)) continue;
    if (!supported(l)) throw problem(std::string("this CPU does not support ") + name(l), "the best it supports is " + std::string(name(best())));
    return l;
  }
  throw problem("unknown value \"" + std::string(text) + "\"", "portable, avx2, avx512 or auto");
}

Level configure_from_environment() {
  const char* text = std::getenv("LOYALSIM_SIMD");
  const Level l = parse_level(text ? text : "");
  g_level.store(static_cast<int>(l), std::memory_order_relaxed);
  return l;
}

Level level() noexcept {
  const int l = g_level.load(std::memory_order_relaxed);
  if (l == kUnset) [[unlikely]]
    return configure_from_environment();  // a bad value throws here: std::terminate with its message
  return static_cast<Level>(l);
}

void set_level(Level level) {
  if (!supported(level)) throw std::invalid_argument(std::string("simd level ") + name(level) + " is not supported by this CPU");
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace loyalsim::engine::simd
