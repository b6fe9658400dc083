#include "engine/network.hpp"

#include <oneapi/tbb/parallel_sort.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace loyalsim::engine {

namespace {

// Visits every tie the spec generates, before de-duplication: f(u, v, strong).
template <class F>
void for_each_tie(const SmallWorldSpec& spec, const RandomStream& rng,
                  const std::vector<std::uint32_t>& ring, int threads, F&& f) {
  const std::uint32_t n = spec.nodes;
  const std::uint32_t half = spec.ring_neighbours / 2;
  const std::uint32_t partners = spec.random_ties / 2;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (std::int64_t ip = 0; ip < static_cast<std::int64_t>(n); ++ip) {
    const auto p = static_cast<std::uint32_t>(ip);
    const std::uint32_t u = ring[p];
    for (std::uint32_t j = 1; j <= half; ++j) {
      std::uint32_t v = ring[(p + j) % n];
      if (rng.uniform(p, 2 * j - 1) < spec.rewire) v = rng.below(n, p, 2 * j);
      if (u != v) f(u, v, true);
    }
    for (std::uint32_t i = 0; i < partners; ++i) {
      const std::uint32_t w = rng.below(n, p, spec.ring_neighbours + 1 + i);
      if (p != w) f(p, w, false);
    }
  }
}

}  // namespace

TieGraph build_small_world(const SmallWorldSpec& spec, const RandomStream& rng, int threads) {
  const std::uint32_t n = spec.nodes;
  TieGraph g;
  g.offset_.assign(static_cast<std::size_t>(n) + 1, 0);
  g.strong_count_.assign(n, 0);
  if (n == 0) return g;

  // Ring order: sort (32 random bits, node id); the id breaks ties deterministically.
  std::vector<std::uint32_t> ring(n);
  {
    std::vector<std::uint64_t> keys(n);
    for (std::uint32_t i = 0; i < n; ++i) keys[i] = (rng.bits64(i, 0) & 0xFFFFFFFF00000000ull) | i;
    tbb::parallel_sort(keys.begin(), keys.end());
    for (std::uint32_t i = 0; i < n; ++i) ring[i] = static_cast<std::uint32_t>(keys[i]);
  }

  // Pass 1: degrees by kind. Pass 2: fill rows (strong part, then weak part).
  std::vector<std::uint32_t> n_strong(n, 0), n_weak(n, 0);
  for_each_tie(spec, rng, ring, threads, [&](std::uint32_t u, std::uint32_t v, bool strong) {
    auto& c = strong ? n_strong : n_weak;
    std::atomic_ref<std::uint32_t>(c[u]).fetch_add(1, std::memory_order_relaxed);
    std::atomic_ref<std::uint32_t>(c[v]).fetch_add(1, std::memory_order_relaxed);
  });
  for (std::uint32_t i = 0; i < n; ++i) g.offset_[i + 1] = g.offset_[i] + n_strong[i] + n_weak[i];
  g.neighbour_.resize(g.offset_[n]);
  // Cursors: strong entries fill from the row start, weak ones from after the strong part.
  std::vector<std::uint32_t> cur_strong(n, 0), cur_weak(n, 0);
  for_each_tie(spec, rng, ring, threads, [&](std::uint32_t u, std::uint32_t v, bool strong) {
    auto put = [&](std::uint32_t a, std::uint32_t b) {
      const std::uint64_t base = g.offset_[a] + (strong ? 0 : n_strong[a]);
      auto& cur = strong ? cur_strong : cur_weak;
      const auto k = std::atomic_ref<std::uint32_t>(cur[a]).fetch_add(1, std::memory_order_relaxed);
      g.neighbour_[base + k] = b;
    };
    put(u, v);
    put(v, u);
  });
  cur_strong = {};
  cur_weak = {};
  ring = {};

  // Sort and de-duplicate each row in place; weak ties already present as strong ties go.
  std::vector<std::uint32_t> kept(n);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4096) if (threads > 1)
  for (std::int64_t ii = 0; ii < static_cast<std::int64_t>(n); ++ii) {
    const auto i = static_cast<std::uint32_t>(ii);
    std::uint32_t* row = g.neighbour_.data() + g.offset_[i];
    std::uint32_t* mid = row + n_strong[i];
    std::uint32_t* end = row + n_strong[i] + n_weak[i];
    std::sort(row, mid);
    std::uint32_t* strong_end = std::unique(row, mid);
    std::sort(mid, end);
    std::uint32_t* weak_end = std::unique(mid, end);
    weak_end = std::remove_if(mid, weak_end, [&](std::uint32_t v) { return std::binary_search(row, strong_end, v); });
    std::uint32_t* out = std::copy(mid, weak_end, strong_end);
    g.strong_count_[i] = static_cast<std::uint32_t>(strong_end - row);
    kept[i] = static_cast<std::uint32_t>(out - row);
  }
  // Compact rows to the left (serial: each row moves into space already freed).
  std::uint64_t write = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint64_t read = g.offset_[i];
    g.offset_[i] = write;
    if (write != read)
      std::memmove(g.neighbour_.data() + write, g.neighbour_.data() + read, kept[i] * sizeof(std::uint32_t));
    write += kept[i];
  }
  g.offset_[n] = write;
  g.neighbour_.resize(write);  // no shrink_to_fit: a copy would double the peak
  return g;
}

}  // namespace loyalsim::engine
