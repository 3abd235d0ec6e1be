"""nbtrack: experiment tracking that lives inside Jupyter.

Put ``%%track`` on a cell, or use the Python API in any script::

    import nbtrack as nt
    nt.set_experiment("nyc-taxi")
    with nt.start_run(params={"alpha": 0.1}) as run:
        run.log_metric("rmse", 6.3)
    nt.runs()                # every run of the experiment, as a DataFrame

Importing this module is cheap: SQLAlchemy, pandas, plotly and ipywidgets
are imported by the functions that need them, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from nbtrack.tracking import ActiveRun, Run, Tracker

__version__ = "0.1.0"

__all__ = [
    "active_run",
    "best_run",
    "compare",
    "connect",
    "end_run",
    "get_run",
    "last_run",
    "load_ipython_extension",
    "log",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext nbtrack``: register ``%%track`` and the other magics."""
    from nbtrack.magics import register

    register(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    from nbtrack.magics import unregister

    unregister(ipython)


def _tracker() -> Tracker:
    from nbtrack.tracking import default_tracker

    return default_tracker()


# -- where data goes --------------------------------------------------------------------


def connect(uri: str) -> str:
    """Use the store at ``uri`` (any SQLAlchemy URL) from now on; returns it resolved.

    >>> nbtrack.connect("sqlite:///experiments.db")  # doctest: +SKIP
    'sqlite:////home/me/project/experiments.db'
    """
    return _tracker().connect(uri)


def set_experiment(name: str) -> str:
    """Make ``name`` the current experiment, creating it if new.

    >>> nbtrack.set_experiment("nyc-taxi")  # doctest: +SKIP
    'nyc-taxi'
    """
    return _tracker().set_experiment(name)


# -- runs and logging -------------------------------------------------------------------


def start_run(
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent: ActiveRun | Run | str | None = None,
    experiment: str | None = None,
) -> ActiveRun:
    """Open a run; use it as a context manager so it ends FINISHED, FAILED or KILLED.

    Without ``parent``, a run started while another is open becomes its child.

    >>> with nbtrack.start_run(params={"max_depth": 6}) as run:  # doctest: +SKIP
    ...     run.log_metric("rmse", 6.3)
    """
    return _tracker().start_run(name, params, tags, parent, experiment)


def end_run(status: str = "FINISHED") -> None:
    """End the innermost open run (as ``mlflow.end_run``)."""
    _tracker().end_run(status)


def active_run() -> ActiveRun | None:
    """The innermost open run, or None."""
    return _tracker().active_run()


def log_param(key: str, value: Any) -> None:
    """Log a param to the open run (one is started if none is open, as in MLflow).

    >>> nbtrack.log_param("alpha", 0.1)  # doctest: +SKIP
    """
    _tracker().current_run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params to the open run: ``nbtrack.log_params({"alpha": 0.1})``."""
    _tracker().current_run().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric point to the open run; ``step`` defaults to the previous step + 1.

    >>> for epoch in range(3):  # doctest: +SKIP
    ...     nbtrack.log_metric("loss", 1 / (epoch + 1), step=epoch)
    """
    _tracker().current_run().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics at one step: ``nbtrack.log_metrics({"rmse": 6.3, "mae": 4.1})``."""
    _tracker().current_run().log_metrics(metrics, step)


def log(step: int | None = None, **metrics: float) -> None:
    """Log metrics as keyword arguments: ``nbtrack.log(step=3, loss=0.2, acc=0.91)``."""
    _tracker().current_run().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the open run: ``nbtrack.set_tag("team", "pricing")``."""
    _tracker().current_run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the open run."""
    _tracker().current_run().set_tags(tags)


# -- reading ---------------------------------------------------------------------------------


def runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame with ``mlflow.search_runs``' column names.

    ``experiment`` defaults to the current one; ``"*"`` means all experiments.
    ``filter`` uses MLflow's grammar plus ``or``, ``not`` and parentheses.

    >>> nbtrack.runs(filter="metrics.rmse < 6.5 or params.model = 'xgb'",
    ...              order_by="metrics.rmse", limit=10)  # doctest: +SKIP
    """
    return _tracker().runs(experiment, filter, order_by, limit)


def get_run(run_id: str) -> Run:
    """The run with id ``run_id``: ``nbtrack.get_run(run_id).metrics["rmse"]``."""
    return _tracker().get_run(run_id)


def last_run() -> Run | None:
    """The run this process started last, else the newest run in the store."""
    return _tracker().last_run()


def best_run(
    metric: str,
    mode: str = "min",
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
) -> Run | None:
    """The run with the best ``metric`` (``mode="min"`` or ``"max"``).

    >>> nbtrack.best_run("rmse").params  # doctest: +SKIP
    {'alpha': 0.1}
    """
    return _tracker().best_run(metric, mode, experiment, filter)


def metric_history(run_id: str, key: str | None = None) -> pd.DataFrame:
    """All points of a run's metric(s): columns ``key, step, value, timestamp``."""
    return _tracker().metric_history(run_id, key)


def compare(
    experiment: str | None = None,
    filter: str | None = None,
    runs: Sequence[str] | None = None,
    color: str | None = None,
    static: bool | None = None,
) -> Any:
    """An inline panel comparing runs: table, parallel coordinates, scatter, contour, history."""
    from nbtrack.panels import compare as _compare

    return _compare(experiment=experiment, filter=filter, runs=runs, color=color, static=static)
