// `loyalsim report`: the strategist's report is built by the Python package
// (python/loyalsim/report, docs/report.md: Jinja2 and matplotlib from
// Debian); this command runs it with this project's package, so the engine
// and the package that reads its files come from the same tree.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "app/cli.hpp"

namespace loyalsim::app::cli {

int report_command(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  const char* env_python = std::getenv("LOYALSIM_PYTHON");
  const std::string python = env_python && *env_python ? env_python : "/usr/bin/python3";
  const fs::path package = fs::path(LOYALSIM_SOURCE_DIR) / "python";
  if (!fs::exists(package / "loyalsim" / "report")) {
    std::cerr << "loyalsim: the report needs the loyalsim Python package, expected in " << package.string()
              << "; nothing was written.\n  Run it from a checkout of the project, or: python3 -m loyalsim report ...\n";
    return kExitFailure;
  }
  const char* old = std::getenv("PYTHONPATH");
  std::string path = package.string();
  if (old && *old) path.append(":").append(old);
  setenv("PYTHONPATH", path.c_str(), 1);
  std::vector<std::string> words = {python, "-m", "loyalsim", "report"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execv(python.c_str(), argv.data());
  std::cerr << "loyalsim: cannot start " << python << " for the report: " << std::strerror(errno)
            << " (set LOYALSIM_PYTHON to a Python 3 with numpy, xarray, h5py, matplotlib and jinja2)\n";
  return kExitFailure;
}

}  // namespace loyalsim::app::cli
