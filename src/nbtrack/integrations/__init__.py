"""Integrations with ML libraries: autolog (scikit-learn, XGBoost) and sweeps
(:mod:`nbtrack.hyperopt`, :mod:`nbtrack.optuna`).

Every library here is optional: a module of this package imports its library
when it is itself imported, and ``import nbtrack`` imports none of them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence

__all__ = ["FRAMEWORKS", "autolog"]

#: Frameworks autolog knows, in the order they are patched.
FRAMEWORKS = ("sklearn", "xgboost")


def autolog(
    disable: bool = False,
    *,
    frameworks: Sequence[str] | None = None,
    log_models: bool = True,
) -> tuple[str, ...]:
    """Log every scikit-learn / XGBoost ``fit`` into the open run (else a new one).

    scikit-learn: ``get_params()`` (a Pipeline's steps as ``step__param``),
    ``training_score``, ``fit_time_s`` and the class as tags ``estimator_name`` /
    ``estimator_class``; a ``GridSearchCV``/``RandomizedSearchCV`` gets one child
    run per candidate, the best tagged ``best=true``. XGBoost: params, each
    round's eval metrics as step series (``val-rmse``), ``best_iteration`` and the
    model (when ``run.log_model`` exists). Inside a ``%%track`` cell everything
    goes into the cell's run.

    Args:
        disable: put the original ``fit`` methods back.
        frameworks: a subset of ``("sklearn", "xgboost")``; default: all installed.
        log_models: also log XGBoost models.

    Returns:
        The frameworks now patched (or, with ``disable``, unpatched).

    Example:
        >>> import nbtrack
        >>> nbtrack.autolog()  # doctest: +SKIP
        ('sklearn', 'xgboost')
        >>> Lasso(alpha=0.1).fit(X, y)  # doctest: +SKIP  (a run with alpha, training_score)
        >>> nbtrack.autolog(disable=True)  # doctest: +SKIP
        ('sklearn', 'xgboost')
    """
    wanted = tuple(frameworks) if frameworks is not None else FRAMEWORKS
    unknown = sorted(set(wanted) - set(FRAMEWORKS))
    if unknown:
        raise ValueError(f"autolog knows {', '.join(FRAMEWORKS)}; not {', '.join(unknown)}")
    done = []
    if disable:
        from nbtrack.integrations._common import patched_groups

        for name in wanted:
            if name in patched_groups():
                importlib.import_module(f"nbtrack.integrations.{name}").disable()
                done.append(name)
        return tuple(done)
    for name in wanted:
        if importlib.util.find_spec(name) is None:
            if frameworks is not None:
                raise ImportError(f"autolog({name!r}): {name} is not installed")
            continue
        module = importlib.import_module(f"nbtrack.integrations.{name}")
        if name == "xgboost":
            module.log_models = log_models  # type: ignore[attr-defined]
        module.enable()
        done.append(name)
    return tuple(done)
