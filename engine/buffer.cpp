#include "engine/buffer.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace loyalsim::engine {

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kMaxCached = std::size_t{4} << 30;
constexpr std::size_t kMinCached = std::size_t{64} << 10;  // smaller mappings: munmap at once

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

// Freed mappings (64 KiB and up), kept for the next request they fit. First touches of
// fresh pages are what a builder run once per replication pays most for
// (measured here: 1.2 GB/s on 4 KiB pages, 5 GB/s on huge pages, against
// 12 GB/s to rewrite memory already mapped), so the second replication on
// reuses the first one's pages. A request the cache cannot serve first hands
// the whole cache back to the system: the cache never adds to a peak that
// requests of new sizes would reach without it.
struct Cache {
  struct Mapping {
    void* p;
    std::size_t extent;
  };
  std::mutex mutex;
  std::vector<Mapping> free;
  std::size_t bytes = 0;

  // A cached mapping of at least `want` bytes and at most an eighth more.
  void* take(std::size_t want, std::size_t& extent) {
    const std::lock_guard lock(mutex);
    std::size_t best = free.size();
    for (std::size_t i = 0; i < free.size(); ++i)
      if (free[i].extent >= want && free[i].extent <= want + want / 8 &&
          (best == free.size() || free[i].extent < free[best].extent))
        best = i;
    if (best == free.size()) {
      release_locked();
      return nullptr;
    }
    const Mapping m = free[best];
    free.erase(free.begin() + static_cast<std::ptrdiff_t>(best));
    bytes -= m.extent;
    extent = m.extent;
    return m.p;
  }
  bool keep(void* p, std::size_t extent) {
    const std::lock_guard lock(mutex);
    if (bytes + extent > kMaxCached) return false;
    free.push_back({p, extent});
    bytes += extent;
    return true;
  }
  void release_locked() {
    for (const Mapping& m : free) munmap(m.p, m.extent);
    free.clear();
    bytes = 0;
  }
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: buffers may outlive static destruction
  return *c;
}

void* map_fresh(std::size_t want, bool huge) {
  // Over-map by a huge page, then trim both ends so the range starts on a
  // 2 MiB boundary: the kernel can back it with huge pages from the start.
  const std::size_t asked = huge ? want + kHugePage : want;
  void* raw = mmap(nullptr, asked, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* p = static_cast<char*>(raw);
  if (!huge) return p;
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  char* aligned = p + (round_up(addr, kHugePage) - addr);
  if (aligned > p) munmap(p, static_cast<std::size_t>(aligned - p));
  char* end = aligned + want;
  if (end < p + asked) munmap(end, static_cast<std::size_t>(p + asked - end));
  madvise(aligned, want, MADV_HUGEPAGE);  // advice only: a refusal leaves 4 KiB pages
  return aligned;
}

}  // namespace

void release_cached_buffers() {
  Cache& c = cache();
  const std::lock_guard lock(c.mutex);
  c.release_locked();
}

namespace detail {

void* map_pages(std::size_t bytes, std::size_t& extent, bool zeroed) {
  extent = 0;
  if (bytes == 0) return nullptr;
  // Below one huge page, an ordinary mapping: THP could not back it anyway.
  // Above, sizes round up to one of eight classes per power of two, so that
  // the next replication's array, a few entries longer or shorter, fits the
  // mapping this one leaves (only touched pages are ever resident).
  const bool huge = bytes >= kHugePage;
  const std::size_t want = huge ? round_up(bytes, std::max(kHugePage, std::bit_floor(bytes) / 8)) : round_up(bytes, kPage);
  if (want >= kMinCached) {
    if (void* p = cache().take(want, extent)) {
      if (zeroed) std::memset(p, 0, bytes);
      return p;
    }
  }
  extent = want;
  return map_fresh(want, huge);  // fresh pages are zero
}

void unmap(void* p, std::size_t extent) noexcept {
  if (p == nullptr || extent == 0) return;
  if (extent >= kMinCached && cache().keep(p, extent)) return;
  munmap(p, extent);
}

void release_tail(void* p, std::size_t extent, std::size_t keep) noexcept {
  const std::size_t kept = round_up(keep, kPage);
  // The pages go back to the system; the range stays mapped, so a buffer freed
  // later returns to the cache whole and fits the next request of its size.
  if (p != nullptr && kept < extent) madvise(static_cast<char*>(p) + kept, extent - kept, MADV_DONTNEED);
}

}  // namespace detail

}  // namespace loyalsim::engine
