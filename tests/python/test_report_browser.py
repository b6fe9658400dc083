"""The report in a real headless Chromium: no console errors, no network, every section drawn, not blank, printable.

Needs Debian's chromium, chromium-driver and python3-selenium (scripts/install-deps).
Skipped when they are missing, unless the environment variable CI is set: in CI a
missing browser is a failure, so these checks cannot silently stop running.
Screenshots are kept in $LOYALSIM_ARTIFACTS (when set) for a person to look at.
"""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import POLICIES, REPO
from reportfiles import write_results

from loyalsim import report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--proxy-server=127.0.0.1:9"]  # fmt: skip  # belt and braces: any request that escaped would fail
IDS = [s.id for s in report.SECTIONS]


def _require_browser():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", DRIVER)) if not os.path.exists(path)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        message = f"the browser tests need {', '.join(missing)} (scripts/install-deps installs them)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set: {message}")
        pytest.skip(message)


@pytest.fixture(scope="module")
def driver():
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="loyalsim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def pages(results_path, tmp_path_factory):
    """Reports of a real run, a sweep, a posterior sweep and a file without fact cohorts, as HTML files."""
    d = tmp_path_factory.mktemp("report-browser")
    gains = [0.2 + 0.06 * i for i in range(10)]
    files = {
        "plain": results_path,
        "sweep": write_results(d / "sweep.h5", points=10, replications=4, sweep={"model.gain": gains}),
        "posterior": write_results(d / "posterior.h5", version="1.1", points=10, replications=4,
                                   sweep={"model.gain": gains}, design="posterior"),
        "nofacts": write_results(d / "nofacts.h5", drop=("fact_count", "fact_retained")),
    }  # fmt: skip
    out = {}
    for name, path in files.items():
        html = d / f"{name}.html"
        if name == "nofacts":  # through the command line, with the PDF (test_pdf_first_page_holds_the_verdict)
            out["cli"] = _cli(path, html, d / "nofacts.pdf", d)
        else:
            report.build(path).save(html)
        out[name] = html
    out["nofacts.h5"] = files["nofacts"]
    return out


def _cli(results, html, pdf, home):
    env = {"PYTHONPATH": str(REPO / "python"), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "MPLBACKEND": "Agg", "HOME": str(home)}  # fmt: skip
    if not (os.path.exists(CHROMIUM) and shutil.which("pdftotext")):
        return None
    return subprocess.run([sys.executable, "-m", "loyalsim", "report", str(results), "-o", str(html), "--pdf",
                           str(pdf)], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip


EXPECTED = {
    "plain": {i: "ok" for i in IDS} | {"robustness": "unavailable"},
    "sweep": {i: "ok" for i in IDS},
    "posterior": {i: "ok" for i in IDS},
    "nofacts": {i: "ok" for i in IDS} | {"robustness": "unavailable"},
}


def _load(driver, path: Path, width: int = 1280):
    driver.get_log("browser")  # drain what earlier pages logged
    driver.get_log("performance")
    driver.set_window_size(width, 1000)
    driver.get(path.resolve().as_uri())
    return driver.get_log("browser"), driver.get_log("performance")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_no_console_output_and_no_network(driver, pages, name):
    console, performance = _load(driver, pages[name])
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    urls = []
    for entry in performance:
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    assert urls, "the performance log saw no request at all: the check itself is broken"
    assert [u for u in urls if not (u.startswith("file:") or u.startswith("data:"))] == []
    assert driver.execute_script("return document.scripts.length") == 1  # the JSON data block, not code


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_section_is_drawn(driver, pages, name):
    from selenium.webdriver.common.by import By

    _load(driver, pages[name])
    states = {}
    for sid in IDS:
        el = driver.find_element(By.ID, sid)
        assert el.is_displayed() and el.size["width"] > 0 and el.size["height"] > 0, sid
        states[sid] = el.get_attribute("data-state")
        if states[sid] == "ok":
            # The layout box as the page draws it (WebDriver's element size does not see a hidden SVG).
            charts = driver.execute_script(
                "return Array.from(arguments[0].querySelectorAll('svg.chart')).map(s => {"
                " const r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('path').length,"
                " getComputedStyle(s).visibility]; })", el)  # fmt: skip
            for width, height, paths, visibility in charts:
                assert width > 100 and height > 50 and visibility == "visible", f"{sid}: a chart not drawn"
                assert paths >= 5, f"{sid}: a chart with {paths} paths"
            if sid not in ("scorecard", "assumptions") and not (sid == "credibility" and name == "nofacts"):
                assert charts, f"{sid}: no chart"
    assert states == EXPECTED[name]
    policies = driver.execute_script(
        "return Array.from(document.querySelectorAll('#scorecard-value tbody tr')).map(r => r.dataset.policy)")
    assert len(policies) >= 2 and len(set(policies)) == len(policies)
    for sid in ("payback", "bridge", "cost-benefit"):
        text = driver.execute_script(f"return document.querySelector('#{sid} svg').textContent")
        assert all(p in text for p in policies[1:]), f"{sid}: a policy's name is missing from its chart"
    sentence = driver.find_element(By.ID, "verdict-sentence").text
    assert sentence.startswith(("Adopt ", "Keep ")) and len(sentence) > 60


def _screenshot(driver, width: int) -> bytes:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})  # fmt: skip
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return base64.b64decode(shot["data"])


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_at_desktop_and_phone_width_are_not_blank(driver, pages, width):
    from PIL import Image, ImageStat

    _load(driver, pages["plain"], width)
    overflow = driver.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= width + 2, f"the page is {overflow} px wide at {width} px: wide tables must scroll inside"
    png = _screenshot(driver, width)
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size[0] == width and 3000 < image.size[1] < 40_000
    for top in range(0, image.size[1] - 1000, 1000):  # every screenful has something on it
        band = image.crop((0, top, width, top + 1000))
        assert ImageStat.Stat(band).stddev[0] > 8, f"a blank stretch at {top} px"
    keep = os.environ.get("LOYALSIM_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / f"report-{width}.png").write_bytes(png)


def test_pdf_first_page_holds_the_verdict(pages):
    """``loyalsim report … --pdf`` (run by the pages fixture): page one is the board brief."""
    _require_browser()
    proc = pages["cli"]
    if proc is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set: the PDF test needs pdftotext (poppler-utils)")
        pytest.skip("the PDF test needs pdftotext (poppler-utils)")
    assert proc.returncode == 0, proc.stderr
    pdf = pages["nofacts"].with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and not list(pdf.parent.glob("*.tmp"))
    first = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    words = " ".join(first.split())
    sentence = report.build(pages["nofacts.h5"]).section("decision").data["sentence"]
    assert " ".join(sentence.split()) in words
    assert all(p in words for p in ("better", "worse", "undecided"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 3 <= count <= 20


def test_the_real_run_names_its_policies(driver, pages):
    """The plain report is of the engine's tiny run: every policy of it appears in the scorecard."""
    _load(driver, pages["plain"])
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#scorecard-value tbody tr')).map(r => r.dataset.policy)")
    assert rows == POLICIES
