"""A sweep: one parent run, a child run per trial, the best trial tagged, a progress bar.

Shared by :mod:`nbtrack.hyperopt` and :mod:`nbtrack.optuna`. Trials may run
in threads (Optuna ``n_jobs``) and in other processes (each with its own
tracker on the same store, the parent's id passed explicitly): every trial
is its own run, written by the process that ran it, so none is lost. The
process that opened the sweep re-reads all children from the store when the
sweep ends and tags the best one ``best=true`` (the others ``best=false``).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from nbtrack.integrations import _common
from nbtrack.integrations._progress import Progress
from nbtrack.store.store import FAILED, FINISHED, KILLED
from nbtrack.tracking import ActiveRun, Run, Tracker, default_tracker
from nbtrack.tracking.run import error_text

TRIAL_RUN = _common.TRIAL_RUN


def current_trial_run() -> ActiveRun | None:
    """The trial run of this thread (autolog logs into it, even with parallel threads)."""
    run: ActiveRun | None = _common.local_value(TRIAL_RUN)
    return run


class Sweep:
    """Parent run + trials. Open with :meth:`open`; end with :meth:`close`."""

    def __init__(
        self,
        kind: str,
        tracker: Tracker,
        parent: ActiveRun | None,
        parent_id: str | None,
        name: str | None,
        experiment: str | None,
        total: int | None,
        metric: str,
        mode: str,
        progress: bool,
        tags: Mapping[str, Any] | None,
    ) -> None:
        self.kind = kind
        self.metric = metric
        self.mode = mode
        self.total = total
        self.url = tracker.url
        self.pid = os.getpid()
        self._tracker = tracker
        self._parent = parent  # set when this sweep opened the parent run (it ends it)
        self.parent_id = parent_id
        self.name = name
        self.experiment = experiment
        self._tags = dict(tags or {})
        self._want_progress = progress
        self._progress: Progress | None = None
        self._lock = threading.Lock()
        self._count = 0
        self.best_value = math.nan
        self.best_run_id: str | None = None

    @classmethod
    def open(
        cls,
        kind: str,
        *,
        parent: ActiveRun | Run | str | None = None,
        name: str | None = None,
        experiment: str | None = None,
        total: int | None = None,
        metric: str = "loss",
        mode: str = "min",
        progress: bool = True,
        tags: Mapping[str, Any] | None = None,
        lazy: bool = False,
    ) -> Sweep:
        """A sweep under ``parent`` (an id: e.g. from another process), else under the
        open run, else under a new parent run (opened now, or at the first trial if
        ``lazy``)."""
        tracker = default_tracker()
        parent_id = parent if isinstance(parent, str) else parent.id if parent else None
        if parent_id is None and tracker.active_run() is not None:
            parent_id = tracker.active_run().id  # type: ignore[union-attr]
        if parent_id is not None and experiment is None:
            experiment = tracker.get_run(parent_id).experiment
        sweep = cls(
            kind,
            tracker,
            None,
            parent_id,
            name,
            experiment,
            total,
            metric,
            mode,
            progress,
            tags,
        )
        if parent_id is None and not lazy:
            sweep._open_parent()
        return sweep

    @property
    def owns_parent(self) -> bool:
        return self._parent is not None

    def _open_parent(self) -> str:
        run = self._tracker.start_run(
            name=self.name or f"{self.kind}-sweep",
            tags={"sweep": self.kind, **self._tags},
            experiment=self.experiment,
        )
        self._parent, self.parent_id, self.experiment = run, run.id, run.experiment
        return run.id

    def _ensure_parent(self) -> str:
        with self._lock:
            return self.parent_id if self.parent_id is not None else self._open_parent()

    @property
    def foreign(self) -> bool:
        """True in a process other than the one that opened the sweep (a forked worker)."""
        return os.getpid() != self.pid

    def _process_tracker(self) -> Tracker:
        tracker = default_tracker()
        if self.foreign and tracker.url != self.url and tracker.active_run() is None:
            tracker.connect(self.url)  # a spawned worker without NBTRACK_URI
        return tracker

    def _bar(self) -> Progress | None:
        if self._progress is None and self._want_progress and not self.foreign:
            self._progress = Progress(
                self.total, self.name or f"{self.kind} sweep", True, self.mode
            )
        return self._progress

    # -- trials -------------------------------------------------------------------------------

    def start_trial(
        self, params: Mapping[str, Any] | None = None, number: int | None = None
    ) -> ActiveRun | None:
        """Open the child run of a trial (None, with a warning, if the store fails)."""
        try:
            parent_id = self._ensure_parent()
            with self._lock:
                self._count += 1
                number = self._count - 1 if number is None else number
            self._bar()
            tracker = self._process_tracker()
            return tracker.start_run(
                name=f"{self.name or self.kind}-{number}",
                params=_common.flatten(params or {}),
                tags={"trial": number, "sweep": self.kind},
                parent=parent_id,
                experiment=self.experiment,
            )
        except Exception as error:
            _common.warn_failure("the trial (no run could be opened)", error)
            return None

    @contextmanager
    def trial_scope(self, run: ActiveRun | None) -> Iterator[None]:
        """While a trial runs, autolog (and ``sweep.current_trial_run``) in this thread
        log into its run."""
        with _common.local_set(TRIAL_RUN, run):
            yield

    def finish_trial(
        self,
        run: ActiveRun | None,
        value: float | None,
        metrics: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        status: str = FINISHED,
        error: BaseException | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a trial's result and end its run; tags the best so far."""
        improved, previous, count = False, None, 0
        if value is not None and not math.isnan(value) and status == FINISHED:
            with self._lock:
                better = value < self.best_value if self.mode == "min" else value > self.best_value
                if math.isnan(self.best_value) or better:
                    improved, previous = True, self.best_run_id
                    self.best_value = value
                    self.best_run_id = run.id if run is not None else None
                count = self._count
        bar = self._progress
        if bar is not None:
            bar.update(value if status == FINISHED else None)
        if run is None:
            return
        try:
            if params:
                run.log_params(_common.flatten(params))
            values = {
                k: n for k, v in (metrics or {}).items() if (n := _common.as_number(v)) is not None
            }
            if value is not None:
                values[self.metric] = value
            if values:
                run.log_metrics(values, step=0)
            run.set_tags({**(tags or {}), "best": str(improved).lower()})
            if improved:
                if previous is not None:
                    tracker = self._process_tracker()
                    tracker._buffer_rows(tags=_tag_rows(previous, {"best": "false"}))
                if not self.foreign and self._parent is not None:
                    self._parent.log_metric(f"best_{self.metric}", value, step=count)
                    self._parent.set_tag("best_run_id", run.id)
        except Exception as failure:
            _common.warn_failure("the trial's result", failure)
        finally:
            try:
                run.end(status, None if error is None else error_text(error))
            except Exception as failure:
                _common.warn_failure("the end of the trial", failure)

    def fail_trial(self, run: ActiveRun | None, error: BaseException) -> None:
        """End a trial whose objective raised (KILLED on interrupt, else FAILED)."""
        status = KILLED if isinstance(error, KeyboardInterrupt) else FAILED
        self.finish_trial(run, None, status=status, error=error)

    # -- the end --------------------------------------------------------------------------------

    def close(self, status: str = FINISHED) -> str | None:
        """Tag the best trial of the whole sweep (all processes), end the parent if this
        sweep opened it; returns the best child's id."""
        best = None
        try:
            best = self.tag_best()
        except Exception as error:
            _common.warn_failure("the sweep's best trial", error)
        finally:
            if self._progress is not None:
                self._progress.close()
            if self._parent is not None and not self._parent.ended:
                self._parent.end(status)
        return best

    def tag_best(self) -> str | None:
        """Re-read every child of the parent and tag the best one ``best=true``."""
        if self.parent_id is None:
            return None
        tracker = self._tracker
        frame = tracker.runs(experiment=self.experiment)
        column = f"metrics.{self.metric}"
        if frame.empty or column not in frame.columns:
            return None
        children = frame[(frame["parent_run_id"] == self.parent_id) & (frame["status"] == FINISHED)]
        children = children[children[column].notna()]
        if children.empty:
            return None
        pick = children[column].idxmin() if self.mode == "min" else children[column].idxmax()
        best_id = str(children.loc[pick, "run_id"])
        rows: list[Any] = []
        flagged = frame["tags.best"] if "tags.best" in frame.columns else None
        for _, child in frame[frame["parent_run_id"] == self.parent_id].iterrows():
            want = "true" if child["run_id"] == best_id else "false"
            if flagged is None or child.get("tags.best") != want:
                rows += _tag_rows(str(child["run_id"]), {"best": want})
        rows += _tag_rows(self.parent_id, {"best_run_id": best_id})
        tracker._buffer_rows(tags=rows)
        tracker.flush()
        self.best_run_id = best_id
        self.best_value = float(children.loc[pick, column])
        if self._parent is not None and not self._parent.ended:
            self._parent.log_metric(f"best_{self.metric}", self.best_value, step=self._count)
        return best_id


def _tag_rows(run_id: str, tags: Mapping[str, str]) -> list[Any]:
    from nbtrack.store.store import TagRow

    return [TagRow(run_id, key, value) for key, value in tags.items()]


def tag_best(parent: ActiveRun | Run | str, metric: str = "loss", mode: str = "min") -> str | None:
    """Tag the best child of ``parent`` ``best=true`` (the others ``false``) and set the
    parent's ``best_run_id``; returns the best child's id. Use it after trials ran
    in several processes, once they all ended.

    >>> nbtrack.hyperopt.tag_best(sweep_run)  # doctest: +SKIP
    '4c3a563a…'
    """
    parent_id = parent if isinstance(parent, str) else parent.id
    tracker = default_tracker()
    experiment = tracker.get_run(parent_id).experiment
    sweep = Sweep(
        "sweep", tracker, None, parent_id, None, experiment, None, metric, mode, False, None
    )
    return sweep.tag_best()
