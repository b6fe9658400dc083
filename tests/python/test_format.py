"""loyalsim.format_row prints what the engine's table prints (the "mean ± half-width" part of _format).

The cases and strings are those of tests/cpp/test_report_format.cpp; the last test checks `loyalsim info`'s
whole table against loyalsim.policy_table on a file of the real engine.
"""
import math
import re
import subprocess

import loyalsim
from loyalsim import format_row

NAN = math.nan


def around(mean, half_width):
    return mean, mean - half_width, mean + half_width


def cell(mean, low, high, kind="money", sign=False):
    return format_row([mean], [low], [high], kind, sign)[0]


def test_the_half_width_keeps_two_significant_digits():
    assert cell(*around(301234, 4000), sign=True) == "+301.2k ± 4.0k"
    assert cell(*around(1.3e6, 0.3e6)) == "1.30M ± 0.30M"
    assert cell(*around(0.6371, 0.0086), kind="share") == "63.71% ± 0.86%"
    assert cell(*around(-24625, 838), sign=True) == "-24,625 ± 838"
    assert cell(*around(414, 15), kind="count", sign=True) == "+414 ± 15"


def test_a_row_steps_down_a_unit_rather_than_round_the_interval_away():
    assert cell(*around(12_345_678, 50_000)) == "12,346k ± 50k"
    (m1, l1, h1), (m2, l2, h2) = around(12e6, 5e5), around(3e5, 4e3)
    assert format_row([m1, m2], [l1, l2], [h1, h2], "money", sign=True) == ["+12,000.0k ± 500.0k", "+300.0k ± 4.0k"]
    assert cell(*around(0.5, 0.00004), kind="share") == "50.0000% ± 0.0040%"


def test_without_an_interval_three_significant_digits():
    assert cell(30_000, NAN, NAN, sign=True) == "+30,000"
    assert cell(1_260_000, NAN, NAN) == "1.26M"
    assert cell(*around(0, 0), sign=True) == "+0 ± 0"
    assert cell(NAN, NAN, NAN) == "n/a"


def _horizon_rows(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The policies and the rows (label → cells) of `loyalsim info`'s horizon table; "Δ" rows keyed "<label> Δ",
    "Δ per customer" rows "<label> Δ per customer"."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" ") and "status_quo" in line)
    policies, rows, measure = lines[start].split(), {}, None
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = re.split(r"\s{3,}", line.strip())
        if cells[0] in ("Δ", "Δ per customer"):
            rows[f"{measure} {cells[0]}"] = cells[1:]
        else:
            measure = cells[0]
            rows[measure] = cells[1:]
    return policies, rows


def test_loyalsim_info_prints_the_numbers_of_policy_table(engine, results_path, ds):
    """On an ordinary results file (no sweep) the engine's table is policy_table's means and intervals, formatted."""
    text = subprocess.run([str(engine), "info", str(results_path)], capture_output=True, text=True, check=True).stdout
    policies, rows = _horizon_rows(text)
    table = loyalsim.policy_table(ds)
    assert policies == list(table.index), text
    measures = loyalsim.file_measures(ds)
    per_customer = {m.name: f"{m.label} Δ per customer" for m in measures if m.name == "net_value"}
    assert list(rows) == [label for m in measures
                          for label in (m.label, f"{m.label} Δ") + ((per_customer[m.name],) if m.name in per_customer else ())], text  # fmt: skip
    firm = table.attrs["represents"]
    rest = table["net_value"].iloc[1:]
    assert rows[per_customer["net_value"]] == format_row(
        rest["diff_mean"] / firm, rest["diff_ci_low"] / firm, rest["diff_ci_high"] / firm, "money", sign=True)
    for m in measures:
        t = table[m.name]
        assert rows[m.label] == format_row(t["mean"], t["ci_low"], t["ci_high"], m.kind), m.name
        rest = t.iloc[1:]
        want = ["baseline"] + format_row(rest["diff_mean"], rest["diff_ci_low"], rest["diff_ci_high"], m.kind, sign=True)
        assert rows[f"{m.label} Δ"] == want, m.name
