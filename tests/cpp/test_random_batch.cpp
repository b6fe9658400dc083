// The batched Philox draws (RandomStream::uniform_pairs, uniforms,
// uniform_pair) against Random123 called directly on the documented counter
// layout, at every SIMD level this CPU supports; the word-to-uniform
// conversion at its edges; the second uniform of a block as a distribution;
// and the SIMD level controls (engine/simd.hpp).
//
// Statistical tolerances use z = 4.5 (two-sided ~7e-6) with fixed keys, as in
// test_engine_basics.cpp.
#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/errors.hpp"
#include "engine/random.hpp"
#include "engine/simd.hpp"

namespace {

using loyalsim::engine::RandomStream;
namespace simd = loyalsim::engine::simd;

constexpr double kZ = 4.5;

std::vector<simd::Level> supported_levels() {
  std::vector<simd::Level> out;
  for (const auto l : {simd::Level::portable, simd::Level::avx2, simd::Level::avx512})
    if (simd::supported(l)) out.push_back(l);
  return out;
}

// Sets a level for the scope of a test and restores the previous one.
class LevelScope {
 public:
  explicit LevelScope(simd::Level l) : saved_(simd::level()) { simd::set_level(l); }
  ~LevelScope() { simd::set_level(saved_); }
  LevelScope(const LevelScope&) = delete;
  LevelScope& operator=(const LevelScope&) = delete;

 private:
  simd::Level saved_;
};

// The oracle, independent of RandomStream: Random123 on
// ctr = {node, draw, month | purpose << 16, replication}, key = seed, and
// ((w_hi << 32 | w_lo) >> 11 + 0.5) * 2^-53, kept below 1.
double oracle_uniform(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t x = (static_cast<std::uint64_t>(hi) << 32 | lo) >> 11;
  const double u = (static_cast<double>(x) + 0.5) * 0x1p-53;
  return std::min(u, std::nextafter(1.0, 0.0));
}

struct Key {
  std::uint64_t seed;
  std::uint32_t replication, month, purpose;
};

std::array<double, 2> oracle_pair(const Key& k, std::uint32_t node, std::uint32_t draw) {
  const r123::Philox4x32::ctr_type ctr = {{node, draw, (k.month & 0xFFFFu) | k.purpose << 16, k.replication}};
  const r123::Philox4x32::key_type key = {{static_cast<std::uint32_t>(k.seed), static_cast<std::uint32_t>(k.seed >> 32)}};
  const auto r = r123::Philox4x32()(ctr, key);
  return {oracle_uniform(r[0], r[1]), oracle_uniform(r[2], r[3])};
}

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// splitmix64: fixed pseudo-random node ids for the tests.
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Random ids with the edge ids 0 and 0xFFFFFFFF at positions inside a vector,
// at the end of one and in the scalar tail, and a repeated id.
std::vector<std::uint32_t> test_nodes(std::size_t n) {
  std::uint64_t s = 2024;
  std::vector<std::uint32_t> v(n);
  for (auto& x : v) x = static_cast<std::uint32_t>(splitmix(s));
  for (std::size_t i : {0, 5, 15, 16, 33}) if (i < n) v[i] = (i % 2) ? 0xFFFFFFFFu : 0u;
  if (n > 40) v[40] = v[39];
  if (n > 0) v[n - 1] = 0xFFFFFFFFu;
  return v;
}

const std::vector<Key> kKeys = {
    {0, 0, 0, 0},
    {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFu, 0xFFFFu, 0xFFFFu},
    {42 + (1ull << 32), 3, 17, 5},
    {0x0123456789ABCDEFull, 7, 35, 2},
};
const std::vector<std::uint32_t> kDraws = {0, 1, 0xFFFFFFFFu};
// Below, at and above every vector width (8, 16) and in between.
const std::vector<std::size_t> kSizes = {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1003};

TEST(RandomBatch, ScalarPairIsRandom123) {
  const auto nodes = test_nodes(1003);
  for (const Key& k : kKeys) {
    const RandomStream rs(k.seed, k.replication, k.month, k.purpose);
    for (const auto draw : kDraws)
      for (const auto node : nodes) {
        const auto want = oracle_pair(k, node, draw);
        const auto got = rs.uniform_pair(node, draw);
        ASSERT_EQ(bits(got[0]), bits(want[0])) << "node " << node << " draw " << draw;
        ASSERT_EQ(bits(got[1]), bits(want[1])) << "node " << node << " draw " << draw;
        ASSERT_EQ(bits(rs.uniform(node, draw)), bits(want[0]));
      }
  }
}

// Every level, every size: the batch equals the oracle bit for bit and writes
// nothing past n (sentinels).
TEST(RandomBatch, EveryLevelIsRandom123BitForBit) {
  constexpr double kSentinel = -1.0;
  const auto nodes = test_nodes(1003);
  for (const auto level : supported_levels()) {
    const LevelScope scope(level);
    for (const Key& k : kKeys) {
      const RandomStream rs(k.seed, k.replication, k.month, k.purpose);
      for (const auto draw : kDraws)
        for (const std::size_t n : kSizes) {
          std::vector<double> first(n + 1, kSentinel), second(n + 1, kSentinel), only(n + 1, kSentinel);
          rs.uniform_pairs(nodes.data(), n, first.data(), second.data(), draw);
          rs.uniforms(nodes.data(), n, only.data(), draw);
          for (std::size_t i = 0; i < n; ++i) {
            const auto want = oracle_pair(k, nodes[i], draw);
            ASSERT_EQ(bits(first[i]), bits(want[0])) << simd::name(level) << " n " << n << " i " << i;
            ASSERT_EQ(bits(second[i]), bits(want[1])) << simd::name(level) << " n " << n << " i " << i;
            ASSERT_EQ(bits(only[i]), bits(want[0])) << simd::name(level) << " n " << n << " i " << i;
          }
          EXPECT_EQ(first[n], kSentinel);
          EXPECT_EQ(second[n], kSentinel);
          EXPECT_EQ(only[n], kSentinel);
        }
    }
  }
}

// Unaligned input and output pointers (the kernel passes slices of arrays).
TEST(RandomBatch, UnalignedArraysGiveTheSameBits) {
  const auto nodes = test_nodes(101);
  const RandomStream rs(9, 1, 2, 3);
  for (const auto level : supported_levels()) {
    const LevelScope scope(level);
    std::vector<double> first(101), second(101);
    rs.uniform_pairs(nodes.data() + 1, 99, first.data() + 1, second.data() + 1);
    for (std::size_t i = 1; i < 100; ++i) {
      const auto want = rs.uniform_pair(nodes[i]);
      ASSERT_EQ(bits(first[i]), bits(want[0])) << simd::name(level) << " i " << i;
      ASSERT_EQ(bits(second[i]), bits(want[1])) << simd::name(level) << " i " << i;
    }
  }
}

// Philox outputs never hit the edge words on purpose, so the conversion is
// checked on them directly: all zeros -> 2^-54, all ones -> the largest double
// below 1 (not 1.0, which round-to-nearest would give), the 2^52 boundary
// where + 0.5 starts to round; every entry at every lane position.
TEST(RandomBatch, WordConversionAtItsEdges) {
  const std::vector<std::array<std::uint32_t, 2>> edges = {
      {0, 0},           {0xFFFFFFFFu, 0xFFFFFFFFu}, {0xFFFFFFFFu, 0xFFFFF7FFu}, {0xFFFFFFFFu, 0xFFFFF000u},
      {0x80000000u, 0}, {0x7FFFFFFFu, 0xFFFFFFFFu}, {0, 0x800u},              {0x12345678u, 0x9ABCDEF0u},
      {0, 0x7FFu},      {0x80000000u, 0x800u},      {1u, 0}};
  std::vector<std::uint32_t> hi, lo;
  for (std::size_t i = 0; i < 16 * edges.size() + 5; ++i) {
    hi.push_back(edges[i % edges.size()][0]);
    lo.push_back(edges[i % edges.size()][1]);
  }
  for (const auto level : supported_levels()) {
    const LevelScope scope(level);
    std::vector<double> out(hi.size());
    loyalsim::engine::detail::uniforms_from_words(hi.data(), lo.data(), hi.size(), out.data());
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_EQ(bits(out[i]), bits(oracle_uniform(hi[i], lo[i]))) << simd::name(level) << " i " << i;
      ASSERT_GT(out[i], 0.0);
      ASSERT_LT(out[i], 1.0);
    }
    EXPECT_EQ(out[0], 0x1p-54);
    EXPECT_EQ(out[1], std::nextafter(1.0, 0.0));
    EXPECT_EQ(out[2], 1.0 - 0x1p-52);  // x = 2^53 - 2: x + 0.5 is a tie, rounds to even
  }
  EXPECT_EQ(RandomStream::uniform_from_words(0xFFFFFFFFu, 0xFFFFFFFFu), std::nextafter(1.0, 0.0));
}

// Upper bound of a chi-square(k) statistic at z standard deviations of the
// Wilson-Hilferty normal approximation.
double chi_square_bound(double k, double z) {
  const double v = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - v + z * std::sqrt(v), 3.0);
}

// The second uniform of a block (words 2-3, new to this batch) is uniform on
// (0, 1) and independent of the first: Kolmogorov-Smirnov (sqrt(n) D < 2.5,
// P ~ 7e-6), 64-bin chi-square, a 16 x 16 joint chi-square of (first,
// second) and their correlation (|r| < z / sqrt(n)). A copy of the first, or a
// function of it, fails the joint test; words shared with the first fail the
// correlation or joint tests.
TEST(RandomBatch, SecondUniformIsUniformAndIndependentOfTheFirst) {
  const std::size_t n = 1 << 18;
  std::vector<std::uint32_t> nodes(n);
  for (std::size_t i = 0; i < n; ++i) nodes[i] = static_cast<std::uint32_t>(i);
  std::vector<double> first(n), second(n);
  RandomStream(77, 0, 4, 11).uniform_pairs(nodes.data(), n, first.data(), second.data());

  std::vector<double> bins(64, 0.0), joint(256, 0.0);
  double sum_xy = 0, sum_x = 0, sum_y = 0, sum_xx = 0, sum_yy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_GT(second[i], 0.0);
    ASSERT_LT(second[i], 1.0);
    bins[static_cast<int>(second[i] * 64)] += 1;
    joint[static_cast<int>(first[i] * 16) * 16 + static_cast<int>(second[i] * 16)] += 1;
    sum_x += first[i], sum_y += second[i], sum_xy += first[i] * second[i];
    sum_xx += first[i] * first[i], sum_yy += second[i] * second[i];
  }
  const auto chi_square = [&](const std::vector<double>& counts) {
    const double expected = static_cast<double>(n) / counts.size();
    double c = 0;
    for (const double o : counts) c += (o - expected) * (o - expected) / expected;
    return c;
  };
  EXPECT_LT(chi_square(bins), chi_square_bound(63, kZ));
  EXPECT_LT(chi_square(joint), chi_square_bound(255, kZ));

  const double nn = static_cast<double>(n);
  const double cov = sum_xy / nn - (sum_x / nn) * (sum_y / nn);
  const double r = cov / std::sqrt((sum_xx / nn - sum_x * sum_x / nn / nn) * (sum_yy / nn - sum_y * sum_y / nn / nn));
  EXPECT_LT(std::fabs(r), kZ / std::sqrt(nn));

  std::sort(second.begin(), second.end());
  double d = 0;
  for (std::size_t i = 0; i < n; ++i)
    d = std::max({d, std::fabs((i + 1) / nn - second[i]), std::fabs(second[i] - i / nn)});
  EXPECT_LT(std::sqrt(nn) * d, 2.5);
}

// ---- the SIMD level controls ----

// Sets an environment variable for a scope and restores it.
class EnvScope {
 public:
  EnvScope(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    ::setenv(name, value, 1);
  }
  ~EnvScope() {
    if (saved_) ::setenv(name_, saved_->c_str(), 1);
    else ::unsetenv(name_);
  }
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(SimdLevel, SetLevelForcesEverySupportedLevel) {
  const auto levels = supported_levels();
  ASSERT_EQ(levels.front(), simd::Level::portable);  // always available
  EXPECT_EQ(simd::best(), levels.back());
  for (const auto level : levels) {
    const LevelScope scope(level);
    EXPECT_EQ(simd::level(), level);
  }
  for (const auto l : {simd::Level::avx2, simd::Level::avx512})
    if (!simd::supported(l)) {
      EXPECT_THROW(simd::set_level(l), std::invalid_argument);
    }
}

TEST(SimdLevel, EnvironmentVariableChoosesTheLevel) {
  const simd::Level saved = simd::level();
  {
    const EnvScope env("LOYALSIM_SIMD", "portable");
    EXPECT_EQ(simd::configure_from_environment(), simd::Level::portable);
    EXPECT_EQ(simd::level(), simd::Level::portable);
  }
  {
    const EnvScope env("LOYALSIM_SIMD", "auto");
    EXPECT_EQ(simd::configure_from_environment(), simd::best());
  }
  EXPECT_EQ(simd::parse_level(""), simd::best());
  for (const auto l : supported_levels()) EXPECT_EQ(simd::parse_level(simd::name(l)), l);
  simd::set_level(saved);
}

TEST(SimdLevel, BadEnvironmentValueIsAClearError) {
  const simd::Level saved = simd::level();
  const EnvScope env("LOYALSIM_SIMD", "sse9");
  try {
    (void)simd::configure_from_environment();
    ADD_FAILURE() << "no error for LOYALSIM_SIMD=sse9";
  } catch (const loyalsim::engine::InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("LOYALSIM_SIMD"), std::string::npos) << what;
    EXPECT_NE(what.find("\"sse9\""), std::string::npos) << what;
    EXPECT_NE(what.find("portable, avx2, avx512 or auto"), std::string::npos) << what;
  }
  EXPECT_EQ(simd::level(), saved);  // unchanged
  for (const auto l : {simd::Level::avx2, simd::Level::avx512}) {
    if (!simd::supported(l)) {
      EXPECT_THROW((void)simd::parse_level(simd::name(l)), loyalsim::engine::InputError);
    }
  }
}

}  // namespace
