// A social network with two kinds of ties, stored as one compressed sparse
// row (CSR) adjacency: each node's row lists its strong ties first, then its
// weak ties, each part sorted by neighbour id.
//
// The builder is generic (a Watts-Strogatz ring over a random permutation plus
// uniformly random extra ties) and deterministic: every random choice is a
// counter-based draw, and rows are sorted after a parallel fill, so the graph
// is the same bit for bit whatever the thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/random.hpp"

namespace loyalsim::engine {

struct SmallWorldSpec {
  std::uint32_t nodes = 0;
  std::uint32_t ring_neighbours = 8;  // strong ties per node on the ring (even)
  std::uint32_t random_ties = 8;      // each node draws random_ties/2 random partners (even)
  double rewire = 0.1;                // probability a ring edge is rewired to a random node
};

class TieGraph {
 public:
  TieGraph() = default;

  [[nodiscard]] std::uint32_t nodes() const { return static_cast<std::uint32_t>(offset_.size()) - 1; }
  [[nodiscard]] std::uint64_t edges() const { return neighbour_.size() / 2; }  // undirected
  [[nodiscard]] std::uint32_t degree(std::uint32_t n) const {
    return static_cast<std::uint32_t>(offset_[n + 1] - offset_[n]);
  }
  [[nodiscard]] std::span<const std::uint32_t> strong(std::uint32_t n) const {
    return {neighbour_.data() + offset_[n], strong_count_[n]};
  }
  [[nodiscard]] std::span<const std::uint32_t> ties(std::uint32_t n) const {
    return {neighbour_.data() + offset_[n], offset_[n + 1] - offset_[n]};
  }
  [[nodiscard]] std::span<const std::uint32_t> weak(std::uint32_t n) const {
    return {neighbour_.data() + offset_[n] + strong_count_[n], offset_[n + 1] - offset_[n] - strong_count_[n]};
  }
  [[nodiscard]] std::uint64_t bytes() const {
    return offset_.capacity() * sizeof(std::uint64_t) + strong_count_.capacity() * sizeof(std::uint32_t) +
           neighbour_.capacity() * sizeof(std::uint32_t);
  }

 private:
  friend TieGraph build_small_world(const SmallWorldSpec&, const RandomStream&, int);
  std::vector<std::uint64_t> offset_{0};
  std::vector<std::uint32_t> strong_count_;
  std::vector<std::uint32_t> neighbour_;
};

// Builds the graph. Ties are undirected; self-loops are dropped; a pair tied
// twice counts once (a random tie that duplicates a ring tie stays strong).
// Draws: node n's permutation key is draw 0 of slot n; ring position p uses
// draws 1..ring_neighbours of slot p (rewire? / new end, per edge); node n's
// random partners are draws ring_neighbours+1 ... of slot n.
TieGraph build_small_world(const SmallWorldSpec& spec, const RandomStream& rng, int threads);

}  // namespace loyalsim::engine
