// Reliability (issue 5), through the real program: every bad experiment of
// tests/bad-input is refused with its exact message and nothing written; a
// run killed at several moments resumes to the bit-identical file; Ctrl-C
// stops cleanly; a full disk, an unusable folder and a results file another
// run is writing give clear errors and lose nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_support.hpp"

namespace fs = std::filesystem;
using namespace loyalsim::testing;

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) s.replace(i, from.size(), to);
  return s;
}

// 12 units (one replication, three policies) of about 0.1 s each on one thread:
// long enough to be killed part-way, short enough for CI.
constexpr const char* kLongRun = R"(name = "reliability"
seed = 2024
replications = 12
horizon_months = 24
[population]
customers = 20_000
prospects = 20_000
[[policies]]
name = "status_quo"
[[policies]]
name = "fast"
response_days = 1.0
compensation = 1.0
[[policies]]
name = "fix"
root_cause_fix = 0.5
)";

class Reliability : public ExperimentFolderTest {
 protected:
  Reliability() : ExperimentFolderTest("rel", kLongRun, "long.toml") {}

  // The unbroken reference file, computed once per test that needs it.
  fs::path unbroken() {
    const auto out = dir_ / "unbroken.h5";
    if (!fs::exists(out)) {
      EXPECT_EQ(run_cli("run " + experiment_.string() + " -q --threads 2 -o " + out.string()).code, 0);
    }
    return out;
  }

  // Starts `run` in the background, waits until at least `units` units are
  // checkpointed (finished unit-N.bin files, not the unit-N.bin.tmp being written), sends `signal`, and waits for the process. Returns its exit code and output.
  // `command` (run in dir_) defaults to `loyalsim run EXPERIMENT --threads 1 -o OUT`.
  Outcome interrupt_after(const fs::path& out, int units, const char* signal, std::string command = "") {
    const auto log = dir_ / "run.log";
    const std::string checkpoint = (dir_ / out).string() + ".checkpoint";
    if (command.empty())
      command = std::string(LOYALSIM_BINARY) + " run " + experiment_.string() + " --threads 1 -o " + out.string();
    const auto r = shell("cd " + dir_.string() + " && (exec " + command + " > " + log.string() + " 2>&1) & pid=$!; "
                         "for i in $(seq 1 1200); do [ $(ls '" + checkpoint + "' 2>/dev/null | grep -c '^unit-.*[.]bin$') -ge " +
                         std::to_string(units) + " ] && break; sleep 0.02; done; kill -" + signal + " $pid; wait $pid");
    return {r.code, read_text(log)};
  }
};

}  // namespace

TEST(BadInput, EveryCorpusFileIsRefusedWithItsExactMessageAndNothingIsWritten) {
  const fs::path corpus = fs::path(LOYALSIM_SOURCE_DIR) / "tests" / "bad-input";
  const fs::path out_dir = fs::temp_directory_path() / ("loyalsim-bad-input-" + std::to_string(::getpid()));
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (entry.path().extension() != ".toml") continue;
    ++cases;
    fs::remove_all(out_dir);
    fs::create_directories(out_dir);
    const fs::path file = entry.path();
    const std::string expected =
        replace_all(read_text(fs::path(file).replace_extension(".expected")), "{file}", file.string());
    const auto r = run_cli("run " + file.string() + " -o " + (out_dir / "out.h5").string());
    EXPECT_EQ(r.code, 2) << file.filename();
    EXPECT_EQ(r.output, expected) << file.filename();
    EXPECT_TRUE(fs::is_empty(out_dir)) << file.filename() << ": something was written";
    const auto v = run_cli("validate " + file.string());
    EXPECT_EQ(v.code, 2) << file.filename();
    EXPECT_EQ(v.output, expected) << file.filename();
  }
  EXPECT_GE(cases, 12);
  fs::remove_all(out_dir);
}

TEST_F(Reliability, ARunKilledAtSeveralMomentsResumesToTheBitIdenticalFile) {
  const auto reference = unbroken();
  for (const int units : {0, 1, 6, 11}) {  // before the first unit, after one, half-way, one before the end
    const auto out = dir_ / ("killed-" + std::to_string(units) + ".h5");
    const auto killed = interrupt_after(out, units, "KILL");
    EXPECT_NE(killed.code, 0) << units;
    EXPECT_FALSE(fs::exists(out)) << units << ": a killed run left a results file";
    const auto resumed = run_cli("run " + experiment_.string() + " --threads 2 --resume -o " + out.string());
    ASSERT_EQ(resumed.code, 0) << units << "\n" << resumed.output;
    if (units > 0) {
      EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
    }
    expect_same_datasets(out, reference);
    EXPECT_FALSE(fs::exists(out.string() + ".checkpoint"));
  }
}

TEST_F(Reliability, CtrlCStopsCleanlyAndSaysHowToResumeWithTheCommandAsTyped) {
  // Started as a relative path to the program, with a results name that needs quoting.
  fs::create_symlink(LOYALSIM_BINARY, dir_ / "lsim");
  const auto out = dir_ / "stopped run.h5";
  const auto stopped = interrupt_after(out, 2, "INT", "./lsim run long.toml --threads 1 -o 'stopped run.h5'");
  EXPECT_EQ(stopped.code, 130) << stopped.output;
  EXPECT_NE(stopped.output.find("interrupted;"), std::string::npos) << stopped.output;
  const std::string hint = "  Finish with: ./lsim run long.toml --threads 1 -o 'stopped run.h5' --resume\n";
  ASSERT_NE(stopped.output.find(hint), std::string::npos) << stopped.output;
  EXPECT_FALSE(fs::exists(out));
  const auto again = run_cli("run " + experiment_.string() + " -q -o '" + out.string() + "'");
  EXPECT_EQ(again.code, 1);  // the checkpoint is not silently discarded
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  // The hint, typed as printed in the folder it was printed in, finishes the run.
  const std::string command = hint.substr(hint.find("./lsim"), hint.size() - hint.find("./lsim") - 1);
  const auto resumed = shell("cd " + dir_.string() + " && " + command);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  expect_same_datasets(out, unbroken());
}

TEST_F(Reliability, AFullDiskFailsClearlyAndKeepsEveryFinishedRun) {
  // A file-size limit (ulimit -f, in KiB) makes every write past 64 KiB fail
  // with EFBIG, as a full disk does with ENOSPC: checkpoint units (~20 KiB)
  // fit, the results file does not. SIGXFSZ is ignored so the write fails
  // instead of the process dying.
  const auto out = dir_ / "full.h5";
  const auto r = shell("trap '' XFSZ; ulimit -f 64; " + std::string(LOYALSIM_BINARY) + " run " + experiment_.string() +
                       " -q --threads 2 -o " + out.string());
  ASSERT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("could not write " + out.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("free"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  ASSERT_TRUE(fs::exists(out.string() + ".checkpoint"));
  // With space again, --resume finishes from the checkpoint without computing anything.
  const auto resumed = run_cli("run " + experiment_.string() + " --resume -o " + out.string());
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming: 12 of 12"), std::string::npos) << resumed.output;
  expect_same_datasets(out, unbroken());
}

TEST_F(Reliability, AnUnusableFolderIsRefusedBeforeAnyWork) {
  std::ofstream(dir_ / "a-file") << "not a folder";
  const auto out = dir_ / "a-file" / "results.h5";
  const auto r = run_cli("run " + experiment_.string() + " -o " + out.string());
  EXPECT_EQ(r.code, 2) << r.output;  // the path names a file as a folder: bad input
  EXPECT_NE(r.output.find("loyalsim: cannot write " + out.string() + ": " + (dir_ / "a-file").string() +
                          " is a file, not a folder; nothing was run.\n"),
            std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("progress"), std::string::npos) << r.output;
}

TEST_F(Reliability, AResultsFileAnotherRunIsWritingIsLeftAlone) {
  const auto out = dir_ / "busy.h5";
  const std::string checkpoint = out.string() + ".checkpoint";
  // A first run holds the checkpoint; a second, even with --force, must not touch it.
  const auto r = shell("(" + std::string(LOYALSIM_BINARY) + " run " + experiment_.string() + " -q --threads 1 -o " +
                       out.string() + " > /dev/null 2>&1 &) ; "
                       "for i in $(seq 1 500); do [ $(ls " + checkpoint + " 2>/dev/null | grep -c '^unit-.*[.]bin$') -ge 1 ] && break; sleep 0.02; done; " +
                       LOYALSIM_BINARY + " run " + experiment_.string() + " -q --force -o " + out.string() + " 2>&1; echo second=$?; "
                       "ls " + checkpoint + " | grep -c '^unit-.*[.]bin$'; wait");
  EXPECT_NE(r.output.find("another loyalsim process is writing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("second=1"), std::string::npos) << r.output;
  // The first run finishes normally.
  for (int i = 0; i < 600 && !fs::exists(out); ++i) shell("sleep 0.05");
  ASSERT_TRUE(fs::exists(out));
  expect_same_datasets(out, unbroken());
}
