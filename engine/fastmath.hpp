// exp and log of our own, giving the same bits on every x86-64 CPU and at
// every SIMD width.
//
// Why not std::exp / std::log1p: glibc picks its variant per CPU at load time
// (ifunc: sse2, avx, fma, ...), so the bits may differ between the machines of
// one distributed run, and it costs 5-7 ns per call. These functions are
// written once, as templates over the lane type D (double, or a GCC/Clang
// vector of 2, 4 or 8 doubles), with plain IEEE add, sub, mul and div in a
// fixed order (no FMA: the build has -ffp-contract=off) and integer bit
// operations. Every lane of every width therefore performs exactly the scalar
// operations, and the scalar function and the vector functions agree bit for
// bit (tests/cpp/test_fastmath.cpp checks it on millions of inputs).
//
// Accuracy for normal (not subnormal) results: the bound from counting the
// roundings (next to each function; tests/cpp/test_fastmath.cpp checks it
// against long double) and the largest error measured on 5e7 random inputs
// per function plus inputs packed around the branch points:
//   fast_exp        x in [-708.39, 709.78]     bound 2.1e-16, measured 1.56e-16 (0.99 ulp)
//   fast_log        x > 0 (subnormals too)     bound 2.3e-16, measured 1.53e-16 (0.87 ulp)
//   fast_log1p_neg  u in (0, 1), tiny u too    bound 2.3e-16, measured 1.50e-16 (0.86 ulp)
// (glibc: 0.51 ulp for exp and log, 0.85 ulp for -log1p(-u).)
// Requires the default floating-point environment (round to nearest, no
// flush-to-zero), as every IEEE-reproducible code does.
//
// Use:
//   scalar:  fast_exp(x), fast_log(x), fast_log1p_neg(u)
//   vector, inside a function compiled for the width (e.g. with
//   __attribute__((target("avx2")))): fastmath::exp_lanes(Vec4d),
//   fastmath::log_lanes, fastmath::log1p_neg_lanes. Call them from a target("avx2")
//   template, as engine/fastmath.cpp's map_avx2 does: clang refuses a
//   non-template target("avx2") function passing them __m256d values (so
//   there are no __m256d wrappers).
//   arrays, dispatched by engine::simd::level(): exp_array, log_array,
//   log1p_neg_array.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <immintrin.h>  // x86-64 only, as engine/simd.hpp

// Clang contracts a*b+c within one expression by default; GCC does not in ISO
// C++ mode, and the build passes -ffp-contract=off to both.
#if defined(__clang__)
#define LOYALSIM_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define LOYALSIM_NO_CONTRACT
#endif
#define LOYALSIM_LANES_INLINE [[gnu::always_inline]] inline

namespace loyalsim::engine {

namespace fastmath {

typedef double Vec2d __attribute__((vector_size(16)));
typedef double Vec4d __attribute__((vector_size(32)));
typedef double Vec8d __attribute__((vector_size(64)));
typedef std::uint64_t Vec2u __attribute__((vector_size(16)));
typedef std::uint64_t Vec4u __attribute__((vector_size(32)));
typedef std::uint64_t Vec8u __attribute__((vector_size(64)));

// ---- lane primitives: the same source for a double and for a vector ----

template <class D> struct LaneTraits;
template <> struct LaneTraits<double> { using Bits = std::uint64_t; };
template <> struct LaneTraits<Vec2d> { using Bits = Vec2u; };
template <> struct LaneTraits<Vec4d> { using Bits = Vec4u; };
template <> struct LaneTraits<Vec8d> { using Bits = Vec8u; };
template <class D> using Bits = typename LaneTraits<D>::Bits;

template <class D> LOYALSIM_LANES_INLINE Bits<D> bits_of(D x) { return std::bit_cast<Bits<D>>(x); }
template <class D> LOYALSIM_LANES_INLINE D from_bits(Bits<D> b) { return std::bit_cast<D>(b); }

// All lanes = c.
template <class D> LOYALSIM_LANES_INLINE D splat(double c) {
  if constexpr (std::is_same_v<D, double>) return c;
  else return D{} + c;
}

// Lane masks of a < b and a == b (false for NaN): a bool for a double (no
// trip through the integer registers), all ones where true for a vector.
template <class D> using Mask = std::conditional_t<std::is_same_v<D, double>, bool, Bits<D>>;
template <class D> LOYALSIM_LANES_INLINE Mask<D> less(D a, D b) {
  if constexpr (std::is_same_v<D, double>) return a < b;
  else return std::bit_cast<Bits<D>>(a < b);
}
template <class D> LOYALSIM_LANES_INLINE Mask<D> equal(D a, D b) {
  if constexpr (std::is_same_v<D, double>) return a == b;
  else return std::bit_cast<Bits<D>>(a == b);
}

// mask ? a : b, lane by lane (a choice, not arithmetic: the same bits either way).
template <class D> LOYALSIM_LANES_INLINE D select(Mask<D> mask, D a, D b) {
  if constexpr (std::is_same_v<D, double>) return mask ? a : b;
  else return from_bits<D>((mask & bits_of(a)) | (~mask & bits_of(b)));
}

// ---- constants (derived with mpmath; see the functions for their roles) ----

// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has its low 11 mantissa bits zero, so
// n * kLn2Hi is exact for |n| < 2048.
inline constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
inline constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
inline constexpr double kLog2e = 0x1.71547652b82fep+0;
// v + 1.5 * 2^52 rounds v (|v| < 2^51) to an integer held in the low mantissa bits.
inline constexpr double kShifter = 0x1.8p52;
// Inputs are clamped to [kExpLow, kExpHigh]: exp(kExpHigh) overflows to +inf
// and exp(kExpLow) underflows to +0, and the scale exponents stay in range.
inline constexpr double kExpHigh = 710.0;
inline constexpr double kExpLow = -746.0;

// (exp(r) - 1 - r) / r^2 on |r| <= 1.01 ln2/2: degree-10 Chebyshev fit,
// absolute error 1.6e-18 (mpmath.chebyfit, 60 digits), c[0] first.
inline constexpr double kExpQ[11] = {
    0x1.0000000000000p-1,  0x1.5555555555557p-3,  0x1.5555555555556p-5,  0x1.111111110ff84p-7,
    0x1.6c16c16c16210p-10, 0x1.a01a01aca18acp-13, 0x1.a01a01a7428a4p-16, 0x1.71ddffeb0f024p-19,
    0x1.27e4da17a0fb0p-22, 0x1.af5299b025f69p-26, 0x1.1f75b0f172291p-29};

// (2 atanh(s)/s - 2) / s^2 as a polynomial in z = s^2 on [0, 1.01 zmax],
// zmax = ((sqrt2-1)/(sqrt2+1))^2: degree-6 Chebyshev fit, absolute error
// 3.3e-16 (its share of log's relative error: 5e-18), p[0] first.
inline constexpr double kLogP[7] = {0x1.5555555555558p-1, 0x1.9999999994e76p-2, 0x1.2492492e6dfddp-2,
                                    0x1.c71c6247410e3p-3, 0x1.7462e17b4cdd0p-3, 0x1.39f8963ccbdc2p-3,
                                    0x1.2b9f7fb3de73fp-3};

// Bits of a double just below sqrt(1/2): log reduces its argument to [T, 2T).
inline constexpr std::uint64_t kSqrtHalfBits = 0x3fe6a09e00000000ull;
inline constexpr std::uint64_t kExponentOne = 1023ull << 52;

// ---- exp ----
//
// exp(x) = 2^n exp(r), n = round(x / ln2), r = x - n ln2, |r| <= ln2/2 (+ a
// hair: n comes from a rounded product). x - n*kLn2Hi is exact (Sterbenz),
// n*kLn2Lo is tiny, so r carries one rounding (<= 2^-55 absolute, 2.8e-17
// relative in the result). exp(r) = 1 + (r + r^2 q(r)) with q the fit above,
// evaluated by Estrin's scheme (shorter dependency chains, the same in every
// lane). Other roundings, absolute in p = exp(r) in [0.707, 1.415]: r^2 and
// q, a few ulp of r^2 q <= 0.067 (<= 3.3e-17); r + r^2 q, half an ulp of
// <= 0.42 (<= 2.8e-17); 1 + ..., half an ulp of p (<= 1.11e-16 for p >= 1,
// 5.6e-17 below). Relative: <= 2.0e-16 for p >= 1, <= 2.1e-16 for p < 1.
// 2^n is applied as 2^n1 * 2^n2 (n1 = floor(n/2)) so that both factors are
// normal doubles built from exponent bits: results down to the subnormals
// round once (absolute error <= 2^-1075 + the relative error) and the largest
// finite results need no special case. exp(NaN) = NaN, exp(+inf) = +inf,
// exp(-inf) = +0; exp(x) = +inf for x > 709.782712893384, +0 below -745.1332.
template <class D> LOYALSIM_LANES_INLINE D exp_lanes(D x) {
  LOYALSIM_NO_CONTRACT
  using U = Bits<D>;
  x = select(less(splat<D>(kExpHigh), x), splat<D>(kExpHigh), x);  // NaN passes through
  x = select(less(x, splat<D>(kExpLow)), splat<D>(kExpLow), x);
  const D t = x * kLog2e + kShifter;
  const D n = t - kShifter;
  const D r = (x - n * kLn2Hi) - n * kLn2Lo;

  const D r2 = r * r;
  const D r4 = r2 * r2;
  const D q01 = kExpQ[0] + kExpQ[1] * r, q23 = kExpQ[2] + kExpQ[3] * r;
  const D q45 = kExpQ[4] + kExpQ[5] * r, q67 = kExpQ[6] + kExpQ[7] * r;
  const D q89 = kExpQ[8] + kExpQ[9] * r;
  const D q03 = q01 + q23 * r2, q47 = q45 + q67 * r2, q810 = q89 + kExpQ[10] * r2;
  const D q = q03 + (q47 + q810 * r4) * r4;
  const D p = 1.0 + (r + r2 * q);

  // n + 2048 from t's mantissa bits (n is in [-1077, 1025] after the clamp).
  const U biased = bits_of(t) - bits_of(splat<D>(kShifter)) + 2048;
  const U half = biased >> 1;                               // floor(n/2) + 1024
  const D scale1 = from_bits<D>((half - 1) << 52);          // 2^floor(n/2)
  const D scale2 = from_bits<D>((biased - half - 1) << 52);  // 2^(n - floor(n/2))
  return (p * scale1) * scale2;
}

// ---- log ----
//
// log(x) + extra, where |extra| is at most about an ulp of 1 (used to carry a
// rounding error of x into the result, see log1p_neg_lanes). x = 2^k m with
// m in [T, 2T), T ~ sqrt(1/2); f = m - 1 (exact); log(1 + f) = f - s (f - R)
// with s = f / (2 + f), R = s^2 P(s^2) ~ 2 atanh(s)/s - 2, arranged as
// f - (hfsq - (s (hfsq + R) + lo)), hfsq = f^2/2, so that the large part f is
// exact and the rest, at most 0.2 f, carries the roundings; k ln2 is added as
// k*kLn2Hi (exact) + k*kLn2Lo. The last addition rounds by <= 1.1e-16
// relative; the rest carries <= 4e-17 absolute, against |result| >= 0.34
// when k != 0 (and proportionally less when k = 0, where it scales with f^2):
// <= 2.3e-16 relative.
// Subnormal x are scaled by 2^54 first. x = +0 -> -inf, x < 0 or NaN -> NaN,
// +inf -> +inf.
template <class D> LOYALSIM_LANES_INLINE D log_plus_lanes(D x, D extra) {
  LOYALSIM_NO_CONTRACT
  using U = Bits<D>;
  const Mask<D> subnormal = less(x, splat<D>(0x1p-1022));
  const D xs = select(subnormal, x * 0x1p54, x);
  const D k_adjust = select(subnormal, splat<D>(54.0), splat<D>(0.0));
  const U ix = bits_of(xs);
  const U k_biased = (ix - kSqrtHalfBits + kExponentOne) >> 52;  // k + 1023
  const D m = from_bits<D>(ix - (k_biased << 52) + kExponentOne);
  const D k = (from_bits<D>(k_biased | 0x4330000000000000ull) - (0x1p52 + 1023.0)) - k_adjust;

  const D f = m - 1.0;
  const D s = f / (2.0 + f);
  const D z = s * s;
  const D z2 = z * z;
  const D z4 = z2 * z2;
  const D poly = ((kLogP[0] + kLogP[1] * z) + (kLogP[2] + kLogP[3] * z) * z2) +
                 ((kLogP[4] + kLogP[5] * z) + kLogP[6] * z2) * z4;
  const D R = z * poly;
  const D hfsq = 0.5 * f * f;
  const D y = k * kLn2Hi + (f - (hfsq - (s * (hfsq + R) + (k * kLn2Lo + extra))));

  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  const D zero = splat<D>(0.0);
  D out = select(less(zero, x), y, select(equal(x, zero), splat<D>(-inf), splat<D>(nan)));
  return select(equal(x, splat<D>(inf)), splat<D>(inf), out);
}

template <class D> LOYALSIM_LANES_INLINE D log_lanes(D x) { return log_plus_lanes(x, splat<D>(0.0)); }

// -log1p(-u), the exponential variate of a uniform u. 1 - u is rounded to w,
// and its rounding error c = (1 - w) - u is computed exactly (Fast2Sum: |u| <=
// 1); log(1 - u) = log(w + c) = log(w) + c/w + O(2^-106). So tiny u keep every
// bit (u < 2^-54: w = 1, the result is exactly u) and u near 1 lose none
// (1 - u is exact there). Accurate for u in [-1, 1); u = 0 -> +0,
// u = 1 -> +inf, u > 1 or NaN -> NaN.
template <class D> LOYALSIM_LANES_INLINE D log1p_neg_lanes(D u) {
  LOYALSIM_NO_CONTRACT
  const D w = 1.0 - u;
  const D c = (1.0 - w) - u;
  return 0.0 - log_plus_lanes(w, c / w);  // 0 - y, not -y: u = 0 gives +0
}

}  // namespace fastmath

// ---- scalar forms ----
inline double fast_exp(double x) noexcept { return fastmath::exp_lanes(x); }
inline double fast_log(double x) noexcept { return fastmath::log_lanes(x); }
inline double fast_log1p_neg(double u) noexcept { return fastmath::log1p_neg_lanes(u); }

// ---- arrays, by the SIMD level of engine::simd::level() ----
// y[i] = f(x[i]) for i < n; y may equal x. The same bits at every level.
void exp_array(const double* x, double* y, std::size_t n) noexcept;
void log_array(const double* x, double* y, std::size_t n) noexcept;
void log1p_neg_array(const double* u, double* y, std::size_t n) noexcept;

}  // namespace loyalsim::engine
