#include "engine/config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace loyalsim::engine::config {

std::string format_number(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::ostringstream o;
  o << x;
  return o.str();
}

bool Range::contains(double x) const {
  if (std::isnan(x)) return false;
  const bool lo_ok = lo_open ? x > lo : x >= lo;
  const bool hi_ok = hi_open ? x < hi : x <= hi;
  return lo_ok && hi_ok;
}

std::string Range::describe() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return "a number in " + std::string(lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) +
           (hi_open ? ")" : "]");
  if (has_lo) return std::string("a number ") + (lo_open ? "> " : ">= ") + format_number(lo);
  if (has_hi) return std::string("a number ") + (hi_open ? "< " : "<= ") + format_number(hi);
  return "a finite number";
}

std::string Range::usable() const {
  const std::string d = describe();
  return (d == "a finite number" ? d : d + ", finite,") + " at most 1e12 in size";
}

std::int64_t line_of(const toml::node* node) {
  return node ? static_cast<std::int64_t>(node->source().begin.line) : 0;
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> suggest(std::string_view key, const std::vector<std::string_view>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;  // a typo, not another word
  for (const auto c : candidates) {
    const std::size_t d = edit_distance(key, c);
    if (d < best_distance) best_distance = d, best = std::string(c);
  }
  return best;
}

std::optional<std::int64_t> first_invalid_utf8_line(std::string_view text) {
  std::int64_t line = 1;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == '\n') ++line;
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) len = 1, cp = c;
    else if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return line;
    if (i + len > n) return line;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return line;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond Unicode are invalid too.
    static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return line;
    i += len;
  }
  return std::nullopt;
}

std::optional<toml::table> Reader::parse(std::string_view text) {
  if (const auto line = first_invalid_utf8_line(text)) {
    problem(*line, "", "the file is not valid UTF-8 text", "save it as UTF-8");
    return std::nullopt;
  }
  try {
    return toml::parse(text, file_);
  } catch (const toml::parse_error& e) {
    problem(static_cast<std::int64_t>(e.source().begin.line), "", "not valid TOML: " + std::string(e.description()));
    return std::nullopt;
  }
}

void Reader::problem(const toml::node* where, std::string key, std::string what, std::string allowed) {
  problem(line_of(where), std::move(key), std::move(what), std::move(allowed));
}

void Reader::problem(std::int64_t line, std::string key, std::string what, std::string allowed) {
  problems_.push_back({file_, line, std::move(key), std::move(what), std::move(allowed)});
}

void Reader::only_keys(const toml::table& table, const std::string& prefix,
                       const std::vector<std::string_view>& known) {
  for (const auto& [k, v] : table) {
    const std::string_view name = k.str();
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string what = "unknown key '" + std::string(name) + "'";
    if (const auto s = suggest(name, known)) what.append(" (did you mean '").append(*s).append("'?)");
    std::string allowed = "known keys:";
    for (const auto kk : known) allowed.append(" ").append(kk);
    if (allowed.size() > 100) allowed = "see the documentation of the format";
    problem(static_cast<std::int64_t>(k.source().begin.line), prefix.empty() ? std::string(name) : prefix + "." + std::string(name),
            what, allowed);
  }
}

bool Reader::real(const toml::table& t, std::string_view key, const std::string& path, double& out,
                  const Range& range) {
  const toml::node* n = t.get(key);
  if (!n) return false;
  double x;
  if (const auto* i = n->as_integer()) x = static_cast<double>(i->get());
  else if (const auto* f = n->as_floating_point()) x = f->get();
  else {
    problem(n, path, "expected a number, got " + type_name(*n), range.describe());
    return false;
  }
  if (!std::isfinite(x) || std::abs(x) > 1e12) {
    problem(n, path, "value " + format_number(x) + " is not a usable number", range.usable());
    return false;
  }
  if (!range.contains(x)) {
    problem(n, path, "value " + format_number(x) + " is out of range", range.describe());
    return false;
  }
  out = x;
  return true;
}

bool Reader::integer(const toml::table& t, std::string_view key, const std::string& path, std::int64_t& out,
                     std::int64_t lo, std::int64_t hi, bool required) {
  const std::string allowed = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) problem(line_of(&t), path, "missing required key", allowed);
    return false;
  }
  const auto* i = n->as_integer();
  if (!i) {
    problem(n, path, "expected an integer, got " + type_name(*n), allowed);
    return false;
  }
  if (i->get() < lo || i->get() > hi) {
    problem(n, path, "value " + std::to_string(i->get()) + " is out of range", allowed);
    return false;
  }
  out = i->get();
  return true;
}

bool Reader::string(const toml::table& t, std::string_view key, const std::string& path, std::string& out,
                    bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) problem(line_of(&t), path, "missing required key", "a string");
    return false;
  }
  const auto* s = n->as_string();
  if (!s) {
    problem(n, path, "expected a string, got " + type_name(*n), "a string");
    return false;
  }
  out = s->get();
  return true;
}

bool Reader::boolean(const toml::table& t, std::string_view key, const std::string& path, bool& out) {
  const toml::node* n = t.get(key);
  if (!n) return false;
  const auto* b = n->as_boolean();
  if (!b) {
    problem(n, path, "expected a boolean, got " + type_name(*n), "true or false");
    return false;
  }
  out = b->get();
  return true;
}

bool Reader::choice(const toml::table& t, std::string_view key, const std::string& path, int& out,
                    std::initializer_list<std::string_view> choices) {
  return choice(t, key, path, out, std::vector<std::string_view>(choices));
}

bool Reader::choice(const toml::table& t, std::string_view key, const std::string& path, int& out,
                    const std::vector<std::string_view>& choices) {
  std::string allowed;
  for (const auto c : choices) allowed += (allowed.empty() ? "one of \"" : ", \"") + std::string(c) + "\"";
  std::string value;
  if (!string(t, key, path, value)) return false;
  const auto it = std::find(choices.begin(), choices.end(), value);
  if (it == choices.end()) {
    std::string what = "unknown value \"" + value + "\"";
    if (const auto s = suggest(value, choices)) what.append(" (did you mean \"").append(*s).append("\"?)");
    problem(t.get(key), path, what, allowed);
    return false;
  }
  out = static_cast<int>(it - choices.begin());
  return true;
}

const toml::table* Reader::table(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  if (const auto* tt = n->as_table()) return tt;
  problem(n, path, "expected a table, got " + type_name(*n), "a table: [" + path + "] or " + path + " = { ... }");
  return nullptr;
}

const toml::array* Reader::table_array(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  const auto* a = n->as_array();
  if (!a || (!a->empty() && !a->is_array_of_tables())) {
    problem(n, path, "expected an array of tables, got " + type_name(*n), "one [[" + path + "]] table per entry");
    return nullptr;
  }
  return a;
}

void Reader::throw_if_problems() {
  if (problems_.empty()) return;
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  throw InputError(problems_);
}

}  // namespace loyalsim::engine::config
