"""Running experiments with the ``loyalsim`` engine binary and opening the result."""
from __future__ import annotations

import copy
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

from . import _toml
from ._io import open_results

REPO_ROOT = Path(__file__).resolve().parents[2]  # <repo>/python/loyalsim/runner.py
_PROGRESS = re.compile(r"^progress: (\d+)/(\d+) (\S+) \((\d+)%\) elapsed (\S+) eta (\S+)\s*$")


class EngineNotFoundError(FileNotFoundError):
    """No ``loyalsim`` binary could be found."""


class RunError(RuntimeError):
    """``loyalsim run`` exited with an error; ``messages`` holds what it printed."""

    def __init__(self, message: str, returncode: int, messages: list[str]):
        super().__init__(message)
        self.returncode = returncode
        self.messages = messages


def find_engine() -> Path:
    """The engine binary: ``$LOYALSIM_BIN``, else ``<repo>/build/loyalsim``, else ``loyalsim`` on PATH.

    A ``LOYALSIM_BIN`` that does not name an executable file is an error, not
    a reason to look elsewhere.

    >>> loyalsim.find_engine()                                   # doctest: +SKIP
    PosixPath('/work/main/build/loyalsim')
    """
    env = os.environ.get("LOYALSIM_BIN")
    if env:
        path = Path(env).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise EngineNotFoundError(f"LOYALSIM_BIN={env} is not an executable file")
    built = REPO_ROOT / "build" / "loyalsim"
    if built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which("loyalsim")
    if on_path:
        return Path(on_path)
    raise EngineNotFoundError(
        "the loyalsim engine was not found: LOYALSIM_BIN is not set, "
        f"{built} does not exist (build it: cmake -S . -B build && cmake --build build), "
        "and there is no loyalsim on PATH"
    )


def apply_overrides(experiment: Mapping, overrides: Mapping) -> dict:
    """A deep copy of ``experiment`` with ``overrides`` applied.

    Keys are paths, separated by ``.`` or ``__`` (so they can be keyword
    arguments); inside ``segments`` and ``policies`` the next part is the
    entry's ``name``, as in sweep paths. A dict value is merged into an
    existing table, anything else replaces.

    >>> apply_overrides({"policies": [{"name": "fast", "compensation": 0.0}]},
    ...                 {"policies__fast__compensation": 1.5, "model.gain": 0.8})
    {'policies': [{'name': 'fast', 'compensation': 1.5}], 'model': {'gain': 0.8}}
    """
    result = copy.deepcopy(dict(experiment))
    for key, value in overrides.items():
        parts = re.split(r"\.|__", key)
        if not all(parts):
            raise KeyError(f"override {key!r}: empty part in the path")
        node, i = result, 0
        while i < len(parts) - 1:
            part, child = parts[i], node.get(parts[i])
            if isinstance(child, list):  # [[segments]] / [[policies]]: the next part is a name
                if i + 2 > len(parts) - 1:
                    raise KeyError(f"override {key!r}: names a whole {part} entry; give the key to change in it")
                named = [e for e in child if isinstance(e, Mapping) and e.get("name") == parts[i + 1]]
                if not named:
                    names = [e.get("name") for e in child if isinstance(e, Mapping)]
                    raise KeyError(f"override {key!r}: no {part} entry named {parts[i + 1]!r} (have {names})")
                node, i = named[0], i + 2
                continue
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise KeyError(f"override {key!r}: {part!r} is a value, not a table")
            node, i = child, i + 1
        last = parts[-1]
        if isinstance(value, Mapping) and isinstance(node.get(last), dict):
            node[last] = _merge(node[last], value)
        else:
            node[last] = copy.deepcopy(value)
    return result


def _merge(base: dict, extra: Mapping) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def run(
    experiment,
    output: str | os.PathLike | None = None,
    *,
    threads: int | None = None,
    force: bool = True,
    progress: bool = True,
    **overrides,
) -> xr.Dataset:
    """Runs an experiment with the engine and returns the results, opened with :func:`loyalsim.open`.

    ``experiment`` is a path to an experiment TOML file or a dict with the
    same structure (docs/experiment-format.md). ``overrides`` change it before the run,
    by path: ``replications=5``, ``population__customers=2000``,
    ``policies__fast__compensation=1.5`` or ``**{"model.gain": 0.8}``. A file
    given with overrides is re-written (the results file stores what ran).

    ``output`` is the results path; by default the experiment's
    ``[output].path`` (relative to its file's folder, or to the current
    folder for a dict), else ``results/<name>.h5``. An existing file is
    replaced unless ``force=False``. ``threads`` is passed to the engine.
    Progress is shown as a bar in a notebook and as the engine's lines in a
    terminal (``progress=False`` hides it). A failing run raises
    :class:`RunError` with the engine's messages.

    >>> ds = loyalsim.run("experiments/policy-comparison.toml", replications=5)   # doctest: +SKIP
    >>> ds = loyalsim.run({"name": "demo", "seed": 1, "policies": [{"name": "status_quo"}]},
    ...                   output="demo.h5", population__customers=2000)        # doctest: +SKIP
    """
    if isinstance(output, Mapping):
        raise TypeError("output is the results path; to change [output] in the experiment use output__path=...")
    engine = find_engine()
    with tempfile.TemporaryDirectory(prefix="loyalsim-") as tmp:
        if isinstance(experiment, Mapping):
            spec, base = apply_overrides(experiment, overrides), Path.cwd()
            toml_path = _toml.dump(spec, Path(tmp) / f"{_safe(spec.get('name'))}.toml")
        else:
            toml_path = Path(experiment).expanduser()
            if not toml_path.is_file():
                raise FileNotFoundError(f"no such experiment file: {toml_path}")
            base = toml_path.resolve().parent
            try:
                spec = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as e:
                if overrides:
                    raise ValueError(f"{toml_path}: {e}") from e
                spec = {}  # the engine reports the problem with file:line
            if overrides:
                spec = apply_overrides(spec, overrides)
                toml_path = _toml.dump(spec, Path(tmp) / toml_path.name)
        out = Path(output) if output is not None else _default_output(spec, base, toml_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(engine), "run", str(toml_path), "-o", str(out)]
        if force:
            cmd.append("--force")
        if threads is not None:
            cmd += ["--threads", str(int(threads))]
        _execute(cmd, label=str(spec.get("name") or toml_path.stem), show_progress=progress)
    return open_results(out)


def _safe(name) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name or "experiment"))


def _default_output(spec: Mapping, base: Path, toml_path: Path) -> Path:
    configured = (spec.get("output") or {}).get("path") if isinstance(spec.get("output"), Mapping) else None
    if configured:
        return base / configured
    return base / "results" / f"{_safe(spec.get('name') or toml_path.stem)}.h5"


class _Display:
    """Shows the engine's output: a live bar in a notebook, the raw lines in a terminal."""

    def __init__(self, label: str, show_progress: bool):
        self.label, self.show_progress, self.handle = label, show_progress, None
        self.notebook = _in_notebook()

    def progress(self, line: str, match: re.Match) -> None:
        if not self.show_progress:
            return
        if not self.notebook:
            sys.stderr.write(line)
            sys.stderr.flush()
            return
        from IPython.display import display

        done, total, units, pct, elapsed, eta = match.groups()
        filled = int(30 * int(pct) / 100)
        text = (f"loyalsim {self.label}: [{'█' * filled}{'░' * (30 - filled)}] {pct:>3}%  "
                f"{done}/{total} {units}  elapsed {elapsed}  eta {eta}")  # fmt: skip
        if self.handle is None:
            self.handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self.handle.update({"text/plain": text}, raw=True)

    @staticmethod
    def message(stream, line: str) -> None:
        stream.write(line)
        stream.flush()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _execute(cmd: list[str], label: str, show_progress: bool) -> None:
    """Runs the engine, streaming its output line by line from the calling thread."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1)
    lines: queue.Queue = queue.Queue()

    def pump(stream, name):
        for line in stream:
            lines.put((name, line))
        lines.put((name, None))

    for stream, name in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=pump, args=(stream, name), daemon=True).start()
    view, messages, open_streams = _Display(label, show_progress), [], 2
    try:
        while open_streams:
            name, line = lines.get()
            if line is None:
                open_streams -= 1
                continue
            match = _PROGRESS.match(line) if name == "err" else None
            if match:
                view.progress(line, match)
            else:
                if name == "err":
                    messages.append(line.rstrip("\n"))
                view.message(sys.stderr if name == "err" else sys.stdout, line)
        returncode = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if returncode != 0:
        detail = "\n".join(messages[-40:]) or "(no message)"
        raise RunError(f"loyalsim run failed (exit code {returncode}): {' '.join(cmd)}\n{detail}", returncode, messages)
