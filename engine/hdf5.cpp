#include "engine/hdf5.hpp"

#include <hdf5_hl.h>

#include <cstring>
#include <fstream>

#include "engine/checkpoint.hpp"
#include "engine/errors.hpp"

namespace loyalsim::engine::h5 {

namespace {

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw RuntimeFailure("HDF5: " + what + " failed");
  return id;
}
void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw RuntimeFailure("HDF5: " + what + " failed");
}

Handle utf8_string_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "string type"));
  check_status(H5Tset_size(t.id(), H5T_VARIABLE), "string type");
  check_status(H5Tset_cset(t.id(), H5T_CSET_UTF8), "string type");
  return t;
}

// Dataset creation properties: attribute creation order (netCDF-4), chunking
// and shuffle+deflate compression.
Handle dataset_properties(const std::vector<hsize_t>& chunk) {
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "dataset properties"));
  check_status(H5Pset_attr_creation_order(dcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
               "attribute order");
  if (!chunk.empty()) {
    check_status(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()), "chunking");
    check_status(H5Pset_shuffle(dcpl.id()), "shuffle filter");
    check_status(H5Pset_deflate(dcpl.id(), 4), "deflate filter");
  }
  return dcpl;
}

void put_attribute(hid_t loc, const std::string& name, hid_t type, const void* value) {
  if (H5Aexists(loc, name.c_str()) > 0) check_status(H5Adelete(loc, name.c_str()), "replace attribute " + name);
  Handle space(check(H5Screate(H5S_SCALAR), "attribute space"));
  Handle attr(check(H5Acreate2(loc, name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                    "create attribute " + name));
  check_status(H5Awrite(attr.id(), type, value), "write attribute " + name);
}

void put_string_attribute(hid_t loc, const std::string& name, const std::string& value) {
  Handle type = utf8_string_type();
  const char* p = value.c_str();
  put_attribute(loc, name, type.id(), &p);
}

// Little-endian unsigned integer of `bytes` bytes at `p` (HDF5 stores addresses so).
std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// The message for an HDF5 file the library will not open: truncated when it
// is shorter than its superblock says, else damaged.
std::string unopenable(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto recorded = recorded_size(path);
  if (!ec && recorded && size < *recorded)
    return path.string() + " is not a complete HDF5 file: it has " + std::to_string(size) + " of the " +
           std::to_string(*recorded) + " bytes its header records, so it looks truncated (a copy cut short, or a file still being written; "
           "loyalsim writes NAME.tmp and renames it only when complete)";
  return path.string() + " is an HDF5 file that cannot be opened" +
         (ec ? std::string() : " (" + std::to_string(size) + " bytes)") +
         ": its structure is damaged, or it is still being written";
}

}  // namespace

std::optional<std::uint64_t> recorded_size(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  static constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  // The superblock is at 0, 512, 1024, 2048, ... (HDF5 file format specification, II.A).
  for (std::uint64_t at = 0; at < (std::uint64_t{1} << 40); at = at == 0 ? 512 : at * 2) {
    unsigned char b[64] = {};
    in.clear();
    in.seekg(static_cast<std::streamoff>(at));
    in.read(reinterpret_cast<char*>(b), sizeof b);
    const auto got = in.gcount();
    if (got < 8) return std::nullopt;
    if (std::memcmp(b, kSignature, 8) != 0) continue;
    const int version = b[8];
    const int offsets = version <= 1 ? b[13] : b[9];
    // Versions 0 and 1: the base, free-space and end-of-file addresses follow
    // 24 bytes (28 in version 1); versions 2 and 3: base, extension and end of file follow 12.
    const int first = version == 0 ? 24 : version == 1 ? 28 : 12;
    if (version > 3 || (offsets != 2 && offsets != 4 && offsets != 8) || first + 3 * offsets > got)
      return std::nullopt;
    return little_endian(b + first, offsets) + little_endian(b + first + 2 * offsets, offsets);
  }
  return std::nullopt;
}

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

void silence_library_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

File File::create(const std::filesystem::path& path) {
  silence_library_errors();
  Handle fcpl(check(H5Pcreate(H5P_FILE_CREATE), "file properties"));
  check_status(H5Pset_link_creation_order(fcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
               "link order");
  check_status(H5Pset_attr_creation_order(fcpl.id(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
               "attribute order");
  // Built in memory (the core driver, no backing store) and written out by
  // close() with checked POSIX writes: a full disk or an I/O error then
  // fails one write() we report, instead of failing deep inside HDF5, whose
  // close of a half-flushed file is not safe to retry or to leave open.
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "file access properties"));
  check_status(H5Pset_fapl_core(fapl.id(), std::size_t{16} << 20, 0), "in-memory file driver");
  File f;
  f.path_ = path;
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.id(), fapl.id());
  if (id < 0) throw RuntimeFailure("cannot create " + path.string());
  f.file_ = Handle(id);
  f.in_memory_ = true;
  return f;
}

File File::open_read(const std::filesystem::path& path) {
  silence_library_errors();
  if (!std::filesystem::exists(path)) throw RuntimeFailure("no such file: " + path.string());
  if (std::filesystem::is_directory(path)) throw RuntimeFailure(path.string() + " is a directory, not an HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw RuntimeFailure(path.string() + " is not an HDF5 file");
  File f;
  f.path_ = path;
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw RuntimeFailure(unopenable(path));
  f.file_ = Handle(id);
  return f;
}

void File::close() {
  if (file_.id() < 0) return;
  if (!in_memory_) {
    check_status(H5Fclose(file_.release()), "close " + path_.string());
    return;
  }
  check_status(H5Fflush(file_.id(), H5F_SCOPE_GLOBAL), "finish " + path_.string());
  const ssize_t size = H5Fget_file_image(file_.id(), nullptr, 0);
  if (size < 0) throw RuntimeFailure("HDF5: cannot get the image of " + path_.string());
  std::vector<char> image(static_cast<std::size_t>(size));
  if (H5Fget_file_image(file_.id(), image.data(), image.size()) != size)
    throw RuntimeFailure("HDF5: cannot get the image of " + path_.string());
  check_status(H5Fclose(file_.release()), "close " + path_.string());
  write_file_atomically(path_, image.data(), image.size());
}

Dimension File::add_scale(const std::string& name, hid_t type, const void* data, hsize_t n,
                          const std::string& long_name) {
  Handle space(check(H5Screate_simple(1, &n, nullptr), "dimension space " + name));
  Handle dcpl = dataset_properties({});
  Handle ds(check(H5Dcreate2(file_.id(), name.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                  "create dimension " + name));
  if (n > 0) check_status(H5Dwrite(ds.id(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write dimension " + name);
  check_status(H5DSset_scale(ds.id(), name.c_str()), "dimension scale " + name);
  if (!long_name.empty()) put_string_attribute(ds.id(), "long_name", long_name);
  return {name, n};
}

Dimension File::add_dimension(const std::string& name, std::span<const std::int64_t> v,
                              const std::string& long_name) {
  return add_scale(name, H5T_NATIVE_INT64, v.data(), v.size(), long_name);
}
Dimension File::add_dimension(const std::string& name, std::span<const std::int32_t> v,
                              const std::string& long_name) {
  return add_scale(name, H5T_NATIVE_INT32, v.data(), v.size(), long_name);
}
Dimension File::add_dimension(const std::string& name, const std::vector<std::string>& v,
                              const std::string& long_name) {
  std::vector<const char*> ptrs;
  ptrs.reserve(v.size());
  for (const auto& s : v) ptrs.push_back(s.c_str());
  Handle type = utf8_string_type();
  return add_scale(name, type.id(), ptrs.data(), v.size(), long_name);
}

void File::write_raw(const std::string& name, const std::vector<Dimension>& dims, hid_t mem_type,
                     hid_t file_type, const void* data, std::size_t count, const std::vector<hsize_t>& chunk,
                     const std::vector<std::pair<std::string, std::string>>& attrs) {
  std::vector<hsize_t> shape;
  std::size_t expected = 1;
  for (const auto& d : dims) {
    shape.push_back(d.size);
    expected *= d.size;
  }
  if (expected != count) throw RuntimeFailure("HDF5: " + name + ": data size does not match its dimensions");
  std::vector<hsize_t> c = chunk;
  for (std::size_t i = 0; i < c.size() && i < shape.size(); ++i) c[i] = std::max<hsize_t>(1, std::min(c[i], shape[i]));
  Handle space(check(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), "space " + name));
  Handle dcpl = dataset_properties(c);
  Handle ds(check(H5Dcreate2(file_.id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
                  "create dataset " + name));
  check_status(H5Dwrite(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write dataset " + name);
  for (unsigned i = 0; i < dims.size(); ++i) {
    Handle scale(check(H5Dopen2(file_.id(), dims[i].name.c_str(), H5P_DEFAULT), "open dimension " + dims[i].name));
    check_status(H5DSattach_scale(ds.id(), scale.id(), i), "attach " + dims[i].name + " to " + name);
  }
  for (const auto& [k, v] : attrs) put_string_attribute(ds.id(), k, v);
}

void File::write(const std::string& name, const std::vector<Dimension>& dims, std::span<const double> data,
                 const std::vector<hsize_t>& chunk, const std::vector<std::pair<std::string, std::string>>& attrs) {
  write_raw(name, dims, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data.data(), data.size(), chunk, attrs);
}
void File::write(const std::string& name, const std::vector<Dimension>& dims, std::span<const std::int64_t> data,
                 const std::vector<hsize_t>& chunk, const std::vector<std::pair<std::string, std::string>>& attrs) {
  write_raw(name, dims, H5T_NATIVE_INT64, H5T_STD_I64LE, data.data(), data.size(), chunk, attrs);
}

void File::write(const std::string& name, const std::vector<Dimension>& dims, const std::vector<std::string>& data,
                 const std::vector<std::pair<std::string, std::string>>& attrs) {
  std::vector<const char*> ptrs;
  ptrs.reserve(data.size());
  for (const auto& s : data) ptrs.push_back(s.c_str());
  Handle type = utf8_string_type();
  write_raw(name, dims, type.id(), type.id(), ptrs.data(), ptrs.size(), {}, attrs);
}

void File::set_attribute(const std::string& name, const std::string& value) {
  put_string_attribute(file_.id(), name, value);
}
void File::set_attribute(const std::string& name, std::int64_t value) {
  put_attribute(file_.id(), name, H5T_NATIVE_INT64, &value);
}
void File::set_attribute(const std::string& name, std::uint64_t value) {
  put_attribute(file_.id(), name, H5T_NATIVE_UINT64, &value);
}
void File::set_attribute(const std::string& name, double value) {
  put_attribute(file_.id(), name, H5T_NATIVE_DOUBLE, &value);
}

bool File::has_attribute(const std::string& name) const { return H5Aexists(file_.id(), name.c_str()) > 0; }

namespace {
// A string attribute of any object (fixed or variable length).
std::string read_string_attribute(hid_t loc, const std::string& name) {
  Handle attr(check(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "open attribute " + name));
  Handle ftype(check(H5Aget_type(attr.id()), "attribute type " + name));
  if (H5Tget_class(ftype.id()) != H5T_STRING) throw RuntimeFailure("attribute " + name + " is not a string");
  if (H5Tis_variable_str(ftype.id()) > 0) {
    Handle type = utf8_string_type();
    char* p = nullptr;
    check_status(H5Aread(attr.id(), type.id(), &p), "read attribute " + name);
    std::string s = p ? p : "";
    H5free_memory(p);
    return s;
  }
  const std::size_t n = H5Tget_size(ftype.id());
  std::string s(n, '\0');
  check_status(H5Aread(attr.id(), ftype.id(), s.data()), "read attribute " + name);
  s.resize(std::strlen(s.c_str()));
  return s;
}
}  // namespace

std::string File::string_attribute(const std::string& name) const { return read_string_attribute(file_.id(), name); }

std::string File::dataset_string_attribute(const std::string& dataset, const std::string& name) const {
  Handle ds(check(H5Dopen2(file_.id(), dataset.c_str(), H5P_DEFAULT), "open dataset " + dataset));
  if (H5Aexists(ds.id(), name.c_str()) <= 0) return "";
  return read_string_attribute(ds.id(), name);
}

double File::number_attribute(const std::string& name) const {
  Handle attr(check(H5Aopen(file_.id(), name.c_str(), H5P_DEFAULT), "open attribute " + name));
  double v = 0;
  check_status(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v), "read attribute " + name);
  return v;
}

std::uint64_t File::uint64_attribute(const std::string& name) const {
  Handle attr(check(H5Aopen(file_.id(), name.c_str(), H5P_DEFAULT), "open attribute " + name));
  std::uint64_t v = 0;
  check_status(H5Aread(attr.id(), H5T_NATIVE_UINT64, &v), "read attribute " + name);
  return v;
}

bool File::has_dataset(const std::string& name) const {
  return H5Lexists(file_.id(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<hsize_t> File::shape(const std::string& name) const {
  Handle ds(check(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), "open dataset " + name));
  Handle space(check(H5Dget_space(ds.id()), "space of " + name));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return dims;
}

namespace {
std::size_t element_count(const std::vector<hsize_t>& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}
}  // namespace

bool File::is_string_dataset(const std::string& name) const {
  Handle ds(check(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), "open dataset " + name));
  Handle type(check(H5Dget_type(ds.id()), "type of " + name));
  return H5Tget_class(type.id()) == H5T_STRING;
}

std::vector<double> File::read_doubles(const std::string& name) const {
  std::vector<double> out(element_count(shape(name)));
  Handle ds(check(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), "open dataset " + name));
  check_status(H5Dread(ds.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "read " + name);
  return out;
}

std::vector<std::int64_t> File::read_int64(const std::string& name) const {
  std::vector<std::int64_t> out(element_count(shape(name)));
  Handle ds(check(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), "open dataset " + name));
  check_status(H5Dread(ds.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "read " + name);
  return out;
}

std::vector<std::string> File::read_strings(const std::string& name) const {
  const std::size_t n = element_count(shape(name));
  Handle ds(check(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), "open dataset " + name));
  Handle type = utf8_string_type();
  std::vector<char*> ptrs(n, nullptr);
  check_status(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "read " + name);
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

std::vector<std::string> File::dataset_names() const {
  std::vector<std::string> names;
  H5Literate(
      file_.id(), H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

}  // namespace loyalsim::engine::h5
