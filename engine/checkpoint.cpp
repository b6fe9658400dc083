#include "engine/checkpoint.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/errors.hpp"

namespace loyalsim::engine {

namespace {
constexpr char kMagic[8] = {'L', 'S', 'C', 'K', 'P', 'T', '0', '1'};

std::string errno_text() { return std::strerror(errno); }

void fsync_path(const std::filesystem::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

std::uint64_t fnv1a64(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void write_file_atomically(const std::filesystem::path& path, const void* bytes, std::size_t size) {
  const auto tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw RuntimeFailure("cannot write " + tmp + ": " + errno_text());
  const auto* p = static_cast<const char*>(bytes);
  std::size_t left = size;
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw RuntimeFailure("cannot write " + tmp + ": " + why);
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeFailure("cannot write " + tmp + ": " + why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw RuntimeFailure("cannot rename " + tmp + " to " + path.string() + ": " + why);
  }
  fsync_path(path.parent_path().empty() ? "." : path.parent_path(), O_RDONLY | O_DIRECTORY);
}

void publish_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  const int fd = ::open(from.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string why = errno_text();
    if (fd >= 0) ::close(fd);
    throw RuntimeFailure("cannot flush " + from.string() + " to disk: " + why);
  }
  ::close(fd);
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw RuntimeFailure("cannot rename " + from.string() + " to " + to.string() + ": " + errno_text());
  fsync_path(to.parent_path().empty() ? "." : to.parent_path(), O_RDONLY | O_DIRECTORY);
}

CheckpointStore::CheckpointStore(std::filesystem::path dir, const std::string& fingerprint) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw RuntimeFailure("cannot create checkpoint folder " + dir_.string() + ": " + ec.message());
  const auto lock_path = dir_ / "lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) throw RuntimeFailure("cannot open " + lock_path.string() + ": " + errno_text());
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw RuntimeFailure("another loyalsim process is writing these results (" + dir_.string() +
                         " is locked); wait for it to finish or stop it");
  }
  const auto fp_path = dir_ / "fingerprint";
  if (std::filesystem::exists(fp_path)) {
    std::ifstream in(fp_path);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str() != fingerprint)
      throw RuntimeFailure("the checkpoints in " + dir_.string() +
                           " belong to a different experiment or engine build; use --force to discard them");
  } else {
    write_file_atomically(fp_path, fingerprint.data(), fingerprint.size());
  }
}

bool CheckpointStore::in_use(const std::filesystem::path& dir) {
  const auto lock_path = dir / "lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR);
  if (fd < 0) return false;  // no store, or no lock file: nobody holds it
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the lock if we took it
  return held;
}

CheckpointStore::~CheckpointStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the flock
}

std::filesystem::path CheckpointStore::unit_path(std::uint64_t unit) const {
  return dir_ / ("unit-" + std::to_string(unit) + ".bin");
}

void CheckpointStore::save(std::uint64_t unit, const std::vector<std::byte>& payload) {
  std::vector<std::byte> buf(sizeof kMagic + 16 + payload.size());
  const std::uint64_t size = payload.size(), sum = fnv1a64(payload.data(), payload.size());
  std::memcpy(buf.data(), kMagic, sizeof kMagic);
  std::memcpy(buf.data() + 8, &size, 8);
  std::memcpy(buf.data() + 16, &sum, 8);
  if (!payload.empty()) std::memcpy(buf.data() + 24, payload.data(), payload.size());
  write_file_atomically(unit_path(unit), buf.data(), buf.size());
}

std::optional<std::vector<std::byte>> CheckpointStore::load(std::uint64_t unit) const {
  std::ifstream in(unit_path(unit), std::ios::binary);
  if (!in) return std::nullopt;
  char magic[8];
  std::uint64_t size = 0, sum = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return std::nullopt;
  if (!in.read(reinterpret_cast<char*>(&size), 8) || !in.read(reinterpret_cast<char*>(&sum), 8)) return std::nullopt;
  if (size > (std::uint64_t{1} << 40)) return std::nullopt;
  std::vector<std::byte> payload(size);
  if (size > 0 && !in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(size)))
    return std::nullopt;
  if (fnv1a64(payload.data(), payload.size()) != sum) return std::nullopt;
  return payload;
}

std::size_t CheckpointStore::count() const {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    if (e.path().extension() == ".bin") ++n;
  return n;
}

void CheckpointStore::remove() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace loyalsim::engine
