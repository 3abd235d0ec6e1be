"""Optuna sweeps: one parent run per study, one child run per trial.

>>> nbtrack.optuna.optimize(study, objective, n_trials=20, n_jobs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import optuna

from nbtrack.integrations import _sweep
from nbtrack.integrations._sweep import Sweep
from nbtrack.store.store import FAILED, FINISHED, KILLED
from nbtrack.tracking import ActiveRun, Run, default_tracker

__all__ = ["PARENT_ATTR", "TrackedObjective", "optimize", "tag_best", "track"]

#: Study user attribute holding the sweep's parent run id, so processes that
#: ``load_study`` the same study log under the same parent.
PARENT_ATTR = "nbtrack_parent_run_id"


class TrackedObjective:
    """An Optuna objective whose every trial is a child run of the sweep.

    Params are the trial's suggested params (logged when the objective
    returns), the metric is ``value`` (``values_0``, ``values_1``… for several
    objectives), tag ``state`` is Optuna's (``COMPLETE``, ``PRUNED``, ``FAIL``).
    The trial's run id is in ``trial.user_attrs["nbtrack_run_id"]``; autolog
    inside the objective logs into it, also with ``n_jobs > 1``.
    """

    def __init__(self, func: Callable[[optuna.Trial], Any], sweep: Sweep) -> None:
        self.func = func
        self.sweep = sweep

    def __call__(self, trial: optuna.Trial) -> Any:
        run = self.sweep.start_trial(None, number=trial.number)
        if run is not None:  # a storage refusing user attrs must not stop the trial
            with contextlib.suppress(Exception):
                trial.set_user_attr("nbtrack_run_id", run.id)
        try:
            with self.sweep.trial_scope(run):
                result = self.func(trial)
        except optuna.TrialPruned:
            self.sweep.finish_trial(run, None, params=trial.params, tags={"state": "PRUNED"})
            raise
        except BaseException as error:
            status = KILLED if isinstance(error, KeyboardInterrupt) else FAILED
            self.sweep.finish_trial(
                run, None, params=trial.params, status=status, error=error, tags={"state": "FAIL"}
            )
            raise
        value, metrics = _values(result)
        ok = value is not None and not math.isnan(value)
        self.sweep.finish_trial(
            run,
            value,
            metrics,
            params=trial.params,
            status=FINISHED if ok else FAILED,
            tags={"state": "COMPLETE" if ok else "FAIL"},
        )
        return result

    def close(self) -> str | None:
        """Tag the best trial; end the parent run if this objective opened it."""
        return self.sweep.close()


def tag_best(parent: ActiveRun | Run | str, metric: str = "value", mode: str = "min") -> str | None:
    """Tag the best trial run under ``parent`` (after several processes ran the study).

    >>> nbtrack.optuna.tag_best(sweep_run, mode="min")  # doctest: +SKIP
    """
    return _sweep.tag_best(parent, metric, mode)


def _values(result: Any) -> tuple[float | None, dict[str, float]]:
    if isinstance(result, Sequence) and not isinstance(result, str):
        numbers = [float(v) for v in result]
        return (numbers[0] if numbers else None), {f"values_{i}": v for i, v in enumerate(numbers)}
    return (None if result is None else float(result)), {}


def _sweep_for(
    study: optuna.Study | None,
    parent: ActiveRun | Run | str | None,
    name: str | None,
    experiment: str | None,
    total: int | None,
    progress: bool,
) -> Sweep:
    if parent is None and study is not None:
        parent = study.user_attrs.get(PARENT_ATTR)
        if parent is not None:
            try:  # a study kept from another store: its parent is not ours
                default_tracker().get_run(parent)
            except Exception:
                parent = None
    mode, metric = "min", "value"
    if study is not None:
        directions = study.directions
        mode = "max" if directions[0] == optuna.study.StudyDirection.MAXIMIZE else "min"
        metric = "values_0" if len(directions) > 1 else "value"
    tags = {}
    if study is not None:
        tags = {"sweep.study": study.study_name, "sweep.sampler": type(study.sampler).__name__}
    sweep = Sweep.open(
        "optuna",
        parent=parent,
        name=name or (study.study_name if study is not None else None),
        experiment=experiment,
        total=total,
        metric=metric,
        mode=mode,
        progress=progress,
        tags=tags,
    )
    if study is not None and sweep.owns_parent:
        with contextlib.suppress(Exception):
            study.set_user_attr(PARENT_ATTR, sweep.parent_id)
    return sweep


def track(
    func: Callable[[optuna.Trial], Any],
    study: optuna.Study | None = None,
    parent: ActiveRun | Run | str | None = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
    progress: bool = False,
) -> TrackedObjective:
    """Wrap an objective for ``study.optimize`` yourself; :func:`optimize` is the short way.

    The parent is ``parent``, else the study's ``nbtrack_parent_run_id`` user
    attribute, else the open run, else a new one (ended by ``.close()``).

    Example:
        >>> with nbtrack.start_run(name="sweep"):                   # doctest: +SKIP
        ...     study.optimize(nbtrack.optuna.track(objective, study), n_trials=20)
    """
    return TrackedObjective(func, _sweep_for(study, parent, name, experiment, None, progress))


def optimize(
    study: optuna.Study,
    func: Callable[[optuna.Trial], Any],
    n_trials: int | None = None,
    *,
    timeout: float | None = None,
    n_jobs: int = 1,
    parent: ActiveRun | Run | str | None = None,
    name: str | None = None,
    experiment: str | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> Sweep:
    """``study.optimize`` with every trial tracked; returns the :class:`Sweep`
    (``.parent_id``, ``.best_run_id``, ``.best_value``).

    One parent run per study: its id is kept in the study's user attribute
    ``nbtrack_parent_run_id``, so other processes running the same study
    (``optuna.load_study`` on a shared RDB storage) log their trials under it.
    ``n_jobs`` threads are fine; the progress bar shows the best value so far.

    Example:
        >>> study = optuna.create_study(direction="minimize")          # doctest: +SKIP
        >>> sweep = nbtrack.optuna.optimize(study, objective, n_trials=20, n_jobs=2)
        >>> nbtrack.get_run(sweep.best_run_id).params                   # doctest: +SKIP
    """
    sweep = _sweep_for(study, parent, name, experiment, n_trials, progress)
    status = FAILED
    try:
        study.optimize(
            TrackedObjective(func, sweep),
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            **kwargs,
        )
        status = FINISHED
    except KeyboardInterrupt:
        status = KILLED
        raise
    finally:
        sweep.close(status)
    return sweep
