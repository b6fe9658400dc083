// Helpers for tests that run the `loyalsim` program: a shell with captured
// output, a fixture with its own folder and experiment file, reading a file
// whole, and a dataset-by-dataset comparison of two results files.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "engine/hdf5.hpp"

namespace loyalsim::testing {

namespace fs = std::filesystem;
using engine::h5::File;

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr together
};

inline Outcome shell(const std::string& command) {
  Outcome o;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return o;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) o.output += buf.data();
  const int status = pclose(pipe);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A test with its own empty folder under /tmp (named after the test and the process) holding
// one experiment file, `experiment_`; the folder is removed afterwards.
class ExperimentFolderTest : public ::testing::Test {
 protected:
  ExperimentFolderTest(std::string prefix, std::string text, std::string file_name)
      : prefix_(std::move(prefix)), text_(std::move(text)), file_name_(std::move(file_name)) {}
  void SetUp() override {
    // The process id too: test programs of other checkouts may run the same test at the same time.
    dir_ = fs::temp_directory_path() / ("loyalsim-" + prefix_ + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
                                        std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    experiment_ = dir_ / file_name_;
    std::ofstream(experiment_) << text_;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, experiment_;

 private:
  std::string prefix_, text_, file_name_;
};

inline Outcome run_cli(const std::string& args) { return shell(std::string(LOYALSIM_BINARY) + " " + args); }

inline bool built_with_mpi() { return run_cli("--version").output.find("(with MPI)") != std::string::npos; }

// mpirun of the program: loopback only, more ranks than cores allowed, and
// root allowed (CI containers run as root).
inline std::string mpirun(int ranks) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np " + std::to_string(ranks) +
         " --oversubscribe --bind-to none --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo " +
         LOYALSIM_BINARY + " ";
}

// Every dataset of two files, value for value (NaN equal to NaN).
inline void expect_same_datasets(const fs::path& a, const fs::path& b) {
  const File fa = File::open_read(a), fb = File::open_read(b);
  const auto names = fa.dataset_names();
  ASSERT_EQ(names, fb.dataset_names());
  for (const auto& name : names) {
    ASSERT_EQ(fa.shape(name), fb.shape(name)) << name;
    if (fa.is_string_dataset(name)) {
      EXPECT_EQ(fa.read_strings(name), fb.read_strings(name)) << name;
      continue;
    }
    const auto x = fa.read_doubles(name), y = fb.read_doubles(name);
    ASSERT_EQ(x.size(), y.size()) << name;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i]) && std::isnan(y[i])) continue;
      ASSERT_EQ(x[i], y[i]) << name << "[" << i << "]";  // bit-identical, not close
    }
  }
  for (const char* attr : {"experiment_toml", "experiment_sha256", "engine_version", "git_commit"})
    EXPECT_EQ(fa.string_attribute(attr), fb.string_attribute(attr)) << attr;
}

}  // namespace loyalsim::testing
