#include "app/output_paths.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "app/results.hpp"
#include "engine/errors.hpp"

namespace loyalsim::app {

namespace fs = std::filesystem;

namespace {

// The nearest existing path at or above `folder` (the current folder for a
// relative path none of whose folders exist). It may be a file.
fs::path nearest_existing(fs::path folder) {
  std::error_code ec;
  while (!folder.empty() && !fs::exists(folder, ec)) {
    const fs::path parent = folder.parent_path();
    if (parent == folder) break;  // the root
    folder = parent;
  }
  return folder.empty() ? fs::path(".") : folder;
}

// The longest file name the file system holding `folder` allows.
std::size_t name_max(const fs::path& folder) {
  const long n = ::pathconf(folder.c_str(), _PC_NAME_MAX);
  return n > 0 ? static_cast<std::size_t>(n) : 255;
}

// Whether the process may create entries in `folder`: permissions, ACLs, a
// read-only file system and root's exemptions all decide, so ask by doing it.
void probe_writable(const fs::path& folder, const fs::path& results) {
  std::string probe = (folder / ".loyalsim-probe-XXXXXX").string();
  if (!::mkdtemp(probe.data()))
    throw engine::RuntimeFailure("cannot write " + results.string() + ": the folder " + folder.string() +
                                 " does not let this process create anything in it (" + std::strerror(errno) + ")");
  ::rmdir(probe.c_str());
}

// Something of the wrong kind already at a name the run will use.
void refuse_what_is_in_the_way(const std::vector<fs::path>& siblings) {
  std::error_code ec;
  for (std::size_t i = 0; i < siblings.size(); ++i) {
    const fs::path& s = siblings[i];
    if (!fs::exists(s, ec)) continue;
    const bool folder_wanted = i + 1 == siblings.size();
    if (folder_wanted && !fs::is_directory(s, ec))
      throw engine::UsageError(s.string() + " is a file where loyalsim keeps its checkpoint folder (move or remove it)");
    if (!folder_wanted && fs::is_directory(s, ec))
      throw engine::UsageError(s.string() + " is a directory where loyalsim writes a file (move or remove it)");
  }
}

}  // namespace

fs::path checkpoint_path(const fs::path& results) { return results.string() + ".checkpoint"; }

std::vector<fs::path> output_siblings(const fs::path& results) {
  std::vector<fs::path> out;
  for (const fs::path& target : {results, partial_path(results)}) {
    out.push_back(target);
    out.push_back(temporary_path(target));
    out.push_back(temporary_path(temporary_path(target)));  // h5 files are themselves written atomically
  }
  out.push_back(checkpoint_path(results));
  return out;
}

OutputPlan check_output_path(const fs::path& results, const std::string& origin) {
  const fs::path name = results.filename();
  std::error_code ec;
  const std::string example = " (for example " + (results / "results.h5").lexically_normal().string() + ")";
  if (fs::is_directory(results, ec))
    throw engine::UsageError(results.string() + " is a directory; " + origin + " needs a file path" + example);
  if (name.empty() || name == "." || name == "..")
    throw engine::UsageError(results.string() + " names a folder; " + origin + " needs a file path" + example);
  if (fs::exists(results, ec) && !fs::is_regular_file(results, ec))
    throw engine::UsageError(results.string() + " is not a regular file (a device, pipe or socket); " + origin +
                             " needs a file path");
  const fs::path folder = results.parent_path();
  const fs::path existing = nearest_existing(folder);
  if (!fs::is_directory(existing, ec))
    throw engine::UsageError("cannot write " + results.string() + ": " + existing.string() + " is a file, not a folder");
  const auto siblings = output_siblings(results);
  const std::size_t limit = name_max(existing);
  const std::string longest = std::max_element(siblings.begin(), siblings.end(), [](const auto& x, const auto& y) {
                                return x.filename().string().size() < y.filename().string().size();
                              })->filename().string();
  if (longest.size() > limit)
    throw engine::UsageError("the file name " + name.string() + " is too long: loyalsim also writes " + longest + " (" +
                             std::to_string(longest.size()) + " characters) beside it, and this file system allows " +
                             std::to_string(limit));
  refuse_what_is_in_the_way(siblings);
  probe_writable(existing, results);
  return {results, folder.empty() || fs::exists(folder, ec) ? fs::path() : folder};
}

void create_output_folder(const OutputPlan& plan, std::ostream& notice) {
  if (plan.missing_folder.empty()) return;
  notice << "loyalsim: creating folder " << plan.missing_folder.string() << " for the results\n";
  std::error_code ec;
  fs::create_directories(plan.missing_folder, ec);
  if (ec) throw engine::RuntimeFailure("cannot create the folder " + plan.missing_folder.string() + ": " + ec.message());
}

}  // namespace loyalsim::app
