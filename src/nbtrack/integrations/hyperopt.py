"""Hyperopt sweeps: one parent run, one child run per trial with its params and loss.

>>> best = nbtrack.hyperopt.fmin(train, space, algo=tpe.suggest, max_evals=20)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import hyperopt

from nbtrack.integrations._common import loggable
from nbtrack.integrations._sweep import Sweep, tag_best
from nbtrack.store.store import FAILED, FINISHED, KILLED
from nbtrack.tracking import ActiveRun, Run

__all__ = ["TrackedObjective", "fmin", "objective", "tag_best"]


class TrackedObjective:
    """A Hyperopt objective whose every call is a child run of the sweep.

    The call's params are the run's params (nested choices flattened as
    ``outer__inner``); a float result, or the ``"loss"`` of a result dict, is
    the metric ``loss``; other numbers in the dict become metrics too; a
    ``"status": "fail"`` result or an exception makes the run FAILED. While the
    objective runs, ``nbtrack.log_metric`` and autolog write into its run.
    """

    def __init__(self, fn: Callable[[Any], Any], sweep: Sweep) -> None:
        self.fn = fn
        self.sweep = sweep

    def __call__(self, params: Any) -> Any:
        sampled = params if isinstance(params, Mapping) else {"params": loggable(params)}
        run = self.sweep.start_trial(sampled)
        try:
            with self.sweep.trial_scope(run):
                result = self.fn(params)
        except BaseException as error:
            self.sweep.fail_trial(run, error)
            raise
        loss, metrics, status = _read_result(result)
        self.sweep.finish_trial(run, loss, metrics, status=status)
        return result

    @property
    def parent_id(self) -> str | None:
        """Id of the sweep's parent run (None before the first trial of a lazy sweep)."""
        return self.sweep.parent_id

    def close(self) -> str | None:
        """Tag the best trial, end the parent run if this objective opened it; returns
        the best child run's id."""
        return self.sweep.close()


def _read_result(result: Any) -> tuple[float | None, dict[str, Any], str]:
    if isinstance(result, Mapping):
        status = FAILED if result.get("status") == hyperopt.STATUS_FAIL else FINISHED
        loss = result.get("loss")
        metrics = {
            k: v
            for k, v in result.items()
            if k not in ("loss", "status")
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
        }
        return (None if loss is None else float(loss)), metrics, status
    return float(result), {}, FINISHED


def objective(
    fn: Callable[[Any], Any],
    parent: ActiveRun | Run | str | None = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
    progress: bool = True,
) -> TrackedObjective:
    """Wrap a Hyperopt objective so each trial is a child run of one sweep run.

    The parent is ``parent`` (a run or its id: pass it to worker processes),
    else the run open now, else a new sweep run opened at the first trial and
    ended by ``.close()``. :func:`fmin` does all of this for you.

    Example:
        >>> with nbtrack.start_run(name="xgb-sweep"):               # doctest: +SKIP
        ...     hyperopt.fmin(nbtrack.hyperopt.objective(train), space,
        ...                   algo=hyperopt.tpe.suggest, max_evals=20)
    """
    sweep = Sweep.open(
        "hyperopt", parent=parent, name=name, experiment=experiment, progress=progress, lazy=True
    )
    return TrackedObjective(fn, sweep)


def fmin(
    fn: Callable[[Any], Any],
    space: Any,
    algo: Callable[..., Any] | None = None,
    max_evals: int | None = None,
    trials: Any = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
    parent: ActiveRun | Run | str | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> Any:
    """``hyperopt.fmin`` with every trial tracked; returns what ``hyperopt.fmin`` returns.

    One parent run (``name``, default ``hyperopt-sweep``; or the given
    ``parent``, e.g. an id handed to worker processes) with a child per trial
    (params, ``loss``, tag ``best``), the parent's ``best_loss`` as a series
    over trials, tag ``best_run_id``, and a progress bar with the best loss so
    far instead of Hyperopt's own. ``algo`` defaults to TPE.

    Example:
        >>> from hyperopt import hp                                    # doctest: +SKIP
        >>> space = {"max_depth": hp.quniform("max_depth", 2, 8, 1),
        ...          "learning_rate": hp.loguniform("learning_rate", -4, 0)}
        >>> best = nbtrack.hyperopt.fmin(train, space, max_evals=20)   # doctest: +SKIP
    """
    algo = algo or hyperopt.tpe.suggest
    algo_name = getattr(algo, "__module__", "") or ""
    tags = {"sweep.algo": algo_name.rsplit(".", 1)[-1] or str(algo)}
    if max_evals is not None:
        tags["sweep.max_evals"] = str(max_evals)
    sweep = Sweep.open(
        "hyperopt",
        parent=parent,
        name=name,
        experiment=experiment,
        total=max_evals,
        progress=progress,
        tags=tags,
    )
    kwargs.setdefault("show_progressbar", not progress)
    status = FAILED
    try:
        best = hyperopt.fmin(
            TrackedObjective(fn, sweep),
            space,
            algo=algo,
            max_evals=max_evals,
            trials=trials,
            **kwargs,
        )
        status = FINISHED
    except KeyboardInterrupt:
        status = KILLED
        raise
    finally:
        sweep.close(status)
    return best
