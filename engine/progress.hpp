// Progress with an ETA on stderr, safe to advance from many threads.
//
// On a terminal it redraws one line (at most 5 times a second); in a log or a
// notebook pipe it prints a plain line every 10% or 10 seconds, whichever
// comes first (nothing for work that ends within a second), in a stable format that tools can parse:
//   progress: 42/150 runs (28%) elapsed 12s eta 31s
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace loyalsim::engine {

class Progress {
 public:
  // `units` names what is counted ("months", "runs"); `enabled` = false prints nothing.
  Progress(std::uint64_t total, std::string units, bool enabled);
  void advance(std::uint64_t n = 1);
  void finish();  // prints the final line (once)
  [[nodiscard]] std::uint64_t done() const { return done_.load(); }
  [[nodiscard]] double elapsed_seconds() const;

 private:
  void print(bool final_line);
  using Clock = std::chrono::steady_clock;
  std::uint64_t total_;
  std::string units_;
  bool enabled_, tty_;
  std::atomic<std::uint64_t> done_{0};
  Clock::time_point start_;
  // Read by every advance() without the lock, hence atomics.
  std::atomic<double> last_print_seconds_{0.0};
  std::atomic<std::uint64_t> last_printed_done_{0};
  bool finished_ = false;
  bool printed_ = false;
  std::mutex mutex_;
};

// "2d03h", "1h02m", "3m05s", "12s": short durations for humans (rounded to the second).
std::string format_duration(double seconds);

}  // namespace loyalsim::engine
