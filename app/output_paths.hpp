// Where a run writes its results, checked before any work.
//
// A run writes the results file NAME and, beside it, NAME.tmp (and
// NAME.tmp.tmp) while publishing it, NAME.partial (and its own .tmp names)
// for a sweep's snapshots, and the checkpoint folder NAME.checkpoint. All of
// them go in NAME's folder, which must exist or be creatable, and be writable.
// A path that cannot work is refused before the experiment runs, not after
// hours of work at the rename.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace loyalsim::app {

struct OutputPlan {
  std::filesystem::path results;
  std::filesystem::path missing_folder;  // the folder to create first; empty when it exists
};

// The checkpoint folder of a results path: NAME.checkpoint.
std::filesystem::path checkpoint_path(const std::filesystem::path& results);

// Every name a run may create for `results`: NAME, the snapshot and the
// temporary names of both (files), and the checkpoint folder last.
std::vector<std::filesystem::path> output_siblings(const std::filesystem::path& results);

// Checks that `results` can be written, without changing anything on disk.
// `origin` says where the path came from, for messages ("-o", "[output].path").
// Throws engine::UsageError when the path names the wrong kind of thing: an
// existing directory, a path ending in '/', a file where a folder must be, a
// directory where a file must be written, a name longer than the file
// system allows. Throws engine::RuntimeFailure when the file system refuses:
// the folder (or the nearest existing one above it) is not writable, or the
// file system is read-only (found by creating and removing a probe folder).
OutputPlan check_output_path(const std::filesystem::path& results, const std::string& origin);

// Creates plan.missing_folder, if any, saying so on `notice`
// ("loyalsim: creating folder F for the results"): a typo in a path should
// not silently grow a tree of folders.
void create_output_folder(const OutputPlan& plan, std::ostream& notice);

}  // namespace loyalsim::app
