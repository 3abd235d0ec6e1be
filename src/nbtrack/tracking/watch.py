"""Notice writes of *other* processes, so a panel follows a distributed sweep.

In-process runs announce themselves on the tracker's :class:`EventBus`.
Trials running in worker processes (joblib, Dask, several kernels, other
hosts on PostgreSQL) cannot; a :class:`StoreWatcher` polls one cheap
aggregate of the ``runs`` table and emits an ``external`` event when it
changes. Every flush refreshes the writer's heartbeat, so new points of a
running trial change the aggregate too.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nbtrack.events import RunEvent

if TYPE_CHECKING:
    from nbtrack.tracking.tracker import Tracker

#: Seconds between two looks at the store.
POLL_EVERY = 2.0


class StoreWatcher:
    """Polls ``tracker.store`` while anybody holds it (reference counted).

    >>> stop = tracker.watch()   # doctest: +SKIP
    >>> stop()                   # the thread ends with the last holder
    """

    def __init__(self, tracker: Tracker, interval: float = POLL_EVERY) -> None:
        self._tracker = tracker
        self.interval = interval
        self._holders = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._token: Any = None
        self.changes = 0

    def acquire(self) -> Callable[[], None]:
        """Start watching (if not yet); returns the function that stops this hold."""
        with self._lock:
            self._holders += 1
            if self._thread is None or not self._thread.is_alive():
                self._wake.clear()
                self._token = self._read_token()
                self._thread = threading.Thread(target=self._run, name="nbtrack-watch", daemon=True)
                self._thread.start()
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._holders -= 1
                if self._holders == 0:
                    self._wake.set()

        return release

    def _read_token(self) -> Any:
        try:
            return self._tracker.store.change_token()
        except Exception as error:  # a store that is briefly unreachable: try again later
            warnings.warn(f"nbtrack could not poll the store: {error}", stacklevel=1)
            return self._token

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            token = self._read_token()
            if token != self._token:
                self._token = token
                self.changes += 1
                self._tracker.events.emit(RunEvent("external", "", "", self._tracker.url))
