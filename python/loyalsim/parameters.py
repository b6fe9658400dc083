"""The model's parameter table: every parameter an experiment file can set.

The table is declared once, in the engine (models/srp1/parameter_table.cpp);
this module asks the engine for it (``loyalsim parameters --format json``)
rather than keeping a copy, so it cannot fall out of step with the engine
that runs the experiments.
"""
from __future__ import annotations

import functools
import json
import math
import subprocess

import pandas as pd

from .runner import find_engine

COLUMNS = ("scope", "key", "kind", "default", "low", "high", "allowed", "unit", "meaning", "evidence", "sweepable")


@functools.lru_cache(maxsize=4)
def _table_json(engine: str) -> str:
    proc = subprocess.run([engine, "parameters", "--format", "json"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} parameters failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _number(v):
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return v


def parameters(engine=None) -> pd.DataFrame:
    """Every parameter of the model, one row per path (``model.gain``, ``segments.NAME.share``).

    Columns: ``scope`` (run, population, model, wom, segments, policies), ``key``,
    ``kind`` (real, integer, even_integer, choice), ``default`` (from the
    engine's structs; a string for choices; NaN where it is derived, see
    ``default_note``), ``low``/``high`` (the allowed interval; ``allowed``
    says it in words, with open ends), ``unit``, ``meaning``, ``evidence``
    (ids of the facts in docs/facts.md, or a source), ``sweepable`` (may a
    sweep or a calibration set it).

    >>> table = loyalsim.parameters()                       # doctest: +SKIP
    >>> table.loc["model.gain", ["default", "allowed", "meaning"]]   # doctest: +SKIP
    >>> table[table.scope == "policies"].index              # doctest: +SKIP
    """
    rows = json.loads(_table_json(str(engine or find_engine())))
    frame = pd.DataFrame(
        [
            {
                "path": r["path"],
                **{c: r[c] for c in COLUMNS if c not in ("low", "high", "default")},
                "default": math.nan if r["default_note"] else r["default"],
                "default_note": r["default_note"],
                "low": _number(r["low"]),
                "high": _number(r["high"]),
                "choices": tuple(r["choices"]),
            }
            for r in rows
        ]
    ).set_index("path")
    return frame[[*COLUMNS, "default_note", "choices"]]
