// Which vector instruction set the batched kernels (engine/random.hpp's
// uniform_pairs, engine/fastmath.hpp's *_array) use, chosen at run time.
//
// Why a run-time level and not -march: one binary must run on every x86-64,
// and every level must give the same bits (the kernels use integer Philox and
// our own exp/log written with plain IEEE mul/add, no FMA). The level only
// changes speed; the portable level is the reference the others are tested
// against, and forcing it is how a test or a user checks that claim end to end.
//
// The level is, in order of precedence: the last set_level(); else the
// environment variable LOYALSIM_SIMD (portable | avx2 | avx512 | auto), read on
// first use; else the best level this CPU supports.
#pragma once

#include <string_view>

namespace loyalsim::engine::simd {

enum class Level : int {
  portable = 0,  // plain C++ (baseline x86-64: SSE2)
  avx2 = 1,      // 256-bit integer and double vectors
  avx512 = 2,    // AVX-512 F + DQ + VL
};

// The level the kernels use now.
[[nodiscard]] Level level() noexcept;

// Forces a level (tests, benchmarks). Throws std::invalid_argument if this CPU
// (or its operating system) does not support it.
void set_level(Level level);

// Whether this CPU and its operating system can run a level.
[[nodiscard]] bool supported(Level level) noexcept;

// The highest supported level.
[[nodiscard]] Level best() noexcept;

[[nodiscard]] const char* name(Level level) noexcept;

// Parses "portable", "avx2", "avx512"; "auto" (or empty) means best().
// Throws engine::InputError (key LOYALSIM_SIMD) on any other value or on a
// level this CPU lacks: asking for avx2 on a machine without it must not
// silently measure the portable path.
[[nodiscard]] Level parse_level(std::string_view text);

// Reads LOYALSIM_SIMD now and sets the level from it (best() when unset).
// Programs call this at start-up so a bad value is a clear error (exit code 2)
// before any work; level() calls it on first use otherwise, where a bad value
// ends the program with the same message.
Level configure_from_environment();

}  // namespace loyalsim::engine::simd
