"""Run objects: :class:`Run`, a read-only snapshot, and :class:`ActiveRun`, the writer."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from nbtrack.store.store import (
    FAILED,
    FINISHED,
    KILLED,
    MetricPoint,
    ParamRow,
    RunRecord,
    TagRow,
)
from nbtrack.values import decode_param, encode_param, metric_value, tag_value, validate_key

if TYPE_CHECKING:
    from nbtrack.tracking.artifacts import ArtifactInfo
    from nbtrack.tracking.tracker import Tracker


@dataclass(frozen=True)
class Run:
    """A run as stored: what ``get_run``, ``last_run`` and ``best_run`` return.

    >>> run = nbtrack.get_run(run_id)            # doctest: +SKIP
    >>> run.params["alpha"], run.metrics["rmse"] # doctest: +SKIP
    (0.1, 6.3)
    """

    id: str
    name: str
    experiment: str
    status: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    source: str | None
    meta: dict[str, Any]
    parent_id: str | None = None
    artifacts: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: RunRecord) -> Run:
        """Decode a stored record (typed params, NaN for NULL metrics, full meta)."""
        meta = dict(record.meta)
        meta.pop("environment", None)
        meta["packages"] = dict(record.packages)
        meta["start_time"] = record.start_time
        meta["end_time"] = record.end_time
        meta["duration_s"] = (
            None if record.end_time is None else record.end_time - record.start_time
        )
        for key in ("notebook", "execution_count", "user", "host", "python", "error"):
            meta.setdefault(key, None)
        for key in ("git_commit", "git_branch", "git_dirty"):
            meta.setdefault(key, None)
        meta.setdefault("datasets", {})
        return cls(
            id=record.id,
            name=record.name,
            experiment=record.experiment,
            status=record.status,
            params={row.key: decode_param(row.value_type, row.value_text) for row in record.params},
            metrics={k: math.nan if v is None else v for k, v in record.metrics.items()},
            tags=dict(record.tags),
            source=record.source,
            meta=meta,
            parent_id=record.parent_id,
            artifacts=list(record.artifacts),
        )

    def _repr_html_(self) -> str:
        from nbtrack.display import run_html

        return run_html(self)


class ActiveRun:
    """An open run: log to it, then end it (or use it as a context manager).

    >>> with nbtrack.start_run(name="baseline") as run:   # doctest: +SKIP
    ...     run.log_params({"alpha": 0.1})
    ...     for epoch in range(3):
    ...         run.log(step=epoch, loss=1 / (epoch + 1))
    """

    def __init__(
        self, tracker: Tracker, run_id: str, name: str, experiment: str, parent_id: str | None
    ) -> None:
        self._tracker = tracker
        self.id = run_id
        self.name = name
        self.experiment = experiment
        self.parent_id = parent_id
        self.ended = False
        self.start_time = time.time()
        self.end_time: float | None = None
        self.final_status: str | None = None
        #: What this process logged, kept in memory so a summary needs no query.
        self.logged_params: dict[str, Any] = {}
        self.logged_metrics: dict[str, tuple[int, float]] = {}
        self.logged_tags: dict[str, str] = {}
        self._next_step: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.id} experiment={self.experiment!r}>"

    # -- logging -------------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        """Record one param (re-logging a key replaces its value)."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record several params; values keep their type (non-scalars become JSON)."""
        rows = [
            ParamRow(self.id, validate_key(key, "param name"), *encode_param(value))
            for key, value in params.items()
        ]
        self._tracker._buffer_rows(params=rows)
        self.logged_params.update(
            (row.key, decode_param(row.value_type, row.value_text)) for row in rows
        )

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """Record one metric point; ``step`` defaults to the key's previous step + 1."""
        # The hot path of a training loop: kept free of allocations it does not need.
        number = value if type(value) is float else metric_value(value, key)
        if key not in self._next_step:
            validate_key(key, "metric name")
        point_step = self._step(key, step)
        latest = self.logged_metrics.get(key)
        if latest is None or point_step >= latest[0]:
            self.logged_metrics[key] = (point_step, number)
        stored = None if number != number else number  # NaN is stored as NULL
        self._tracker._buffer_point(MetricPoint(self.id, key, point_step, stored, time.time()))

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record several metric points at the same ``step``."""
        now = time.time()
        checked = [
            (validate_key(key, "metric name"), metric_value(value, key))
            for key, value in metrics.items()
        ]
        points = []
        for key, number in checked:
            point_step = self._step(key, step)
            points.append(
                MetricPoint(self.id, key, point_step, None if math.isnan(number) else number, now)
            )
            latest = self.logged_metrics.get(key)
            if latest is None or point_step >= latest[0]:
                self.logged_metrics[key] = (point_step, number)
        self._tracker._buffer_rows(points=points)

    def log(self, step: int | None = None, **metrics: Any) -> None:
        """Shorthand for :meth:`log_metrics`: ``run.log(step=3, loss=0.2, acc=0.9)``."""
        self.log_metrics(metrics, step=step)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (stored as text)."""
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set several tags."""
        rows = [TagRow(self.id, validate_key(k, "tag name"), tag_value(v)) for k, v in tags.items()]
        self._tracker._buffer_rows(tags=rows)
        self.logged_tags.update((row.key, row.value) for row in rows)

    # -- artifacts (stored at once, not buffered: see tracking/artifacts.py) ---------------

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> ArtifactInfo:
        """Store a file or a folder as artifact ``name`` (default: its base name).

        >>> run.log_artifact("data/train.csv")            # doctest: +SKIP
        >>> run.log_artifact("outputs/", name="outputs")  # doctest: +SKIP
        """
        from nbtrack.tracking.artifacts import log_path

        return log_path(self._tracker, self.id, path, name)

    def log_text(self, text: str, name: str) -> ArtifactInfo:
        """Store ``text`` (UTF-8) as artifact ``name``: ``run.log_text(report, "report.md")``."""
        from nbtrack.tracking.artifacts import TEXT, log_files

        return log_files(self._tracker, self.id, name, TEXT, {"": text.encode("utf-8")})

    def log_dict(self, value: Mapping[str, Any], name: str) -> ArtifactInfo:
        """Store a dict as JSON (or YAML for ``.yaml``): ``run.log_dict(cfg, "config.json")``."""
        from nbtrack.artifacts._content import dict_bytes
        from nbtrack.tracking.artifacts import DICT, log_files

        return log_files(self._tracker, self.id, name, DICT, {"": dict_bytes(value, name)})

    def log_figure(self, figure: Any, name: str) -> ArtifactInfo:
        """Store a plotly (``.html``/``.json``) or matplotlib (``.png``, ``.svg``…) figure.

        >>> run.log_figure(fig, "loss.html")  # doctest: +SKIP
        """
        from nbtrack.artifacts._content import figure_bytes
        from nbtrack.tracking.artifacts import FIGURE, log_files

        return log_files(self._tracker, self.id, name, FIGURE, {"": figure_bytes(figure, name)})

    def log_model(
        self, model: Any, name: str = "model", input_columns: list[str] | None = None
    ) -> ArtifactInfo:
        """Store a model: XGBoost in its own JSON format, others with joblib (or pickle).

        A ``nbtrack-model.json`` beside it records flavor, library versions and
        input columns (``feature_names_in_`` when the model has them).

        >>> run.log_model(fitted_ridge, "model")  # doctest: +SKIP
        """
        from nbtrack.artifacts._models import serialize_model
        from nbtrack.tracking.artifacts import MODEL, log_files

        files = serialize_model(model, input_columns)
        return log_files(self._tracker, self.id, name, MODEL, files)

    @property
    def artifacts(self) -> list[str]:
        """Names of the run's artifacts, as stored now."""
        return self.snapshot().artifacts

    @property
    def latest_metrics(self) -> dict[str, float]:
        """Latest value of each metric this process logged to the run."""
        return {key: value for key, (_step, value) in self.logged_metrics.items()}

    def _step(self, key: str, step: int | None) -> int:
        if step is None:
            step = self._next_step.get(key, 0)
        elif type(step) is not int:
            step = _as_step(step)
        self._next_step[key] = step + 1
        return step

    # -- ending --------------------------------------------------------------------------------

    def end(self, status: str = FINISHED, error: str | None = None) -> None:
        """Flush and close the run with ``status`` (FINISHED, FAILED or KILLED)."""
        self._tracker._end_run(self, status, error)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self.ended:
            return
        if exc is None:
            self.end(FINISHED)
        elif isinstance(exc, KeyboardInterrupt):
            self.end(KILLED, error_text(exc))
        else:
            self.end(FAILED, error_text(exc))

    # -- reading back ------------------------------------------------------------------------------

    def snapshot(self) -> Run:
        """The run as stored now (pending values are flushed first)."""
        return self._tracker.get_run(self.id)

    @property
    def status(self) -> str:
        return self.snapshot().status

    @property
    def params(self) -> dict[str, Any]:
        return self.snapshot().params

    @property
    def metrics(self) -> dict[str, float]:
        return self.snapshot().metrics

    @property
    def tags(self) -> dict[str, str]:
        return self.snapshot().tags


def _as_step(step: Any) -> int:
    """Steps are ints; NumPy integers are accepted, anything else is refused."""
    if type(step).__module__ == "numpy" and getattr(step, "dtype", None) is not None:
        return int(step) if step.dtype.kind in "iu" else _refuse_step(step)
    if isinstance(step, int) and not isinstance(step, bool):
        return int(step)
    return _refuse_step(step)


def _refuse_step(step: Any) -> int:
    raise TypeError(f"step must be an int, got {type(step).__name__}: {step!r:.80}")


def error_text(exc: BaseException) -> str:
    """``"TypeName: message"``, the form kept in ``meta["error"]``."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
