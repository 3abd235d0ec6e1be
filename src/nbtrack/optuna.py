"""``nbtrack.optuna``: Optuna studies tracked as a parent run with a child per trial.

Needs ``pip install nbtrack[optuna]``. See :func:`optimize` and :func:`track`.
"""

from nbtrack.integrations.optuna import PARENT_ATTR, TrackedObjective, optimize, tag_best, track

__all__ = ["PARENT_ATTR", "TrackedObjective", "optimize", "tag_best", "track"]
