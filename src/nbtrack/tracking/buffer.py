"""Buffered writes: a training loop's metric points go to the store in batches.

A value reaches the store when the buffer holds :attr:`LogBuffer.max_points`
points, at the latest :attr:`LogBuffer.max_age` seconds after it was logged
(a daemon thread flushes), and at once when a run ends. The same thread
refreshes the heartbeat of the runs still open, which is how another host
tells a live run from a crashed one.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable

from nbtrack.store.store import MetricPoint, ParamRow, RunFinish, Store, TagRow

#: Heartbeat period of open runs (seconds).
HEARTBEAT_EVERY = 30.0


class LogBuffer:
    """Pending params, tags and metric points for one store.

    ``alive`` returns the ids of the runs still open (for heartbeats);
    ``on_flush`` is called with the ids of the runs a flush wrote to.
    """

    def __init__(
        self,
        store: Store,
        alive: Callable[[], list[str]],
        on_flush: Callable[[set[str]], None],
        *,
        max_points: int = 20_000,
        max_age: float = 1.0,
    ) -> None:
        self.store = store
        self.max_points = max_points
        self.max_age = max_age
        self._alive = alive
        self._on_flush = on_flush
        self._lock = threading.Lock()  # guards the pending lists
        self._write_lock = threading.Lock()  # keeps flushes in order
        self._params: list[ParamRow] = []
        self._tags: list[TagRow] = []
        # A deque: appends and poplefts are atomic, so logging a point takes no lock.
        self._points: deque[MetricPoint] = deque()
        self._oldest: float | None = None
        self._last_heartbeat = time.monotonic()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_started = False
        self._closed = False
        os.register_at_fork(after_in_child=self._after_fork)

    def add(
        self,
        params: list[ParamRow] | None = None,
        points: list[MetricPoint] | None = None,
        tags: list[TagRow] | None = None,
    ) -> None:
        """Queue rows; flush now if the buffer is full."""
        with self._lock:
            if params:
                self._params.extend(params)
            if tags:
                self._tags.extend(tags)
            if points:
                self._points.extend(points)
            if self._oldest is None:
                self._oldest = time.monotonic()
            full = len(self._points) >= self.max_points
        if full:
            self.flush()
        elif not self._thread_started:
            self._ensure_thread()

    def add_point(self, point: MetricPoint) -> None:
        """Queue one metric point (the fast path of :meth:`add`)."""
        self._points.append(point)
        if self._oldest is None:
            self._oldest = time.monotonic()
        if len(self._points) >= self.max_points:
            self.flush()
        elif not self._thread_started:
            self._ensure_thread()

    def flush(self, finish: RunFinish | None = None) -> None:
        """Write everything pending in one transaction (raises ``StoreError`` on failure).

        ``finish`` ends a run in that same transaction.
        """
        with self._write_lock:
            with self._lock:
                params, tags = self._params, self._tags
                self._params, self._tags = [], []
                self._oldest = None
                popleft = self._points.popleft
                points = [popleft() for _ in range(len(self._points))]
            if not (params or tags or points or finish):
                return
            try:
                self.store.write_batch(params, points, tags, alive=self._alive(), finish=finish)
            except BaseException:
                # Put the rows back in front, so nothing logged is dropped.
                with self._lock:
                    self._params[:0], self._tags[:0] = params, tags
                    self._points.extendleft(reversed(points))
                    self._oldest = self._oldest or time.monotonic()
                raise
            self._last_heartbeat = time.monotonic()
        touched = {row.run_id for row in params} | {row.run_id for row in tags}
        self._on_flush(touched | {point.run_id for point in points})

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()

    def _ensure_thread(self) -> None:
        self._thread_started = True
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="nbtrack-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.max_age / 4)
            with self._lock:
                due = self._oldest is not None and time.monotonic() - self._oldest >= self.max_age
            try:
                if due:
                    self.flush()
                elif time.monotonic() - self._last_heartbeat >= HEARTBEAT_EVERY:
                    alive = self._alive()
                    if alive:
                        self.store.write_batch(alive=alive)
                    self._last_heartbeat = time.monotonic()
            except Exception as error:  # keep the rows; try again next period
                warnings.warn(f"nbtrack could not write to the store yet: {error}", stacklevel=1)
                time.sleep(self.max_age)

    def _after_fork(self) -> None:
        # Locks may have been held by another thread at fork time; start clean.
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._thread_started = False
        self._params, self._tags, self._points = [], [], deque()
        self._oldest = None
