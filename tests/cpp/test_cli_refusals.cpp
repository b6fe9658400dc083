// What `loyalsim` refuses, before doing any work, and how it says so: output
// paths that cannot be written (a directory, a file where a folder must be,
// names in the way or too long, a folder nobody may write), requests a
// results file cannot satisfy (an unknown metric or policy, a point or month
// it does not have) and paths that are not complete results files. Bad input
// exits 2, a refusal of the file system 1; every message is exact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_support.hpp"
#include "engine/hdf5.hpp"

namespace fs = std::filesystem;
using namespace loyalsim::testing;

namespace {

// Tiny: a run takes a fraction of a second, so a refusal that came after the
// work would still be quick to find, by the files it leaves.
constexpr const char* kTiny = R"(name = "refusals"
seed = 3
replications = 2
horizon_months = 6
[population]
customers = 500
prospects = 500
[[policies]]
name = "status_quo"
[[policies]]
name = "empowered_front_line"
response_days = 1.0
compensation = 1.0
)";

// Saltelli design of 2 parameters with N = 4: 16 points.
constexpr const char* kSmallSobol = R"(
[sweep]
design = "sobol"
points = 4
[sweep.parameters]
"policies.empowered_front_line.compensation" = [0.0, 2.0]
"model.gain" = [0.2, 1.0]
)";

class Refusals : public ExperimentFolderTest {
 protected:
  Refusals() : ExperimentFolderTest("refusals", kTiny, "tiny.toml") {}

  Outcome run_to(const std::string& out, const std::string& options = "") {
    return run_cli("run " + experiment_.string() + " -o " + out + " " + options);
  }
  // Nothing of a run exists: no checkpoint, no snapshot, no temporary file.
  void expect_nothing_written_for(const fs::path& out) {
    for (const char* suffix : {".checkpoint", ".partial", ".tmp"})
      EXPECT_FALSE(fs::exists(out.string() + suffix)) << out << suffix;
  }
  fs::path results_file() {
    const auto out = dir_ / "r.h5";
    if (!fs::exists(out)) {
      EXPECT_EQ(run_to(out.string(), "-q").code, 0);
    }
    return out;
  }
  fs::path sweep_file() {
    const auto out = dir_ / "sweep.h5";
    if (fs::exists(out)) return out;
    std::ofstream(dir_ / "sweep.toml") << kTiny << kSmallSobol;
    EXPECT_EQ(run_cli("run " + (dir_ / "sweep.toml").string() + " -q -o " + out.string()).code, 0);
    return out;
  }
};

}  // namespace

TEST_F(Refusals, ADirectoryAsTheResultsPathIsRefusedBeforeAnyWorkEvenWithForce) {
  const auto target = dir_ / "adir.h5";
  fs::create_directory(target);
  const auto r = run_to(target.string(), "--force");
  EXPECT_EQ(r.code, 2) << r.output;
  const std::string expected = "loyalsim: " + target.string() + " is a directory; -o needs a file path (for example " +
                               (target / "results.h5").string() + "); nothing was run.\n";
  EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("progress"), std::string::npos) << r.output;
  expect_nothing_written_for(target);
  EXPECT_TRUE(fs::is_empty(target));

  const auto slash = run_to((dir_ / "missing").string() + "/", "-q");
  EXPECT_EQ(slash.code, 2) << slash.output;
  EXPECT_NE(slash.output.find("names a folder; -o needs a file path"), std::string::npos) << slash.output;
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(Refusals, TheDefaultOutputPathIsCheckedToo) {
  fs::create_directory(dir_ / "out.h5");
  std::ofstream(experiment_, std::ios::app) << "[output]\npath = \"out.h5\"\n";
  const auto r = run_cli("run " + experiment_.string() + " -q");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find((dir_ / "out.h5").string() + " is a directory; [output].path needs a file path"),
            std::string::npos) << r.output;
}

TEST_F(Refusals, NamesTheRunWritesBesideTheResultsMustBeFree) {
  const auto out = dir_ / "x.h5";
  fs::create_directory(out.string() + ".tmp");
  const auto tmp = run_to(out.string(), "-q");
  EXPECT_EQ(tmp.code, 2) << tmp.output;
  EXPECT_EQ(tmp.output, "loyalsim: " + out.string() + ".tmp is a directory where loyalsim writes a file (move or "
                        "remove it); nothing was run.\n");
  fs::remove(out.string() + ".tmp");
  std::ofstream(out.string() + ".checkpoint") << "a file";
  const auto checkpoint = run_to(out.string(), "-q --force");
  EXPECT_EQ(checkpoint.code, 2) << checkpoint.output;
  EXPECT_NE(checkpoint.output.find(".checkpoint is a file where loyalsim keeps its checkpoint folder"),
            std::string::npos) << checkpoint.output;
  EXPECT_FALSE(fs::exists(out));

  // 250 characters: NAME.partial.tmp.tmp would be 266, beyond the usual 255.
  const std::string long_name = std::string(247, 'a') + ".h5";
  const auto too_long = run_to((dir_ / long_name).string(), "-q");
  EXPECT_EQ(too_long.code, 2) << too_long.output;
  EXPECT_NE(too_long.output.find("the file name " + long_name + " is too long: loyalsim also writes " + long_name +
                                 ".partial.tmp.tmp (266 characters) beside it, and this file system allows 255"),
            std::string::npos) << too_long.output;
}

TEST_F(Refusals, AFolderNobodyMayWriteInIsAFailureOfTheEnvironment) {
  // /proc refuses new entries to every user, root included (which chmod cannot do).
  const auto r = run_to("/proc/loyalsim-test/x.h5", "-q");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("loyalsim: cannot write /proc/loyalsim-test/x.h5: the folder /proc does not let this "
                           "process create anything in it (",
                           0),
            0u) << r.output;
  EXPECT_FALSE(fs::exists("/proc/loyalsim-test"));
}

TEST_F(Refusals, MissingFoldersAreCreatedAndSaidSo) {
  const auto out = dir_ / "new" / "deeper" / "r.h5";
  const auto r = run_to(out.string(), "-q");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("loyalsim: creating folder " + (dir_ / "new" / "deeper").string() + " for the results\n"),
            std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out));
  // The folder is there now: the next run into it says nothing about folders.
  const auto again = run_to(out.string(), "-q --force");
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.output.find("creating folder"), std::string::npos) << again.output;
}

TEST_F(Refusals, SensitivityNamesWhatTheFileHasAndExits2) {
  const auto sweep = sweep_file();
  const auto metric = run_cli("sensitivity " + sweep.string() + " --metric netvalue");
  EXPECT_EQ(metric.code, 2);
  EXPECT_EQ(metric.output.rfind("loyalsim: --metric netvalue: no such metric in " + sweep.string() +
                                    " (did you mean net_value? metrics: active, acquired, ",
                                0),
            0u) << metric.output;
  const auto policy = run_cli("sensitivity " + sweep.string() + " --policy empowred");
  EXPECT_EQ(policy.code, 2);
  EXPECT_EQ(policy.output, "loyalsim: --policy empowred: no such policy (did you mean empowered_front_line? policies: "
                           "status_quo, empowered_front_line)\n");
  const auto unlike = run_cli("sensitivity " + sweep.string() + " --policy xyz");
  EXPECT_EQ(unlike.output, "loyalsim: --policy xyz: no such policy (policies: status_quo, empowered_front_line)\n");
  const auto month = run_cli("sensitivity " + sweep.string() + " --month 40");
  EXPECT_EQ(month.code, 2);
  EXPECT_EQ(month.output, "loyalsim: --month 40: beyond the horizon of " + sweep.string() +
                              " (months 0..6, or \"all\")\n");
  const auto word = run_cli("sensitivity " + sweep.string() + " --month last");
  EXPECT_EQ(word.code, 2);
  EXPECT_EQ(word.output, "loyalsim: --month last: expected a month number or \"all\"\n");
}

TEST_F(Refusals, InfoChecksThePointBeforePrintingAnything) {
  const auto sweep = sweep_file();
  const auto r = run_cli("info " + sweep.string() + " --point 500");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.output, "loyalsim: --point 500: " + sweep.string() + " has no such point (it has points 0 to 15)\n");
  const auto plain = run_cli("info " + results_file().string() + " --point 1");
  EXPECT_EQ(plain.code, 2);
  EXPECT_EQ(plain.output, "loyalsim: --point 1: " + results_file().string() + " has no such point (it has only point 0)\n");
  EXPECT_EQ(run_cli("info " + sweep.string() + " --point 15").code, 0);
}

TEST_F(Refusals, InfoSaysWhatAPathThatIsNotACompleteResultsFileIs) {
  const auto folder = run_cli("info " + dir_.string());
  EXPECT_EQ(folder.code, 2);
  EXPECT_EQ(folder.output, "loyalsim: " + dir_.string() + " is a directory, not a loyalsim results file\n");

  const auto whole = read_text(results_file());
  const auto cut = dir_ / "cut.h5";
  std::ofstream(cut, std::ios::binary) << whole.substr(0, 3000);
  const auto truncated = run_cli("info " + cut.string());
  EXPECT_EQ(truncated.code, 1);
  EXPECT_EQ(truncated.output, "loyalsim: " + cut.string() + " is not a complete HDF5 file: it has 3000 of the " +
                                  std::to_string(whole.size()) +
                                  " bytes its header records, so it looks truncated (a copy cut short, or a file "
                                  "still being written; loyalsim writes NAME.tmp and renames it only when complete)\n");
  const auto sensitivity = run_cli("sensitivity " + cut.string());
  EXPECT_EQ(sensitivity.output, truncated.output);
  std::string broken = whole;
  broken[8] = 7;  // a superblock version that does not exist: the HDF5 signature, but unreadable
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << broken;
  const auto damaged = run_cli("info " + cut.string());
  EXPECT_EQ(damaged.code, 1);
  EXPECT_EQ(damaged.output, "loyalsim: " + cut.string() + " is an HDF5 file that cannot be opened (" +
                                std::to_string(whole.size()) + " bytes): its structure is damaged, or it is still being written\n");

  const auto foreign = dir_ / "foreign.h5";
  {
    auto f = loyalsim::engine::h5::File::create(foreign);  // HDF5, but not ours
    f.set_attribute("x", std::int64_t{1});
    f.close();
  }
  const auto other = run_cli("info " + foreign.string());
  EXPECT_EQ(other.code, 2);
  EXPECT_EQ(other.output, "loyalsim: " + foreign.string() +
                              " is not a loyalsim results file (no 'format' attribute; expected 'loyalsim-results')\n");
}

TEST_F(Refusals, SobolIndicesFromATinyBaseSampleComeWithAWarning) {
  const auto sweep = sweep_file();
  const auto r = run_cli("sensitivity " + sweep.string() + " --contrast --bootstrap 200");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\nwarning: these Sobol' indices come from a base sample of N = 4 points, too small for "
                          "them: "),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find(". Run the sweep with points = "), std::string::npos) << r.output;
  // With --csv the table stays clean and the warning goes to stderr.
  const auto csv = dir_ / "indices.csv", err = dir_ / "stderr.txt";
  ASSERT_EQ(shell("(" + std::string(LOYALSIM_BINARY) + " sensitivity " + sweep.string() +
                  " --contrast --bootstrap 200 --csv > " + csv.string() + " 2> " + err.string() + ")").code, 0);
  EXPECT_EQ(read_text(csv).rfind("policy,month,parameter,index,estimate,ci_low,ci_high\n", 0), 0u);
  EXPECT_EQ(read_text(csv).find("warning"), std::string::npos);
  EXPECT_EQ(read_text(err).rfind("loyalsim: warning: these Sobol' indices", 0), 0u) << read_text(err);
}

// The size check reads the superblock itself: versions 0 (HDF5's default,
// what loyalsim writes) and 3 (libver "latest", e.g. h5py's) lay it out differently.
TEST(Hdf5RecordedSize, MatchesTheFileSizeForEitherSuperblockLayout) {
  const fs::path dir = fs::temp_directory_path() / ("loyalsim-recorded-size-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const bool latest : {false, true}) {
    const fs::path path = dir / (latest ? "v3.h5" : "v0.h5");
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    ASSERT_GE(f, 0);
    const hsize_t n = 1000;
    const hid_t space = H5Screate_simple(1, &n, nullptr);
    const hid_t ds = H5Dcreate2(f, "x", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const std::vector<double> zeros(n, 1.5);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
    H5Dclose(ds), H5Sclose(space), H5Fclose(f), H5Pclose(fapl);
    const std::string whole = read_text(path);
    EXPECT_EQ(static_cast<int>(static_cast<unsigned char>(whole[8])), latest ? 3 : 0);  // the superblock version
    EXPECT_EQ(loyalsim::engine::h5::recorded_size(path), whole.size()) << path;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() / 2);
    EXPECT_EQ(loyalsim::engine::h5::recorded_size(path), whole.size()) << path;  // still the whole size
  }
  std::ofstream(dir / "text.h5") << "not HDF5 at all";
  EXPECT_FALSE(loyalsim::engine::h5::recorded_size(dir / "text.h5"));
  fs::remove_all(dir);
}
