// loyalsim_bench_kernels: nanoseconds per value of the month kernel's building
// blocks, at every SIMD level this CPU supports.
//
//   loyalsim_bench_kernels [--n 4096] [--repeats 9] [--millis 20]
//
// Philox draws (Random123's scalar call, RandomStream::uniform_pair, the
// batched uniform_pairs / uniforms) over n random node ids; glibc's exp, log
// and log1p against engine/fastmath.hpp's scalar and array forms over n
// inputs in the kernel's ranges. Inputs stay in L1/L2, so these are compute
// costs. Each figure is the minimum over `repeats` timings of about `millis`
// ms each (the machine is shared: the minimum is the least disturbed run).
// Scalar loops pass every result through an empty asm statement so that the
// compiler cannot vectorise them.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/fastmath.hpp"
#include "engine/random.hpp"
#include "engine/simd.hpp"

using namespace loyalsim::engine;

namespace {

struct Options {
  std::size_t n = 4096;
  int repeats = 9;
  double millis = 20;
};

// Minimum ns per value of body(), which handles `values` values per call.
double ns_per_value(const Options& o, double values, const std::function<void()>& body) {
  using clock = std::chrono::steady_clock;
  body();  // warm up
  int calls = 1;
  for (;;) {  // calls per timing: about o.millis
    const auto t0 = clock::now();
    for (int i = 0; i < calls; ++i) body();
    if (std::chrono::duration<double, std::milli>(clock::now() - t0).count() >= o.millis / 4) break;
    calls *= 2;
  }
  calls *= 4;
  double best = 1e300;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = clock::now();
    for (int i = 0; i < calls; ++i) body();
    best = std::min(best, std::chrono::duration<double, std::nano>(clock::now() - t0).count() / (calls * values));
  }
  return best;
}

void row(const std::string& what, double ns) { std::printf("  %-44s %7.2f ns\n", what.c_str(), ns); }

// Keeps v in a register as a scalar: no vectorisation across iterations.
inline double opaque(double v) {
  asm volatile("" : "+x"(v));
  return v;
}

template <class F> void scalar_map(F f, const std::vector<double>& x, std::vector<double>& y) {
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = opaque(f(x[i]));
}

std::vector<simd::Level> levels() {
  std::vector<simd::Level> out;
  for (const auto l : {simd::Level::portable, simd::Level::avx2, simd::Level::avx512})
    if (simd::supported(l)) out.push_back(l);
  return out;
}

void bench_philox(const Options& o) {
  std::vector<std::uint32_t> ids(o.n);
  std::uint64_t s = 12345;
  for (auto& id : ids) id = static_cast<std::uint32_t>((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 32);
  const RandomStream rs(0x0123456789ABCDEFull, 3, 17, 5);
  std::vector<double> a(o.n), b(o.n);
  const double n = static_cast<double>(o.n);
  std::printf("Philox4x32-10 over %zu random node ids (per block; uniform_pairs gives 2 uniforms per block)\n", o.n);
  row("Random123 scalar: RandomStream::uniform", ns_per_value(o, n, [&] {
        for (std::size_t i = 0; i < o.n; ++i) a[i] = opaque(rs.uniform(ids[i]));
      }));
  row("RandomStream::uniform_pair (scalar)", ns_per_value(o, n, [&] {
        for (std::size_t i = 0; i < o.n; ++i) {
          const auto p = rs.uniform_pair(ids[i]);
          a[i] = opaque(p[0]);
          b[i] = opaque(p[1]);
        }
      }));
  for (const auto l : levels()) {
    simd::set_level(l);
    row(std::string("uniform_pairs, ") + simd::name(l),
        ns_per_value(o, n, [&] { rs.uniform_pairs(ids.data(), o.n, a.data(), b.data()); }));
    row(std::string("uniforms, ") + simd::name(l), ns_per_value(o, n, [&] { rs.uniforms(ids.data(), o.n, a.data()); }));
  }
}

struct MathCase {
  const char* title;
  const char* libm_name;
  double (*libm)(double);
  double (*fast)(double) noexcept;
  void (*array)(const double*, double*, std::size_t) noexcept;
  double low, high;  // inputs uniform on [low, high)
};

double glibc_exp(double x) { return std::exp(x); }
double glibc_log(double x) { return std::log(x); }
double glibc_log1p_neg(double u) { return -std::log1p(-u); }

void bench_math(const Options& o, const MathCase& c) {
  std::vector<double> x(o.n), y(o.n);
  std::uint64_t s = 99;
  for (auto& v : x) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v = c.low + (c.high - c.low) * (static_cast<double>(s >> 11) * 0x1p-53);
  }
  const double n = static_cast<double>(o.n);
  std::printf("%s, x uniform on [%g, %g)\n", c.title, c.low, c.high);
  row(std::string(c.libm_name) + " (glibc)", ns_per_value(o, n, [&] { scalar_map(c.libm, x, y); }));
  row("scalar fast form", ns_per_value(o, n, [&] { scalar_map(c.fast, x, y); }));
  for (const auto l : levels()) {
    simd::set_level(l);
    row(std::string("array, ") + simd::name(l), ns_per_value(o, n, [&] { c.array(x.data(), y.data(), o.n); }));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"loyalsim kernel benchmark: ns per value of Philox draws, exp, log"};
  Options o;
  cli.add_option("--n", o.n, "values per call (stay in cache)")->check(CLI::Range(16, 1 << 24));
  cli.add_option("--repeats", o.repeats, "timings per figure; the minimum is reported")->check(CLI::Range(1, 1000));
  cli.add_option("--millis", o.millis, "length of one timing in ms")->check(CLI::Range(1.0, 10000.0));
  CLI11_PARSE(cli, argc, argv);

  const simd::Level initial = simd::configure_from_environment();
  std::printf("loyalsim_bench_kernels: best level %s (LOYALSIM_SIMD gives %s)\n\n", simd::name(simd::best()),
              simd::name(initial));
  bench_philox(o);
  const MathCase cases[] = {
      {"exp", "std::exp", glibc_exp, fast_exp, exp_array, -10.0, 2.0},
      {"-log1p(-u)", "-std::log1p(-u)", glibc_log1p_neg, fast_log1p_neg, log1p_neg_array, 0.0, 1.0},
      {"log", "std::log", glibc_log, fast_log, log_array, 1e-3, 1e3},
  };
  for (const auto& c : cases) {
    std::printf("\n");
    bench_math(o, c);
  }
  return 0;
}
