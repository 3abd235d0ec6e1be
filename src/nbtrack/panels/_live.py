"""Live refresh: run events -> at most one re-query per interval, off the writer's thread.

A sweep of 500 quick runs emits 1,500 events; the panel must not run 1,500
queries. Events only arm a timer; when it fires the panel re-reads the runs
once (one ``runs()`` query) and updates its widgets' traits in place.
"""

from __future__ import annotations

import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Protocol


class _Refreshable(Protocol):
    def refresh(self) -> None: ...


class LiveLink:
    """Subscribe ``target.refresh`` to an EventBus, coalesced and throttled.

    The target is held weakly: a panel that is gone unsubscribes itself.
    ``delay`` waits for a burst to settle; ``min_interval`` caps the rate.
    """

    def __init__(
        self,
        target: _Refreshable,
        bus: Any,
        *,
        experiment: str | None = None,
        delay: float = 0.2,
        min_interval: float = 1.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._ref: Callable[[], _Refreshable | None] = weakref.ref(target, lambda _: self.close())
        self._experiment = experiment
        self._delay = delay
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last = 0.0
        self.refreshes = 0
        self._on_close = on_close
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_event)

    @property
    def active(self) -> bool:
        """Still subscribed."""
        return self._unsubscribe is not None

    def _on_event(self, event: Any) -> None:
        # Events of another experiment are ignored; "" (another process wrote) is not.
        experiment = getattr(event, "experiment", None)
        if self._experiment and experiment and experiment != self._experiment:
            return
        with self._lock:
            if self._timer is not None or self._unsubscribe is None:
                return  # a refresh is already due: it will see this run too
            wait = max(self._delay, self._last + self._min_interval - time.monotonic())
            self._timer = threading.Timer(wait, self._fire)
            self._timer.daemon = True
            self._timer.start()

    @property
    def pending(self) -> bool:
        """A refresh is scheduled."""
        return self._timer is not None

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
        target = self._ref()
        if target is None:
            self.close()
            return
        try:
            self.refreshes += 1
            target.refresh()
        except Exception as error:  # never kill the timer thread noisily
            warnings.warn(f"nbtrack panel refresh failed: {error}", stacklevel=1)

    def flush(self) -> None:
        """Run a scheduled refresh now (tests, and a panel that is about to be shown)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            with self._lock:
                self._timer = None
            self._last = 0.0
            target = self._ref()
            if target is not None:
                self.refreshes += 1
                target.refresh()

    def close(self) -> None:
        """Unsubscribe and cancel any pending refresh."""
        with self._lock:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if unsubscribe is not None:
            unsubscribe()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
