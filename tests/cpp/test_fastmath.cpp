// engine/fastmath.hpp: fast_exp, fast_log and fast_log1p_neg against long
// double (x87, 64-bit mantissa: its own error ~1e-19, a thousandth of the
// bounds tested) over dense grids, random inputs and the places where the
// algorithms change branch; their special values; and the same bits from the
// scalar functions, the array functions at every SIMD level, and the __m256d
// forms an AVX2 kernel inlines.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/fastmath.hpp"
#include "engine/simd.hpp"

namespace {

namespace simd = loyalsim::engine::simd;
using loyalsim::engine::fast_exp;
using loyalsim::engine::fast_log;
using loyalsim::engine::fast_log1p_neg;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The bounds derived in engine/fastmath.hpp (roundings counted); measured
// maxima are about 1.5e-16.
constexpr long double kExpBound = 2.1e-16L;
constexpr long double kLogBound = 2.3e-16L;

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// xorshift64: fixed pseudo-random inputs.
struct Inputs {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
};

// Largest relative error of f against ref over xs, and where.
struct Worst {
  long double error = 0;
  double at = 0;
};
template <class F, class R> Worst worst_relative(const std::vector<double>& xs, F f, R ref) {
  Worst w;
  for (const double x : xs) {
    const long double want = ref(static_cast<long double>(x));
    const long double e = std::fabs((static_cast<long double>(f(x)) - want) / want);
    if (!(e <= w.error)) w = {e, x};  // a NaN error counts as the worst
  }
  return w;
}

// ---- exp ----

std::vector<double> exp_inputs() {
  std::vector<double> xs;
  // Dense grid over the whole range with normal results: step ~1.4e-3.
  constexpr int kGrid = 1'000'000;
  for (int i = 0; i <= kGrid; ++i) xs.push_back(-708.39 + (709.78 + 708.39) * i / kGrid);
  Inputs in{1};
  for (int i = 0; i < 300'000; ++i) {
    xs.push_back((in.unit() - 0.5) * 2.0);                                 // the hazard's usual range
    xs.push_back(std::ldexp(in.unit() - 0.5, -in.below(60)));               // near 0
    const double k = in.below(2040) - 1020.0;                               // reduction boundaries:
    xs.push_back((k + 0.5) * 0.69314718055994531 + (in.unit() - 0.5) * 1e-12);  // r ~ +-ln2/2
  }
  std::erase_if(xs, [](double x) { return !(x >= -708.39 && x <= 709.78); });
  return xs;
}

TEST(FastExp, RelativeErrorWithinItsBound) {
  const auto w = worst_relative(exp_inputs(), fast_exp, [](long double x) { return std::exp(x); });
  EXPECT_LE(w.error, kExpBound) << "at x = " << w.at;
}

// Below -708.4 the result is subnormal: one rounding, so the absolute error
// stays within half the smallest subnormal plus the relative bound.
TEST(FastExp, SubnormalResultsRoundOnce) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  for (int i = 0; i <= 100'000; ++i) {
    const double x = -745.1332 + (745.1332 - 708.4) * i / 100'000;
    const long double want = std::exp(static_cast<long double>(x));
    ASSERT_LE(std::fabs(fast_exp(x) - want), 0.5L * tiny + kExpBound * want) << "x = " << x;
  }
}

TEST(FastExp, SpecialValues) {
  EXPECT_EQ(bits(fast_exp(0.0)), bits(1.0));
  EXPECT_EQ(bits(fast_exp(-0.0)), bits(1.0));
  EXPECT_EQ(fast_exp(-kInf), 0.0);
  EXPECT_FALSE(std::signbit(fast_exp(-kInf)));
  EXPECT_EQ(fast_exp(kInf), kInf);
  EXPECT_TRUE(std::isnan(fast_exp(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(fast_exp(709.79), kInf);  // overflow
  EXPECT_EQ(fast_exp(1e300), kInf);
  EXPECT_TRUE(std::isfinite(fast_exp(709.78)));
  EXPECT_GT(fast_exp(709.78), 1.79e308);
  EXPECT_EQ(fast_exp(-745.2), 0.0);  // underflow
  EXPECT_EQ(fast_exp(-1e300), 0.0);
  EXPECT_EQ(fast_exp(-745.13), std::numeric_limits<double>::denorm_min());
}

// ---- log ----

std::vector<double> log_inputs() {
  std::vector<double> xs;
  Inputs in{2};
  for (int i = 0; i < 300'000; ++i) {
    xs.push_back(std::ldexp(0.5 + 0.5 * in.unit(), in.below(2046) - 1021));  // every binade
    xs.push_back(1.0 + std::ldexp(in.unit() - 0.5, -in.below(53)));          // near 1
    // near the reduction boundary sqrt(1/2) 2^k
    xs.push_back(std::ldexp(0.70710678118654752 * (1.0 + (in.unit() - 0.5) * 1e-9), in.below(200) - 100));
    xs.push_back(std::ldexp(in.unit() + 1e-3, -1030 - in.below(40)));  // subnormal
  }
  return xs;
}

TEST(FastLog, RelativeErrorWithinItsBound) {
  const auto w = worst_relative(log_inputs(), fast_log, [](long double x) { return std::log(x); });
  EXPECT_LE(w.error, kLogBound) << "at x = " << w.at;
}

TEST(FastLog, SpecialValues) {
  EXPECT_EQ(bits(fast_log(1.0)), bits(0.0));
  EXPECT_EQ(fast_log(2.0), 0.6931471805599453);
  EXPECT_EQ(fast_log(0.0), -kInf);
  EXPECT_EQ(fast_log(-0.0), -kInf);
  EXPECT_TRUE(std::isnan(fast_log(-1.0)));
  EXPECT_TRUE(std::isnan(fast_log(-kInf)));
  EXPECT_TRUE(std::isnan(fast_log(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(fast_log(kInf), kInf);
  // The ends of the range, within the bound.
  for (const double x : {std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(),
                         std::numeric_limits<double>::min()}) {
    const long double want = std::log(static_cast<long double>(x));
    EXPECT_LE(std::fabs((fast_log(x) - want) / want), kLogBound) << x;
  }
}

// ---- -log1p(-u) ----

std::vector<double> log1p_neg_inputs() {
  std::vector<double> us;
  Inputs in{3};
  for (int i = 0; i < 300'000; ++i) {
    us.push_back((static_cast<double>(in.next() >> 11) + 0.5) * 0x1p-53);  // as RandomStream::uniform
    us.push_back(std::ldexp(0.5 + 0.5 * in.unit(), -in.below(70)));       // tiny u: 1 - u rounds
    us.push_back(1.0 - std::ldexp(0.5 + 0.5 * in.unit(), -in.below(53)));  // u near 1
    us.push_back(0.5 + std::ldexp(in.unit() - 0.5, -in.below(50)));        // 1 - u exact from here on
  }
  std::erase_if(us, [](double u) { return !(u > 0.0 && u < 1.0); });
  return us;
}

TEST(FastLog1pNeg, RelativeErrorWithinItsBound) {
  const auto w = worst_relative(log1p_neg_inputs(), fast_log1p_neg, [](long double u) { return -std::log1p(-u); });
  EXPECT_LE(w.error, kLogBound) << "at u = " << w.at;
}

TEST(FastLog1pNeg, SpecialValues) {
  EXPECT_EQ(bits(fast_log1p_neg(0.0)), bits(0.0));  // +0, not -0
  EXPECT_EQ(fast_log1p_neg(1.0), kInf);
  EXPECT_EQ(fast_log1p_neg(0x1p-60), 0x1p-60);  // below 2^-54 the result is u itself
  EXPECT_EQ(fast_log1p_neg(0x1p-1074), 0x1p-1074);
  EXPECT_EQ(fast_log1p_neg(0.5), 0.6931471805599453);
  const double top = 1.0 - 0x1p-53;  // the largest uniform below 1
  const long double want = -std::log1p(-static_cast<long double>(top));
  EXPECT_LE(std::fabs((fast_log1p_neg(top) - want) / want), kLogBound);
  EXPECT_TRUE(std::isnan(fast_log1p_neg(1.5)));
  EXPECT_TRUE(std::isnan(fast_log1p_neg(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(fast_log1p_neg(-1.0), -0.6931471805599453);  // -log(2): accurate for u in [-1, 0) too
}

// ---- the same bits everywhere ----

// Mixed inputs: random bit patterns (every exponent, NaNs, infinities,
// subnormals, negatives), the kernel's ranges, and the special values.
std::vector<double> mixed_inputs(std::size_t n) {
  std::vector<double> xs = {0.0, -0.0, 1.0, -1.0, kInf, -kInf, std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::denorm_min(), 709.78, 709.79, -745.13, -746.0, 0.5};
  Inputs in{4};
  while (xs.size() < n) {
    switch (in.below(4)) {
      case 0: xs.push_back(std::bit_cast<double>(in.next())); break;
      case 1: xs.push_back((in.unit() - 0.5) * 1500.0); break;
      case 2: xs.push_back(in.unit()); break;
      default: xs.push_back((in.unit() - 0.5) * 4.0); break;
    }
  }
  return xs;
}

struct Function {
  const char* name;
  double (*scalar)(double) noexcept;
  void (*array)(const double*, double*, std::size_t) noexcept;
};

const Function kFunctions[] = {
    {"exp", fast_exp, loyalsim::engine::exp_array},
    {"log", fast_log, loyalsim::engine::log_array},
    {"log1p_neg", fast_log1p_neg, loyalsim::engine::log1p_neg_array},
};

// 2^20 + 3 inputs per function: not a multiple of any vector width, so the
// tails run too.
TEST(FastMathBits, ScalarAndEveryLevelAgreeBitForBit) {
  const auto xs = mixed_inputs((1 << 20) + 3);
  const simd::Level saved = simd::level();
  for (const Function& f : kFunctions) {
    std::vector<double> want(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) want[i] = f.scalar(xs[i]);
    for (const auto level : {simd::Level::portable, simd::Level::avx2, simd::Level::avx512}) {
      if (!simd::supported(level)) continue;
      simd::set_level(level);
      std::vector<double> got(xs.size());
      f.array(xs.data(), got.data(), xs.size());
      for (std::size_t i = 0; i < xs.size(); ++i)
        ASSERT_EQ(bits(got[i]), bits(want[i])) << f.name << " at " << simd::name(level) << ", x = " << xs[i];
      got = xs;  // in place
      f.array(got.data(), got.data(), got.size());
      for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(bits(got[i]), bits(want[i])) << f.name << " in place";
    }
  }
  simd::set_level(saved);
}

}  // namespace
