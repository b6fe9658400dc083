"""``loyalsim report RESULTS.h5 [-o REPORT.html] [--pdf REPORT.pdf] [--point K] [--force]``.

Exit codes, as the engine's: 0 done; 2 bad input (a missing file, not a
results file, an unknown major format version, a point the file does not
have), with a message saying what is wrong; 1 an environment failure (an
output that exists without --force, an unwritable folder, no Chromium for
--pdf). Nothing is written unless the whole report could be made; each file
is written beside its target as NAME.tmp and renamed into place.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXIT_FAILURE, EXIT_BAD_INPUT = 1, 2
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit code is 2 too; say it in the engine's words
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"loyalsim report: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="loyalsim report", description="Write the strategist's report of a results file: one "
                "self-contained HTML file (and optionally a PDF) answering which policy, worth how much, how sure.")
    p.add_argument("results", help="results file (HDF5) written by loyalsim run")
    p.add_argument("-o", "--output", help="the HTML report (default: RESULTS.report.html beside the results file)")
    p.add_argument("--pdf", help="also print the report to this PDF (needs Chromium)")
    p.add_argument("--point", type=int, help="report one sweep point (its design index) instead of across points")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    return p


def default_output(results: Path) -> Path:
    name = results.name[: -len(".h5")] if results.name.endswith(".h5") else results.name
    return results.with_name(name + ".report.html")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    results = Path(args.results)
    html_path = Path(args.output) if args.output else default_output(results)
    pdf_path = Path(args.pdf) if args.pdf else None
    for target in (html_path, pdf_path):
        if target is not None and target.exists() and not args.force:
            return _fail(EXIT_FAILURE, f"{target} already exists; nothing was written.\n"
                         f"  Use --force to replace it, or -o/--pdf to write elsewhere.")  # fmt: skip
    chromium = None
    if pdf_path is not None:
        chromium = find_chromium()
        if chromium is None:
            return _fail(EXIT_FAILURE, "--pdf needs Chromium (Debian: apt-get install chromium); none was found "
                         "on PATH or as $LOYALSIM_CHROMIUM; nothing was written")  # fmt: skip
    started = time.perf_counter()
    try:
        report = _build(results, args.point)
    except _BadInput as e:
        return _fail(EXIT_BAD_INPUT, str(e))
    try:
        from . import write_atomically

        write_atomically(html_path, report.to_html().encode("utf-8"))
        if pdf_path is not None:
            print_pdf(chromium, html_path, pdf_path)
    except OSError as e:
        return _fail(EXIT_FAILURE, f"cannot write the report: {e}")
    except subprocess.SubprocessError as e:
        return _fail(EXIT_FAILURE, f"Chromium could not print the PDF: {e}")
    took = time.perf_counter() - started
    size = html_path.stat().st_size
    print(f"report: {html_path} ({size / 1024:,.0f} KiB, {took:.1f} s)" + (f"\npdf: {pdf_path}" if pdf_path else ""))
    return 0


class _BadInput(Exception):
    pass


def _build(results: Path, point):
    from .. import FormatError
    from . import build

    if not results.exists():
        raise _BadInput(f"{results}: no such results file")
    try:
        return build(results, point=point)
    except (FormatError, IsADirectoryError, FileNotFoundError) as e:
        raise _BadInput(str(e)) from e
    except (IndexError, ValueError) as e:
        if point is not None and "point" in str(e):
            raise _BadInput(f"--point {point}: {e}") from e
        raise


def find_chromium() -> str | None:
    env = os.environ.get("LOYALSIM_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(chromium: str, html_path: Path, pdf_path: Path, timeout: float = 120.0) -> None:
    """Headless Chromium prints the HTML (its print styles: page one is the board brief) to pdf_path.tmp, renamed."""
    tmp = pdf_path.with_name(pdf_path.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="loyalsim-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
                raise subprocess.SubprocessError(f"exit code {proc.returncode}: {proc.stderr.strip()[-500:]}")
            os.replace(tmp, pdf_path)
        finally:
            tmp.unlink(missing_ok=True)


def _fail(code: int, message: str) -> int:
    print(f"loyalsim report: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
