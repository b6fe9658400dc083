"""The horizon table's measures, defined once: read from the results file, computed per replication.

A results file of format 1.1 carries a JSON attribute ``measures``: a list of
definitions that ``loyalsim info``, :func:`loyalsim.policy_table` and the
report all compute from. A 1.0 file has none; it gets :data:`BUILTIN_1_0`,
a copy of the definitions the 1.0 engine used.

Each definition has ``name``, ``label``, ``kind`` (count, share, money,
messages), ``form``, ``numerator``, ``denominator``, ``divide_by_attribute``
and ``better`` (higher, lower or none). Per (point, policy, replication) at the
horizon month m:

- form ``level``: the sum of the numerator metrics at month m;
- form ``sum``: the sum of the numerator metrics over months 1 … m;
- a non-empty ``denominator``: divided by the sum over months 1 … m of the
  denominator metrics (a share; NaN where that sum is 0);
- ``divide_by_attribute``: divided by that file attribute (e.g. ``customers``).

The file keeps raw values. Counts, money and messages are shown at the firm's
scale, multiplied by ``represents / customers`` (:func:`display_factor`);
shares are not scaled.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ._io import FormatError
from ._stats import resolve_month

KINDS = ("count", "share", "money", "messages")
FORMS = ("level", "sum")
DIRECTIONS = ("higher", "lower", "none")


@dataclass(frozen=True)
class Measure:
    """One row of the horizon table (see the module docstring for the semantics)."""

    name: str
    label: str
    kind: str
    form: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    divide_by_attribute: str = ""
    better: str = "higher"

    @property
    def scaled(self) -> bool:
        """Counts, money and messages scale with represents / customers; shares do not."""
        return self.kind != "share"


def _m(name, label, kind, form, numerator, denominator=(), divide="", better="higher") -> Measure:
    return Measure(name, label, kind, form, tuple(numerator), tuple(denominator), divide, better)


#: The 1.0 engine's table, for files without a ``measures`` attribute. Retention
#: comes first, as in :func:`loyalsim.policy_table` before measures were stored.
BUILTIN_1_0 = (
    _m("retention", "cohort retention", "share", "level", ["cohort_active"], divide="customers"),
    _m("active", "active customers", "count", "level", ["active"]),
    _m("revenue", "revenue", "money", "sum", ["revenue"]),
    _m("recovery_cost", "recovery cost", "money", "sum", ["recovery_cost"], better="lower"),
    _m("net_value", "net value (discounted)", "money", "sum", ["net_value"]),
    _m("satisfied_share", "satisfied recoveries", "share", "sum", ["recoveries_satisfied"], ["complaints"]),
    _m("paradox_share", "paradox events", "share", "sum", ["paradox_events"], ["complaints"], better="none"),
    _m("wom_positive", "positive WOM", "messages", "sum", ["wom_positive"]),
    _m("wom_negative", "negative WOM", "messages", "sum", ["wom_negative"], better="lower"),
)


def file_measures(ds: xr.Dataset) -> tuple[Measure, ...]:
    """The measures of this file: its ``measures`` attribute, else the built-in 1.0 definitions.

    Raises :class:`loyalsim.FormatError` for an attribute that is not a valid
    list of definitions, or that names a metric the file does not hold.
    """
    text = ds.attrs.get("measures")
    if text is None:
        return BUILTIN_1_0
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        items = json.loads(str(text))
    except json.JSONDecodeError as e:
        raise FormatError(f"the results file's 'measures' attribute is not valid JSON: {e}") from e
    if not isinstance(items, list) or not items:
        raise FormatError("the results file's 'measures' attribute must be a non-empty JSON list")
    out = tuple(_parse(item, i) for i, item in enumerate(items))
    names = [m.name for m in out]
    if len(set(names)) != len(names):
        raise FormatError(f"the results file's 'measures' repeat a name: {names}")
    for m in out:
        missing = [v for v in (*m.numerator, *m.denominator) if v not in ds.variables]
        if missing:
            raise FormatError(f"measure {m.name!r} needs the metric(s) {', '.join(missing)}, which the file lacks")
        if m.divide_by_attribute and m.divide_by_attribute not in ds.attrs:
            raise FormatError(f"measure {m.name!r} divides by the attribute {m.divide_by_attribute!r}, "
                              f"which the file lacks")  # fmt: skip
    return out


def _parse(item, i: int) -> Measure:
    where = f"the results file's 'measures' entry {i}"
    if not isinstance(item, dict):
        raise FormatError(f"{where} is not a JSON object")
    try:
        m = Measure(
            name=str(item["name"]),
            label=str(item.get("label", item["name"])),
            kind=str(item["kind"]),
            form=str(item["form"]),
            numerator=tuple(str(v) for v in item["numerator"]),
            denominator=tuple(str(v) for v in item.get("denominator", [])),
            divide_by_attribute=str(item.get("divide_by_attribute", "")),
            better=str(item.get("better", "higher")),
        )
    except (KeyError, TypeError) as e:
        raise FormatError(f"{where} lacks or mistypes {e}") from e
    for field, value, allowed in (("kind", m.kind, KINDS), ("form", m.form, FORMS), ("better", m.better, DIRECTIONS)):
        if value not in allowed:
            raise FormatError(f"{where} ({m.name}): {field} {value!r} is not one of {', '.join(allowed)}")
    if not m.numerator:
        raise FormatError(f"{where} ({m.name}): an empty numerator")
    return m


def measure(ds: xr.Dataset, name: str) -> Measure:
    """One measure of the file by name (KeyError listing the names otherwise)."""
    found = {m.name: m for m in file_measures(ds)}
    if name not in found:
        raise KeyError(f"unknown measure {name!r}; this file has {', '.join(found)}")
    return found[name]


def cumulative(raw: xr.DataArray) -> xr.DataArray:
    """Running sum of a flow over months 1 … t (month 0 stays 0), in month order."""
    flows = raw.where(raw["month"] >= 1, 0.0)
    return flows.cumsum("month", skipna=False)


def _summed(d: xr.Dataset, names, month: int) -> xr.DataArray:
    """Σ over months 1 … month of the named flows, added metric by metric in the listed order."""
    total = None
    for name in names:
        flows = d[name].sel(month=slice(1, month))
        part = cumulative(flows).isel(month=-1) if month >= 1 else flows.sum("month", skipna=False)
        total = part if total is None else total + part
    return total.drop_vars("month", errors="ignore")


def _level(d: xr.Dataset, names, month: int) -> xr.DataArray:
    total = None
    for name in names:
        part = d[name].sel(month=month).drop_vars("month", errors="ignore")
        total = part if total is None else total + part
    return total


def horizon_value(d: xr.Dataset, m: Measure, month: int) -> xr.DataArray:
    """The raw (unscaled) value of measure ``m`` at horizon ``month``; dims as ``d``'s without month."""
    value = (_level if m.form == "level" else _summed)(d, m.numerator, month).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.denominator:
            den = _summed(d, m.denominator, month)
            value = value / den.where(den != 0)
        if m.divide_by_attribute:
            value = value / float(d.attrs[m.divide_by_attribute])
    return value


def horizon_values(ds: xr.Dataset, month: int | None = None, measures=None) -> xr.Dataset:
    """Every measure at the horizon, per (point, policy, replication) as ``ds`` has them (raw values).

    ``month`` defaults to the last month; ``measures`` to :func:`file_measures`.
    ``attrs``: month, and ``better``/``kind``/``label`` dicts by measure name.
    """
    m = resolve_month(ds, month)
    chosen = file_measures(ds) if measures is None else tuple(measures)
    out = xr.Dataset({x.name: horizon_value(ds, x, m) for x in chosen})
    out.attrs.update(month=m, better={x.name: x.better for x in chosen}, kind={x.name: x.kind for x in chosen},
                     label={x.name: x.label for x in chosen})  # fmt: skip
    return out


def display_factor(ds: xr.Dataset, m: Measure | None = None) -> float:
    """What a raw value is multiplied by for display: represents / customers (1 for shares, or without ``represents``)."""
    if m is not None and not m.scaled:
        return 1.0
    represents = ds.attrs.get("represents")
    customers = ds.attrs.get("customers")
    if represents is None or customers is None or float(customers) <= 0:
        return 1.0
    return float(represents) / float(customers)


def firm_customers(ds: xr.Dataset) -> float:
    """How many real customers the simulated initial customers stand for (``represents``, else ``customers``)."""
    return float(ds.attrs.get("represents", ds.attrs.get("customers", np.nan)))
