// A large array in its own anonymous memory mapping, advised for transparent
// huge pages.
//
// Why not std::vector: (1) THP is `madvise`-only on the machines we measure,
// so an array gets 2 MiB pages only if its range is 2 MiB-aligned and
// madvise(MADV_HUGEPAGE)'d, which an allocator never does; random reads of
// neighbours' state over a 10 M-node array then miss the TLB on almost every
// access. (2) std::vector value-initialises, one extra pass over every byte;
// fresh mappings are already zero and are only paid for where touched.
// (3) shrink() hands the tail's pages back without the copy that
// shrink_to_fit makes, which would double a builder's peak memory. (4) Freed
// mappings of 64 KiB and more are kept for reuse (buffer.cpp), since touching
// fresh pages costs several times more than rewriting mapped ones.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>

namespace loyalsim::engine {

// Hands the mappings that freed buffers left for reuse back to the system
// (buffer.cpp keeps them: fresh pages cost more to touch than to rewrite).
void release_cached_buffers();

namespace detail {
// Maps at least `bytes` (nullptr for 0), zeroed if asked, and returns it;
// sets `extent` to the bytes mapped (whole pages). Throws std::bad_alloc.
void* map_pages(std::size_t bytes, std::size_t& extent, bool zeroed);
void unmap(void* p, std::size_t extent) noexcept;
// Releases the pages wholly beyond `keep` bytes (the range stays mapped).
void release_tail(void* p, std::size_t extent, std::size_t keep) noexcept;
}  // namespace detail

template <class T>
class HugeBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "raw memory: trivially copyable elements only");

 public:
  HugeBuffer() = default;
  // n zero-initialised elements.
  explicit HugeBuffer(std::size_t n) : size_(n) {
    data_ = static_cast<T*>(detail::map_pages(n * sizeof(T), extent_, true));
  }
  // n elements of unspecified value, for arrays about to be written in full:
  // reused memory is then not cleared first.
  static HugeBuffer uninitialized(std::size_t n) {
    HugeBuffer b;
    b.size_ = n;
    b.data_ = static_cast<T*>(detail::map_pages(n * sizeof(T), b.extent_, false));
    return b;
  }
  HugeBuffer(const HugeBuffer& o) : size_(o.size_) {
    data_ = static_cast<T*>(detail::map_pages(size_ * sizeof(T), extent_, false));
    if (size_ > 0) std::memcpy(data_, o.data_, size_ * sizeof(T));
  }
  HugeBuffer(HugeBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        extent_(std::exchange(o.extent_, 0)) {}
  HugeBuffer& operator=(HugeBuffer o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(extent_, o.extent_);
    return *this;
  }
  ~HugeBuffer() { detail::unmap(data_, extent_); }

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, size_}; }

  // Keeps the first n (<= size) elements and returns the rest of the pages.
  void shrink(std::size_t n) noexcept {
    if (n >= size_) return;
    detail::release_tail(data_, extent_, n * sizeof(T));
    size_ = n;
  }
  // Bytes of memory the elements occupy, in whole 4 KiB pages.
  [[nodiscard]] std::size_t bytes() const noexcept { return (size_ * sizeof(T) + 4095) / 4096 * 4096; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t extent_ = 0;  // bytes mapped from data_ (whole pages, a shrunk tail included)
};

}  // namespace loyalsim::engine
