// The parameter table is the one declaration of every model parameter
// (models/srp1/parameter_table.hpp): the loader, sweep paths, the documented
// tables, the fuzz dictionary and the results' parameter values all derive
// from it. These tests fail when any of them disagrees with it.
//
// The generated parts of docs/experiment-format.md and tests/fuzz/experiment.dict
// are rewritten from the table with
//   LOYALSIM_REGENERATE_DOCS=1 build/tests/loyalsim_tests --gtest_filter='ParameterTable.*'
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "app/experiment.hpp"
#include "cli_support.hpp"
#include "engine/errors.hpp"
#include "models/srp1/parameter_table.hpp"

namespace {

using namespace loyalsim;
namespace fs = std::filesystem;
using srp1::ParameterKind;
using srp1::ParameterScope;

const fs::path kSource = LOYALSIM_SOURCE_DIR;
constexpr const char* kEnd = "<!-- END generated -->";

// The text between a line starting with `begin` and the next line `end`
// (exclusive); with `replacement`, the file is rewritten with it there.
std::string generated_block(const fs::path& file, const std::string& begin, const std::string& end,
                            const std::string* replacement = nullptr) {
  std::string text = loyalsim::testing::read_text(file);
  const auto b = text.find(begin);
  if (b == std::string::npos) return "<no block " + begin + ">";
  const auto body = text.find('\n', b) + 1;
  const auto e = text.find(end, body);
  if (e == std::string::npos) return "<unterminated block " + begin + ">";
  if (replacement) {
    text.replace(body, e - body, *replacement);
    std::ofstream(file, std::ios::binary) << text;
  }
  return text.substr(body, e - body);
}

// Every key, choice and example path of the table, as fuzz dictionary entries.
std::string fuzz_entries() {
  std::set<std::string> keys, values, paths;
  for (const auto& row : srp1::parameter_table()) {
    keys.insert(std::string(row.leaf()));
    if (!row.group().empty()) keys.insert(std::string(row.group()));
    for (const char* c : row.choices) values.insert(c);
    if (row.sweepable) paths.insert(row.path(row.scope == ParameterScope::segment ? "default" : "p"));
  }
  std::string out;
  auto id = [](std::string s) {
    for (char& c : s) c = c == '.' ? '_' : c;
    return s;
  };
  for (const auto& k : keys) out += "key_" + id(k) + "=\"" + k + "\"\n";
  for (const auto& v : values) out += "value_" + v + "=\"\\\"" + v + "\\\"\"\n";
  for (const auto& p : paths) out += "path_" + id(p) + "=\"\\\"" + p + "\\\"\"\n";
  return out;
}

bool regenerate() { return std::getenv("LOYALSIM_REGENERATE_DOCS") != nullptr; }

}  // namespace

TEST(ParameterTable, TheDocumentedTablesAreTheTable) {
  const fs::path doc = kSource / "docs/experiment-format.md";
  for (const auto scope : {ParameterScope::run, ParameterScope::population, ParameterScope::segment,
                           ParameterScope::model, ParameterScope::wom, ParameterScope::policy}) {
    const std::string name = scope == ParameterScope::run ? "run" : srp1::kScopeNames[static_cast<int>(scope)];
    const std::string begin = "<!-- BEGIN generated: parameters " + name + " ";
    const std::string table = srp1::parameters_markdown(scope);
    EXPECT_EQ(generated_block(doc, begin, kEnd, regenerate() ? &table : nullptr), table)
        << "docs/experiment-format.md's " << name << " table differs from the parameter table; regenerate it";
  }
}

TEST(ParameterTable, TheFuzzDictionaryHasEveryKey) {
  const fs::path dict = kSource / "tests/fuzz/experiment.dict";
  const std::string entries = fuzz_entries();
  EXPECT_EQ(generated_block(dict, "# BEGIN generated", "# END generated", regenerate() ? &entries : nullptr), entries);
}

// Every top-level key the loader accepts besides the table's is documented too.
TEST(ParameterTable, EveryExperimentKeyIsDocumented) {
  const std::string doc = loyalsim::testing::read_text(kSource / "docs/experiment-format.md");
  for (const std::string_view key : app::kExperimentKeys) {
    const bool table = key == "population" || key == "segments" || key == "model" || key == "wom" ||
                       key == "policies" || key == "output" || key == "sweep" || key == "calibration";
    std::string written = table ? "[" : "`";
    written.append(key).append(table ? "" : "`");
    EXPECT_NE(doc.find(written), std::string::npos) << key;
  }
}

// The loader reads every row with the row's own range: a file setting the
// row to a value inside its range gives that value, one just outside is
// refused naming the row's path and what is allowed.
TEST(ParameterTable, TheLoaderReadsEveryRowWithItsRange) {
  for (const auto& row : srp1::parameter_table()) {
    SCOPED_TRACE(row.path());
    if (row.kind == ParameterKind::choice) continue;  // choices: covered by the experiment tests
    const std::string section = row.scope == ParameterScope::run          ? ""
                                : row.scope == ParameterScope::segment    ? "[[segments]]\nname = \"s\"\n"
                                : row.scope == ParameterScope::policy     ? ""
                                                                           : std::string("[").append(srp1::kScopeNames[static_cast<int>(row.scope)]).append("]\n");
    auto text_with = [&](const std::string& value) {
      const std::string assignment = row.group().empty()
                                         ? std::string(row.key) + " = " + value + "\n"
                                         : std::string(row.group()) + " = { " + std::string(row.leaf()) + " = " + value + " }\n";
      std::string t = "name = \"m\"\nseed = 1\n";
      if (row.scope == ParameterScope::run) t += assignment;
      t += "[[policies]]\nname = \"p\"\n";
      if (row.scope == ParameterScope::policy) t += assignment;
      if (row.scope != ParameterScope::run && row.scope != ParameterScope::policy) t += section + assignment;
      return t;
    };
    const bool integral = row.kind != ParameterKind::real;
    const double lo = std::isfinite(row.range.lo) ? row.range.lo : -1e6;
    const double hi = std::isfinite(row.range.hi) ? row.range.hi : 1e6;
    // A value strictly inside (integers: an allowed even/odd one), and one outside when the range has an end.
    double inside = integral ? std::floor((lo + std::min(hi, lo + 10)) / 2) : (lo + std::min(hi, lo + 10)) / 2;
    if (row.kind == ParameterKind::even_integer && std::fmod(inside, 2) != 0) inside += 1;
    if (row.key == "start_month") inside = 1;  // the only start month a baseline may have
    auto number = [&](double v) {
      std::ostringstream o;
      o.precision(17);
      o << v;
      std::string s = o.str();
      if (!integral && s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    };
    const auto e = app::parse_experiment(text_with(number(inside)), "t.toml");
    const auto ref = srp1::find_parameter(e.scenario, row.path(row.scope == ParameterScope::segment ? "s" : "p"));
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->get(e.scenario), inside);
    if (!std::isfinite(row.range.lo)) continue;
    const double outside = integral ? row.range.lo - 1 : row.range.lo - (row.range.lo_open ? 0.0 : 0.5);
    try {
      app::parse_experiment(text_with(number(outside)), "t.toml");
      ADD_FAILURE() << "accepted " << outside;
    } catch (const engine::InputError& err) {
      ASSERT_FALSE(err.problems().empty());
      const auto& p = err.problems().front();
      EXPECT_NE(p.key.find(std::string(row.leaf())), std::string::npos) << p.str();
      // The integer reader states the interval; evenness is said when the value is inside it and odd.
      const auto interval = row.kind == ParameterKind::even_integer ? row.allowed().substr(8) : row.allowed();
      EXPECT_EQ(p.allowed.substr(p.allowed.size() - std::min(p.allowed.size(), interval.size())), interval) << p.str();
    }
  }
}

// Defaults live once, in the structs: the table reads them through its accessors.
TEST(ParameterTable, DefaultsAreTheStructs) {
  const srp1::Scenario defaults;
  for (const auto& row : srp1::parameter_table()) EXPECT_EQ(row.default_value(), row.get(defaults, 0)) << row.path();
  EXPECT_EQ(srp1::find_parameter(defaults, "model.gain")->row->default_value(), srp1::ModelParams{}.gain);
  EXPECT_EQ(srp1::find_parameter(defaults, "policies.status_quo.compensation")->row->default_value(),
            srp1::Policy{}.compensation);
  EXPECT_FALSE(srp1::find_parameter(defaults, "model.gian"));
  EXPECT_FALSE(srp1::find_parameter(defaults, "policies.nobody.compensation"));
}
