"""In-process notifications about runs, so open panels can refresh live.

Listeners are called in the thread that wrote the change, after it reached
the store; they must be quick (schedule work, don't do it). A failing
listener is dropped from nothing and never breaks tracking: its error is
reported as a warning.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Literal, NamedTuple

#: ``external``: another process changed the store (see ``tracking/watch.py``);
#: its ``run_id`` and ``experiment`` are empty.
EventKind = Literal["started", "logged", "ended", "external"]


class RunEvent(NamedTuple):
    """What happened: ``kind`` to the run ``run_id`` (of experiment ``experiment``)."""

    kind: EventKind
    run_id: str
    experiment: str
    store_url: str


Listener = Callable[[RunEvent], None]


class EventBus:
    """A list of listeners; :meth:`subscribe` returns the function that unsubscribes.

    >>> bus = EventBus()
    >>> seen = []
    >>> stop = bus.subscribe(seen.append)
    >>> bus.emit(RunEvent("ended", "abc", "demo", "sqlite://"))
    >>> stop(); len(seen)
    1
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: RunEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception as error:  # a broken panel must not break tracking
                warnings.warn(f"nbtrack listener {listener!r} failed: {error}", stacklevel=2)
