#include "engine/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

// How the graph is built (every pass over fixed chunks or buckets, so the
// result does not depend on which thread ran which part; no atomics):
//  1. Ring: a uniformly random permutation ring[p] (node at ring position p).
//  2. Labels: label[p] is the row (node id, or storage slot) of ring position
//     p, position[] its inverse.
//  3. Draws: per fixed chunk of ring positions, its rewired ring edges (a bit
//     per ring edge, and the new pair); per chunk of rows, each row's weak
//     partners (drawn by its ring position, stored as labels in `own`, sorted).
//  4. Every directed entry that is not a kept ring tie or an own partner, i.e.
//     both ends of each rewired edge and the far end of each weak tie, goes
//     to its row by a two-level counting sort: per-chunk histograms over
//     buckets of consecutive rows (2048, more above 2^21 rows), prefix sums in
//     chunk order, a stable scatter into each bucket's region of the final
//     array; then, bucket by bucket, a local counting sort by row. Weak entries
//     are scattered in ascending order of the drawing row, so each row's
//     incoming weak ties come out sorted with no sort.
//  5. Each row is merged from its kept ring ties (p +- j, read off the bits;
//     in ring order already sorted within each group), its rewired ends and its
//     weak ties, with duplicates, self-loops and weak ties already strong
//     dropped; rows shrink only by those rare losses, so a final left shift of
//     each bucket closes the gaps.
// Memory at the peak (the merge), 16 ties per node: the final array before
// losses (~68 B/node), own partners (16), scattered entries' rows (~10),
// labels, positions, slots (12), offsets and strong counts (12): ~125 B/node,
// against ~85 B/node for the result.
//
// Draw layout (all in the caller's stream, counter (node, draw); the top
// three bits of `draw` name the word stream, engine::WordStream):
//  - shuffle bucket of node x: word x - c*chunk of stream (chunk c, tag 1);
//  - Fisher-Yates swaps of shuffle bucket b: stream (b, tag 2);
//  - weak partners of ring position q: stream (q, tag 3), one exact uniform
//    integer below n per partner;
//  - rewired edges of ring chunk c (its edges in order (q, j), q ascending,
//    j = 1..k/2): stream (c, tag 4): a 53-bit uniform u for the gap to the next
//    rewired edge, Geometric(rewire) as floor(ln u / ln(1 - rewire)), then its
//    new far end, uniform below n. Gaps restart at each chunk, which is exact
//    (independent Bernoulli trials are memoryless).
// `chunk` depends on the node count only (a power of two >= 2^14 with at most
// 1024 chunks), never on the thread count. ln is glibc's, which picks an FMA
// or a plain variant at load time; the two may differ in the last bit, which
// moves a gap only if ln u / ln(1 - p) lies within an ulp of an integer
// (about 1e-16 per rewired edge): across machines, not across thread counts.

namespace loyalsim::engine {

namespace {

using u32 = std::uint32_t;
using u64 = std::uint64_t;

constexpr u32 kMinBucketBits = 11;  // merge buckets of at least 2048 consecutive rows
constexpr u32 kMaxBuckets = 1024;   // ... and few enough that a chunk's scatter streams stay in cache
constexpr u32 kMinChunk = 1u << 14;
constexpr u32 kMaxChunks = 1024;
constexpr u32 kShuffleBucketBits = 14;  // shuffle buckets of about 2^14 nodes: they stay in L1/L2
constexpr u32 kNone = 0xFFFFFFFFu;      // an own partner lost to a self-loop (sorts last)
constexpr u32 kMaxWindowHalf = 7;       // window_ties reads a row's ring bits in one word up to k/2 = 7
constexpr u32 kCodeBlockBits = 14;      // label_of's blocks: 2^14 positions, no more than a chunk
constexpr u32 kDrawRun = 512;           // draw_partners: rows whose partners' labels are prefetched together

constexpr u32 kBucketTag = 1u << 29;
constexpr u32 kShuffleTag = 2u << 29;
constexpr u32 kWeakTag = 3u << 29;
constexpr u32 kRewireTag = 4u << 29;
constexpr u64 kMaxStreamBlocks = u64{1} << 27;  // a stream's blocks stay far below the tag bits (2^29)

template <class F>
void parallel_for(u32 count, int threads, F&& f) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1 && count > 1)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) f(static_cast<u32>(i));
}

// Compare-exchange without a branch: the lists sorted here are a handful of
// values in random order, where a mispredicted branch costs more than the
// whole exchange.
inline void order_pair(u32& a, u32& b) {
  const u32 swap = (a ^ b) & (0u - static_cast<u32>(b < a));  // a ^ b if out of order, else 0
  a ^= swap;
  b ^= swap;
}

// Sorts a[0..n) ascending: optimal sorting networks for 4 and 8 values (Knuth,
// TAOCP 5.3.4) on a copy padded with kNone, insertion sort above 8.
void sort_few(u32* a, u32 n) {
  if (n == 4) {  // the usual own partners (random_ties = 8): in registers, no padding
    u32 v0 = a[0], v1 = a[1], v2 = a[2], v3 = a[3];
    order_pair(v0, v1), order_pair(v2, v3), order_pair(v0, v2), order_pair(v1, v3), order_pair(v1, v2);
    a[0] = v0, a[1] = v1, a[2] = v2, a[3] = v3;
    return;
  }
  if (n <= 1) return;
  if (n > 8) {
    for (u32 i = 1; i < n; ++i) {
      const u32 x = a[i];
      u32 j = i;
      for (; j > 0 && a[j - 1] > x; --j) a[j] = a[j - 1];
      a[j] = x;
    }
    return;
  }
  u32 v[8];
  for (u32 i = 0; i < 8; ++i) v[i] = i < n ? a[i] : kNone;
  if (n <= 4) {
    static constexpr int kNet4[][2] = {{0, 1}, {2, 3}, {0, 2}, {1, 3}, {1, 2}};
    for (const auto& [i, j] : kNet4) order_pair(v[i], v[j]);
  } else {
    static constexpr int kNet8[][2] = {{0, 2}, {1, 3}, {4, 6}, {5, 7}, {0, 4}, {1, 5}, {2, 6}, {3, 7}, {0, 1}, {2, 3},
                                       {4, 5}, {6, 7}, {2, 4}, {3, 5}, {1, 4}, {3, 6}, {1, 2}, {3, 4}, {5, 6}};
    for (const auto& [i, j] : kNet8) order_pair(v[i], v[j]);
  }
  for (u32 i = 0; i < n; ++i) a[i] = v[i];
}

// Removes from sorted w[0..nw) the values of sorted s[0..ns), in place;
// returns the new size. The rare path: a weak tie that repeats a strong one.
u32 remove_common(u32* w, u32 nw, const u32* s, u32 ns) {
  u32 k = 0, kept = 0;
  for (u32 i = 0; i < nw; ++i) {
    while (k < ns && s[k] < w[i]) ++k;
    if (k == ns || s[k] != w[i]) w[kept++] = w[i];
  }
  return kept;
}

// A row's kept ring ties as written by ring_ties.
struct RingPart {
  u32 size, low;  // labels written; of them, the first `low` are below the group bound (all, unless two groups)
};

// Merge buckets: 2^11 rows, or more at large n so that there are at most
// 1024 (a chunk's scatter writes to every bucket); at most 2^14 rows, no more
// than the smallest chunk (a bucket's rows lie in one chunk; a row's place in
// its bucket is stored in 16 bits).
u32 bucket_bits(u32 n) {
  u32 b = kMinBucketBits;
  while (b < 14 && (u64{kMaxBuckets} << b) < n) ++b;
  return b;
}

u32 chunk_size(u32 n) {
  u32 c = kMinChunk;
  while (static_cast<u64>(c) * kMaxChunks < n) c <<= 1;
  return c;
}

}  // namespace

class SmallWorldBuilder {
 public:
  SmallWorldBuilder(const SmallWorldSpec& spec, const RandomStream& rng, int threads);

  TieGraph node_order();
  RingOrderNetwork ring_order(std::span<const u32> group_bounds);

 private:
  struct RewiredPair {
    u32 a, b;  // labels of the ends
  };
  struct MergeScratch {
    std::vector<u32> strong_at, weak_at, strong_in, weak_in, ring, ring_ties, own;
  };
  // How the labels of a run of consecutive ring positions are ordered.
  enum class RunOrder { ascending, two_groups, random };

  HugeBuffer<u32> random_permutation();
  void shuffle_bucket(u32 bucket, u32* a, u32 size) const;
  static void check_bounds(std::span<const u32> bounds, u32 n);
  TieGraph build_graph();
  void draw_chunk(u32 c);
  void draw_rewiring(u32 c, u32 q0, u32 q1);
  void draw_partners(u32 c);
  void lay_out_bucket(u32 b);
  void lay_out();
  void put(u32* pos, u32 row, u32 value);
  void scatter_chunk(u32 c);
  void sort_entries(u32 b, MergeScratch& m) const;
  void merge_bucket(u32 b, MergeScratch& m);
  u32 assemble_row(u32 s, u32* in, u32 n_in, const u32* weak_in, u32 n_weak_in, MergeScratch& m, u32* out);
  RingPart ring_ties(u32 q, u32* run, u32* out) const;
  RingPart window_ties(u32 q, u32* run, u32* out) const;
  // The label of ring position t: t itself with one group; with two, from a
  // table half the size of a label array (2 bytes per position: 0.8 MB at
  // 400k nodes, which stays in L2 where 1.6 MB does not, for the random reads
  // of partners' labels): block_base_ holds, per 2^14 positions, the first
  // slot of each group there, and label_code_[t] the group and t's rank in it.
  [[nodiscard]] u32 label_of(u32 t) const {
    if (run_order_ == RunOrder::ascending) return t;
    if (run_order_ != RunOrder::two_groups) return label_[t];
    const u32 code = label_code_[t];
    return block_base_[2 * (t >> kCodeBlockBits) + (code >> kCodeBlockBits)] + (code & ((1u << kCodeBlockBits) - 1));
  }
  void prefetch_label(u32 t) const {
    if (run_order_ == RunOrder::two_groups) __builtin_prefetch(label_code_.data() + t);
    else if (run_order_ == RunOrder::random) __builtin_prefetch(label_.data() + t);
  }
  [[nodiscard]] bool rewired(u64 bit) const { return (rewired_bits_[bit >> 6] >> (bit & 63)) & 1u; }
  // The 64 rewired bits from bit `from` on, bit i of the result = bit from + i.
  [[nodiscard]] u64 window_bits(u64 from) const {
    const u64 w = from >> 6, o = from & 63;
    return rewired_bits_[w] >> o | (rewired_bits_[w + 1] << 1) << (63 - o);
  }
  TieGraph compact();
  [[nodiscard]] u32 rows_of_bucket(u32 b) const { return std::min(1u << bucket_bits_, n_ - (b << bucket_bits_)); }
  [[nodiscard]] u32 chunk_end(u32 c) const { return static_cast<u32>(std::min<u64>(n_, u64{c + 1} * chunk_)); }

  SmallWorldSpec spec_;
  RandomStream rng_;
  u32 n_, half_, partners_, chunk_, chunks_, bucket_bits_, buckets_;
  int threads_ = 1;
  RunOrder run_order_ = RunOrder::random;
  u32 window_shift_[kMaxWindowHalf] = {};  // window_ties: bit of the ring edge (q - j, j), j = h - i
  u32 group_bound_ = 0;  // with two_groups: the first slot of group 1

  HugeBuffer<u32> label_;     // ring position -> row label (node order, or more than two groups: see label_of)
  HugeBuffer<std::uint16_t> label_code_;  // two groups: group << 14 | rank within the block (see label_of)
  std::vector<u32> block_base_;           // two groups: per block of 2^14 positions, each group's first slot
  HugeBuffer<u32> position_;  // row label -> ring position
  HugeBuffer<u32> own_;       // row * partners_ + i: the row's own weak partners, ascending, kNone last
  HugeBuffer<u64> rewired_bits_;                    // bit q * half + j - 1: ring edge (q, q + j) rewired
  std::vector<std::vector<RewiredPair>> rewired_;  // per ring chunk, in draw order
  // [chunks_ + c][b] for weak chunk c, [c][b] for rewired chunk c: entries the
  // chunk sends to bucket b; after lay_out, where in the bucket they start.
  std::vector<u32> hist_;
  std::vector<u32> own_count_, rewired_entries_, entries_;  // per bucket
  std::vector<u64> region_start_, entry_start_, final_size_;
  HugeBuffer<u32> neighbour_;
  HugeBuffer<std::uint16_t> entry_row_;  // row within its bucket of each scattered entry
  HugeBuffer<u32> strong_count_;
  HugeBuffer<u64> offset_;
};

SmallWorldBuilder::SmallWorldBuilder(const SmallWorldSpec& spec, const RandomStream& rng, int threads)
    : spec_(spec), rng_(rng), n_(spec.nodes), half_(spec.ring_neighbours / 2), partners_(spec.random_ties / 2),
      chunk_(chunk_size(spec.nodes)),
      chunks_(static_cast<u32>((u64{spec.nodes} + chunk_size(spec.nodes) - 1) / chunk_size(spec.nodes))),
      bucket_bits_(bucket_bits(spec.nodes)),
      buckets_(static_cast<u32>((u64{spec.nodes} + (u64{1} << bucket_bits_) - 1) >> bucket_bits_)) {
  // At least two chunks per thread: a small graph gains nothing from a team
  // (a dozen barriers), and the result is the same whatever the count.
  const u32 asked = static_cast<u32>(std::max(1, threads));
  threads_ = static_cast<int>(std::min<u32>(asked, std::max<u32>(1, (chunks_ + 1) / 2)));
  if (!(spec.rewire >= 0.0 && spec.rewire <= 1.0))
    throw std::invalid_argument("small-world network: rewire = " + std::to_string(spec.rewire) +
                                " is not a probability in [0, 1]");
  if (n_ > 0x7FFFFFFFu) throw std::invalid_argument("small-world network: more than 2^31 - 1 nodes");
  if (static_cast<u64>(chunk_) * half_ > kMaxStreamBlocks)
    throw std::invalid_argument("small-world network: ring_neighbours = " + std::to_string(spec.ring_neighbours) +
                                " is too large for " + std::to_string(n_) + " nodes");
}

// A uniformly random permutation by random bucketing then a Fisher-Yates
// shuffle within each bucket (Sanders, "Random permutations on distributed,
// external and hierarchical memory", 1998): the chance of a given permutation
// is the sum over bucket sizes (n_b) of B^-n * prod 1/n_b!, the same for every
// permutation, so it is exactly uniform given ideal draws. It replaced sorting
// random keys (a 64-bit sort per node); a Feistel bijection on [0, 2^b) with
// cycle walking was tried too: 33 ns/node at 400k nodes against 10 ns here,
// and only "uniform enough", where this is exact.
HugeBuffer<u32> SmallWorldBuilder::random_permutation() {
  u32 bits = 0;
  while ((u64{n_} >> bits) > (1u << kShuffleBucketBits)) ++bits;
  const u32 nb = 1u << bits;
  auto bucket_of = [bits](WordStream& ws) { return bits == 0 ? 0u : ws.next() >> (32 - bits); };
  std::vector<u32> hist(static_cast<std::size_t>(chunks_) * nb, 0);
  parallel_for(chunks_, threads_, [&](u32 c) {
    WordStream ws(rng_, c, kBucketTag);
    u32* h = hist.data() + static_cast<std::size_t>(c) * nb;
    for (u32 x = c * chunk_; x < chunk_end(c); ++x) ++h[bucket_of(ws)];
  });
  std::vector<u32> begin(nb + 1);
  u32 at = 0;
  for (u32 b = 0; b < nb; ++b) {
    begin[b] = at;
    for (u32 c = 0; c < chunks_; ++c) at += std::exchange(hist[static_cast<std::size_t>(c) * nb + b], at);
  }
  begin[nb] = at;
  auto ring = HugeBuffer<u32>::uninitialized(n_);
  parallel_for(chunks_, threads_, [&](u32 c) {
    WordStream ws(rng_, c, kBucketTag);
    u32* h = hist.data() + static_cast<std::size_t>(c) * nb;
    for (u32 x = c * chunk_; x < chunk_end(c); ++x) ring[h[bucket_of(ws)]++] = x;
  });
  parallel_for(nb, threads_, [&](u32 b) { shuffle_bucket(b, ring.data() + begin[b], begin[b + 1] - begin[b]); });
  return ring;
}

void SmallWorldBuilder::shuffle_bucket(u32 bucket, u32* a, u32 size) const {
  WordStream ws(rng_, bucket, kShuffleTag);
  for (u32 i = size; i > 1; --i) std::swap(a[i - 1], a[ws.below(i)]);
}

TieGraph SmallWorldBuilder::node_order() {
  if (n_ == 0) return {};
  label_ = random_permutation();  // a ring position's row is its node
  position_ = HugeBuffer<u32>::uninitialized(n_);
  parallel_for(chunks_, threads_, [&](u32 c) {
    for (u32 p = c * chunk_; p < chunk_end(c); ++p) position_[label_[p]] = p;
  });
  return build_graph();
}

void SmallWorldBuilder::check_bounds(std::span<const u32> bounds, u32 n) {
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (bounds[i] > n || (i > 0 && bounds[i] < bounds[i - 1]))
      throw std::invalid_argument("small-world network: group bound " + std::to_string(bounds[i]) + " (bound " +
                                  std::to_string(i) + ") is not ascending within [0, " + std::to_string(n) + "]");
}

RingOrderNetwork SmallWorldBuilder::ring_order(std::span<const u32> bounds) {
  check_bounds(bounds, n_);
  RingOrderNetwork out;
  if (n_ == 0) return out;
  HugeBuffer<u32> ring = random_permutation();
  const auto groups = static_cast<u32>(bounds.size() + 1);
  auto group_of = [&](u32 node) {  // without a branch: which group is random along the ring
    u32 g = 0;
    for (const u32 b : bounds) g += node >= b;
    return g;
  };
  // A ring position's slot: its group's first slot (= first node id) plus its
  // rank among the group's positions, counted per chunk then prefix-summed.
  std::vector<u32> next(static_cast<std::size_t>(chunks_) * groups, 0);
  parallel_for(chunks_, threads_, [&](u32 c) {
    for (u32 p = c * chunk_; p < chunk_end(c); ++p) ++next[static_cast<std::size_t>(c) * groups + group_of(ring[p])];
  });
  for (u32 g = 0; g < groups; ++g) {
    u32 at = g == 0 ? 0 : bounds[g - 1];
    for (u32 c = 0; c < chunks_; ++c) at += std::exchange(next[static_cast<std::size_t>(c) * groups + g], at);
  }
  if (bounds.empty()) run_order_ = RunOrder::ascending;
  else if (bounds.size() == 1) run_order_ = RunOrder::two_groups, group_bound_ = bounds[0];
  // Labels are computed (one group) or coded in 2 bytes (two groups, see
  // label_of); more groups store them.
  if (run_order_ == RunOrder::random) label_ = HugeBuffer<u32>::uninitialized(n_);
  position_ = HugeBuffer<u32>::uninitialized(n_);
  out.storage_to_node = HugeBuffer<u32>::uninitialized(n_);
  if (run_order_ == RunOrder::two_groups) {
    label_code_ = HugeBuffer<std::uint16_t>::uninitialized(n_);
    block_base_.assign(2 * (static_cast<std::size_t>(n_ >> kCodeBlockBits) + 1), 0);
  }
  parallel_for(chunks_, threads_, [&](u32 c) {
    u32* at = next.data() + static_cast<std::size_t>(c) * groups;
    for (u32 p = c * chunk_; p < chunk_end(c); ++p) {
      const u32 g = group_of(ring[p]);
      const u32 slot = at[g]++;
      if (run_order_ == RunOrder::two_groups) {  // chunks are whole blocks
        u32* base = block_base_.data() + 2 * (p >> kCodeBlockBits);
        if ((p & ((1u << kCodeBlockBits) - 1)) == 0) base[0] = at[0] - (g == 0), base[1] = at[1] - (g == 1);
        label_code_[p] = static_cast<std::uint16_t>(g << kCodeBlockBits | (slot - base[g]));
      }
      if (!label_.empty()) label_[p] = slot;
      position_[slot] = p;
      out.storage_to_node[slot] = ring[p];
    }
  });
  ring = {};  // storage_to_node holds it now
  out.graph = build_graph();
  out.node_to_storage = HugeBuffer<u32>::uninitialized(n_);
  parallel_for(chunks_, threads_, [&](u32 c) {
    for (u32 s = c * chunk_; s < chunk_end(c); ++s) out.node_to_storage[out.storage_to_node[s]] = s;
  });
  return out;
}

TieGraph SmallWorldBuilder::build_graph() {
  own_ = HugeBuffer<u32>::uninitialized(static_cast<std::size_t>(n_) * partners_);
  // Zeroed: bits are or-ed in. One word more: window_bits reads a word ahead.
  rewired_bits_ = HugeBuffer<u64>((static_cast<u64>(n_) * half_ + 63) / 64 + 1);
  for (u32 i = 0; i < half_ && half_ <= kMaxWindowHalf; ++i)  // see window_ties
    window_shift_[i] = half_ * half_ - 1 - (half_ - i) * (half_ - 1);
  rewired_.assign(chunks_, {});
  hist_.assign(static_cast<std::size_t>(2) * chunks_ * buckets_, 0);
  own_count_.assign(buckets_, 0);
  parallel_for(chunks_, threads_, [&](u32 c) { draw_chunk(c); });
  lay_out();
  parallel_for(chunks_, threads_, [&](u32 c) { scatter_chunk(c); });
  rewired_ = {};
  strong_count_ = HugeBuffer<u32>::uninitialized(n_);
  offset_ = HugeBuffer<u64>::uninitialized(static_cast<std::size_t>(n_) + 1);
  final_size_.assign(buckets_, 0);
#pragma omp parallel num_threads(threads_) if (threads_ > 1 && buckets_ > 1)
  {
    MergeScratch scratch;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < static_cast<std::int64_t>(buckets_); ++b) merge_bucket(static_cast<u32>(b), scratch);
  }
  return compact();
}

// Ring chunk c's rewiring, and the weak partners of slot chunk c's rows
// (drawn by their ring positions, whatever order the rows are in).
void SmallWorldBuilder::draw_chunk(u32 c) {
  const u32 q0 = c * chunk_, q1 = chunk_end(c);
  if (spec_.rewire > 0.0 && half_ > 0) draw_rewiring(c, q0, q1);
  u32* h = hist_.data() + static_cast<std::size_t>(c) * buckets_;
  for (const RewiredPair& e : rewired_[c]) {
    ++h[e.a >> bucket_bits_];
    ++h[e.b >> bucket_bits_];
  }
  if (partners_ > 0) draw_partners(c);
}

// Each row's own partners, sorted (kNone, a self-loop, last); counts them into
// the weak histogram of chunk c and (rows' buckets lie within the chunk) into
// their bucket's own-partner count. In runs of kDrawRun rows, two passes: the
// draws, prefetching each partner's label, then the labels, sort and counts:
// the labels' random reads (a 20 MB table at 10 M nodes) then overlap instead
// of each waiting for memory behind a Philox call.
void SmallWorldBuilder::draw_partners(u32 c) {
  u32* h = hist_.data() + static_cast<std::size_t>(chunks_ + c) * buckets_;
  for (u32 r0 = c * chunk_; r0 < chunk_end(c); r0 += kDrawRun) {
    const u32 r1 = std::min(r0 + kDrawRun, chunk_end(c));
    for (u32 s = r0; s < r1; ++s) {
      const u32 q = position_[s];
      WordStream ws(rng_, q, kWeakTag);
      u32* own = own_.data() + static_cast<std::size_t>(s) * partners_;
      for (u32 i = 0; i < partners_; ++i) {
        const u32 t = ws.below(n_);
        own[i] = t == q ? kNone : t;
        prefetch_label(t);
      }
    }
    for (u32 s = r0; s < r1; ++s) {
      u32* own = own_.data() + static_cast<std::size_t>(s) * partners_;
      u32 valid = 0;
      for (u32 i = 0; i < partners_; ++i)
        if (own[i] != kNone) own[i] = label_of(own[i]), ++valid;  // kNone: rare, a predictable branch
      sort_few(own, partners_);
      for (u32 i = 0; i < valid; ++i) ++h[own[i] >> bucket_bits_];
      own_count_[s >> bucket_bits_] += valid;
    }
  }
}

void SmallWorldBuilder::draw_rewiring(u32 c, u32 q0, u32 q1) {
  WordStream ws(rng_, c, kRewireTag);
  const u64 edges = static_cast<u64>(q1 - q0) * half_;
  const double log_keep = std::log1p(-spec_.rewire);  // -inf at rewire = 1: every gap is 0
  for (u64 e = 0;; ++e) {
    const double gap = std::floor(std::log(ws.uniform()) / log_keep);
    if (gap >= static_cast<double>(edges - e)) break;
    e += static_cast<u64>(gap);
    const u32 q = q0 + static_cast<u32>(e / half_);
    const u32 t = ws.below(n_);
    const u64 bit = static_cast<u64>(q0) * half_ + e;  // = q * half + (j - 1)
    rewired_bits_[bit >> 6] |= u64{1} << (bit & 63);
    if (t != q) rewired_[c].push_back({label_of(q), label_of(t)});
  }
}

// Bucket b's region of the final array holds, before its merge, the entries
// sent to it (rewired chunks' first, in chunk order, then weak chunks');
// after, its rows. It is sized for the rows before any loss: every ring edge
// kept (2 half per row), plus own partners, plus entries.
void SmallWorldBuilder::lay_out_bucket(u32 b) {
  u32 at = 0;
  for (u32 c = 0; c < 2 * chunks_; ++c) {
    at += std::exchange(hist_[static_cast<std::size_t>(c) * buckets_ + b], at);
    if (c + 1 == chunks_) rewired_entries_[b] = at;
  }
  entries_[b] = at;
}

void SmallWorldBuilder::lay_out() {
  rewired_entries_.assign(buckets_, 0);
  entries_.assign(buckets_, 0);
  parallel_for(buckets_, threads_, [&](u32 b) { lay_out_bucket(b); });
  region_start_.assign(buckets_ + 1, 0);
  entry_start_.assign(buckets_ + 1, 0);
  for (u32 b = 0; b < buckets_; ++b) {
    const u64 ring = static_cast<u64>(2) * half_ * rows_of_bucket(b);
    region_start_[b + 1] = region_start_[b] + ring + own_count_[b] + entries_[b];
    entry_start_[b + 1] = entry_start_[b] + entries_[b];
  }
  neighbour_ = HugeBuffer<u32>::uninitialized(region_start_[buckets_]);
  entry_row_ = HugeBuffer<std::uint16_t>::uninitialized(entry_start_[buckets_]);
}

void SmallWorldBuilder::put(u32* pos, u32 row, u32 value) {
  const u32 b = row >> bucket_bits_;
  const u32 k = pos[b]++;
  neighbour_[region_start_[b] + k] = value;
  entry_row_[entry_start_[b] + k] = static_cast<std::uint16_t>(row & ((1u << bucket_bits_) - 1));
}

void SmallWorldBuilder::scatter_chunk(u32 c) {
  u32* pos = hist_.data() + static_cast<std::size_t>(c) * buckets_;
  for (const RewiredPair& e : rewired_[c]) {
    put(pos, e.a, e.b);
    put(pos, e.b, e.a);
  }
  pos = hist_.data() + static_cast<std::size_t>(chunks_ + c) * buckets_;
  for (u32 s = c * chunk_; s < chunk_end(c); ++s) {
    const u32* own = own_.data() + static_cast<std::size_t>(s) * partners_;
    for (u32 i = 0; i < partners_ && own[i] != kNone; ++i) put(pos, own[i], s);
  }
}

// Writes the labels of ring position q's kept ring neighbours to out, sorted
// and each once, q itself left out (it is its own neighbour, and neighbours
// repeat, only when the ring wraps onto itself, k/2 >= n). `run` is scratch
// for 2 k/2 labels.
RingPart SmallWorldBuilder::ring_ties(u32 q, u32* run, u32* out) const {
  if (half_ <= 32 && q >= half_ && u64{q} + half_ < n_) return window_ties(q, run, out);  // kept: a 64-bit mask
  const u64 h = half_;
  u32 n = 0;
  for (u32 j = half_; j >= 1; --j) {
    const u32 p = static_cast<u32>((u64{q} + n_ - j % n_) % n_);
    if (p != q && !rewired(p * h + j - 1)) out[n++] = label_of(p);
  }
  for (u32 j = 1; j <= half_; ++j) {
    const u32 p = static_cast<u32>((u64{q} + j) % n_);
    if (p != q && !rewired(q * h + j - 1)) out[n++] = label_of(p);
  }
  sort_few(out, n);
  n = static_cast<u32>(std::unique(out, out + n) - out);
  return {n, n};  // one span [min, max]: a wide one, but wrap-around rows are few
}

// ring_ties without wrap-around (all but k positions), gathered in ring order
// with no branch on the bits. In ring order each group's labels rise along
// the ring, so one group comes out sorted and two need a stable partition
// (group 1's labels collected apart in `run`, then appended); in node order
// the labels are random and need a sort.
//
// The bits of q's 2h ring edges, (q - j, j) and (q, j) for j = 1..h, lie in
// [qh - h^2, qh + h): for h <= 7 one 64-bit window holds them all. Window
// position i is q - h + i for i < h (edge (q - j, j), j = h - i, at bit
// window_shift_[i]) and q + 1 + (i - h) after (edge (q, i - h + 1), at bit
// h^2 + i - h: those h are contiguous).
RingPart SmallWorldBuilder::window_ties(u32 q, u32* run, u32* out) const {
  const u64 h = half_;
  u64 kept = ~u64{0};  // bit i: window position i's ring edge kept
  if (half_ <= kMaxWindowHalf) {
    const u64 bits = ~window_bits(q * h - h * h);
    kept = (bits >> (h * h)) << half_ & ((u64{1} << (2 * h)) - 1);  // (q, j): h contiguous bits
    for (u32 i = 0; i < half_; ++i) kept |= (bits >> window_shift_[i] & 1) << i;  // (q - j, j): stride h - 1
  } else {
    for (u32 j = 1; j <= half_; ++j) {
      kept &= ~(u64{rewired((q - j) * h + j - 1)} << (half_ - j));
      kept &= ~(u64{rewired(q * h + j - 1)} << (half_ + j - 1));
    }
  }
  const u32 first = q - half_;
  auto at = [&](u32 i) { return label_of(first + i + (i >= half_)); };  // skip q itself
  if (run_order_ != RunOrder::two_groups) {
    u32 n = 0;
    for (u32 i = 0; i < 2 * half_; ++i) {
      out[n] = at(i);
      n += kept >> i & 1;
    }
    if (run_order_ == RunOrder::random) sort_few(out, n);
    return {n, n};
  }
  // Two groups: the window's labels from their codes, with the block's two
  // bases read once (a window crosses into the next block once in 2^14 / k).
  const u32 block = first >> kCodeBlockBits;
  const bool one_block = (first + 2 * half_) >> kCodeBlockBits == block;
  const u32 base0 = block_base_[2 * block], base1 = block_base_[2 * block + 1];
  const std::uint16_t* code = label_code_.data() + first;
  auto coded = [&](u32 i) {
    const u32 c = code[i + (i >= half_)];
    return (c >> kCodeBlockBits ? base1 : base0) + (c & ((1u << kCodeBlockBits) - 1));
  };
  u32 low = 0, high = 0;
  for (u32 i = 0; i < 2 * half_; ++i) {
    const u32 v = one_block ? coded(i) : at(i);
    const u32 keep = kept >> i & 1, up = v >= group_bound_;
    out[low] = v;
    run[high] = v;
    low += keep & (1 - up);
    high += keep & up;
  }
  for (u32 i = 0; i < high; ++i) out[low + i] = run[i];
  return {low + high, low};
}

// Stable counting sort of bucket b's entries by row, strong (rewired) and weak
// apart: row r's strong entries are then m.strong_in[m.strong_at[r] + r ..
// m.strong_at[r + 1] + r), followed by a kNone (the merges' sentinel), and
// the weak ones alike.
void SmallWorldBuilder::sort_entries(u32 b, MergeScratch& m) const {
  const u32 rows = rows_of_bucket(b);
  const u32 strong = rewired_entries_[b], entries = entries_[b];
  const u32* value = neighbour_.data() + region_start_[b];
  const std::uint16_t* row_of = entry_row_.data() + entry_start_[b];
  m.strong_at.assign(rows + 2, 0);
  m.weak_at.assign(rows + 2, 0);
  for (u32 k = 0; k < strong; ++k) ++m.strong_at[row_of[k] + 2];
  for (u32 k = strong; k < entries; ++k) ++m.weak_at[row_of[k] + 2];
  for (u32 r = 2; r < rows + 2; ++r) {
    m.strong_at[r] += m.strong_at[r - 1];
    m.weak_at[r] += m.weak_at[r - 1];
  }
  m.strong_in.assign(strong + rows, kNone);
  m.weak_in.assign(entries - strong + rows, kNone);
  for (u32 k = 0; k < strong; ++k) m.strong_in[m.strong_at[row_of[k] + 1]++ + row_of[k]] = value[k];
  for (u32 k = strong; k < entries; ++k) m.weak_in[m.weak_at[row_of[k] + 1]++ + row_of[k]] = value[k];
}

void SmallWorldBuilder::merge_bucket(u32 b, MergeScratch& m) {
  sort_entries(b, m);
  const u32 s0 = b << bucket_bits_, rows = rows_of_bucket(b);
  m.ring.resize(2 * static_cast<std::size_t>(half_));
  m.ring_ties.resize(2 * static_cast<std::size_t>(half_) + 1);  // + the merge's sentinel
  m.own.resize(partners_ + 1);  // + the merge's sentinel
  u32* const region = neighbour_.data() + region_start_[b];
  u32* out = region;  // the entries are copied out: rows overwrite them
  for (u32 r = 0; r < rows; ++r) {
    u32* in = m.strong_in.data() + m.strong_at[r] + r;
    const u32 n_in = m.strong_at[r + 1] - m.strong_at[r];
    const u32* weak_in = m.weak_in.data() + m.weak_at[r] + r;
    const u32 n_weak_in = m.weak_at[r + 1] - m.weak_at[r];
    const u32 s = s0 + r;
    const u32 degree = assemble_row(s, in, n_in, weak_in, n_weak_in, m, out);
    offset_[s] = degree;  // until compact() turns it into the row start
    out += degree;
  }
  final_size_[b] = static_cast<u64>(out - region);
}

// The labels [first, first + width] that hold one group's ring ties, ring[from, to);
// empty: first = kNone (no label is kNone + anything below 2^32 - 1 - kNone).
struct LabelSpan {
  u32 first, width;
};
LabelSpan span_of(const u32* ring, u32 from, u32 to) {
  return from < to ? LabelSpan{ring[from], ring[to - 1] - ring[from]} : LabelSpan{kNone, 0};
}

// What a row's weak candidates are screened against: the label span of each
// group's ring ties, and a 64-bit Bloom mask (bit v % 64) of its rewired ends.
// A candidate outside both cannot repeat a strong tie; one inside (about k/n
// of them for the spans, n_in/64 for the mask) sends the row down the exact
// path. Never wrong the other way, so the screen costs three operations per
// candidate, in the merge that makes them.
struct StrongScreen {
  LabelSpan low, high;
  u64 ends = 0;
  [[nodiscard]] u32 operator()(u32 v) const {
    return (v - low.first <= low.width) | (v - high.first <= high.width) | static_cast<u32>(ends >> (v % 64) & 1);
  }
};

// The sorted union of sorted a and b, each value once, into out; returns its
// size, and or-s screen(v) of every value v into hit. a[na] and b[nb] must
// hold kNone (a sentinel above every label), so the loop needs no end tests
// and no data-dependent branch.
template <class Screen>
u32 merge_unique(const u32* a, u32 na, const u32* b, u32 nb, u32* out, const Screen& screen, u32& hit) {
  u32 i = 0, j = 0, n = 0, last = kNone, any = 0;
  for (u32 t = na + nb; t > 0; --t) {
    const u32 x = a[i], y = b[j];
    const bool take_a = x <= y;
    const u32 v = take_a ? x : y;
    i += take_a;
    j += !take_a;
    out[n] = v;
    n += v != last;
    last = v;
    any |= screen(v);
  }
  hit = any;
  return n;
}

// Writes row s to out, [strong][weak], and returns its length; weak_in[n_weak_in]
// is kNone. out has room for the row before losses.
u32 SmallWorldBuilder::assemble_row(u32 s, u32* in, u32 n_in, const u32* weak_in, u32 n_weak_in, MergeScratch& m,
                                    u32* out) {
  // Strong: the ring ties (sorted) merged with the rewired ends (sorted here).
  u32* ring = m.ring_ties.data();
  const RingPart part = ring_ties(position_[s], m.ring.data(), ring);
  ring[part.size] = kNone;
  sort_few(in, n_in);
  u32 ns = part.size;
  if (n_in == 0) {  // no rewired end (nearly half the rows at rewire 0.1): a copy, no merge
    for (u32 i = 0; i < ns; ++i) out[i] = ring[i];
  } else {
    u32 unused = 0;
    ns = merge_unique(ring, part.size, in, n_in, out, [](u32) { return 0u; }, unused);
  }
  // Weak: own partners merged with the incoming ones, screened against the strong ties.
  StrongScreen screen{span_of(ring, 0, part.low), span_of(ring, part.low, part.size)};
  for (u32 i = 0; i < n_in; ++i) screen.ends |= u64{1} << (in[i] % 64);
  const u32* own = own_.data() + static_cast<std::size_t>(s) * partners_;
  u32 n_own = 0;
  for (u32 i = 0; i < partners_; ++i) {
    m.own[i] = own[i];
    n_own += own[i] != kNone;
  }
  m.own[n_own] = kNone;
  u32* weak = out + ns;
  u32 hit = 0;
  u32 nw = merge_unique(m.own.data(), n_own, weak_in, n_weak_in, weak, screen, hit);
  if (hit) nw = remove_common(weak, nw, out, ns);
  strong_count_[s] = ns;
  return ns + nw;
}

// Closes the gaps the losses left at the end of each bucket's region (moving
// left, in bucket order, so nothing is overwritten before it is read) and
// turns the degrees into row offsets.
TieGraph SmallWorldBuilder::compact() {
  own_ = {};
  entry_row_ = {};
  rewired_bits_ = {};
  label_ = {};
  position_ = {};
  label_code_ = {};
  block_base_ = {};
  hist_ = {};
  std::vector<u64> start(buckets_ + 1, 0);
  for (u32 b = 0; b < buckets_; ++b) {
    if (region_start_[b] != start[b])
      std::memmove(neighbour_.data() + start[b], neighbour_.data() + region_start_[b], final_size_[b] * sizeof(u32));
    start[b + 1] = start[b] + final_size_[b];
  }
  parallel_for(buckets_, threads_, [&](u32 b) {
    u64 at = start[b];
    const u32 s0 = b << bucket_bits_;
    for (u32 s = s0; s < s0 + rows_of_bucket(b); ++s) at += std::exchange(offset_[s], at);
  });
  offset_[n_] = start[buckets_];
  neighbour_.shrink(start[buckets_]);
  TieGraph g;
  g.nodes_ = n_;
  g.offset_ = std::move(offset_);
  g.strong_count_ = std::move(strong_count_);
  g.neighbour_ = std::move(neighbour_);
  return g;
}

TieGraph build_small_world(const SmallWorldSpec& spec, const RandomStream& rng, int threads) {
  return SmallWorldBuilder(spec, rng, threads).node_order();
}

RingOrderNetwork build_small_world_ring_order(const SmallWorldSpec& spec, const RandomStream& rng, int threads,
                                              std::span<const std::uint32_t> group_bounds) {
  return SmallWorldBuilder(spec, rng, threads).ring_order(group_bounds);
}

}  // namespace loyalsim::engine
