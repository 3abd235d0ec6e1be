"""What every integration shares: safe patching, the fit scope, the run to log into.

Patching rules (autolog): a class's method is replaced once, the original is
kept and put back by :func:`unpatch_all`; a wrapper never changes what the
user's call returns or raises; a failure to *log* becomes an
:class:`AutologWarning` and the training goes on.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nbtrack.tracking import ActiveRun, Tracker, default_tracker


class AutologWarning(UserWarning):
    """Logging failed; the user's fit or trial was not affected."""


def warn_failure(what: str, error: BaseException) -> None:
    """Say in one line that ``what`` could not be logged, and go on."""
    warnings.warn(
        f"nbtrack could not log {what} ({type(error).__name__}: {error}); training goes on",
        AutologWarning,
        stacklevel=3,
    )


# -- patches -------------------------------------------------------------------------------------


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any
    had_own: bool  # the attribute was in owner.__dict__ (else it was inherited)


_patches: dict[tuple[str, int, str], _Patch] = {}
_patch_lock = threading.Lock()


def patch(group: str, owner: Any, name: str, make_wrapper: Callable[[Any], Any]) -> bool:
    """Replace ``owner.name`` by ``make_wrapper(original)`` once; False if already done."""
    key = (group, id(owner), name)
    with _patch_lock:
        if key in _patches:
            return False
        had_own = name in vars(owner)
        original = vars(owner)[name] if had_own else getattr(owner, name)
        wrapper = make_wrapper(original)
        wrapper.__nbtrack_original__ = original
        setattr(owner, name, wrapper)
        _patches[key] = _Patch(owner, name, original, had_own)
        return True


def unpatch_all(group: str) -> int:
    """Put back every original of ``group``; returns how many were restored."""
    with _patch_lock:
        keys = [key for key in _patches if key[0] == group]
        for key in keys:
            p = _patches.pop(key)
            if p.had_own:
                setattr(p.owner, p.name, p.original)
            else:
                with contextlib.suppress(AttributeError, TypeError):
                    delattr(p.owner, p.name)
        return len(keys)


def patched_groups() -> set[str]:
    """Groups with at least one patch in place."""
    return {key[0] for key in _patches}


# -- the fit scope --------------------------------------------------------------------------------

_local = threading.local()
#: Name of the thread-local that holds the run of the sweep trial running in this thread.
TRIAL_RUN = "sweep_trial_run"
#: Hyperparameter searches running in this process: their inner fits (in any
#: thread, e.g. joblib's threading backend) are the search's, not runs of their own.
_searches = 0
_searches_lock = threading.Lock()


def depth() -> int:
    """How many autologged fits are open in this thread."""
    return int(getattr(_local, "depth", 0))


@contextlib.contextmanager
def fit_scope() -> Iterator[bool]:
    """Enter an autologged call; yields True for the outermost one (the one that logs).

    A Pipeline's steps, a search's candidates and ``xgboost.train`` under
    ``XGBRegressor.fit`` are inner calls: they do not log a run of their own.
    """
    level = depth()
    _local.depth = level + 1
    try:
        yield level == 0 and _searches == 0
    finally:
        _local.depth = level


@contextlib.contextmanager
def search_scope() -> Iterator[None]:
    """Mark a hyperparameter search as running (inner fits in other threads stay quiet)."""
    global _searches
    with _searches_lock:
        _searches += 1
    try:
        yield
    finally:
        with _searches_lock:
            _searches -= 1


def local_value(name: str) -> Any:
    """A per-thread value shared between an outer wrapper and the inner ones."""
    return getattr(_local, name, None)


@contextlib.contextmanager
def local_set(name: str, value: Any) -> Iterator[None]:
    old = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, old)


# -- the run a fit logs into ---------------------------------------------------------------


class FitRun:
    """The run an autologged fit writes to: the open one (a ``%%track`` cell's,
    a ``with start_run()`` block's), else a new one that ends with the fit."""

    def __init__(self, run: ActiveRun, owned: bool) -> None:
        self.run = run
        self.owned = owned

    @classmethod
    def open(cls, name: str, tracker: Tracker | None = None) -> FitRun | None:
        """The run to log into, or None (with a warning) when the store fails."""
        try:
            tracker = tracker or default_tracker()
            # A sweep's trial in this thread first: with parallel threads (Optuna
            # n_jobs) the innermost open run may be another thread's trial.
            current = local_value(TRIAL_RUN) or tracker.active_run()
            if current is not None:
                return cls(current, owned=False)
            return cls(tracker.start_run(name=name), owned=True)
        except Exception as error:
            warn_failure("the fit (no run could be opened)", error)
            return None

    def safe(self, what: str, action: Callable[[], object]) -> None:
        """Run a logging action; a failure warns instead of breaking the fit."""
        try:
            action()
        except Exception as error:
            warn_failure(what, error)

    def close(self, error: BaseException | None = None) -> None:
        """End the run if this fit opened it (FAILED/KILLED when the fit raised)."""
        if not self.owned:
            return
        try:
            self.run.__exit__(type(error) if error else None, error, None)
        except Exception as failure:
            warn_failure("the end of the run", failure)


def loggable(value: Any) -> Any:
    """A param value worth storing: estimators become their class name, functions
    their name, NumPy scalars numbers; plain containers stay (stored as JSON)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_params") and hasattr(value, "fit"):
        return type(value).__name__
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if isinstance(value, (list, tuple)):
        items = [loggable(v) for v in value]
        return items if all(_plain(v) for v in items) else repr(value)[:250]
    if isinstance(value, Mapping):
        out = {str(k): loggable(v) for k, v in value.items()}
        return out if all(_plain(v) for v in out.values()) else repr(value)[:250]
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)[:250]


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    return False


def flatten(params: Mapping[str, Any], prefix: str = "", sep: str = "__") -> dict[str, Any]:
    """Nested dicts as ``outer__inner`` keys (the scikit-learn convention).

    >>> flatten({"model": {"type": "xgb", "depth": 3}, "lr": 0.1})
    {'model__type': 'xgb', 'model__depth': 3, 'lr': 0.1}
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}{sep}", sep))
        else:
            out[name] = loggable(value)
    return out


def as_number(value: Any) -> float | None:
    """``value`` as a finite-or-not float, or None when it is not a real number."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
