"""The HTML itself, without a browser: one self-contained file, every section there, numbers as data, deterministic."""
import hashlib
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import h5py
import pytest
from conftest import REPO
from report_support import close, horizon, open_raw, summary
from reportfiles import write_results

from loyalsim import report

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'"
IDS = [s.id for s in report.SECTIONS]


class Page(HTMLParser):
    """Everything the checks need from one parse: tags with attributes, sections, numbers, text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.sections, self.numbers, self.stack = [], {}, [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.sections[a.get("id")] = a.get("data-state")
        if "data-stat" in a and "data-value" in a:
            self.numbers.append((self._section(), a))
        if tag not in ("meta", "br", "link", "img", "input", "path", "use", "rect", "line", "circle", "stop"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def _section(self):
        for t, a in reversed(self.stack):
            if t == "section":
                return a.get("id")
        return None


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("report-html")
    paths = {
        "plain": write_results(d / "plain.h5"),
        "v11": write_results(d / "v11.h5", version="1.1", represents=20_000),
        "sweep": write_results(d / "sweep.h5", points=12, replications=4,
                               sweep={"model.gain": [0.2 + 0.05 * i for i in range(12)]}),
        "posterior": write_results(d / "posterior.h5", version="1.1", points=12, replications=4,
                                   sweep={"model.gain": [0.2 + 0.05 * i for i in range(12)]}, design="posterior"),
        "nofacts": write_results(d / "nofacts.h5", drop=("fact_count", "fact_retained")),
    }  # fmt: skip
    return {k: (p, report.build(p).to_html()) for k, p in paths.items()}


EXPECTED_STATES = {
    "plain": {i: "ok" for i in IDS} | {"robustness": "unavailable"},
    "v11": {i: "ok" for i in IDS} | {"robustness": "unavailable"},
    "sweep": {i: "ok" for i in IDS},
    "posterior": {i: "ok" for i in IDS},
    "nofacts": {i: "ok" for i in IDS} | {"robustness": "unavailable"},
}


@pytest.mark.parametrize("name", list(EXPECTED_STATES))
def test_one_self_contained_file(pages, name):
    _, text = pages[name]
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    page = Page(text)
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in metas] == [CSP]
    assert not re.search(r"https?://", text), "an absolute URL in the report"
    assert "@import" not in text
    assert re.findall(r"url\(\s*([^)]*)\)", text) and all(u.startswith("#") for u in re.findall(r"url\(\s*([^)]*)\)", text))
    for tag, a in page.tags:
        for attr in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            v = a.get(attr)
            if v is not None:
                assert v.startswith("#"), f"<{tag} {attr}={v!r}>: only in-page references are allowed"
    scripts = [a for t, a in page.tags if t == "script"]
    assert scripts == [{"type": "application/json", "id": "loyalsim-report-data"}]
    assert not [t for t, a in page.tags if t in ("link", "img", "iframe", "object", "embed")]


@pytest.mark.parametrize("name", list(EXPECTED_STATES))
def test_every_section_is_there_with_its_state(pages, name):
    page = Page(pages[name][1])
    assert page.sections == EXPECTED_STATES[name]
    assert sum(t == "h1" for t, _ in page.tags) == 1
    assert sum(t == "h2" for t, _ in page.tags) == len(IDS)
    svgs = [a for t, a in page.tags if t == "svg"]
    assert svgs and all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs)
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids across the inlined charts"
    assert sum(t == "figure" for t, _ in page.tags) == sum(t == "figcaption" for t, _ in page.tags) == len(svgs)
    assert all(a.get("scope") in ("col", "row") for t, a in page.tags if t == "th")


def test_unavailable_sections_say_why(pages):
    text = pages["plain"][1]
    block = text[text.index('<section id="robustness"'):]
    block = block[: block.index("</section>")]
    assert 'data-state="unavailable"' in block and "no sweep: this file holds one point" in block
    text = pages["nofacts"][1]
    assert "the file has no fact cohorts (fact_count, fact_retained)" in text


@pytest.mark.parametrize("name", ["plain", "v11", "sweep"])
def test_numbers_in_the_page_equal_an_independent_recomputation(pages, name):
    path, text = pages[name]
    page = Page(text)
    across = name == "sweep"
    checked = 0
    with open_raw(path) as raw:
        month = int(raw["month"].values[-1])
        policies = [str(p) for p in raw["policy"].values]
        cache = {}
        for section, a in page.numbers:
            if "data-metric" not in a:
                continue
            metric, policy, stat = a["data-metric"], a["data-policy"], a["data-stat"]
            if section != "scorecard" and not (section == "decision" and metric == "net_value"):
                continue
            if stat.startswith("p_"):
                continue
            if metric not in cache:
                v = horizon(raw, metric, month)
                v = v if across else v[:1]
                cache[metric] = (summary(v, across), summary(v - v[:, :1], across))
            level, diff = cache[metric]
            which = diff if stat.startswith("diff_") else level
            k = {"mean": 0, "ci_low": 1, "ci_high": 2}[stat.removeprefix("diff_")]
            want = which[k][policies.index(policy)]
            got = float(a["data-value"])
            assert close(got, want), (metric, policy, stat, got, want)
            checked += 1
    assert checked >= 6 * len(policies) * 9  # every measure's six statistics for every policy


def test_the_embedded_data_is_the_report_data(pages):
    path, text = pages["plain"]
    body = text[text.index('id="loyalsim-report-data">') + len('id="loyalsim-report-data">'):]
    data = json.loads(body[: body.index("</script>")])
    assert data == report.build(path).to_dict()
    assert [s["id"] for s in data["sections"]] == IDS


@pytest.mark.parametrize("name", ["plain", "posterior"])
def test_two_renders_are_byte_identical(pages, name):
    path, text = pages[name]
    again = report.build(path).to_html()
    assert hashlib.sha256(again.encode()).hexdigest() == hashlib.sha256(text.encode()).hexdigest()


def test_the_rounding_follows_the_interval(pages):
    """1.26 M ± 10,000 is shown to 10,000; the exact value stays in data-value."""
    page = Page(pages["plain"][1])
    for section, a in page.numbers:
        if a["data-stat"] == "mean" and section == "scorecard" and a["data-metric"] == "net_value":
            assert re.fullmatch(r"-?[0-9.e+-]+", a["data-value"])


# ------------------------------------------------------------------ the command line


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "loyalsim", "report", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin",
                                                   "MPLBACKEND": "Agg", "HOME": str(cwd or "/tmp")})  # fmt: skip


def test_cli_writes_beside_the_results_and_refuses_to_overwrite(tmp_path):
    results = write_results(tmp_path / "run.h5")
    proc = cli(results)
    out = tmp_path / "run.report.html"
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and f"report: {out}" in proc.stdout
    assert not list(tmp_path.glob("*.tmp"))
    first = out.read_bytes()
    proc = cli(results)
    assert proc.returncode == 1 and "already exists; nothing was written" in proc.stderr and "--force" in proc.stderr
    assert cli(results, "--force").returncode == 0
    assert out.read_bytes() == first  # the same file gives the same bytes


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, results_path):
    proc = cli(tmp_path / "missing.h5")
    assert proc.returncode == 2 and "missing.h5: no such results file" in proc.stderr
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    proc = cli(text)
    assert proc.returncode == 2 and "is not an HDF5 file" in proc.stderr
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "something-else"
    proc = cli(foreign)
    assert proc.returncode == 2 and "is not a loyalsim results file" in proc.stderr
    future = tmp_path / "future.h5"
    write_results(future)
    with h5py.File(future, "a") as f:
        f.attrs["format_version"] = "2.0"
    proc = cli(future)
    assert proc.returncode == 2 and "version 2.0" in proc.stderr and "1.x only" in proc.stderr
    sweep = write_results(tmp_path / "sweep.h5", points=3, replications=2, sweep={"model.gain": [0.2, 0.5, 0.8]})
    proc = cli(sweep, "--point", 7)
    assert proc.returncode == 2 and "--point 7: point 7 does not exist: this file has points 0 … 2" in proc.stderr
    proc = cli(results_path, "--point", "x")
    assert proc.returncode == 2 and "invalid int value" in proc.stderr
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("*.tmp"))


def test_cli_pdf_without_chromium_is_an_environment_failure(tmp_path):
    results = write_results(tmp_path / "run.h5")
    env = {"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
           "LOYALSIM_CHROMIUM": "no-such-browser", "HOME": str(tmp_path)}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "loyalsim", "report", str(results), "--pdf", str(tmp_path / "r.pdf")],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert proc.returncode == 1 and "--pdf needs Chromium" in proc.stderr
    assert not (tmp_path / "run.report.html").exists()


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    rep = report.build(write_results(tmp_path / "run.h5"))
    out = rep.save(tmp_path / "r.html")
    with pytest.raises(FileExistsError, match="already exists"):
        rep.save(out)  # refused before anything is rendered or written
    assert not list(tmp_path.glob("*.tmp"))
    frame = rep._repr_html_()  # a notebook shows the page in its own document
    assert frame.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;") and html.unescape(frame).count("<section ") == 9
