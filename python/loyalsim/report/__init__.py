"""The strategist's report: one offline HTML file that answers "which policy, worth how much, how sure".

>>> rep = loyalsim.report.build("results/policy-comparison.h5")     # doctest: +SKIP
>>> rep.section("decision").data["sentence"]                          # doctest: +SKIP
>>> rep.save("results/policy-comparison.report.html")                 # doctest: +SKIP
>>> rep                               # in a notebook: the report itself  # doctest: +SKIP

:func:`build` computes every number (a :class:`ReportData`, testable without
a browser); :meth:`ReportData.to_html` draws the charts and fills the
templates; :meth:`ReportData.save` writes the file safely. The sections are
the ordered registry :data:`SECTIONS`: reorder it, or add a
:class:`SectionSpec` with your own builder and template, and :func:`build`
follows it. See docs/report.md for what each section says and how each number
is computed.
"""
from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import xarray as xr

from .._io import open_results
from . import sections as _s
from .context import Context, Unavailable, make_context, source_name

__all__ = ["build", "ReportData", "Section", "SectionSpec", "SECTIONS", "Unavailable", "Context"]


@dataclass(frozen=True)
class SectionSpec:
    """One section of the report: its id (the HTML id), title, builder and template.

    ``build(ctx) -> dict`` returns the section's data or raises
    :class:`Unavailable` with the reason; ``template`` is a template file of
    the package (``sections/<id>.html.j2``) or, for sections added by users,
    Jinja2 source text that sees ``section``, ``data``, ``report`` and the
    helpers ``num``, ``est``, ``diff``, ``chart``.
    """

    id: str
    title: str
    question: str
    build: Callable[[Context], dict]
    template: str = ""
    print_break: bool = True  # start a new printed page (the decision alone is page one: the board brief)


SECTIONS: list[SectionSpec] = [
    SectionSpec("decision", "Decision", "Which policy, worth how much, how sure?", _s.decision, print_break=False),
    SectionSpec("scorecard", "Scorecard", "How do the policies compare on every measure?", _s.scorecard),
    SectionSpec("payback", "Payback", "When does it pay, and how uncertain is that over time?", _s.payback_section),
    SectionSpec("cost-benefit", "Cost and benefit", "What does the extra spend buy?", _s.cost_benefit),
    SectionSpec("bridge", "Value bridge", "Where does the difference in net value come from?", _s.bridge),
    SectionSpec("journey", "Journey", "What happens to customers after a failure?", _s.journey),
    SectionSpec("robustness", "Robustness", "Does the choice survive what we do not know?", _s.robustness_section),
    SectionSpec("credibility", "Credibility", "Does the model reproduce what is known?", _s.credibility),
    SectionSpec("assumptions", "Assumptions and method", "What was assumed, and how was it computed?",
                _s.assumptions),
]  # fmt: skip


@dataclass(frozen=True)
class Section:
    """A built section: ``state`` is "ok" or "unavailable" (then ``reason`` says why)."""

    id: str
    title: str
    question: str
    state: str
    reason: str
    data: dict
    template: str = ""
    print_break: bool = True


@dataclass(frozen=True)
class ReportData:
    """Every number and sentence of the report, before any HTML. ``meta`` is the stamp."""

    meta: dict
    sections: tuple[Section, ...]
    _extra: dict = field(default_factory=dict, compare=False, repr=False)

    def section(self, id: str) -> Section:
        for s in self.sections:
            if s.id == id:
                return s
        raise KeyError(f"no section {id!r}; the report has {', '.join(s.id for s in self.sections)}")

    def to_dict(self) -> dict:
        """Plain JSON-able data (NaN and infinities as None)."""
        return _plain({"meta": self.meta, "sections": [
            {"id": s.id, "title": s.title, "state": s.state, "reason": s.reason, "data": s.data}
            for s in self.sections]})  # fmt: skip

    def to_html(self) -> str:
        """The whole report as one HTML document (charts inline, no scripts, no external loads)."""
        from .render import render

        return render(self)

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Writes the HTML to ``path``: beside it as ``NAME.tmp``, then renamed; refuses to overwrite without force."""
        path = Path(path)
        if path.exists() and not force:
            raise FileExistsError(f"{path} already exists; use force=True (--force) to replace it")
        write_atomically(path, self.to_html().encode("utf-8"))
        return path

    def _repr_html_(self) -> str:
        """In a notebook: the report in an iframe (its own page, so its styles stay inside)."""
        return (f'<iframe srcdoc="{html.escape(self.to_html(), quote=True)}" style="width:100%;height:800px;'
                f'border:1px solid #ccc" title="loyalsim report"></iframe>')  # fmt: skip


def write_atomically(path: Path, content: bytes) -> None:
    """``path.tmp`` beside the target, flushed to disk, then renamed over it (never a half-written report)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def build(ds_or_path, *, point: int | None = None, month: int | None = None, sections=None) -> ReportData:
    """Every section's numbers for the report on a results file (a path or an opened Dataset).

    ``point``: a sweep point's design index (the report on that point; the
    robustness section still uses every point); without it a sweep is
    reported across its points. ``month``: the horizon (default T).
    ``sections``: the registry to follow (default :data:`SECTIONS`).
    """
    if isinstance(ds_or_path, xr.Dataset):
        ds, source, opened = ds_or_path, str(ds_or_path.encoding.get("source", "")), False
    else:
        ds, source, opened = open_results(ds_or_path), str(ds_or_path), True
    try:
        ctx = make_context(ds, point=point, month=month, source=source_name(source))
        built = tuple(_build_section(spec, ctx) for spec in (SECTIONS if sections is None else sections))
        return ReportData(meta=_meta(ctx), sections=built)
    finally:
        if opened:
            ds.close()


def _build_section(spec: SectionSpec, ctx: Context) -> Section:
    try:
        data, state, reason = spec.build(ctx), "ok", ""
    except Unavailable as e:
        data, state, reason = {}, "unavailable", str(e)
    return Section(spec.id, spec.title, spec.question, state, reason, data, spec.template, spec.print_break)


def _meta(ctx: Context) -> dict:
    from .. import __version__

    a = ctx.ds.attrs
    text = lambda k: None if a.get(k) is None else str(a.get(k))  # noqa: E731
    return {
        "source": ctx.source,
        "experiment": text("experiment_name") or "experiment",
        "description": text("experiment_description") or "",
        "created_utc": text("created_utc") or "",
        "engine_version": text("engine_version") or "",
        "git_commit": text("git_commit") or "",
        "experiment_sha256": text("experiment_sha256") or "",
        "format_version": text("format_version") or "",
        "model": text("model") or "",
        "model_revision": text("model_revision") or "",
        "preset": text("preset"),
        "seed": None if a.get("seed") is None else int(a["seed"]),
        "package_version": __version__,
        "policies": ctx.policies,
        "baseline": ctx.baseline,
        "replications": ctx.replications,
        "month": ctx.month,
        "months": int(ctx.ds.sizes["month"]) - 1,
        "customers": None if a.get("customers") is None else int(a["customers"]),
        "firm_customers": ctx.customers,
        "scale": ctx.factor(),
        "points": ctx.file_points,
        "point": ctx.point if ctx.is_sweep else None,
        "across_points": ctx.across_points,
        "posterior": ctx.posterior,
        "design": text("sweep_design") or "none",
        "complete": int(a.get("complete", 1)),
        "interval": ctx.interval_name,
        "unit": ctx.unit_name,
    }


def _plain(x):
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def to_json(report: ReportData) -> str:
    """The report's data as JSON text that can sit in an HTML ``<script type="application/json">`` block."""
    text = json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
