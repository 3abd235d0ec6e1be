"""``nbtrack.hyperopt``: Hyperopt sweeps tracked as a parent run with a child per trial.

Needs ``pip install nbtrack[hyperopt]``. See :func:`fmin` and :func:`objective`.
"""

from nbtrack.integrations.hyperopt import TrackedObjective, fmin, objective, tag_best

__all__ = ["TrackedObjective", "fmin", "objective", "tag_best"]
