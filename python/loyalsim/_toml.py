"""A small TOML 1.0 writer for experiment files (Python's ``tomllib`` only reads).

Layout rules, chosen so that generated experiments look like hand-written ones:

- a dict at the top level becomes a ``[table]``;
- a list of dicts becomes an array of tables (``[[policies]]``);
- a dict nested inside a table whose values are all scalars becomes an
  inline table (``cause_share = { product = 0.4, ... }``); any other nested
  dict becomes a ``[parent.child]`` table;
- keys that are not bare (``"model.gain"``) are quoted.

Supported values: str, bool, int (64-bit signed), float (incl. nan/inf),
os.PathLike (written as a string), numpy scalars, lists/tuples, dicts.
``None`` and anything else raise ``TypeError``: TOML has no null.

>>> print(dumps({"name": "demo", "model": {"cause_share": {"product": 0.5, "staff": 0.5}}}))
name = "demo"
<BLANKLINE>
[model]
cause_share = { product = 0.5, staff = 0.5 }
<BLANKLINE>
"""
from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["dumps", "dump"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_INT64 = (-(2**63), 2**63 - 1)


def dumps(data: Mapping) -> str:
    """The TOML text of a mapping (the document's root table)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a TOML document is a mapping, not {type(data).__name__}")
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def dump(data: Mapping, path: str | os.PathLike) -> Path:
    """Writes ``dumps(data)`` to ``path`` (UTF-8) and returns the path."""
    path = Path(path)
    path.write_text(dumps(data), encoding="utf-8")
    return path


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k, where: tuple) -> str:
    if not isinstance(k, str):
        raise TypeError(f"{_where(where)}: TOML keys are strings, not {type(k).__name__} ({k!r})")
    return k if _BARE_KEY.match(k) else _string(k)


def _where(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "<root>"


def _is_table(v) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_table(x) for x in v)


def _is_scalar(v) -> bool:
    return not (_is_table(v) or isinstance(v, (list, tuple)))


def _value(v, where: tuple) -> str:
    """Inline rendering of any value (scalars, arrays, inline tables)."""
    if isinstance(v, (bool, _numpy_bool())):
        return "true" if v else "false"
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, os.PathLike):
        return _string(os.fspath(v))
    if isinstance(v, numbers.Integral):
        i = int(v)
        if not _INT64[0] <= i <= _INT64[1]:
            raise ValueError(f"{_where(where)}: {i} does not fit a TOML integer (64-bit signed)")
        return str(i)
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)  # shortest round-trip form: '0.1', '1e-05', '1e+16' are all valid TOML
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, where + (i,)) for i, x in enumerate(v)) + "]"
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k, where)} = {_value(x, where + (k,))}" for k, x in v.items()) + " }"
    if v is None:
        raise TypeError(f"{_where(where)}: TOML has no null; leave the key out to get its default")
    raise TypeError(f"{_where(where)}: cannot write {type(v).__name__} to TOML")


def _numpy_bool():
    try:
        import numpy

        return numpy.bool_
    except ImportError:  # pragma: no cover
        return bool


def _table(table: Mapping, path: tuple, lines: list[str]) -> None:
    """Writes the key/values of ``table`` then its sub-tables (TOML needs that order)."""
    nested = len(path) > 0
    sub_tables, table_arrays = [], []
    for k, v in table.items():
        _key(k, path)  # validate early
        if _is_table(v) and not (nested and all(_is_scalar(x) for x in v.values()) and v):
            sub_tables.append((k, v))
        elif _is_table_array(v):
            table_arrays.append((k, v))
        else:
            lines.append(f"{_key(k, path)} = {_value(v, path + (k,))}")
    for k, v in sub_tables:
        header = ".".join(_key(p, path) for p in path + (k,))
        lines += ["", f"[{header}]"]
        _table(v, path + (k,), lines)
    for k, items in table_arrays:
        header = ".".join(_key(p, path) for p in path + (k,))
        for i, item in enumerate(items):
            lines += ["", f"[[{header}]]"]
            _table(item, path + (k,), lines)
