// The manual stands on its own: the project's documentation holds what a user
// needs, in the repository, and agrees with the code.
//
// - every parameter the loader accepts (srp1::parameter_table()) is linked
//   from docs/model.md to its row's table in docs/experiment-format.md;
// - every metric (srp1::kMetricInfo) is defined in docs/model.md's metrics
//   table and listed in docs/results-format.md;
// - no user-facing text (README, docs, the notebook, the Python package)
//   points to the specification files kept outside the repository;
// - every relative link of README.md and docs/*.md reaches an existing file,
//   and an existing heading when it names one;
// - every variable and attribute a results file holds is in docs/results-format.md.
#include <hdf5.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "models/srp1/model.hpp"
#include "models/srp1/parameter_table.hpp"

namespace {

using namespace loyalsim;
namespace fs = std::filesystem;
using loyalsim::testing::read_text;
using srp1::ParameterScope;

const fs::path kSource = LOYALSIM_SOURCE_DIR;

// The lines of a Markdown text outside fenced code blocks (``` ... ```), with
// their line numbers; fenced lines are returned empty so numbers stay right.
std::vector<std::string> prose_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    const bool fence = line.find_first_not_of(' ') != std::string::npos &&
                       line.compare(line.find_first_not_of(' '), 3, "```") == 0;
    if (fence) fenced = !fenced;
    lines.push_back(fence || fenced ? std::string() : line);
  }
  return lines;
}

// GitHub's anchor for a heading: lower case, punctuation (and anything not
// ASCII) dropped, spaces to hyphens; a repeated heading gets -1, -2, ...
std::set<std::string> heading_anchors(const std::string& markdown) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  for (const std::string& line : prose_lines(markdown)) {
    if (line.empty() || line[0] != '#') continue;
    const std::size_t text = line.find_first_not_of('#');
    if (text == std::string::npos || line[text] != ' ') continue;
    std::string slug;
    for (const char c : line.substr(text + 1)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) continue;
      if (std::isalnum(u) || c == '-' || c == '_') slug += static_cast<char>(std::tolower(u));
      else if (c == ' ') slug += '-';
    }
    const int n = seen[slug]++;
    anchors.insert(n == 0 ? slug : slug + "-" + std::to_string(n));
  }
  return anchors;
}

// The text of the section under the heading whose anchor is `anchor`, up to
// the next heading of the same or a higher level ("" when there is none).
std::string section(const std::string& markdown, const std::string& anchor) {
  const std::vector<std::string> lines = prose_lines(markdown);
  std::istringstream raw(markdown);
  std::vector<std::string> raw_lines;
  for (std::string l; std::getline(raw, l);) raw_lines.push_back(l);
  std::size_t level = 0;
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::size_t hashes = line.empty() || line[0] != '#' ? 0 : line.find_first_not_of('#');
    if (level > 0 && hashes > 0 && hashes <= level) break;
    if (level > 0) out += raw_lines[i] + "\n";
    if (level == 0 && hashes > 0 && heading_anchors(line).count(anchor)) level = hashes;
  }
  return out;
}

// Every link of a Markdown text as (text, target): inline [text](target) and
// reference [text][label] resolved through "[label]: target" lines.
struct Link {
  std::string text, target;
  std::size_t line;
};
// An undefined label that looks like one (a word) is reported; GitHub shows
// other bracket pairs, such as code's x[(a, b)], as text.
std::vector<Link> links(const std::string& markdown, const std::string& source) {
  const std::vector<std::string> lines = prose_lines(markdown);
  std::map<std::string, std::string> refs;
  const std::regex definition(R"(^\[([^\]]+)\]:\s+(\S+))");
  for (const auto& line : lines) {
    std::smatch m;
    if (std::regex_search(line, m, definition)) refs[m[1]] = m[2];
  }
  std::vector<Link> out;
  const std::regex link(R"(\[([^\]]*)\](?:\(([^)\s]*)\)|\[([^\]]+)\]))");
  for (std::size_t i = 0; i < lines.size(); ++i)
    for (std::sregex_iterator it(lines[i].begin(), lines[i].end(), link), end; it != end; ++it) {
      const std::smatch& m = *it;
      if (m[2].matched) out.push_back({m[1], m[2], i + 1});
      else if (refs.count(m[3])) out.push_back({m[1], refs[m[3]], i + 1});
      else if (std::regex_match(m[3].str(), std::regex(R"([A-Za-z0-9_-]+)")))
        ADD_FAILURE() << source << ":" << i + 1 << ": reference [" << m[3] << "] is not defined";
    }
  return out;
}

// Where the parameters of a scope are documented: the section of
// docs/experiment-format.md holding that scope's generated table.
std::string scope_anchor(ParameterScope scope) {
  switch (scope) {
    case ParameterScope::run: return "top-level";
    case ParameterScope::population: return "population";
    case ParameterScope::segment: return "segments";
    case ParameterScope::model: return "model";
    case ParameterScope::wom: return "wom";
    case ParameterScope::policy: return "policies";
  }
  return "";
}
std::string scope_name(ParameterScope scope) {
  return scope == ParameterScope::run ? "run" : srp1::kScopeNames[static_cast<int>(scope)];
}

// The spellings that name a row unambiguously: its path ("model.gain",
// "segments.NAME.share"), and its bare key when no other row, metric or fact
// class has that name ("margin" is a metric too: only `model.margin` names the parameter).
std::vector<std::string> spellings(const srp1::ParameterRow& row) {
  std::vector<std::string> out = {row.path()};
  bool ambiguous = false;
  for (const auto& other : srp1::parameter_table())
    if (&other != &row && other.key == row.key) ambiguous = true;
  for (const auto& m : srp1::kMetricInfo)
    if (row.key == m.name) ambiguous = true;
  for (const char* c : srp1::kFactClassNames)
    if (row.key == c) ambiguous = true;
  if (!ambiguous) out.emplace_back(row.key);
  return out;
}

std::vector<fs::path> markdown_docs() {
  std::vector<fs::path> files = {kSource / "README.md"};
  for (const auto& e : fs::directory_iterator(kSource / "docs"))
    if (e.path().extension() == ".md") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST(Docs, EveryParameterIsLinkedFromTheModelManualToItsTable) {
  const std::string manual = read_text(kSource / "docs/model.md");
  const std::string format = read_text(kSource / "docs/experiment-format.md");
  const std::vector<Link> all = links(manual, "docs/model.md");
  for (const auto& row : srp1::parameter_table()) {
    const std::string target = "experiment-format.md#" + scope_anchor(row.scope);
    bool linked = false;
    for (const auto& spelling : spellings(row))
      for (const Link& l : all) linked |= l.text == "`" + spelling + "`" && l.target == target;
    EXPECT_TRUE(linked) << row.path() << ": docs/model.md has no link [`" << spellings(row).back() << "`](" << target
                        << ") (spellings that count: the path, or the bare key when it names nothing else)";
  }
  // And each such target is the section of experiment-format.md holding that scope's table.
  for (const auto scope : {ParameterScope::run, ParameterScope::population, ParameterScope::segment,
                           ParameterScope::model, ParameterScope::wom, ParameterScope::policy})
    EXPECT_NE(section(format, scope_anchor(scope)).find("BEGIN generated: parameters " + scope_name(scope) + " "),
              std::string::npos)
        << "docs/experiment-format.md#" << scope_anchor(scope) << " does not hold the " << scope_name(scope)
        << " table";
}

TEST(Docs, EveryMetricIsDefinedInTheModelManualAndTheResultsFormat) {
  const std::string manual = section(read_text(kSource / "docs/model.md"), "9-metrics");
  ASSERT_FALSE(manual.empty()) << "docs/model.md has no section '9. Metrics'";
  const std::string format = read_text(kSource / "docs/results-format.md");
  for (const auto& m : srp1::kMetricInfo) {
    const std::string row = "\n| `" + std::string(m.name) + "` |";
    EXPECT_NE(("\n" + manual).find(row), std::string::npos) << m.name << ": no row in docs/model.md's metrics table";
    EXPECT_NE(format.find(row), std::string::npos) << m.name << ": no row in docs/results-format.md";
  }
}

// The specification files live outside the repository: a clone has none of
// them, so user-facing text must name the project's own pages instead.
TEST(Docs, NothingPointsOutsideTheRepository) {
  std::vector<fs::path> files = markdown_docs();
  for (const auto& e : fs::directory_iterator(kSource / "python/examples"))
    if (e.path().extension() == ".ipynb") files.push_back(e.path());
  for (const auto& e : fs::recursive_directory_iterator(kSource / "python/loyalsim"))
    if (e.is_regular_file() && (e.path().extension() == ".py" || e.path().extension() == ".j2"))
      files.push_back(e.path());
  ASSERT_GT(files.size(), 10u);
  const char* const outside[] = {"shared/", "MODEL.md", "EXPERIMENT.md", "OUTPUT.md", "CALIBRATION.md", "FACTS.md"};
  for (const auto& file : files) {
    std::istringstream in(read_text(file));
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      for (const char* name : outside)
        EXPECT_EQ(line.find(name), std::string::npos)
            << fs::relative(file, kSource).string() << ":" << n << ": mentions " << name
            << " (outside the repository; link the project's docs instead)";
    }
  }
}

TEST(Docs, RelativeLinksReachAFileAndAHeading) {
  std::size_t checked = 0;
  for (const auto& file : markdown_docs()) {
    const std::string name = fs::relative(file, kSource).string();
    for (const Link& l : links(read_text(file), name)) {
      const std::string& t = l.target;
      if (t.empty() || t.starts_with("http://") || t.starts_with("https://") || t.starts_with("mailto:")) continue;
      const std::size_t hash = t.find('#');
      const fs::path target = hash == 0 ? file : file.parent_path() / t.substr(0, hash);
      ++checked;
      if (!fs::exists(target)) {
        ADD_FAILURE() << name << ":" << l.line << ": link to " << t << ": no such file";
        continue;
      }
      if (hash == std::string::npos || target.extension() != ".md") continue;
      EXPECT_TRUE(heading_anchors(read_text(target)).count(t.substr(hash + 1)))
          << name << ":" << l.line << ": link to " << t << ": no heading with that anchor";
    }
  }
  EXPECT_GT(checked, 100u);
}

namespace {

// Names of the root group's attributes.
std::vector<std::string> root_attributes(const fs::path& path) {
  std::vector<std::string> names;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return names;
  H5Aiterate2(
      file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  H5Fclose(file);
  return names;
}

// The names a page defines: `code` names in the first cell of a table row, or
// before the colon of a list item ("- `m_mean`, `m_ci_low`: ..."); a name
// merely mentioned in a sentence does not count.
std::set<std::string> defined_names(const std::string& markdown) {
  std::set<std::string> names;
  const std::regex code("`([^`]+)`");
  for (const std::string& line : prose_lines(markdown)) {
    std::string head;
    if (line.starts_with("| ")) head = line.substr(0, line.find(" |", 1));
    else if (line.starts_with("- `")) head = line.substr(0, line.find(':'));
    for (std::sregex_iterator it(head.begin(), head.end(), code), end; it != end; ++it) names.insert((*it)[1]);
  }
  return names;
}

class DocumentedResults : public loyalsim::testing::ExperimentFolderTest {
 protected:
  DocumentedResults()
      : ExperimentFolderTest("docs", R"(name = "documented"
seed = 5
replications = 2
horizon_months = 13
warmup_months = 2
preset = "market.toml"
[population]
customers = 300
prospects = 100
[[policies]]
name = "base"
[[policies]]
name = "later"
start_month = 4
apology = 1.0
)", "exp.toml") {}
};

}  // namespace

// Every dataset and root attribute of a results file (one with a preset, a
// warm-up and two policies) is named in docs/results-format.md.
TEST_F(DocumentedResults, EveryVariableAndAttributeIsInTheResultsFormat) {
  std::ofstream(dir_ / "market.toml") << "[[segments]]\nname = \"regular\"\n";
  const fs::path out = dir_ / "r.h5";
  const auto run = loyalsim::testing::run_cli("run " + experiment_.string() + " -o " + out.string() + " --threads 1");
  ASSERT_EQ(run.code, 0) << run.output;
  const std::set<std::string> entries = defined_names(read_text(kSource / "docs/results-format.md"));
  auto documented = [&](const std::string& name) { return entries.count(name) > 0; };
  // Summaries are documented as the patterns `m_SUFFIX`; longest suffix first, so it is the one stripped.
  const std::vector<std::string> suffixes = {"_diff_ci_high", "_diff_ci_low", "_diff_mean", "_ci_high", "_ci_low",
                                             "_mean"};
  for (const std::string& suffix : suffixes) EXPECT_TRUE(documented("m" + suffix)) << "m" << suffix;
  const auto datasets = loyalsim::testing::File::open_read(out).dataset_names();
  ASSERT_GT(datasets.size(), 100u);
  for (std::string name : datasets) {
    for (const std::string& suffix : suffixes)
      if (name.ends_with(suffix) && !documented(name)) {
        name.resize(name.size() - suffix.size());
        break;
      }
    EXPECT_TRUE(documented(name)) << "dataset " << name << " is not in docs/results-format.md";
  }
  const auto attributes = root_attributes(out);
  ASSERT_GT(attributes.size(), 20u);
  for (const std::string& name : attributes)
    EXPECT_TRUE(documented(name)) << "attribute " << name << " is not in docs/results-format.md";
  EXPECT_TRUE(std::find(attributes.begin(), attributes.end(), "preset_sha256") != attributes.end());
}
