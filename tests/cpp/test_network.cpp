// The small-world network builder (engine/network.hpp): structure, the two
// labellings of one edge set, determinism at any thread count, and the
// distribution of the graph against the model's own maths.
//
// Statistical tolerances use z = 4.5 (two-sided ~7e-6) on fixed seeds; each
// test states the distribution it relies on. Quantities that are sums of
// rare events (losses to self-loops and duplicates) are Poisson to first
// order: sd = sqrt(mean).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/network.hpp"
#include "engine/random.hpp"

namespace {

using loyalsim::engine::build_small_world;
using loyalsim::engine::build_small_world_ring_order;
using loyalsim::engine::HugeBuffer;
using loyalsim::engine::RandomStream;
using loyalsim::engine::RingOrderNetwork;
using loyalsim::engine::SmallWorldSpec;
using loyalsim::engine::TieGraph;

constexpr double kZ = 4.5;

SmallWorldSpec spec_of(std::uint32_t nodes, std::uint32_t ring, std::uint32_t random, double rewire) {
  SmallWorldSpec s;
  s.nodes = nodes;
  s.ring_neighbours = ring;
  s.random_ties = random;
  s.rewire = rewire;
  return s;
}

RandomStream stream(std::uint32_t replication = 0) { return RandomStream(20240611, replication, 0, 4); }

// Upper 1 - alpha quantile of chi-square with df degrees of freedom, z the
// normal quantile of 1 - alpha (Wilson-Hilferty; relative error < 1% for df >= 5).
double chi_square_quantile(double df, double z) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Undirected, no self-loops, no repeated pair, rows sorted by part, a pair
// strong or weak but not both, symmetric with the same kind on both sides.
void expect_well_formed(const TieGraph& g) {
  std::uint64_t directed = 0;
  for (std::uint32_t n = 0; n < g.nodes(); ++n) {
    const auto s = g.strong(n), w = g.weak(n);
    ASSERT_TRUE(std::is_sorted(s.begin(), s.end())) << "row " << n;
    ASSERT_TRUE(std::is_sorted(w.begin(), w.end())) << "row " << n;
    ASSERT_EQ(std::adjacent_find(s.begin(), s.end()), s.end()) << "repeated strong tie at " << n;
    ASSERT_EQ(std::adjacent_find(w.begin(), w.end()), w.end()) << "repeated weak tie at " << n;
    ASSERT_EQ(s.size() + w.size(), g.degree(n));
    directed += g.degree(n);
    for (auto v : s) {
      ASSERT_LT(v, g.nodes());
      ASSERT_NE(v, n) << "self-loop";
      ASSERT_FALSE(std::binary_search(w.begin(), w.end(), v)) << "tie both strong and weak at " << n;
      const auto back = g.strong(v);
      ASSERT_TRUE(std::binary_search(back.begin(), back.end(), n)) << "strong tie not symmetric";
    }
    for (auto v : w) {
      ASSERT_LT(v, g.nodes());
      ASSERT_NE(v, n) << "self-loop";
      const auto back = g.weak(v);
      ASSERT_TRUE(std::binary_search(back.begin(), back.end(), n)) << "weak tie not symmetric";
    }
  }
  EXPECT_EQ(directed, 2 * g.edges());
  EXPECT_EQ(g.neighbours().size(), directed);
  ASSERT_EQ(g.offsets().size(), static_cast<std::size_t>(g.nodes()) + 1);
  EXPECT_EQ(g.offsets().back(), directed);
}

bool same_bytes(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  return std::ranges::equal(a, b);
}
bool same_graph(const TieGraph& a, const TieGraph& b) {
  return a.nodes() == b.nodes() && std::ranges::equal(a.offsets(), b.offsets()) &&
         same_bytes(a.strong_counts(), b.strong_counts()) && same_bytes(a.neighbours(), b.neighbours());
}

// Rows in node ids, each part sorted: the node-order graph as it is, or the
// ring-order graph relabelled back through storage_to_node.
struct NodeRows {
  bool operator==(const NodeRows&) const = default;
  std::vector<std::vector<std::uint32_t>> strong, weak;
};
NodeRows node_rows(const TieGraph& g) {
  NodeRows out;
  out.strong.resize(g.nodes());
  out.weak.resize(g.nodes());
  for (std::uint32_t n = 0; n < g.nodes(); ++n) {
    out.strong[n].assign(g.strong(n).begin(), g.strong(n).end());
    out.weak[n].assign(g.weak(n).begin(), g.weak(n).end());
  }
  return out;
}
NodeRows node_rows(const RingOrderNetwork& r) {
  const TieGraph& g = r.graph;
  NodeRows out;
  out.strong.resize(g.nodes());
  out.weak.resize(g.nodes());
  for (std::uint32_t s = 0; s < g.nodes(); ++s) {
    const std::uint32_t node = r.storage_to_node[s];
    for (auto v : g.strong(s)) out.strong[node].push_back(r.storage_to_node[v]);
    for (auto v : g.weak(s)) out.weak[node].push_back(r.storage_to_node[v]);
    std::ranges::sort(out.strong[node]);
    std::ranges::sort(out.weak[node]);
  }
  return out;
}

// Ring distance between positions a and b of a ring of n.
std::uint32_t ring_distance(std::uint32_t a, std::uint32_t b, std::uint32_t n) {
  const std::uint32_t d = a > b ? a - b : b - a;
  return std::min(d, n - d);
}

// ------------------------------------------------------------ structure --

TEST(Network, RingWithoutRewiringIsTheRing) {
  // One group: slot = ring position, so row s is exactly s +- 1..k/2 (mod n),
  // all strong. An off-by-one in the ring (j from 0, or to k/2 - 1) fails here.
  const std::uint32_t n = 5000;
  const auto r = build_small_world_ring_order(spec_of(n, 6, 0, 0.0), stream(), 2);
  expect_well_formed(r.graph);
  for (std::uint32_t s = 0; s < n; ++s) {
    std::vector<std::uint32_t> want;
    for (std::uint32_t j = 1; j <= 3; ++j) want.insert(want.end(), {(s + j) % n, (s + n - j) % n});
    std::ranges::sort(want);
    ASSERT_TRUE(std::ranges::equal(r.graph.strong(s), want)) << "slot " << s;
    ASSERT_TRUE(r.graph.weak(s).empty());
  }
  EXPECT_EQ(r.graph.edges(), 3u * n);
}

TEST(Network, WellFormedAndTheSameEdgeSetInEveryLabelling) {
  const SmallWorldSpec spec = spec_of(30'000, 8, 8, 0.3);
  const TieGraph g = build_small_world(spec, stream(), 2);
  expect_well_formed(g);
  const NodeRows want = node_rows(g);
  for (const std::vector<std::uint32_t>& bounds :
       {std::vector<std::uint32_t>{}, {10'000}, {0}, {30'000}, {7'000, 7'000, 21'000}}) {
    SCOPED_TRACE(bounds.size());
    const auto r = build_small_world_ring_order(spec, stream(), 2, bounds);
    expect_well_formed(r.graph);
    EXPECT_TRUE(node_rows(r) == want) << "the labelling changed the edge set";
  }
  // A different stream is a different graph.
  EXPECT_FALSE(node_rows(build_small_world(spec, stream(1), 2)) == want);
}

// Slots are a bijection; a group holds the slots of its node ids; within a
// group, slots follow the ring (ring positions from the one-group build, whose
// slot is the ring position: the permutation does not depend on the groups).
TEST(Network, StorageOrderIsGroupsInRingOrder) {
  const std::uint32_t n = 20'000, customers = 6'000;
  const SmallWorldSpec spec = spec_of(n, 4, 4, 0.1);
  const std::uint32_t bounds[] = {customers};
  const auto r = build_small_world_ring_order(spec, stream(), 2, bounds);
  const auto ring = build_small_world_ring_order(spec, stream(), 2);
  ASSERT_EQ(r.storage_to_node.size(), n);
  ASSERT_EQ(r.node_to_storage.size(), n);
  for (std::uint32_t s = 0; s < n; ++s) {
    ASSERT_EQ(r.node_to_storage[r.storage_to_node[s]], s);
    ASSERT_EQ(r.storage_to_node[s] < customers, s < customers) << "slot " << s << " outside its group";
    if (s + 1 < n && s + 1 != customers) {
      ASSERT_LT(ring.node_to_storage[r.storage_to_node[s]], ring.node_to_storage[r.storage_to_node[s + 1]])
          << "slots " << s << ", " << s + 1 << " not in ring order";
    }
  }
  // Same-group ring neighbours are close in slots: the median slot distance
  // of same-group strong ties is a few slots, where random labels would put
  // it near a third of the group.
  std::vector<std::uint32_t> d;
  for (std::uint32_t s = 0; s < n; ++s)
    for (auto v : r.graph.strong(s))
      if ((v < customers) == (s < customers)) d.push_back(v > s ? v - s : s - v);
  std::ranges::nth_element(d, d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2));
  EXPECT_LE(d[d.size() / 2], 4u);
}

TEST(Network, BitIdenticalAtAnyThreadCount) {
  const SmallWorldSpec spec = spec_of(70'000, 8, 8, 0.2);  // 35 buckets, 5 chunks: threads get uneven shares
  const std::uint32_t bounds[] = {30'000};
  const TieGraph g1 = build_small_world(spec, stream(), 1);
  const auto r1 = build_small_world_ring_order(spec, stream(), 1, bounds);
  for (int threads : {2, 3}) {
    SCOPED_TRACE(threads);
    EXPECT_TRUE(same_graph(build_small_world(spec, stream(), threads), g1));
    const auto r = build_small_world_ring_order(spec, stream(), threads, bounds);
    EXPECT_TRUE(same_graph(r.graph, r1.graph));
    EXPECT_TRUE(same_bytes(r.storage_to_node.span(), r1.storage_to_node.span()));
    EXPECT_TRUE(same_bytes(r.node_to_storage.span(), r1.node_to_storage.span()));
  }
}

TEST(Network, EdgeCases) {
  for (int threads : {1, 2}) {
    EXPECT_EQ(build_small_world(spec_of(0, 8, 8, 0.1), stream(), threads).nodes(), 0u);
    EXPECT_EQ(build_small_world_ring_order(spec_of(0, 8, 8, 0.1), stream(), threads).graph.edges(), 0u);
    const TieGraph one = build_small_world(spec_of(1, 8, 8, 0.5), stream(), threads);
    ASSERT_EQ(one.nodes(), 1u);
    EXPECT_EQ(one.degree(0), 0u);  // every tie of a lone node is a self-loop
    // n = 2, 3 and ring_neighbours >= n, rewire 0: the ring wraps onto itself
    // and repeats pairs; what is left is the complete graph, all strong.
    for (std::uint32_t n : {2u, 3u, 5u}) {
      for (std::uint32_t k : {n - n % 2, 2 * n, 2 * n + 6}) {
        const auto r = build_small_world_ring_order(spec_of(n, k, 0, 0.0), stream(), threads);
        expect_well_formed(r.graph);
        if (k < n - 1) continue;
        for (std::uint32_t s = 0; s < n; ++s) EXPECT_EQ(r.graph.strong(s).size(), n - 1) << n << " " << k;
      }
    }
    // No ties at all, and only one kind.
    EXPECT_EQ(build_small_world(spec_of(1000, 0, 0, 0.3), stream(), threads).edges(), 0u);
    const TieGraph weak_only = build_small_world(spec_of(1000, 0, 6, 0.3), stream(), threads);
    expect_well_formed(weak_only);
    for (std::uint32_t n = 0; n < 1000; ++n) ASSERT_TRUE(weak_only.strong(n).empty());
    const TieGraph strong_only = build_small_world(spec_of(1000, 6, 0, 0.3), stream(), threads);
    expect_well_formed(strong_only);
    for (std::uint32_t n = 0; n < 1000; ++n) ASSERT_TRUE(strong_only.weak(n).empty());
  }
  EXPECT_THROW(build_small_world(spec_of(10, 2, 2, 1.5), stream(), 1), std::invalid_argument);
  EXPECT_THROW(build_small_world(spec_of(10, 2, 2, -0.1), stream(), 1), std::invalid_argument);
  const std::uint32_t descending[] = {5, 3};
  EXPECT_THROW(build_small_world_ring_order(spec_of(10, 2, 2, 0.1), stream(), 1, descending), std::invalid_argument);
  const std::uint32_t beyond[] = {11};
  EXPECT_THROW(build_small_world_ring_order(spec_of(10, 2, 2, 0.1), stream(), 1, beyond), std::invalid_argument);
}

// Above 2^21 nodes the merge buckets widen (at most 1024 of them); one build
// there, checked more lightly (symmetry on a sample of rows) to stay fast.
TEST(Network, LargeGraphWithWideBuckets) {
  const std::uint32_t n = 2'100'000;  // > 1024 * 2048
  const SmallWorldSpec spec = spec_of(n, 2, 2, 0.2);
  const std::uint32_t bounds[] = {n / 3};
  const auto r = build_small_world_ring_order(spec, stream(), 2, bounds);
  const TieGraph& g = r.graph;
  ASSERT_EQ(g.nodes(), n);
  std::uint64_t directed = 0;
  for (std::uint32_t s = 0; s < n; ++s) {
    const auto st = g.strong(s), w = g.weak(s);
    ASSERT_TRUE(std::is_sorted(st.begin(), st.end()) && std::is_sorted(w.begin(), w.end())) << s;
    ASSERT_EQ(std::adjacent_find(st.begin(), st.end()), st.end()) << s;
    ASSERT_EQ(std::adjacent_find(w.begin(), w.end()), w.end()) << s;
    directed += g.degree(s);
    if (s % 997 != 0) continue;
    for (auto v : st) ASSERT_TRUE(v != s && std::ranges::binary_search(g.strong(v), s)) << s;
    for (auto v : w) ASSERT_TRUE(v != s && std::ranges::binary_search(g.weak(v), s) && !std::ranges::binary_search(st, v));
  }
  EXPECT_EQ(directed, 2 * g.edges());
  EXPECT_NEAR(static_cast<double>(g.edges()), n * 2.0, 100.0);  // n (1 + 1) ties less a few losses
  EXPECT_TRUE(same_graph(build_small_world_ring_order(spec, stream(), 1, bounds).graph, g));
}

// --------------------------------------------------------- distribution --

// One-group ring order: slot = ring position, so a strong tie is a kept ring
// edge iff its ends are within k/2 on the ring (or a rewired edge that landed
// there: each of the n h p rewired edges does so with chance 2h/n, in all
// 2 h^2 p = 3.2 here, bounded by 20 below).
//  - far strong ties = rewired edges: Binomial(n h, p) less what landed near;
//  - the near share = 1 - p within the binomial sd of p.
TEST(Network, RewiredEdgesAreBinomial) {
  const std::uint32_t n = 100'000, h = 4;
  for (double p : {0.1, 0.5}) {
    SCOPED_TRACE(p);
    const auto r = build_small_world_ring_order(spec_of(n, 2 * h, 0, p), stream(), 2);
    double near = 0, far = 0;
    for (std::uint32_t s = 0; s < n; ++s)
      for (auto v : r.graph.strong(s)) (ring_distance(s, v, n) <= h ? near : far) += 0.5;  // each edge twice
    const double trials = static_cast<double>(n) * h, sd = std::sqrt(trials * p * (1 - p));
    // Rewired edges lost to self-loops (h p) and to repeats (< 3 here) are a few.
    EXPECT_NEAR(far, trials * p, kZ * sd + 20);
    EXPECT_NEAR(near / (near + far), 1 - p, kZ * sd / trials + 20 / trials);
  }
  // rewire = 1: no ring edge is kept; near ties are only those that landed
  // near by chance, 2h/n of them.
  const auto all = build_small_world_ring_order(spec_of(n, 2 * h, 0, 1.0), stream(), 2);
  double near = 0;
  for (std::uint32_t s = 0; s < n; ++s)
    for (auto v : all.graph.strong(s)) near += ring_distance(s, v, n) <= h ? 0.5 : 0.0;
  const double expect = n * h * (2.0 * h / n);
  EXPECT_NEAR(near, expect, kZ * std::sqrt(expect));
}

// Strong and weak edge counts against the model's maths, summed over builds.
// Every generated tie survives unless it is a self-loop or repeats a pair;
// to first order in 1/n the expected losses per build are (h = k/2, w =
// random_ties/2, p = rewire, m = h p + w random ties per node):
//  strong: self-loops h p; a rewired edge on one of its 2h - 1 other kept
//          ring pairs h p (2h - 1)(1 - p); two rewired edges on one pair
//          h (h - 1) p^2 / 2 + (h p)^2 / 2;
//  weak:   self-loops w; on a kept ring pair 2 h w (1 - p); on a rewired
//          pair 2 h p w (strong wins); two weak draws on one pair
//          w (w - 1) / 2 + w^2 / 2.
// The losses are Poisson (sd = sqrt(mean)); the O(1/n) terms left out are
// below 1% of the mean at n = 20,000. Dropping the de-duplication, or letting
// a weak repeat of a strong tie stay, shifts the weak losses by > 10 sd.
TEST(Network, EdgeCountsMatchTheExpectedLosses) {
  const std::uint32_t n = 20'000, builds = 20;
  const double h = 4, w = 4, p = 0.1;
  double strong = 0, weak = 0, degree_sum = 0;
  for (std::uint32_t b = 0; b < builds; ++b) {
    const TieGraph g = build_small_world(spec_of(n, 2 * h, 2 * w, p), stream(b), 2);
    for (std::uint32_t i = 0; i < n; ++i) {
      strong += g.strong(i).size() / 2.0;
      weak += g.weak(i).size() / 2.0;
      degree_sum += g.degree(i);
    }
  }
  const double strong_loss = h * p + h * p * (2 * h - 1) * (1 - p) + h * (h - 1) * p * p / 2 + h * p * h * p / 2;
  const double weak_loss = w + 2 * h * w * (1 - p) + 2 * h * p * w + w * (w - 1) / 2 + w * w / 2;
  const double lost_strong = builds * (n * h) - strong, lost_weak = builds * (n * w) - weak;
  EXPECT_NEAR(lost_strong, builds * strong_loss, kZ * std::sqrt(builds * strong_loss) + 0.01 * builds * strong_loss);
  EXPECT_NEAR(lost_weak, builds * weak_loss, kZ * std::sqrt(builds * weak_loss) + 0.01 * builds * weak_loss);
  // The mean degree the model uses: 2 (h + w) less twice the losses per node.
  const double mean_degree = degree_sum / (builds * n);
  const double expected_degree = 2 * (h + w) - 2 * (strong_loss + weak_loss) / n;
  EXPECT_NEAR(mean_degree, expected_degree,
              2 * (kZ * std::sqrt(builds * (strong_loss + weak_loss)) + 0.01 * builds * (strong_loss + weak_loss)) /
                  (builds * n));
}

// Weak partners are uniform over nodes: a node's weak degree is its own w
// draws (less rare losses) plus Binomial(n w, 1/n) received. Summed over B
// equal bins of node ids, the received counts are multinomial with equal
// cells: chi-square with B - 1 degrees of freedom. The same in ring positions
// (one-group ring order), and a weak tie's ring distance is uniform on 1..n/2
// (so weak ties are not ring-local): half are beyond n/4.
TEST(Network, WeakPartnersAreUniform) {
  const std::uint32_t n = 100'000, w = 4, bins = 50;
  const SmallWorldSpec spec = spec_of(n, 8, 2 * w, 0.1);
  auto chi_square = [&](const TieGraph& g) {
    std::vector<double> received(bins, 0.0);
    double total = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const double in = static_cast<double>(g.weak(i).size()) - w;  // own draws: w, less a few losses
      received[static_cast<std::size_t>(i) * bins / n] += in;
      total += in;
    }
    double x2 = 0;
    for (double r : received) x2 += (r - total / bins) * (r - total / bins) / (total / bins);
    return x2;
  };
  const double limit = chi_square_quantile(bins - 1, kZ) + 5;  // + 5: the losses (~50) shift cells by < 2
  EXPECT_LT(chi_square(build_small_world(spec, stream(), 2)), limit);
  const auto ring = build_small_world_ring_order(spec, stream(), 2);
  EXPECT_LT(chi_square(ring.graph), limit);
  double far = 0, all = 0;
  for (std::uint32_t s = 0; s < n; ++s)
    for (auto v : ring.graph.weak(s)) {
      far += ring_distance(s, v, n) > n / 4;
      all += 1;
    }
  EXPECT_NEAR(far / all, 0.5, kZ * std::sqrt(0.25 / (all / 2)));
}

// The ring is a uniformly random permutation of the nodes:
//  - one permutation: the table (node-id bin, ring-position bin) has fixed
//    margins; under uniformity Pearson's statistic is chi-square with
//    (B - 1)^2 degrees of freedom; the same for (bin of the node at p, bin of
//    the node at p + 1), the pairwise independence of ring neighbours that
//    makes customer-prospect ties as common as the groups' sizes say;
//  - ascents (node at p + 1 > node at p): n/2, variance (n + 1)/12;
//  - over many streams: where one node lands is uniform (chi-square, B - 1).
// Ties and rewiring are off, so the graph is the permutation alone.
TEST(Network, RingIsAUniformPermutation) {
  const std::uint32_t n = 200'000, bins = 10;  // 2^14 nodes per shuffle bucket: several buckets
  const auto r = build_small_world_ring_order(spec_of(n, 0, 0, 0.0), stream(), 2);
  const auto& ring = r.storage_to_node;  // one group: slot = ring position
  auto pearson = [&](auto cell) {
    std::vector<double> t(bins * bins, 0.0);
    for (std::uint32_t p = 0; p + 1 < n; ++p) t[cell(p)] += 1;
    const double e = (n - 1.0) / (bins * bins);
    double x2 = 0;
    for (double o : t) x2 += (o - e) * (o - e) / e;
    return x2;
  };
  const double limit = chi_square_quantile((bins - 1.0) * (bins - 1.0), kZ);
  EXPECT_LT(pearson([&](std::uint32_t p) { return std::size_t{ring[p]} * bins / n * bins + std::size_t{p} * bins / n; }),
            limit);
  EXPECT_LT(pearson([&](std::uint32_t p) {
              return std::size_t{ring[p]} * bins / n * bins + std::size_t{ring[p + 1]} * bins / n;
            }),
            limit);
  double ascents = 0;
  for (std::uint32_t p = 0; p + 1 < n; ++p) ascents += ring[p + 1] > ring[p];
  EXPECT_NEAR(ascents, (n - 1) / 2.0, kZ * std::sqrt((n + 1) / 12.0));

  const std::uint32_t streams = 300, small = 20'000;  // 2 shuffle buckets
  const std::uint32_t tracked[] = {0, 12'345, small - 1};
  std::vector<std::vector<double>> at(3, std::vector<double>(bins, 0.0));
  for (std::uint32_t k = 0; k < streams; ++k) {
    const auto one = build_small_world_ring_order(spec_of(small, 0, 0, 0.0), stream(k), 1);
    for (int i = 0; i < 3; ++i) at[i][std::size_t{one.node_to_storage[tracked[i]]} * bins / small] += 1;
  }
  const double e = static_cast<double>(streams) / bins;
  for (int i = 0; i < 3; ++i) {
    double x2 = 0;
    for (double o : at[i]) x2 += (o - e) * (o - e) / e;
    EXPECT_LT(x2, chi_square_quantile(bins - 1, kZ)) << "node " << tracked[i];
  }
}

// ------------------------------------------------------- building blocks --

TEST(HugeBuffer, ZeroedMovableAndShrinks) {
  HugeBuffer<std::uint32_t> a(3'000'000);  // > 2 MiB: the huge-page path
  EXPECT_EQ(a.size(), 3'000'000u);
  EXPECT_GE(a.bytes(), a.size() * sizeof(std::uint32_t));
  EXPECT_TRUE(std::all_of(a.begin(), a.end(), [](std::uint32_t x) { return x == 0; }));
  std::iota(a.begin(), a.end(), 0u);
  HugeBuffer<std::uint32_t> b = std::move(a);
  EXPECT_TRUE(a.empty());
  b.shrink(1000);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_LT(b.bytes(), 8192u);
  EXPECT_EQ(b[999], 999u);
  const HugeBuffer<std::uint32_t> c = b;  // a deep copy
  b[0] = 7;
  EXPECT_EQ(c[0], 0u);
  EXPECT_EQ(c[999], 999u);
  EXPECT_EQ(HugeBuffer<std::uint64_t>(0).data(), nullptr);
}

// A freed mapping serves the next request of its size (the cache), and a
// zeroed buffer built on it is zero again; a shrunk one goes back whole.
TEST(HugeBuffer, FreedMappingsAreReusedAndCleared) {
  loyalsim::engine::release_cached_buffers();
  const std::uint32_t* where = nullptr;
  {
    HugeBuffer<std::uint32_t> a(1'000'000);
    std::fill(a.begin(), a.end(), 7u);
    a.shrink(10);
    where = a.data();
  }
  HugeBuffer<std::uint32_t> b(1'000'000);
  EXPECT_EQ(b.data(), where);
  EXPECT_TRUE(std::all_of(b.begin(), b.end(), [](std::uint32_t x) { return x == 0; }));
  const auto c = HugeBuffer<std::uint32_t>::uninitialized(2'000'000);  // no cached mapping fits: a fresh one
  EXPECT_NE(c.data(), where);
  loyalsim::engine::release_cached_buffers();
}

// WordStream: word i is word i % 4 of block (node, tag | i / 4); below() is
// exactly uniform (chi-square over n cells, n chosen so 2^32 mod n is large:
// a biased multiply-shift would be off by (2^32 mod n) / 2^32 in a third of
// the cells, invisible here, so the layout check carries the exactness).
TEST(WordStream, ReadsBlocksInOrderAndDrawsUniformly) {
  const RandomStream rng(99, 1, 0, 4);
  loyalsim::engine::WordStream ws(rng, 17, 3u << 29);
  for (std::uint32_t b = 0; b < 3; ++b) {
    const auto block = rng.block(17, (3u << 29) | b);
    for (std::uint32_t k = 0; k < 4; ++k) EXPECT_EQ(ws.next(), block[k]);
  }
  const std::uint32_t cells = 7, draws = 700'000;
  std::vector<double> count(cells, 0.0);
  double mean = 0;
  for (std::uint32_t i = 0; i < draws; ++i) {
    count[ws.below(cells)] += 1;
    const double u = ws.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u / draws;
  }
  double x2 = 0;
  for (double c : count) x2 += (c - draws / 7.0) * (c - draws / 7.0) / (draws / 7.0);
  EXPECT_LT(x2, chi_square_quantile(cells - 1, kZ));
  EXPECT_NEAR(mean, 0.5, kZ * std::sqrt(1.0 / 12.0 / draws));
  // Rejection: with n = 2^31 + 1 half the words are rejected, yet every value
  // stays below n and the low half is drawn about half the time.
  double low = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::uint32_t x = ws.below(0x80000001u);
    ASSERT_LT(x, 0x80000001u);
    low += x < 0x40000000u;
  }
  EXPECT_NEAR(low, 0.5 * 10'000, kZ * std::sqrt(10'000 * 0.25));
}

}  // namespace
