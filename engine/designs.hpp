// Experimental designs in the unit cube: where to put the points of a
// parameter sweep.
//
// Every design is a matrix with one row per point and one column per
// dimension, values in [0, 1] (the caller maps each column onto a parameter's
// range). Random designs are pure functions of their seed, drawn from
// engine::RandomStream, so the same experiment file always yields the same
// points on any machine and at any thread count. The Sobol' sequence needs no
// seed at all: it is the unscrambled sequence of Joe & Kuo (2008), bit for bit
// what their reference program sobol.cc prints.
#pragma once

#include <Eigen/Dense>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loyalsim::engine::design {

// RandomStream purposes of the random designs. They are part of the counter,
// so they are frozen: changing one changes every random and LHS design. They
// lie far above the model's purposes (small integers), so a design never
// shares draws with a simulation run under the same seed.
inline constexpr std::uint32_t kRandomUniformPurpose = 0xD001;
inline constexpr std::uint32_t kLatinHypercubeKeyPurpose = 0xD002;     // permutation sort keys
inline constexpr std::uint32_t kLatinHypercubeJitterPurpose = 0xD003;  // position inside a stratum

// Independent uniforms on the open interval (0, 1): entry (row, column) is
// RandomStream(seed, 0, 0, kRandomUniformPurpose).uniform(row, column).
// Throws std::invalid_argument if points or dims exceed 2^32.
Eigen::MatrixXd random_uniform(std::size_t points, std::size_t dims, std::uint64_t seed);

// A Latin hypercube: in every column each of the `points` strata
// [s/points, (s+1)/points) holds exactly one point. Column c is an independent
// random permutation (rows sorted by 64-bit Philox keys) plus a uniform jitter
// inside the stratum: x = (stratum + u) / points, kept strictly below 1.
// Values lie in (0, 1). Deterministic in the seed.
Eigen::MatrixXd latin_hypercube(std::size_t points, std::size_t dims, std::uint64_t seed);

// Dimensions of the embedded Joe-Kuo direction-number table.
inline constexpr std::size_t kSobolMaxDims = 128;

// The first `points` points of the unscrambled Sobol' sequence in `dims`
// dimensions, 32-bit, in Gray-code order exactly as Joe & Kuo's sobol.cc
// generates them with the new-joe-kuo-6.21201 direction numbers: row 0 is all
// zeros, column 0 is van der Corput (0, 1/2, 3/4, 1/4, ...). Values are
// multiples of 2^-32 in [0, 1). Every prefix of 2^m points puts exactly one
// point in each interval [a/2^m, (a+1)/2^m) of every column.
// Throws std::invalid_argument if dims > kSobolMaxDims or points >= 2^32.
Eigen::MatrixXd sobol(std::size_t points, std::size_t dims);

// The Saltelli (2010) design for Sobol' indices of a function of `dims`
// inputs. A and B are the first and last `dims` columns of one Sobol'
// sequence in 2*dims dimensions: its points 1 .. base_points. Point 0, the
// origin, is skipped: there A_0 = B_0, so its row carries no information and
// would put every parameter at its lower bound (SALib's skip_values does the
// same). The result has
// base_points * (dims + 2) rows, ROW-INTERLEAVED so that every complete group
// of dims + 2 consecutive rows is usable on its own (a partly finished sweep
// already holds complete Saltelli rows):
//
//   row j*(dims+2) + 0      = A_j
//   row j*(dims+2) + 1      = B_j
//   row j*(dims+2) + 2 + i  = AB^(i)_j: A_j with column i taken from B_j
//
// for j = 0 .. base_points-1 and i = 0 .. dims-1. The results file
// (saltelli_row j, saltelli_matrix m) and engine::sensitivity::sobol_indices
// rely on this layout. Throws std::invalid_argument if dims == 0,
// 2*dims > kSobolMaxDims or base_points >= 2^32.
Eigen::MatrixXd saltelli(std::size_t base_points, std::size_t dims);

// The full factorial of level indices: every combination of
// 0..levels[d]-1, the LAST dimension varying fastest (C order), so
// {3, 2} gives {0,0}, {0,1}, {1,0}, {1,1}, {2,0}, {2,1}. An empty `levels`
// gives one point with no coordinates. Throws std::invalid_argument on a zero
// level or if the product exceeds 2^32 points (checked before allocating).
std::vector<std::vector<std::uint32_t>> grid_indices(const std::vector<std::uint32_t>& levels);

// `levels` evenly spaced unit-cube values including both ends: i/(levels-1),
// with exact 0 and 1; a single level is the centre, {0.5}.
// Throws std::invalid_argument for zero levels.
std::vector<double> grid_levels(std::uint32_t levels);

}  // namespace loyalsim::engine::design
