"""scikit-learn autolog: every ``fit`` records params, training score, fit time, class.

``fit`` is patched on each estimator class that defines it (those imported
now, and those defined later through ``BaseEstimator.__init_subclass__``).
Only the outermost fit of a thread logs: a Pipeline's steps and a search's
candidates are part of the Pipeline's / the search's run. A search
(``GridSearchCV``, ``RandomizedSearchCV``, any ``BaseSearchCV``) gets a parent
run with one child per candidate from ``cv_results_``, the best one tagged.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any

import sklearn.base
from sklearn.model_selection._search import BaseSearchCV

from nbtrack.integrations import _common
from nbtrack.integrations._common import FitRun, as_number, fit_scope, loggable
from nbtrack.tracking import ActiveRun, default_tracker

GROUP = "sklearn"
#: Hooks other integrations add (xgboost: the per-round curves), by module prefix.
FitHook = Callable[[Any, FitRun], Any]


def enable() -> None:
    """Patch ``fit`` of every scikit-learn estimator class, now and defined later."""
    for cls in _subclasses(sklearn.base.BaseEstimator):
        _patch_class(cls)

    def make_hook(_original: Any) -> Any:
        def __init_subclass__(cls: type, /, **kwargs: Any) -> None:
            super(sklearn.base.BaseEstimator, cls).__init_subclass__(**kwargs)
            _patch_class(cls)

        return classmethod(__init_subclass__)

    _common.patch(GROUP, sklearn.base.BaseEstimator, "__init_subclass__", make_hook)


def disable() -> None:
    """Put every original ``fit`` back."""
    _common.unpatch_all(GROUP)


def _subclasses(cls: type) -> Iterator[type]:
    seen: set[type] = set()
    todo = [cls]
    while todo:
        sub: type
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                yield sub


def _patch_class(cls: type) -> None:
    # XGBoost's sklearn classes are patched by the xgboost integration (with its curves).
    if "fit" in vars(cls) and not cls.__module__.startswith("xgboost"):
        _common.patch(GROUP, cls, "fit", make_fit_wrapper)


def make_fit_wrapper(original: Callable[..., Any], during: FitHook | None = None) -> Any:
    """A ``fit`` that logs the outermost call; ``during(estimator, fit_run)`` may return
    a context manager wrapping the original call (xgboost uses it for its curves)."""

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with fit_scope() as outermost:
            if not outermost:
                return original(self, *args, **kwargs)
            fit_run = FitRun.open(type(self).__name__)
            if fit_run is None:
                return original(self, *args, **kwargs)
            fit_run.safe("the estimator's params", lambda: _log_start(self, fit_run.run))
            search = isinstance(self, BaseSearchCV)
            started = time.perf_counter()
            try:
                context = during(self, fit_run) if during is not None else None
                with _common.search_scope() if search else _nothing(), context or _nothing():
                    result = original(self, *args, **kwargs)
            except BaseException as error:
                fit_run.close(error)
                raise
            elapsed = time.perf_counter() - started
            fit_run.safe(
                "the fit's metrics", lambda: _log_end(self, fit_run.run, args, kwargs, elapsed)
            )
            if search:
                fit_run.safe("the search's candidates", lambda: log_search(self, fit_run.run))
            fit_run.close()
            return result

    return fit


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None


def _nothing() -> _Nothing:
    return _Nothing()


def estimator_params(estimator: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` as loggable values: nested estimators flattened as
    ``step__param`` (their own entry becomes the class name), lists of steps dropped.

    >>> from sklearn.pipeline import make_pipeline          # doctest: +SKIP
    >>> from sklearn.linear_model import Lasso               # doctest: +SKIP
    >>> estimator_params(make_pipeline(Lasso()))["lasso__alpha"]  # doctest: +SKIP
    1.0
    """
    out: dict[str, Any] = {}
    for key, value in estimator.get_params(deep=True).items():
        if isinstance(value, (list, tuple)) and any(_is_estimator(v) for v in _flat(value)):
            continue  # Pipeline.steps, ColumnTransformer.transformers: the steps are logged
        out[key] = loggable(value)
    return out


def _flat(values: Any) -> Iterator[Any]:
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit")


def _log_start(estimator: Any, run: ActiveRun) -> None:
    run.log_params(estimator_params(estimator))
    cls = type(estimator)
    run.set_tags({"estimator_name": cls.__name__, "estimator_class": _qualname(cls)})


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _log_end(
    estimator: Any, run: ActiveRun, args: tuple[Any, ...], kwargs: dict[str, Any], elapsed: float
) -> None:
    metrics = {"fit_time_s": elapsed}
    score = training_score(estimator, args, kwargs)
    if score is not None:
        metrics["training_score"] = score
    run.log_metrics(metrics)


def training_score(estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    """``estimator.score`` on the training data (R² for regressors, accuracy for
    classifiers), or None when there is no target or the estimator cannot score."""
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if x is None or y is None or not hasattr(estimator, "score"):
        return None
    weight = kwargs.get("sample_weight")
    try:
        with fit_scope():  # a score that refits (rare) must not log a run of its own
            value = (
                estimator.score(x, y)
                if weight is None
                else estimator.score(x, y, sample_weight=weight)
            )
    except Exception:  # e.g. a search with refit=False: no score, not an error
        return None
    return as_number(value)


def log_search(search: Any, parent: ActiveRun) -> list[str]:
    """One child run per candidate of a fitted search; returns their ids (best tagged)."""
    results = getattr(search, "cv_results_", None)
    if not results:
        return []
    tracker = default_tracker()
    candidates = list(results["params"])
    best_index = getattr(search, "best_index_", None)
    best_index = None if best_index is None else int(best_index)
    base = type(search.estimator).__name__
    ids = []
    for i, params in enumerate(candidates):
        metrics = {}
        for key, values in results.items():
            if key.startswith(("mean_", "std_", "rank_")):
                number = as_number(values[i])
                if number is not None:
                    metrics[key] = number
        best = i == best_index
        child = tracker.start_run(
            name=f"{parent.name}-{i}",
            params={k: loggable(v) for k, v in params.items()},
            tags={"estimator_name": base, "candidate": i, "best": str(best).lower()},
            parent=parent.id,
            experiment=parent.experiment,
        )
        child.log_metrics(metrics, step=0)
        child.end()
        ids.append(child.id)
    summary: dict[str, Any] = {}
    if hasattr(search, "best_score_"):
        summary["best_cv_score"] = float(search.best_score_)
    if summary:
        parent.log_metrics(summary)
    if hasattr(search, "best_params_"):
        parent.log_params({f"best_{k}": loggable(v) for k, v in search.best_params_.items()})
    if best_index is not None and 0 <= best_index < len(ids):
        parent.set_tag("best_run_id", ids[best_index])
    return ids
