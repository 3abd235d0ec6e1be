"""The tracker: which store, which experiment, which runs are open.

A :class:`Tracker` holds all the state behind the module-level API
(``nbtrack.start_run``, ``nbtrack.log_metric``, ...). Scripts and notebooks use
the process default (:func:`default_tracker`); tests and libraries can make
their own.
"""

from __future__ import annotations

import atexit
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NbtrackError
from nbtrack.events import EventBus, RunEvent
from nbtrack.store.store import FINISHED, MetricPoint, ParamRow, RunFinish, Store, TagRow
from nbtrack.tracking import metadata
from nbtrack.tracking.buffer import LogBuffer
from nbtrack.tracking.run import ActiveRun, Run
from nbtrack.tracking.watch import StoreWatcher
from nbtrack.values import decode_param, encode_param, tag_value, validate_key

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_URI = "sqlite:///nbtrack.db"
DEFAULT_EXPERIMENT = "default"
#: A RUNNING run of another host whose heartbeat is older than this is CRASHED.
STALE_AFTER_S = 15 * 60


def resolve_uri(uri: str | None = None) -> str:
    """The store URI: ``uri``, else ``$NBTRACK_URI``, else ``sqlite:///nbtrack.db``.

    Relative SQLite paths are made absolute now, so a later ``os.chdir`` does
    not move the store.

    >>> resolve_uri("sqlite:////tmp/x.db")
    'sqlite:////tmp/x.db'
    """
    uri = uri or os.environ.get("NBTRACK_URI") or DEFAULT_URI
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith("sqlite:////"):
        path, _, query = uri[len(prefix) :].partition("?")
        if path and path != ":memory:":
            uri = prefix + os.path.abspath(path) + (f"?{query}" if query else "")
    return uri


class Tracker:
    """Store connection, current experiment and open runs of one process.

    >>> tracker = Tracker("sqlite://")
    >>> with tracker.start_run(params={"alpha": 0.1}) as run:
    ...     run.log_metric("rmse", 6.3)
    >>> tracker.get_run(run.id).metrics
    {'rmse': 6.3}
    """

    def __init__(self, uri: str | None = None) -> None:
        self._uri = uri
        self._store: Store | None = None
        self._buffer: LogBuffer | None = None
        self._experiment: str | None = None
        #: Experiment used when none was set: the magics put the notebook's name here.
        self.default_experiment: str | None = None
        self.events = EventBus()
        self._lock = threading.RLock()
        self._active: list[ActiveRun] = []
        self._open_state: dict[str, _OpenRunState] = {}
        self._last_run_id: str | None = None
        self._watcher: StoreWatcher | None = None
        self._pid = os.getpid()
        atexit.register(self._at_exit)

    # -- store and experiment -----------------------------------------------------------

    @property
    def url(self) -> str:
        """URI of the store this tracker writes to."""
        return self._store.url if self._store is not None else resolve_uri(self._uri)

    @property
    def store(self) -> Store:
        """The open store (opened, created or upgraded on first use)."""
        with self._lock:
            if self._store is None:
                store = Store(resolve_uri(self._uri))
                store.reap_crashed(
                    metadata.host(), metadata.process_alive, time.time() - STALE_AFTER_S
                )
                self._buffer = LogBuffer(store, self._alive_ids, self._flushed)
                self._store = store
            return self._store

    def connect(self, uri: str) -> str:
        """Point this tracker at another store; returns its resolved URI."""
        with self._lock:
            if self._active:
                raise NbtrackError(
                    f"end the open run {self._active[-1].name!r} before connecting elsewhere"
                )
            self.close()
            self._uri = uri
            return self.store.url

    def close(self) -> None:
        """Flush pending writes and release the store."""
        with self._lock:
            if self._buffer is not None:
                self._buffer.close()
            if self._store is not None:
                self._store.close()
            self._store, self._buffer = None, None

    def set_experiment(self, name: str) -> str:
        """Make ``name`` the current experiment (created now if new)."""
        validate_key(name, "experiment name")
        self.store.experiment_id(name)
        self._experiment = name
        return name

    @property
    def experiment(self) -> str:
        """The current experiment: set, else the notebook's name, else ``default``."""
        return self._experiment or self.default_experiment or DEFAULT_EXPERIMENT

    # -- runs ----------------------------------------------------------------------------

    def start_run(
        self,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent: ActiveRun | Run | str | None = None,
        experiment: str | None = None,
        *,
        source: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> ActiveRun:
        """Open a run; with no ``parent`` it nests under the run already open, if any."""
        experiment = validate_key(experiment or self.experiment, "experiment name")
        if name is not None:
            validate_key(name, "run name")
        parent_id = _run_id_of(parent) if parent is not None else None
        if parent_id is None and self._active:
            parent_id = self._active[-1].id
        store = self.store
        run_id = uuid.uuid4().hex
        now = time.time()
        param_rows = [
            ParamRow(run_id, validate_key(k, "param name"), *encode_param(v))
            for k, v in (params or {}).items()
        ]
        tag_rows = [
            TagRow(run_id, validate_key(k, "tag name"), tag_value(v))
            for k, v in (tags or {}).items()
        ]
        run_name = name or _random_name()
        folder = os.getcwd()
        run_meta = {**metadata.static_meta(), **(meta or {})}
        state = _OpenRunState(folder=folder, git=metadata.GitProbe(folder), meta=run_meta)
        store.create_run(
            run_id=run_id,
            experiment_id=store.experiment_id(experiment) or 0,
            name=run_name,
            parent_id=parent_id,
            start_time=now,
            source=source,
            meta=run_meta,
            host=metadata.host(),
            pid=os.getpid(),
            pid_start=metadata.own_process_start(),
            param_rows=param_rows,
            tag_rows=tag_rows,
        )
        run = ActiveRun(self, run_id, run_name, experiment, parent_id)
        run.start_time = now
        run.logged_params.update(
            (row.key, decode_param(row.value_type, row.value_text)) for row in param_rows
        )
        run.logged_tags.update((row.key, row.value) for row in tag_rows)
        with self._lock:
            self._active.append(run)
            self._open_state[run_id] = state
            self._last_run_id = run_id
        self.events.emit(RunEvent("started", run_id, experiment, store.url))
        return run

    def active_run(self) -> ActiveRun | None:
        """The innermost open run, or None."""
        return self._active[-1] if self._active else None

    def current_run(self) -> ActiveRun:
        """The open run that logging goes to; like MLflow, one is started if none is open."""
        return self.active_run() or self.start_run()

    def end_run(self, status: str = FINISHED) -> None:
        """End the innermost open run (no-op when none is open)."""
        run = self.active_run()
        if run is not None:
            run.end(status)

    def _buffer_rows(
        self,
        params: list[ParamRow] | None = None,
        points: list[MetricPoint] | None = None,
        tags: list[TagRow] | None = None,
    ) -> None:
        buffer = self._buffer if self._buffer is not None else self._open_buffer()
        buffer.add(params, points, tags)

    def _buffer_point(self, point: MetricPoint) -> None:
        buffer = self._buffer if self._buffer is not None else self._open_buffer()
        buffer.add_point(point)

    def _end_run(self, run: ActiveRun, status: str, error: str | None) -> None:
        with self._lock:
            if run.ended:
                return
            run.ended = True
            state = self._open_state.pop(run.id, None)
            if run in self._active:
                self._active.remove(run)
        end = time.time()
        update: dict[str, Any] = {"error": error}
        packages = base_meta = None
        if state is not None:
            update.update(state.git.refs())
            update["git_dirty"] = state.git.dirty(timeout=30)
            update["datasets"] = metadata.datasets(run.logged_params, state.folder)
            packages = metadata.imported_packages()
            base_meta = state.meta
        # The run's last values and its final status land in one transaction.
        self._open_buffer().flush(RunFinish(run.id, status, end, update, packages, base_meta))
        run.end_time, run.final_status = end, status
        self.events.emit(RunEvent("ended", run.id, run.experiment, self.url))

    def _open_buffer(self) -> LogBuffer:
        _ = self.store  # opening the store creates its buffer
        assert self._buffer is not None
        return self._buffer

    def watch(self, interval: float | None = None) -> Callable[[], None]:
        """Emit ``external`` events when other processes write to the store.

        Returns the function that ends this watch; polling stops with the last.

        >>> stop = tracker.watch()  # a panel does this to follow worker processes
        >>> stop()
        """
        with self._lock:
            if self._watcher is None:
                self._watcher = StoreWatcher(self)
            if interval is not None:
                self._watcher.interval = interval
            return self._watcher.acquire()

    def flush(self) -> None:
        """Write everything logged so far to the store now."""
        if self._buffer is not None:
            self._buffer.flush()

    def _alive_ids(self) -> list[str]:
        return [run.id for run in list(self._active)]

    def _flushed(self, run_ids: set[str]) -> None:
        experiments = {run.id: run.experiment for run in list(self._active)}
        for run_id in run_ids:
            self.events.emit(RunEvent("logged", run_id, experiments.get(run_id, ""), self.url))

    def _at_exit(self) -> None:
        # As MLflow does: runs still open when the interpreter exits are FINISHED.
        # A forked child inherits the list of open runs but owns none of them:
        # ending its parent's sweep run when the child exits would be wrong.
        if os.getpid() != self._pid:
            return
        try:
            for run in reversed(list(self._active)):
                run.end(FINISHED)
            self.close()
        except Exception:  # the interpreter is going away; never block it
            pass

    # -- reading ---------------------------------------------------------------------------

    def runs(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Runs as a DataFrame with MLflow's column names (see :func:`nbtrack.runs`)."""
        from nbtrack.query.frame import search_frame

        self.flush()
        return search_frame(self.store, self._experiments(experiment), filter, order_by, limit)

    def run_ids(
        self,
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        """Ids of the runs :meth:`runs` would return, without building a DataFrame."""
        from nbtrack.query.frame import search_ids

        self.flush()
        return search_ids(self.store, self._experiments(experiment), filter, order_by, limit)

    def _experiments(self, experiment: str | Sequence[str] | None) -> list[str] | None:
        if experiment == "*":
            return None
        if experiment is None:
            return [self.experiment]
        return [experiment] if isinstance(experiment, str) else list(experiment)

    def get_run(self, run_id: str | ActiveRun | Run) -> Run:
        """The stored run with id ``run_id`` (``RunNotFoundError`` if none)."""
        self.flush()
        return Run.from_record(self.store.get_run(_run_id_of(run_id)))

    def last_run(self) -> Run | None:
        """The run this process started last, else the newest run in the store."""
        if self._last_run_id is not None:
            return self.get_run(self._last_run_id)
        ids = self.run_ids(experiment="*", limit=1)
        return self.get_run(ids[0]) if ids else None

    def best_run(
        self,
        metric: str,
        mode: str = "min",
        experiment: str | Sequence[str] | None = None,
        filter: str | None = None,
    ) -> Run | None:
        """The run with the lowest (``mode="min"``) or highest (``"max"``) ``metric``."""
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        key = f"metrics.`{metric}`"
        condition = f"{key} IS NOT NULL"
        order = f"{key} {'ASC' if mode == 'min' else 'DESC'}"
        ids = self.run_ids(
            experiment,
            f"({filter}) and {condition}" if filter else condition,
            order,
            limit=1,
        )
        return self.get_run(ids[0]) if ids else None

    def metric_history(self, run_id: str | ActiveRun | Run, key: str | None = None) -> pd.DataFrame:
        """Every logged point of one run: columns ``key, step, value, timestamp``."""
        from nbtrack.query.frame import history_frame

        self.flush()
        rows = self.store.metric_history(_run_id_of(run_id), key)
        return history_frame(rows, ["key", "step", "value", "timestamp"])

    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Points of many runs in one query: ``run_id, key, step, value, timestamp``."""
        from nbtrack.query.frame import history_frame

        self.flush()
        rows = self.store.metric_histories(list(run_ids), None if keys is None else list(keys))
        return history_frame(rows, ["run_id", "key", "step", "value", "timestamp"])


class _OpenRunState:
    """What the tracker remembers about an open run until it ends."""

    def __init__(self, folder: str, git: metadata.GitProbe, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.git = git
        self.meta = meta


def _run_id_of(run: ActiveRun | Run | str) -> str:
    if isinstance(run, str):
        return run
    return run.id


_ADJECTIVES = [
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "crisp",
    "eager",
    "fair",
    "gentle",
    "glad",
    "keen",
    "lively",
    "lucid",
    "merry",
    "nimble",
    "polite",
    "quick",
    "quiet",
    "rapid",
    "sharp",
    "shiny",
    "steady",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "witty",
]
_NOUNS = [
    "badger",
    "bison",
    "crane",
    "dolphin",
    "eagle",
    "falcon",
    "fox",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lemur",
    "lynx",
    "marten",
    "newt",
    "otter",
    "owl",
    "panda",
    "puffin",
    "quail",
    "raven",
    "seal",
    "stork",
    "tapir",
    "viper",
    "wolf",
    "yak",
]


def _random_name() -> str:
    """MLflow-style run names such as ``swift-otter-417``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


_default: Tracker | None = None
_default_lock = threading.Lock()


def default_tracker() -> Tracker:
    """The tracker behind the module-level API of this process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Tracker()
        return _default
