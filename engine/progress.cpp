#include "engine/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace loyalsim::engine {

namespace {
// Work that ends within this time prints no progress at all: a line that
// says 100% after 0 seconds is noise.
constexpr double kQuietSeconds = 1.0;
}  // namespace

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<long long>(std::llround(s));
  char buf[32];
  if (total >= 86400) std::snprintf(buf, sizeof buf, "%lldd%02lldh", total / 86400, total % 86400 / 3600);
  else if (total >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600, total % 3600 / 60);
  else if (total >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
  else std::snprintf(buf, sizeof buf, "%llds", total);
  return buf;
}

Progress::Progress(std::uint64_t total, std::string units, bool enabled)
    : total_(total), units_(std::move(units)), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0),
      start_(Clock::now()) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void Progress::advance(std::uint64_t n) {
  const std::uint64_t now_done = done_.fetch_add(n) + n;
  if (!enabled_) return;
  const double elapsed = elapsed_seconds();
  if (elapsed < kQuietSeconds) return;
  const double since = elapsed - last_print_seconds_.load();
  const bool due = tty_ ? since >= 0.2
                        : (since >= 10.0 || (now_done - last_printed_done_) * 10 >= total_);
  if (!due) return;
  std::unique_lock lock(mutex_, std::try_to_lock);  // never make a worker wait for the terminal
  if (!lock.owns_lock() || finished_) return;
  print(false);
}

void Progress::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  if (finished_) return;
  if (printed_ || elapsed_seconds() >= kQuietSeconds) print(true);
  finished_ = true;
}

void Progress::print(bool final_line) {
  const std::uint64_t d = done_.load();
  const double el = elapsed_seconds();
  const double eta = d > 0 ? el / static_cast<double>(d) * static_cast<double>(total_ - std::min(d, total_)) : NAN;
  const int pct = total_ > 0 ? static_cast<int>(100.0 * static_cast<double>(d) / static_cast<double>(total_)) : 100;
  char line[160];
  std::snprintf(line, sizeof line, "progress: %llu/%llu %s (%d%%) elapsed %s eta %s",
                static_cast<unsigned long long>(d), static_cast<unsigned long long>(total_), units_.c_str(), pct,
                format_duration(el).c_str(), final_line ? "0s" : format_duration(eta).c_str());
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line, final_line ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
  last_print_seconds_ = elapsed_seconds();
  last_printed_done_ = d;
  printed_ = true;
}

}  // namespace loyalsim::engine
