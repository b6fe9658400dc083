// Parallel stepping over a population with reductions that do not depend on
// the thread count.
//
// Floating-point addition is not associative, so a reduction whose grouping
// follows the thread schedule changes in the last bits when the thread count
// changes. Here the node range is cut into fixed blocks (kBlock nodes, a
// compile-time constant), each block reduces into its own partial, and the
// partials are summed in block order: the grouping is fixed by the population
// size alone.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace loyalsim::engine {

inline constexpr std::uint32_t kBlock = 2048;

// Runs f(begin, end, partial) over fixed blocks of [0, n) on `threads` OpenMP
// threads and returns the partials summed in block order. Acc needs a default
// constructor and operator+=.
template <class Acc, class F>
Acc block_reduce(std::uint32_t n, int threads, F&& f) {
  const std::uint32_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<Acc> partial(blocks);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && blocks > 1)
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(blocks); ++b) {
    const auto begin = static_cast<std::uint32_t>(b) * kBlock;
    const std::uint32_t end = begin + kBlock < n ? begin + kBlock : n;
    f(begin, end, partial[static_cast<std::size_t>(b)]);
  }
  Acc total{};
  for (const Acc& p : partial) total += p;
  return total;
}

// Invariant checks, compiled in with -DLOYALSIM_CHECKED=ON (cmake option).
// They may fire inside parallel regions, where exceptions cannot escape, so a
// broken invariant prints where it broke and aborts.
#if defined(LOYALSIM_CHECKED)
#define LOYALSIM_INVARIANT(cond, what)                                                      \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "loyalsim: invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                   what, #cond);                                                            \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
#else
#define LOYALSIM_INVARIANT(cond, what) ((void)0)
#endif

}  // namespace loyalsim::engine
