// The array forms of engine/fastmath.hpp: one loop per SIMD level, each the
// same lane template at its width, with the scalar form for the tail (the
// same operations, so the same bits).
#include "engine/fastmath.hpp"

#include <cstring>

#include "engine/simd.hpp"

namespace loyalsim::engine {

namespace {

using fastmath::Vec2d;
using fastmath::Vec4d;
using fastmath::Vec8d;

struct Exp {
  template <class D> LOYALSIM_LANES_INLINE D operator()(D x) const { return fastmath::exp_lanes(x); }
};
struct Log {
  template <class D> LOYALSIM_LANES_INLINE D operator()(D x) const { return fastmath::log_lanes(x); }
};
struct Log1pNeg {
  template <class D> LOYALSIM_LANES_INLINE D operator()(D x) const { return fastmath::log1p_neg_lanes(x); }
};

template <class D, class F> LOYALSIM_LANES_INLINE void map_lanes(F f, const double* x, double* y, std::size_t n) {
  constexpr std::size_t kWidth = sizeof(D) / sizeof(double);
  std::size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    D v;
    std::memcpy(&v, x + i, sizeof v);
    v = f(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  for (; i < n; ++i) y[i] = f(x[i]);
}

template <class F> void map_portable(const double* x, double* y, std::size_t n) { map_lanes<Vec2d>(F{}, x, y, n); }

template <class F> __attribute__((target("avx2"))) void map_avx2(const double* x, double* y, std::size_t n) {
  map_lanes<Vec4d>(F{}, x, y, n);
}

template <class F>
__attribute__((target("avx512f,avx512dq,avx512vl"))) void map_avx512(const double* x, double* y, std::size_t n) {
  map_lanes<Vec8d>(F{}, x, y, n);
}

template <class F> void map(const double* x, double* y, std::size_t n) {
  switch (simd::level()) {
    case simd::Level::avx512:
      return map_avx512<F>(x, y, n);
    case simd::Level::avx2:
      return map_avx2<F>(x, y, n);
    case simd::Level::portable:
      break;
  }
  map_portable<F>(x, y, n);
}

}  // namespace

void exp_array(const double* x, double* y, std::size_t n) noexcept { map<Exp>(x, y, n); }
void log_array(const double* x, double* y, std::size_t n) noexcept { map<Log>(x, y, n); }
void log1p_neg_array(const double* u, double* y, std::size_t n) noexcept { map<Log1pNeg>(u, y, n); }

}  // namespace loyalsim::engine
