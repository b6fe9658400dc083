#include "engine/buffer.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace loyalsim::engine::detail {

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t round_up(std::size_t x, std::size_t to) { return (x + to - 1) / to * to; }

}  // namespace

void* map_zeroed(std::size_t bytes, std::size_t& extent) {
  extent = 0;
  if (bytes == 0) return nullptr;
  // Below one huge page, an ordinary mapping: THP could not back it anyway.
  const bool huge = bytes >= kHugePage;
  const std::size_t want = round_up(bytes, huge ? kHugePage : kPage);
  // Over-map by a huge page, then trim both ends so the range starts on a
  // 2 MiB boundary: the kernel can back it with huge pages from the start.
  const std::size_t asked = huge ? want + kHugePage : want;
  void* raw = mmap(nullptr, asked, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* p = static_cast<char*>(raw);
  if (huge) {
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    char* aligned = p + (round_up(addr, kHugePage) - addr);
    if (aligned > p) munmap(p, static_cast<std::size_t>(aligned - p));
    char* end = aligned + want;
    if (end < p + asked) munmap(end, static_cast<std::size_t>(p + asked - end));
    p = aligned;
    madvise(p, want, MADV_HUGEPAGE);  // advice only: a refusal leaves 4 KiB pages
  }
  extent = want;
  return p;
}

void unmap(void* p, std::size_t extent) noexcept {
  if (p != nullptr && extent > 0) munmap(p, extent);
}

std::size_t unmap_tail(void* p, std::size_t extent, std::size_t keep) noexcept {
  const std::size_t kept = round_up(keep, kPage);
  if (p == nullptr || kept >= extent) return extent;
  munmap(static_cast<char*>(p) + kept, extent - kept);
  return kept;
}

}  // namespace loyalsim::engine::detail
