// Error types shared by the engine and the programs built on it.
//
// Bad input is reported as a list of Problems, every one of them, each naming
// file, line, key, what is wrong and what is allowed: users fix a file in one
// pass instead of one error per run.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace loyalsim::engine {

struct Problem {
  std::string file;     // path as the user gave it
  std::int64_t line = 0;  // 1-based; 0 when unknown (e.g. a missing required key)
  std::string key;      // dotted path: "policies.fast.compensation"
  std::string what;     // what is wrong
  std::string allowed;  // what is allowed; may be empty

  // "file:line: key: what (allowed)"
  [[nodiscard]] std::string str() const {
    std::string s = file + ":" + std::to_string(line) + ": ";
    if (!key.empty()) s += key + ": ";
    s += what;
    if (!allowed.empty()) s += " (" + allowed + ")";
    return s;
  }
};

// Invalid input: carries every problem found. what() lists them one per line.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Problem> problems)
      : std::runtime_error(join(problems)), problems_(std::move(problems)) {}
  [[nodiscard]] const std::vector<Problem>& problems() const { return problems_; }

 private:
  static std::string join(const std::vector<Problem>& ps) {
    std::string s;
    for (const auto& p : ps) s += p.str() + "\n";
    if (!s.empty()) s.pop_back();
    return s;
  }
  std::vector<Problem> problems_;
};

// A request the input cannot satisfy, found before any work: an unknown
// metric or policy, a point or month the file does not have, a path that is
// not a results file or cannot be one. The message names what was asked and
// what is available. The programs exit with 2 (bad input), as for InputError.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure of the environment (file system, HDF5, disk space): not the
// user's input, but still reported plainly with what was being done.
class RuntimeFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace loyalsim::engine
