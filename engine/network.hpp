// A social network with two kinds of ties, stored as one compressed sparse
// row (CSR) adjacency: each row lists its strong ties first, then its weak
// ties, each part sorted ascending.
//
// The builder is generic: a Watts-Strogatz ring over a random permutation of
// the nodes, every ring edge rewired with some probability, plus uniformly
// random extra ties. It returns the graph in one of two labellings of the
// same edge set:
//  - node order (build_small_world): row i is node i, neighbours are node ids;
//  - ring order (build_small_world_ring_order): nodes relabelled into storage
//    slots so that ring neighbours sit next to each other in memory, within
//    groups of consecutive node ids (see RingOrderNetwork).
// The edge set, as pairs of node ids, is a function of the spec and the random
// stream only: the labelling and the thread count change nothing in it, and
// the result is bit-identical at any thread count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/random.hpp"

namespace loyalsim::engine {

struct SmallWorldSpec {
  std::uint32_t nodes = 0;
  std::uint32_t ring_neighbours = 8;  // strong ties per node on the ring (even; an odd value acts as one less)
  std::uint32_t random_ties = 8;      // each node draws random_ties/2 random partners (even)
  double rewire = 0.1;                // probability a ring edge is rewired to a random node
};

class TieGraph {
 public:
  TieGraph() = default;

  [[nodiscard]] std::uint32_t nodes() const { return nodes_; }
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
  // The raw CSR arrays, for kernels that stream them: row r is
  // neighbours()[offsets()[r] .. offsets()[r+1]), its first strong_counts()[r] strong.
  [[nodiscard]] std::span<const std::uint64_t> offsets() const { return offset_.span(); }
  [[nodiscard]] std::span<const std::uint32_t> strong_counts() const { return strong_count_.span(); }
  [[nodiscard]] std::span<const std::uint32_t> neighbours() const { return neighbour_.span(); }
  [[nodiscard]] std::uint64_t bytes() const { return offset_.bytes() + strong_count_.bytes() + neighbour_.bytes(); }

 private:
  friend class SmallWorldBuilder;
  std::uint32_t nodes_ = 0;
  HugeBuffer<std::uint64_t> offset_ = HugeBuffer<std::uint64_t>(1);  // nodes + 1 entries
  HugeBuffer<std::uint32_t> strong_count_;
  HugeBuffer<std::uint32_t> neighbour_;
};

// The graph in ring order, for kernels that want neighbours close in memory.
//
// Groups are consecutive ranges of node ids, [0, b1), [b1, b2), ..., [bk, n)
// for the bounds b1 <= ... <= bk given to the builder (none: one group).
// Storage holds group 0's nodes in ring order, then group 1's, and so on, so
// a group occupies the same range of slots as of node ids: slot s < b1 iff
// its node is in group 0. Rows are indexed by slot and hold the slots of the
// neighbours, each row [strong ascending][weak ascending]; ascending slots put
// group 0's neighbours before group 1's within each part. Ring neighbours of
// one group are a few slots apart (the same ring run); rewired and weak ties
// are uniformly random slots.
struct RingOrderNetwork {
  TieGraph graph;                              // rows and neighbours are storage slots
  HugeBuffer<std::uint32_t> storage_to_node;   // node id held by each slot (key its draws by this)
  HugeBuffer<std::uint32_t> node_to_storage;   // slot of each node id
  [[nodiscard]] std::uint64_t bytes() const {
    return graph.bytes() + storage_to_node.bytes() + node_to_storage.bytes();
  }
};

// Builds the graph in node order. Ties are undirected; self-loops are dropped;
// a pair tied twice counts once (a random tie that duplicates a ring tie
// stays strong). Draws (purpose-free: the caller's stream, all of it month 0):
// see "Draw layout" in network.cpp and docs/model.md.
TieGraph build_small_world(const SmallWorldSpec& spec, const RandomStream& rng, int threads);

// The same edge set in ring order, with `group_bounds` as above (ascending,
// each at most spec.nodes). Throws std::invalid_argument on bad bounds.
RingOrderNetwork build_small_world_ring_order(const SmallWorldSpec& spec, const RandomStream& rng, int threads,
                                              std::span<const std::uint32_t> group_bounds = {});

}  // namespace loyalsim::engine
