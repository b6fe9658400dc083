// Finished work units kept on disk, so a killed run loses only the work in flight.
//
// A store is a folder: `fingerprint` (what the work is: the experiment's hash
// and the engine build), `lock` (held with flock while a process uses the
// store, so two runs cannot write one result), and one `unit-N.bin` per
// finished unit. Each unit file is written beside its name, fsynced and
// renamed, and carries a checksum: a unit either exists whole or not at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace loyalsim::engine {

class CheckpointStore {
 public:
  // Opens or creates the store. Throws RuntimeFailure when another process
  // holds it, or when it exists with another fingerprint (different
  // experiment or engine build: its units would not fit).
  CheckpointStore(std::filesystem::path dir, const std::string& fingerprint);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  // Whether a live process holds the store at `dir` (its lock is taken).
  [[nodiscard]] static bool in_use(const std::filesystem::path& dir);

  void save(std::uint64_t unit, const std::vector<std::byte>& payload);
  // The unit's payload, or nothing if it is absent or damaged.
  [[nodiscard]] std::optional<std::vector<std::byte>> load(std::uint64_t unit) const;
  [[nodiscard]] std::size_t count() const;
  // Deletes the store (after the results file is safely in place).
  void remove();
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  [[nodiscard]] std::filesystem::path unit_path(std::uint64_t unit) const;
  std::filesystem::path dir_;
  int lock_fd_ = -1;
};

// 64-bit FNV-1a, for checksums of checkpoint payloads.
std::uint64_t fnv1a64(const void* data, std::size_t size);

// Makes a finished file durable under its final name: fsync it, rename it
// over `to`, fsync the folder. Readers never see a half-written `to`.
void publish_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, rename, fsync of the folder.
void write_file_atomically(const std::filesystem::path& path, const void* bytes, std::size_t size);

}  // namespace loyalsim::engine
