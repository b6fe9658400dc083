"""loyalsim: customer loyalty under service failures and recoveries, from Python.

The C++ engine (``loyalsim run``) writes one HDF5 results file per
experiment; this package opens it as an xarray Dataset and turns it into the
tables and charts a strategist needs.

>>> import loyalsim
>>> ds = loyalsim.run("experiments/policy-comparison.toml", replications=10)  # doctest: +SKIP
>>> ds = loyalsim.open("results/policy-comparison.h5")                       # doctest: +SKIP
>>> loyalsim.policy_table(ds)               # one row per policy, CIs, paired contrasts  # doctest: +SKIP
>>> loyalsim.facts(ds)                      # loyalty index by class × band vs the targets  # doctest: +SKIP
>>> loyalsim.plot_retention(ds)             # matplotlib Figure                          # doctest: +SKIP
>>> sweep = loyalsim.open("results/recovery-levers.h5", partial=True)                 # doctest: +SKIP
>>> loyalsim.plot_tornado(loyalsim.sensitivity(sweep, contrast=True))  # which levers matter  # doctest: +SKIP
>>> loyalsim.posterior_decision(loyalsim.open("results/posterior.h5"))  # under a calibration  # doctest: +SKIP
>>> loyalsim.report.build(ds).save("report.html")   # the strategist's report, one HTML file  # doctest: +SKIP

See docs/python.md for the guide, docs/model.md for the model and
docs/facts.md for the facts and targets it is checked against.
"""

__version__ = "0.1.0"

from ._io import FORMAT, SUPPORTED_MAJOR, FormatError, PartialResultsWarning
from ._io import open_results as open  # noqa: A001 - loyalsim.open(path) is the intended spelling
from ._toml import dump as write_toml
from ._format import table_row as format_row
from .calibration import (
    CALIBRATION_FORMAT,
    calibrate,
    calibration_summary,
    open_calibration,
    plot_generations,
    plot_posterior,
    plot_predictive,
)
from .decision import payback, verdicts
from .facts import fact_checks, facts, quintile_retention
from .measures import file_measures
from .parameters import parameters
from .plots import (
    plot_contrasts,
    plot_facts,
    plot_indices_over_time,
    plot_net_value,
    plot_payback,
    plot_retention,
    plot_tornado,
)
from .posterior import posterior_decision
from .robustness import robustness, winner_by_parameter
from .runner import EngineNotFoundError, RunError, apply_overrides, find_engine, run
from .sensitivity import SampleSizeWarning, sensitivity
from .tables import METRICS, policy_table, replication_outcomes

from . import report  # noqa: E402  (after the modules it uses)

__all__ = [
    "open",
    "open_calibration",
    "calibrate",
    "calibration_summary",
    "plot_posterior",
    "plot_generations",
    "plot_predictive",
    "CALIBRATION_FORMAT",
    "run",
    "find_engine",
    "policy_table",
    "replication_outcomes",
    "facts",
    "fact_checks",
    "quintile_retention",
    "parameters",
    "plot_retention",
    "plot_net_value",
    "plot_payback",
    "plot_contrasts",
    "plot_facts",
    "sensitivity",
    "payback",
    "verdicts",
    "robustness",
    "winner_by_parameter",
    "posterior_decision",
    "file_measures",
    "report",
    "plot_tornado",
    "plot_indices_over_time",
    "apply_overrides",
    "format_row",
    "write_toml",
    "METRICS",
    "FORMAT",
    "SUPPORTED_MAJOR",
    "FormatError",
    "PartialResultsWarning",
    "SampleSizeWarning",
    "EngineNotFoundError",
    "RunError",
    "__version__",
]
