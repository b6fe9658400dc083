// `loyalsim parameters`: the model's parameter table, as a terminal summary,
// the Markdown tables of docs/experiment-format.md, or JSON for tools
// (python's loyalsim.parameters()).
#include <iostream>

#include "app/cli.hpp"
#include "models/srp1/parameter_table.hpp"

namespace loyalsim::app::cli {

int parameters_command(const std::string& format) {
  using srp1::ParameterScope;
  if (format == "json") {
    std::cout << srp1::parameters_json();
    return 0;
  }
  for (const auto scope : {ParameterScope::run, ParameterScope::population, ParameterScope::segment, ParameterScope::model,
                           ParameterScope::wom, ParameterScope::policy}) {
    if (format == "markdown") {
      const char* name = srp1::kScopeNames[static_cast<int>(scope)];
      std::cout << "### " << (scope == ParameterScope::run ? "top level" : name) << "\n\n"
                << srp1::parameters_markdown(scope) << '\n';
      continue;
    }
    for (const srp1::ParameterRow* row : srp1::rows_of(scope))
      std::cout << row->path() << " = "
                << (row->default_note.empty() ? row->describe_value(row->default_value()) : std::string(row->default_note))
                << "  (" << row->allowed() << (row->unit == "1" || row->unit == "choice" ? "" : ", " + std::string(row->unit))
                << ")\n    " << row->meaning << "\n";
  }
  return 0;
}

}  // namespace loyalsim::app::cli
