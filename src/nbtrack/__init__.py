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

    from nbtrack.registry import VersionRow
    from nbtrack.tracking import ActiveRun, Run, Tracker
    from nbtrack.tracking.artifacts import ArtifactInfo

__version__ = "0.1.0"

__all__ = [
    "active_run",
    "autolog",
    "best_run",
    "compare",
    "connect",
    "download_artifact",
    "end_run",
    "get_run",
    "importance",
    "last_run",
    "load_ipython_extension",
    "load_model",
    "log",
    "log_artifact",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "metric_history",
    "model_versions",
    "models",
    "register_model",
    "runs",
    "set_alias",
    "set_experiment",
    "set_model_description",
    "set_model_tag",
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


# -- artifacts, models and the registry ------------------------------------------------------


def log_artifact(path: str, name: str | None = None) -> ArtifactInfo:
    """Store a file or folder as an artifact of the open run (content-addressed).

    >>> nbtrack.log_artifact("outputs/predictions.csv")  # doctest: +SKIP
    """
    return _tracker().current_run().log_artifact(path, name)


def log_figure(figure: Any, name: str) -> ArtifactInfo:
    """Store a plotly (``.html``, ``.json``) or matplotlib (``.png``, ``.svg``…) figure.

    >>> nbtrack.log_figure(fig, "residuals.html")  # doctest: +SKIP
    """
    return _tracker().current_run().log_figure(figure, name)


def log_text(text: str, name: str) -> ArtifactInfo:
    """Store text as an artifact: ``nbtrack.log_text(report, "report.md")``."""
    return _tracker().current_run().log_text(text, name)


def log_dict(value: Mapping[str, Any], name: str) -> ArtifactInfo:
    """Store a dict as JSON (YAML for ``.yaml``): ``nbtrack.log_dict(cfg, "config.json")``."""
    return _tracker().current_run().log_dict(value, name)


def log_model(
    model: Any, name: str = "model", input_columns: list[str] | None = None
) -> ArtifactInfo:
    """Store a model in the open run (XGBoost as its JSON, others with joblib/pickle).

    >>> nbtrack.log_model(fitted, "model")  # doctest: +SKIP
    """
    return _tracker().current_run().log_model(model, name, input_columns)


def download_artifact(run: ActiveRun | Run | str, name: str, dest: str | None = None) -> str:
    """Write artifact ``name`` of ``run`` under folder ``dest`` (default: a new temp folder).

    Returns the local path (``dest/name``). Bytes are checked against their sha256.

    >>> nbtrack.download_artifact(run, "config.json", "out/")  # doctest: +SKIP
    '/home/me/out/config.json'
    """
    from nbtrack.tracking.artifacts import download

    return download(_tracker(), run if isinstance(run, str) else run.id, name, dest)


def load_model(
    model: str | ActiveRun | Run, artifact: str = "model", *, quiet: bool = False
) -> Any:
    """Load a model: ``"models:/name/3"``, ``"models:/name@champion"``, ``"models:/name/latest"``,
    ``"runs:/<run id>/model"`` or a run object.

    Prints where the bytes came from; their sha256 is checked before unpickling,
    and only the artifact root of the store you connected to is read.

    >>> model = nbtrack.load_model("models:/duration-model@champion")  # doctest: +SKIP
    """
    from nbtrack.registry import load_model as _load

    return _load(_tracker(), model, artifact, quiet=quiet)


def register_model(
    run: ActiveRun | Run | str,
    name: str,
    artifact: str = "model",
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> VersionRow:
    """Register a run's model artifact as the next version of model ``name``.

    >>> v = nbtrack.register_model(best_run, "duration-model")  # doctest: +SKIP
    >>> v.version, v.run_id, v.metrics                            # doctest: +SKIP
    (3, '3f2a…', {'rmse': 6.31})
    """
    from nbtrack.registry import register_model as _register

    return _register(_tracker(), run, name, artifact, description, dict(tags or {}))


def set_alias(name: str, alias: str, version: int | None) -> None:
    """Point ``alias`` (``champion``, ``production``…) at ``version``; None removes it.

    >>> nbtrack.set_alias("duration-model", "champion", 3)  # doctest: +SKIP
    """
    from nbtrack.registry import set_alias as _set_alias

    _set_alias(_tracker(), name, alias, version)


def set_model_tag(name: str, key: str, value: Any, version: int | None = None) -> None:
    """Tag a registered model, or one version of it with ``version=``."""
    from nbtrack.registry import set_tag

    set_tag(_tracker(), name, key, value, version)


def set_model_description(name: str, text: str | None, version: int | None = None) -> None:
    """Describe a registered model, or one version of it with ``version=``."""
    from nbtrack.registry import set_description

    set_description(_tracker(), name, text, version)


def models() -> pd.DataFrame:
    """Registered models: name, latest version, aliases, description, tags."""
    from nbtrack.registry import models as _models

    return _models(_tracker())


def model_versions(name: str | None = None) -> pd.DataFrame:
    """Model versions with lineage (run, experiment, metrics at registration), newest first."""
    from nbtrack.registry import model_versions as _versions

    return _versions(_tracker(), name)


# -- autolog, sweeps, param importance (libraries imported only when used) ---------------


def autolog(
    disable: bool = False,
    *,
    frameworks: Sequence[str] | None = None,
    log_models: bool = True,
) -> tuple[str, ...]:
    """Log every scikit-learn / XGBoost ``fit`` into the open run (else a new one).

    Params (``get_params``, a Pipeline's as ``step__param``), ``training_score``,
    ``fit_time_s``, the estimator class as tags; a search gets a child run per
    candidate; XGBoost adds per-round eval metrics, ``best_iteration`` and the
    model. Inside a ``%%track`` cell it logs into the cell's run.
    ``autolog(disable=True)`` puts the original methods back.

    >>> nbtrack.autolog()  # doctest: +SKIP
    ('sklearn', 'xgboost')
    """
    from nbtrack.integrations import autolog as _autolog

    return _autolog(disable, frameworks=frameworks, log_models=log_models)


def importance(
    experiment: str | Sequence[str] | None = None,
    metric: str | None = None,
    filter: str | None = None,
    runs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Params ranked by their influence on ``metric`` (default ``loss``, else the first).

    A bias-corrected variance decomposition (ε², main effects) over the
    metric's ranks; see the README ("Param importance") for why.

    >>> nbtrack.importance("xgb-sweep", "loss")  # doctest: +SKIP
               param  importance  epsilon2  eta2  spearman     kind  n_runs  n_groups
    0  learning_rate        0.81  ...
    """
    from nbtrack.query.importance import param_importance

    frame = runs if runs is not None else _tracker().runs(experiment, filter)
    return param_importance(frame, metric)


def __getattr__(name: str) -> Any:
    # nbtrack.hyperopt / nbtrack.optuna import their library on first use only.
    if name in ("hyperopt", "optuna", "integrations"):
        import importlib

        return importlib.import_module(f"nbtrack.{name}")
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
