// Counter-based random numbers: every draw is a pure function of
// (seed, replication, month, purpose, node, draw index).
//
// Why counter-based: a stateful generator would make a customer's draws depend
// on which thread reached it first and on how many draws other branches used.
// With Philox (Random123) the draw for a key is computed, not consumed, so
//  - results are bit-identical at any thread or process count, and
//  - every policy of a replication sees the same draws for the same purpose
//    (common random numbers), even when one policy's branch skips a draw.
//
// Counter layout (Philox4x32-10, 4x32-bit counter, 2x32-bit key):
//   key = seed (64 bits)
//   ctr = { node, draw, month | purpose << 16, replication }
// `draw` is 0 for the one-uniform-per-(month, purpose, node) draws of the
// model; builders that need several uniforms for one node (a network node's
// ties) use draw = 0, 1, 2, ...
//
// One Philox block is 128 bits: uniform() uses words 0-1, uniform_pair() also
// words 2-3, so a kernel can take two uniforms (say, failure and churn) from
// one block. The batched forms (uniform_pairs, uniforms) compute many blocks
// per call with the SIMD level of engine/simd.hpp and give exactly the bits of
// the scalar forms at every level.
#pragma once

#include <Random123/philox.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace loyalsim::engine {

class RandomStream {
 public:
  RandomStream(std::uint64_t seed, std::uint32_t replication, std::uint32_t month,
               std::uint32_t purpose) noexcept
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        month_purpose_((month & 0xFFFFu) | (purpose << 16)),
        replication_(replication) {}

  // Uniform on the open interval (0, 1) with 53 random bits.
  [[nodiscard]] double uniform(std::uint32_t node, std::uint32_t draw = 0) const noexcept {
    const auto r = bits(node, draw);
    return uniform_from_words(r[0], r[1]);
  }

  // Two uniforms from one block: {uniform(node, draw), the same from words 2-3}.
  // Words 2-3 are also below()'s: take a second uniform or below() from one
  // (stream, node, draw), not both.
  [[nodiscard]] std::array<double, 2> uniform_pair(std::uint32_t node, std::uint32_t draw = 0) const noexcept {
    const auto r = bits(node, draw);
    return {uniform_from_words(r[0], r[1]), uniform_from_words(r[2], r[3])};
  }

  // For i < n: first[i], second[i] = uniform_pair(nodes[i], draw). Node ids
  // may be in any order and repeat; the three arrays hold n values each and
  // do not overlap. One Philox block per id, by the SIMD level of
  // engine/simd.hpp (the same bits at every level).
  void uniform_pairs(const std::uint32_t* nodes, std::size_t n, double* first, double* second,
                     std::uint32_t draw = 0) const noexcept;

  // For i < n: out[i] = uniform(nodes[i], draw).
  void uniforms(const std::uint32_t* nodes, std::size_t n, double* out, std::uint32_t draw = 0) const noexcept;

  // The uniform of words (hi, lo) of a block: (x + 0.5) 2^-53 with the 53
  // bits x = (hi << 32 | lo) >> 11, rounded to nearest. The one x that would
  // round up to 1.0 (all ones) gives the largest double below 1 instead, so
  // the interval stays open.
  [[nodiscard]] static double uniform_from_words(std::uint32_t hi, std::uint32_t lo) noexcept {
    const std::uint64_t x = (static_cast<std::uint64_t>(hi) << 32 | lo) >> 11;
    const double u = (static_cast<double>(x) + 0.5) * 0x1.0p-53;
    return u < kBelowOne ? u : kBelowOne;
  }
  static constexpr double kBelowOne = 0x1.fffffffffffffp-1;

  // Uniform integer on [0, n) (n >= 1), by 64-bit multiply-shift: bias < n / 2^64.
  [[nodiscard]] std::uint32_t below(std::uint32_t n, std::uint32_t node,
                                    std::uint32_t draw = 0) const noexcept {
    const auto r = bits(node, draw);
    const std::uint64_t x = static_cast<std::uint64_t>(r[2]) << 32 | r[3];
    return static_cast<std::uint32_t>((static_cast<unsigned __int128>(x) * n) >> 64);
  }

  // 64 raw bits, for sort keys.
  [[nodiscard]] std::uint64_t bits64(std::uint32_t node, std::uint32_t draw = 0) const noexcept {
    const auto r = bits(node, draw);
    return static_cast<std::uint64_t>(r[0]) << 32 | r[1];
  }

  // The whole 128-bit Philox output of (node, draw) as four 32-bit words, for
  // callers that spend every bit of a call (see WordStream).
  [[nodiscard]] std::array<std::uint32_t, 4> block(std::uint32_t node, std::uint32_t draw) const noexcept {
    const auto r = bits(node, draw);
    return {r[0], r[1], r[2], r[3]};
  }

 private:
  [[nodiscard]] r123::Philox4x32::ctr_type bits(std::uint32_t node,
                                                std::uint32_t draw) const noexcept {
    const r123::Philox4x32::ctr_type ctr = {{node, draw, month_purpose_, replication_}};
    return r123::Philox4x32()(ctr, key_);
  }

  r123::Philox4x32::key_type key_;
  std::uint32_t month_purpose_;
  std::uint32_t replication_;
};

namespace detail {
// The word-to-uniform conversion of the current SIMD level's batched path:
// out[i] = uniform_from_words(hi[i], lo[i]). For tests: the edge words (all
// zeros, all ones) cannot be reached through Philox on purpose.
void uniforms_from_words(const std::uint32_t* hi, const std::uint32_t* lo, std::size_t n, double* out) noexcept;
}  // namespace detail

// The 32-bit words of one counter stream, in order: block (node, tag | 0)
// gives words 0-3, block (node, tag | 1) words 4-7, and so on. One Philox call
// then serves four 32-bit draws instead of one, which is what makes the
// network builder cheap. The stream is still a pure function of its key, so
// draws taken from it in a fixed order are reproducible; `tag` keeps the
// streams of different uses of one (node, purpose) apart (the caller's job).
class WordStream {
 public:
  WordStream(const RandomStream& rng, std::uint32_t node, std::uint32_t tag) noexcept
      : rng_(rng), node_(node), tag_(tag), block_(rng.block(node, tag)) {}

  [[nodiscard]] std::uint32_t next() noexcept {
    if (used_ == 4) {
      block_ = rng_.block(node_, tag_ | index_++);
      used_ = 0;
    }
    return block_[used_++];
  }

  // Uniform on the open interval (0, 1) with 53 random bits (two words, as
  // RandomStream::uniform turns words 0-1 of a block into one).
  [[nodiscard]] double uniform() noexcept {
    const std::uint32_t hi = next();
    return RandomStream::uniform_from_words(hi, next());
  }

  // Exactly uniform integer on [0, n), n >= 1: Lemire's multiply-shift on one
  // word, rejecting the 2^32 mod n low products that would bias it (a rejected
  // word is replaced by the next one; at most n / 2^32 of the words).
  [[nodiscard]] std::uint32_t below(std::uint32_t n) noexcept {
    std::uint64_t m = static_cast<std::uint64_t>(next()) * n;
    if (static_cast<std::uint32_t>(m) < n) {
      const std::uint32_t threshold = (0u - n) % n;
      while (static_cast<std::uint32_t>(m) < threshold) m = static_cast<std::uint64_t>(next()) * n;
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

 private:
  RandomStream rng_;  // a copy: 16 bytes, and no lifetime to watch
  std::uint32_t node_, tag_, index_ = 1, used_ = 0;
  std::array<std::uint32_t, 4> block_;  // block index_ - 1
};

// Inverse of the standard normal CDF, Wichura's AS241 (PPND16): relative error
// about 1e-16 over (0, 1). One uniform gives one normal deviate, as the model
// contract requires (no Box-Muller pairs, no rejection).
double inverse_normal_cdf(double p) noexcept;

// Standard normal CDF, for tests and statistics.
inline double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace loyalsim::engine
