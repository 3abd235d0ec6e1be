"""XGBoost autolog: params, eval metrics per boosting round, best iteration, the model.

``xgboost.train`` and the scikit-learn API (``XGBRegressor.fit`` …) are
patched. Per-round values are step series named ``<eval set>-<metric>``
(``val-rmse``, ``validation_0-rmse``) with the round as step, through a
``TrainingCallback`` added to the user's callbacks. Under ``XGBRegressor.fit``
the estimator's ``get_params()`` are the params and the estimator is the
model; a bare ``xgboost.train`` logs its params dict and the Booster.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import xgboost
import xgboost.sklearn
import xgboost.training
from xgboost.callback import TrainingCallback

from nbtrack.integrations import _common
from nbtrack.integrations._common import FitRun, fit_scope, loggable
from nbtrack.tracking import ActiveRun

GROUP = "xgboost"
#: Eval metrics where higher is better (XGBoost's own list for early stopping).
_MAXIMISE = ("auc", "aucpr", "pre", "map", "ndcg")
_SKLEARN_RUN = "xgboost_sklearn_run"

#: Whether models are logged (``autolog(log_models=False)`` turns it off).
log_models = True


def enable() -> None:
    """Patch ``xgboost.train`` (where the package and its sklearn API see it) and the
    ``fit`` of every XGBoost scikit-learn class."""
    for module in (xgboost, xgboost.training, xgboost.sklearn):
        if hasattr(module, "train"):
            _common.patch(GROUP, module, "train", _make_train_wrapper)
    try:  # the scikit-learn API needs scikit-learn; xgboost.train does not
        from nbtrack.integrations.sklearn import make_fit_wrapper
    except ImportError:
        return
    base = xgboost.sklearn.XGBModel
    for cls in [base, *_subclasses(base)]:
        if "fit" in vars(cls):
            _common.patch(
                GROUP, cls, "fit", lambda original: make_fit_wrapper(original, _during_fit)
            )


def disable() -> None:
    """Put the originals back."""
    _common.unpatch_all(GROUP)


def _subclasses(cls: type) -> list[type]:
    out: list[type] = []
    sub: type
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


@contextlib.contextmanager
def _during_fit(estimator: Any, fit_run: FitRun) -> Iterator[None]:
    # The inner xgboost.train finds the run here and adds its per-round curves.
    with _common.local_set(_SKLEARN_RUN, fit_run.run):
        yield
    if log_models:
        fit_run.safe("the model", lambda: log_model(fit_run.run, estimator))


def log_model(run: ActiveRun, model: Any) -> bool:
    """``run.log_model(model, "model")`` when the artifacts layer provides it."""
    method = getattr(run, "log_model", None)
    if not callable(method):
        return False
    method(model, "model")
    return True


def _make_train_wrapper(original: Callable[..., Any]) -> Any:
    @functools.wraps(original)
    def train(params: dict[str, Any], dtrain: Any, *args: Any, **kwargs: Any) -> Any:
        sklearn_run: ActiveRun | None = _common.local_value(_SKLEARN_RUN)
        with fit_scope() as outermost:
            if sklearn_run is not None:  # under XGBModel.fit: only the curves
                callback = _callback_or_none(sklearn_run)
                booster = original(params, dtrain, *args, **_with(kwargs, callback))
                _safe_best(sklearn_run, booster, callback)
                return booster
            if not outermost:
                return original(params, dtrain, *args, **kwargs)
            return _train_logged(original, params, dtrain, args, kwargs)

    return train


def _train_logged(
    original: Callable[..., Any],
    params: dict[str, Any],
    dtrain: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    fit_run = FitRun.open("xgboost")
    if fit_run is None:
        return original(params, dtrain, *args, **kwargs)
    run = fit_run.run
    rounds = args[0] if args else kwargs.get("num_boost_round", 10)

    def start() -> None:
        logged = {k: loggable(v) for k, v in dict(params or {}).items()}
        logged["num_boost_round"] = rounds
        if kwargs.get("early_stopping_rounds") is not None:
            logged["early_stopping_rounds"] = kwargs["early_stopping_rounds"]
        run.log_params(logged)
        run.set_tags({"estimator_name": "Booster", "estimator_class": "xgboost.core.Booster"})

    fit_run.safe("xgboost's params", start)
    callback = _callback_or_none(run)
    started = time.perf_counter()
    try:
        booster = original(params, dtrain, *args, **_with(kwargs, callback))
    except BaseException as error:
        fit_run.close(error)
        raise
    elapsed = time.perf_counter() - started
    fit_run.safe("the fit time", lambda: run.log_metric("fit_time_s", elapsed))
    _safe_best(run, booster, callback)
    if log_models:
        fit_run.safe("the model", lambda: log_model(run, booster))
    fit_run.close()
    return booster


class RoundLogger(TrainingCallback):
    """Logs each round's eval metrics as ``<set>-<metric>`` at step = round."""

    def __init__(self, run: ActiveRun) -> None:
        super().__init__()
        self.run = run
        self.last: dict[str, dict[str, list[float]]] = {}
        self.failed = False

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if self.failed:
            return False
        try:
            values = {}
            for data, metrics in evals_log.items():
                for metric, series in metrics.items():
                    value = series[-1]
                    values[f"{data}-{metric}"] = float(
                        value[0] if isinstance(value, tuple) else value
                    )
            if values:
                self.run.log_metrics(values, step=int(epoch))
            self.last = evals_log
        except Exception as error:  # log once, never stop the training
            self.failed = True
            _common.warn_failure("xgboost's per-round metrics", error)
        return False


def _callback_or_none(run: ActiveRun) -> RoundLogger | None:
    try:
        return RoundLogger(run)
    except Exception as error:
        _common.warn_failure("xgboost's per-round metrics", error)
        return None


def _with(kwargs: dict[str, Any], callback: RoundLogger | None) -> dict[str, Any]:
    if callback is None:
        return kwargs
    existing: Sequence[Any] = kwargs.get("callbacks") or []
    return {**kwargs, "callbacks": [*existing, callback]}


def _safe_best(run: ActiveRun, booster: Any, callback: RoundLogger | None) -> None:
    try:
        best = best_iteration(booster, callback.last if callback else {})
        if best is not None:
            iteration, score = best
            metrics = {"best_iteration": float(iteration)}
            if score is not None and math.isfinite(score):
                metrics["best_score"] = score
            run.log_metrics(metrics, step=0)
    except Exception as error:
        _common.warn_failure("xgboost's best iteration", error)


def best_iteration(booster: Any, evals_log: Any) -> tuple[int, float | None] | None:
    """The booster's ``best_iteration`` (set by early stopping), else the best round of
    the last metric on the last eval set (the one early stopping would watch)."""
    attributes = booster.attributes() if hasattr(booster, "attributes") else {}
    if "best_iteration" in attributes:
        score = attributes.get("best_score")
        return int(attributes["best_iteration"]), None if score is None else float(score)
    if not evals_log:
        return None
    metrics = evals_log[list(evals_log)[-1]]
    if not metrics:
        return None
    name = list(metrics)[-1]
    series = [float(v[0] if isinstance(v, tuple) else v) for v in metrics[name]]
    if not series:
        return None
    maximise = name.split("@")[0] in _MAXIMISE
    index = max(range(len(series)), key=lambda i: series[i] if maximise else -series[i])
    return index, series[index]
