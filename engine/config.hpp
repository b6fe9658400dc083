// Typed, located reading of TOML configuration files.
//
// A Reader walks a parsed document and records a Problem for everything that
// is wrong — unknown keys (with a close-match suggestion), wrong types, values
// out of range — instead of stopping at the first: users fix a file in one
// pass. It knows nothing about what the keys mean; the program that owns the
// keys declares them, their types and their ranges.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/errors.hpp"

namespace loyalsim::engine::config {

// An allowed interval for a real number; it also writes itself for messages.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  [[nodiscard]] bool contains(double x) const;
  [[nodiscard]] std::string describe() const;  // "a number in [0, 1]", "a number > 0"
  // What a usable value is: describe() plus finiteness and the size limit (|x| <= 1e12).
  [[nodiscard]] std::string usable() const;
};
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline Range closed(double lo, double hi) { return {lo, hi, false, false}; }
inline Range open(double lo, double hi) { return {lo, hi, true, true}; }
inline Range at_least(double lo) { return {lo, kInf, false, false}; }
inline Range above(double lo) { return {lo, kInf, true, false}; }
inline Range any_number() { return {}; }

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  // Parses the text (refusing invalid UTF-8); on failure records the
  // problem with its line and returns nothing.
  std::optional<toml::table> parse(std::string_view text);

  // Records a problem at a node's line (0 when the node is null).
  void problem(const toml::node* where, std::string key, std::string what, std::string allowed = "");
  void problem(std::int64_t line, std::string key, std::string what, std::string allowed = "");

  // Every key of `table` not in `known` is a problem, with a suggestion.
  void only_keys(const toml::table& table, const std::string& prefix, const std::vector<std::string_view>& known);

  // Typed getters: a missing key leaves `out` at its default (or records a
  // problem when `required`); a wrong type or range records a problem.
  // Returns whether the key was present and valid.
  bool real(const toml::table& t, std::string_view key, const std::string& path, double& out, const Range& range);
  bool integer(const toml::table& t, std::string_view key, const std::string& path, std::int64_t& out,
               std::int64_t lo, std::int64_t hi, bool required = false);
  bool string(const toml::table& t, std::string_view key, const std::string& path, std::string& out,
              bool required = false);
  bool boolean(const toml::table& t, std::string_view key, const std::string& path, bool& out);
  // A string from a list of choices; `out` is its index.
  bool choice(const toml::table& t, std::string_view key, const std::string& path, int& out,
              std::initializer_list<std::string_view> choices);
  bool choice(const toml::table& t, std::string_view key, const std::string& path, int& out,
              const std::vector<std::string_view>& choices);
  // A sub-table (inline or standard); null with a problem when the key holds something else.
  const toml::table* table(const toml::table& t, std::string_view key, const std::string& path);
  // An array of tables (`[[key]]`, or an empty `key = []`); null with a
  // problem when the key holds something else. The caller decides whether
  // an empty array is allowed.
  const toml::array* table_array(const toml::table& t, std::string_view key, const std::string& path);

  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] bool ok() const { return problems_.empty(); }
  [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }
  // Throws InputError with every problem, sorted by line, if there is any.
  void throw_if_problems();

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

// A number as people write it in a message: 0.35, 1e+06, inf.
std::string format_number(double x);
// Line of a node in its file (0 when unknown).
std::int64_t line_of(const toml::node* node);
// "a string", "an integer", ...: a node's type for messages.
std::string type_name(const toml::node& node);
// Levenshtein distance, for suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate closest to `key` if it is close enough to be a likely typo.
std::optional<std::string> suggest(std::string_view key, const std::vector<std::string_view>& candidates);
// 1-based line of the first byte that is not valid UTF-8, or nothing.
std::optional<std::int64_t> first_invalid_utf8_line(std::string_view text);

}  // namespace loyalsim::engine::config
