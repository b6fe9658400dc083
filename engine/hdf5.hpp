// Small RAII wrappers over the HDF5 C API, enough to write and read
// self-describing, netCDF-4-compatible files: dimension scales, chunked and
// compressed datasets, string and numeric attributes.
//
// Every failing HDF5 call becomes an engine::RuntimeFailure naming what was
// being done and the object's name, instead of HDF5's default error stack dump.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace loyalsim::engine::h5 {

// Owns one HDF5 identifier; closes it with the right H5*close function.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  [[nodiscard]] hid_t id() const { return id_; }
  void reset();
  // Gives up ownership without closing (for a close whose failure must be reported).
  [[nodiscard]] hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// A dimension: a 1-D coordinate dataset marked as an HDF5 dimension scale.
struct Dimension {
  std::string name;
  hsize_t size = 0;
};

class File {
 public:
  // Creates a netCDF-4-compatible file (link and attribute creation order
  // tracked, as netCDF-4 requires), built in memory: nothing is on disk
  // until close() writes it whole (replacing any file of that name).
  static File create(const std::filesystem::path& path);
  // Opens for reading; a RuntimeFailure says why not: no such file, a
  // directory, not HDF5, truncated (shorter than its superblock records) or damaged.
  static File open_read(const std::filesystem::path& path);

  [[nodiscard]] hid_t id() const { return file_.id(); }
  // Closes; a created file is written to its path here (throws on a full disk or I/O error).
  void close();

  // Coordinates: each becomes a dimension scale named like its dimension.
  Dimension add_dimension(const std::string& name, std::span<const std::int64_t> values,
                          const std::string& long_name = "");
  Dimension add_dimension(const std::string& name, std::span<const std::int32_t> values,
                          const std::string& long_name = "");
  Dimension add_dimension(const std::string& name, const std::vector<std::string>& values,
                          const std::string& long_name = "");

  // N-D datasets over the given dimensions (row-major data), chunked with
  // `chunk` (one entry per dimension) and deflate-compressed.
  void write(const std::string& name, const std::vector<Dimension>& dims, std::span<const double> data,
             const std::vector<hsize_t>& chunk, const std::vector<std::pair<std::string, std::string>>& attrs = {});
  void write(const std::string& name, const std::vector<Dimension>& dims, std::span<const std::int64_t> data,
             const std::vector<hsize_t>& chunk, const std::vector<std::pair<std::string, std::string>>& attrs = {});

  // A variable-length UTF-8 string variable (contiguous, uncompressed).
  void write(const std::string& name, const std::vector<Dimension>& dims, const std::vector<std::string>& data,
             const std::vector<std::pair<std::string, std::string>>& attrs = {});

  // Attributes on the root group.
  void set_attribute(const std::string& name, const std::string& value);
  void set_attribute(const std::string& name, std::int64_t value);
  void set_attribute(const std::string& name, std::uint64_t value);
  void set_attribute(const std::string& name, double value);

  // Reading (for `info` and tests).
  [[nodiscard]] bool has_attribute(const std::string& name) const;
  [[nodiscard]] std::string string_attribute(const std::string& name) const;
  [[nodiscard]] double number_attribute(const std::string& name) const;
  // Exact for integer attributes beyond 2^53 (seeds).
  [[nodiscard]] std::uint64_t uint64_attribute(const std::string& name) const;
  [[nodiscard]] bool has_dataset(const std::string& name) const;
  // A string attribute of a dataset; empty when absent.
  [[nodiscard]] std::string dataset_string_attribute(const std::string& dataset, const std::string& name) const;
  [[nodiscard]] std::vector<hsize_t> shape(const std::string& name) const;
  [[nodiscard]] bool is_string_dataset(const std::string& name) const;
  [[nodiscard]] std::vector<double> read_doubles(const std::string& name) const;
  [[nodiscard]] std::vector<std::int64_t> read_int64(const std::string& name) const;
  [[nodiscard]] std::vector<std::string> read_strings(const std::string& name) const;
  // Names of all datasets in the root group, in creation order.
  [[nodiscard]] std::vector<std::string> dataset_names() const;

 private:
  void write_raw(const std::string& name, const std::vector<Dimension>& dims, hid_t mem_type,
                 hid_t file_type, const void* data, std::size_t count, const std::vector<hsize_t>& chunk,
                 const std::vector<std::pair<std::string, std::string>>& attrs);
  Dimension add_scale(const std::string& name, hid_t type, const void* data, hsize_t n,
                      const std::string& long_name);
  std::filesystem::path path_;
  Handle file_;
  bool in_memory_ = false;
};

// The file size an HDF5 file's superblock records (base address + end-of-file
// address), or nothing when `path` has no readable superblock. A file shorter
// than this was cut short.
std::optional<std::uint64_t> recorded_size(const std::filesystem::path& path);

// Silences HDF5's automatic error-stack printing for this process (we report
// errors ourselves).
void silence_library_errors();

}  // namespace loyalsim::engine::h5
