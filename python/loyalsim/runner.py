"""Running experiments with the ``loyalsim`` engine binary and opening the result."""
from __future__ import annotations

import copy
import numbers
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
    """``loyalsim run`` exited with an error; ``messages`` holds every line it printed on stderr."""

    def __init__(self, message: str, returncode: int, messages: list[str], detail: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.messages = messages
        self.detail = detail  # the message after its first line: the lines not already shown


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
    terminal; ``progress=False`` shows nothing from the engine unless it fails.

    A failing run raises :class:`RunError` with the engine's messages, shown
    once (in the exception, not also as they came). For a dict they name the
    dict's keys as the engine names keys (``policies.fast.response_days``, or
    ``policies[1].response_days`` for an entry without a name), not the
    temporary file the dict was written to; a ``None`` value is refused
    before the engine starts (``ValueError``), with the key's full path.

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
            check_experiment_values(spec)
            toml_path = _toml.dump(spec, Path(tmp) / f"{_safe(spec.get('name'))}.toml")
            source = f"the experiment dict {str(spec.get('name') or '')!r}"
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
            source = None  # the file itself: its own file:line messages are right
            if overrides:
                spec = apply_overrides(spec, overrides)
                check_experiment_values(spec)
                source = f"{experiment} with overrides"
                toml_path = _toml.dump(spec, Path(tmp) / toml_path.name)
        out = Path(output) if output is not None else _default_output(spec, base, toml_path)
        cmd = [str(engine), "run", str(toml_path), "-o", str(out)]
        if force:
            cmd.append("--force")
        if threads is not None:
            cmd += ["--threads", str(int(threads))]
        rewrite = _Rewrite(toml_path, source)
        try:
            _execute(cmd, label=str(spec.get("name") or toml_path.stem), show_progress=progress, rewrite=rewrite)
        except RunError as e:
            if source is None:
                raise
            raise RunError(f"loyalsim run of {source} failed (exit code {e.returncode}){e.detail}",
                           e.returncode, e.messages) from None
    return open_results(out)


def check_experiment_values(spec: Mapping) -> None:
    """Refuses values an experiment file cannot hold (``None``, objects), naming the key as the engine does.

    Keys are dotted; an entry of an array of tables (``[[policies]]``) is named
    by its ``name`` like in the engine's messages, sweep paths and overrides
    (``policies.fast.response_days``), or by its position when it has no name
    (``policies[1].response_days``); keys that are not bare are quoted
    (``sweep.parameters."model.gain"``).

    >>> check_experiment_values({"policies": [{"name": "fast", "response_days": None}]})
    Traceback (most recent call last):
    ...
    ValueError: policies.fast.response_days: None is not a value (TOML has no null); leave the key out to get its default
    """
    for where, value in _leaves(spec, ""):
        if value is None:
            raise ValueError(f"{where}: None is not a value (TOML has no null); leave the key out to get its default")
        if not isinstance(value, (str, bool, numbers.Real, os.PathLike, _toml._numpy_bool())):
            raise TypeError(f"{where}: {type(value).__name__} cannot be written to an experiment file "
                            "(use numbers, strings, booleans, lists and dicts)")  # fmt: skip


def _leaves(node, where: str):
    """(path, value) of every non-container value below ``node``."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            name = str(key) if re.fullmatch(r"[A-Za-z0-9_-]+", str(key)) else f'"{key}"'
            yield from _leaves(value, f"{where}.{name}" if where else name)
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            named = isinstance(item, Mapping) and isinstance(item.get("name"), str) and item["name"]
            yield from _leaves(item, f"{where}.{item['name']}" if named else f"{where}[{i}]")
    else:
        yield where, node


class _Rewrite:
    """The engine's lines with the temporary TOML file out of sight.

    ``TMP.toml:12: policies.fast.response_days: …`` becomes
    ``policies.fast.response_days: …`` (the line is of a file the user never
    saw; the key is what to fix), and other mentions of the file become
    ``source``. With ``source`` None (a file run as is) lines pass unchanged.
    """

    def __init__(self, toml_path: Path, source: str | None):
        self.path, self.source = str(toml_path), source

    def __call__(self, line: str) -> str:
        if self.source is None:
            return line
        located = re.match(re.escape(self.path) + r":\d+: (.*)", line, flags=re.S)
        if located:
            return located.group(1)
        return line.replace(self.path, self.source)


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


def _execute(cmd: list[str], label: str, show_progress: bool, rewrite=lambda line: line) -> None:
    """Runs the engine, streaming its output line by line from the calling thread.

    Progress lines drive the display. Other stderr lines (the plan, then any
    error) are held until the run is under way (a progress line comes) or has
    succeeded, and then shown; the lines held when the run fails are not
    shown but make up the RunError's message, so that nothing is printed
    twice. Without ``show_progress`` nothing is shown at all.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1)
    lines: queue.Queue = queue.Queue()

    def pump(stream, name):
        for line in stream:
            lines.put((name, line))
        lines.put((name, None))

    for stream, name in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=pump, args=(stream, name), daemon=True).start()
    view, messages, held, open_streams = _Display(label, show_progress), [], [], 2

    def show_held():
        if show_progress:
            for line in held:
                view.message(sys.stderr, line)
        held.clear()

    try:
        while open_streams:
            name, line = lines.get()
            if line is None:
                open_streams -= 1
                continue
            match = _PROGRESS.match(line) if name == "err" else None
            if match:
                show_held()
                view.progress(line, match)
            elif name == "err":
                line = rewrite(line)
                messages.append(line.rstrip("\n"))
                held.append(line)
            elif show_progress:  # the table: the run has succeeded, so what was held comes first
                show_held()
                view.message(sys.stdout, line)
        returncode = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if returncode == 0:
        show_held()
        return
    unseen = [line.rstrip("\n") for line in held][-40:]
    detail = ":\n" + "\n".join(unseen) if unseen else " (its messages are above)"
    raise RunError(f"loyalsim run failed (exit code {returncode}): {' '.join(cmd)}{detail}", returncode, messages, detail)
