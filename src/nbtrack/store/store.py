"""The store: every read and write of nbtrack's tables goes through here.

One transaction scope (:meth:`Store._write` / :meth:`Store._read`) commits or
rolls back and turns driver errors into :class:`~nbtrack.errors.StoreError`.
Bulk paths are set-based: a batch of metric points is one ``executemany``, and
the rows behind a DataFrame are one query per table.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from nbtrack.errors import RunNotFoundError, StoreError
from nbtrack.store import driver
from nbtrack.store.engine import WRITE_OPTION, make_engine
from nbtrack.store.migrate import ensure_schema
from nbtrack.store.registry import artifact_names
from nbtrack.store.schema import (
    environments,
    experiments,
    metric_history,
    metrics,
    params,
    runs,
    tags,
)

RUNNING, FINISHED, FAILED, KILLED, CRASHED = "RUNNING", "FINISHED", "FAILED", "KILLED", "CRASHED"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED, CRASHED)


class ParamRow(NamedTuple):
    run_id: str
    key: str
    value_type: str
    value_num: float | None
    value_text: str


class MetricPoint(NamedTuple):
    run_id: str
    key: str
    step: int
    value: float | None  # None stands for NaN
    timestamp: float


class RunFinish(NamedTuple):
    """How a run ends: status, end time, metadata to merge, package versions."""

    run_id: str
    status: str
    end_time: float
    meta_update: dict[str, Any]
    packages: dict[str, str] | None = None
    #: The meta the run was created with, when the caller knows it (saves a read).
    base_meta: dict[str, Any] | None = None


class TagRow(NamedTuple):
    run_id: str
    key: str
    value: str


@dataclass(frozen=True)
class RunRecord:
    """Everything stored about one run, as plain Python values."""

    id: str
    experiment: str
    name: str
    status: str
    parent_id: str | None
    start_time: float
    end_time: float | None
    source: str | None
    meta: dict[str, Any]
    params: list[ParamRow] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)


class FrameRows(NamedTuple):
    """Raw rows behind ``runs()``: one list per table, for a pivot in the query layer."""

    runs: list[Any]  # (id, name, experiment, status, start_time, end_time, parent_id)
    params: list[Any]  # (run_id, key, value_type, value_num, value_text)
    metrics: list[Any]  # (run_id, key, value)
    tags: list[Any]  # (run_id, key, value)


class Store:
    """A connection to one nbtrack store (any SQLAlchemy URL).

    Opening a store creates or upgrades its schema and marks runs whose
    process died as CRASHED.

    >>> store = Store("sqlite://")
    >>> store.experiment_id("demo")
    1
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
            ensure_schema(self.engine, url)
        except DBAPIError as error:
            raise StoreError(f"cannot open the store {url}: {_reason(error)}") from error
        self._experiment_ids: dict[str, int] = {}
        self._environments: set[str] = set()

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    # -- transaction scopes -------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            writer = self.engine.connect().execution_options(**{WRITE_OPTION: True})
            with writer as connection, connection.begin():
                yield connection
        except DBAPIError as error:
            raise StoreError(f"writing to {self.url} failed: {_reason(error)}") from error

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except DBAPIError as error:
            raise StoreError(f"reading {self.url} failed: {_reason(error)}") from error

    # -- experiments ---------------------------------------------------------

    def experiment_id(self, name: str, *, create: bool = True) -> int | None:
        """Id of the experiment called ``name``; created on first use when ``create``."""
        cached = self._experiment_ids.get(name)
        if cached is not None:
            return cached
        query = select(experiments.c.id).where(experiments.c.name == name)
        with self._read() as connection:
            found = connection.execute(query).scalar()
        if found is None and create:
            try:
                with self._write() as connection:
                    found = connection.execute(query).scalar()
                    if found is None:
                        inserted = connection.execute(
                            insert(experiments).values(name=name, created_at=time.time())
                        ).inserted_primary_key
                        found = inserted[0] if inserted is not None else None
            except StoreError as error:  # another process created it first
                if not isinstance(error.__cause__, IntegrityError):
                    raise
                with self._read() as connection:
                    found = connection.execute(query).scalar()
        if found is not None:
            self._experiment_ids[name] = int(found)
        return None if found is None else int(found)

    def experiment_names(self) -> list[str]:
        """All experiment names, oldest first."""
        with self._read() as connection:
            rows = connection.execute(select(experiments.c.name).order_by(experiments.c.id))
            return [row[0] for row in rows]

    # -- writes --------------------------------------------------------------

    def create_run(
        self,
        *,
        run_id: str,
        experiment_id: int,
        name: str,
        parent_id: str | None,
        start_time: float,
        source: str | None,
        meta: dict[str, Any],
        host: str,
        pid: int,
        pid_start: float | None,
        param_rows: Sequence[ParamRow] = (),
        tag_rows: Sequence[TagRow] = (),
    ) -> None:
        """Insert a RUNNING run, with its first params and tags, in one transaction."""
        with self._write() as connection:
            if parent_id is not None and not _exists(connection, parent_id):
                raise RunNotFoundError(f"parent run {parent_id!r} does not exist")
            driver.execute(
                connection,
                driver.RUN_INSERT,
                [
                    (run_id, experiment_id, name, parent_id, start_time, source, _dump(meta),
                     host, pid, pid_start, start_time)
                ],
            )  # fmt: skip
            self._write_rows(connection, param_rows, (), tag_rows)

    def write_batch(
        self,
        param_rows: Sequence[ParamRow] = (),
        points: Sequence[MetricPoint] = (),
        tag_rows: Sequence[TagRow] = (),
        *,
        alive: Iterable[str] = (),
        finish: RunFinish | None = None,
    ) -> bool:
        """Write buffered params, metric points and tags atomically.

        ``alive`` lists RUNNING runs whose heartbeat is refreshed in the same
        transaction; ``finish`` ends a run in it too (a cell's last values and
        its final status land together). Returns what finishing returned.
        """
        alive = list(alive)
        if not (param_rows or points or tag_rows or alive or finish):
            return False
        environment = None
        with self._write() as connection:
            self._write_rows(connection, param_rows, points, tag_rows)
            if alive:
                connection.execute(_HEARTBEAT, {"ids": alive, "now": time.time()})
            if finish is not None:
                environment = _finish(connection, finish, self._environments)
        if environment:  # committed: no need to insert it again from this process
            self._environments.add(environment)
        return environment is not None

    def _write_rows(
        self,
        connection: Connection,
        param_rows: Sequence[ParamRow],
        points: Sequence[MetricPoint],
        tag_rows: Sequence[TagRow],
    ) -> None:
        if param_rows:
            driver.execute(connection, driver.PARAMS_UPSERT, driver.last_per_key(param_rows))
        if tag_rows:
            driver.execute(connection, driver.TAGS_UPSERT, driver.last_per_key(tag_rows))
        if points:
            # MetricPoints are tuples in the column order of both statements.
            driver.execute(connection, driver.HISTORY_INSERT, points)
            driver.execute(connection, driver.LATEST_UPSERT, _latest(points))

    def finish_run(
        self,
        run_id: str,
        status: str,
        end_time: float,
        meta_update: dict[str, Any],
        packages: dict[str, str] | None = None,
    ) -> bool:
        """Set a RUNNING run's final status; merge ``meta_update`` into its meta.

        ``packages`` is stored once per distinct set in ``environments``.
        Returns False (and changes nothing) if the run had already ended.
        """
        return self.write_batch(finish=RunFinish(run_id, status, end_time, meta_update, packages))

    def reap_crashed(
        self,
        host: str,
        is_alive: Callable[[int, float | None], bool],
        stale_before: float,
    ) -> list[str]:
        """Mark RUNNING runs whose process is gone as CRASHED; return their ids.

        Runs of this ``host`` are checked by process id (and start time, against
        pid reuse); runs of other hosts are judged dead when their heartbeat is
        older than ``stale_before``. The update is conditional on the status
        still being RUNNING, so two processes reaping at once make one transition.
        """
        with self._read() as connection:
            candidates = connection.execute(
                select(
                    runs.c.id, runs.c.host, runs.c.pid, runs.c.pid_start, runs.c.heartbeat
                ).where(runs.c.status == RUNNING)
            ).all()
        dead = [
            (row.id, row.heartbeat)
            for row in candidates
            if (row.host == host and row.pid is not None and not is_alive(row.pid, row.pid_start))
            or (row.host != host and (row.heartbeat or 0.0) < stale_before)
        ]
        reaped = []
        for run_id, heartbeat in dead:
            with self._write() as connection:
                last_point = connection.execute(
                    select(func.max(metrics.c.timestamp)).where(metrics.c.run_id == run_id)
                ).scalar()
                end = max(t for t in (heartbeat, last_point, 0.0) if t is not None)
                changed = connection.execute(
                    update(runs)
                    .where(runs.c.id == run_id, runs.c.status == RUNNING)
                    .values(status=CRASHED, end_time=end)
                ).rowcount
            if changed:
                reaped.append(run_id)
        return reaped

    # -- reads ---------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        """The full record of one run; ``RunNotFoundError`` if there is none."""
        with self._read() as connection:
            row = connection.execute(_run_columns().where(runs.c.id == run_id)).first()
            if row is None:
                raise RunNotFoundError(f"no run with id {run_id!r}")
            param_rows = connection.execute(select(params).where(params.c.run_id == run_id)).all()
            metric_rows = connection.execute(
                select(metrics.c.key, metrics.c.value).where(metrics.c.run_id == run_id)
            ).all()
            tag_rows = connection.execute(
                select(tags.c.key, tags.c.value).where(tags.c.run_id == run_id)
            ).all()
            meta = json.loads(row.meta)
            packages_json = None
            if "environment" in meta:
                packages_json = connection.execute(
                    select(environments.c.packages).where(environments.c.id == meta["environment"])
                ).scalar()
            artifact_list = artifact_names(connection, run_id)
        return RunRecord(
            id=row.id,
            experiment=row.experiment,
            name=row.name,
            status=row.status,
            parent_id=row.parent_id,
            start_time=row.start_time,
            end_time=row.end_time,
            source=row.source,
            meta=meta,
            params=[ParamRow(*r) for r in param_rows],
            metrics={r.key: r.value for r in metric_rows},
            tags={r.key: r.value for r in tag_rows},
            packages=json.loads(packages_json) if packages_json else {},
            artifacts=artifact_list,
        )

    def run_ids(
        self,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[ColumnElement[Any]] = (),
        limit: int | None = None,
    ) -> list[str]:
        """Ids of runs matching ``where``, in ``order_by`` order (newest first by default)."""
        with self._read() as connection:
            return list(connection.execute(_id_query(where, order_by, limit)).scalars())

    def frame_rows(
        self,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[ColumnElement[Any]] = (),
        limit: int | None = None,
    ) -> FrameRows:
        """The rows behind a runs DataFrame: one query per table, all in one snapshot."""
        run_query = select(
            runs.c.id,
            runs.c.name,
            experiments.c.name.label("experiment"),
            runs.c.status,
            runs.c.start_time,
            runs.c.end_time,
            runs.c.parent_id,
        ).join(experiments, experiments.c.id == runs.c.experiment_id)
        if where is not None:
            run_query = run_query.where(where)
        run_query = run_query.order_by(*_with_default_order(order_by))
        if limit is not None:
            run_query = run_query.limit(limit)
        with self._read() as connection:
            run_rows = list(connection.execute(run_query).all())
            id_filter: Any = None
            if limit is not None and len(run_rows) <= _MAX_BOUND_IDS:
                # A few ids: bind them, rather than re-running the ordered query per table.
                id_filter = [row[0] for row in run_rows]
            elif limit is not None:
                id_filter = _id_query(where, order_by, limit)
            elif where is not None:
                id_filter = select(runs.c.id).where(where)

            def child(table: Any, *columns: Any) -> list[Any]:
                query = select(*columns)
                if id_filter is not None:
                    query = query.where(table.c.run_id.in_(id_filter))
                return driver.fetch_all(connection, query)

            param_rows = child(
                params,
                params.c.run_id,
                params.c.key,
                params.c.value_type,
                params.c.value_num,
                params.c.value_text,
            )
            metric_rows = child(metrics, metrics.c.run_id, metrics.c.key, metrics.c.value)
            tag_rows = child(tags, tags.c.run_id, tags.c.key, tags.c.value)
        return FrameRows(run_rows, param_rows, metric_rows, tag_rows)

    def change_token(self) -> tuple[Any, ...]:
        """A cheap aggregate of ``runs`` that changes whenever any process writes.

        Every write of a run's values refreshes its heartbeat, so count, latest
        start, latest end and latest heartbeat together move on each change.
        """
        with self._read() as connection:
            return tuple(connection.execute(_CHANGE_TOKEN).one())

    def metric_history(self, run_id: str, key: str | None = None) -> list[Any]:
        """Points of one run as ``(key, step, value, timestamp)`` rows, ordered by step."""
        query = select(
            metric_history.c.key,
            metric_history.c.step,
            metric_history.c.value,
            metric_history.c.timestamp,
        ).where(metric_history.c.run_id == run_id)
        if key is not None:
            query = query.where(metric_history.c.key == key)
        query = query.order_by(
            metric_history.c.key, metric_history.c.step, metric_history.c.timestamp
        )
        with self._read() as connection:
            return list(connection.execute(query).all())

    def metric_histories(self, run_ids: list[str], keys: list[str] | None = None) -> list[Any]:
        """Points of many runs as ``(run_id, key, step, value, timestamp)``, in one query."""
        query = select(
            metric_history.c.run_id,
            metric_history.c.key,
            metric_history.c.step,
            metric_history.c.value,
            metric_history.c.timestamp,
        ).where(metric_history.c.run_id.in_(run_ids))
        if keys is not None:
            query = query.where(metric_history.c.key.in_(keys))
        query = query.order_by(metric_history.c.run_id, metric_history.c.key, metric_history.c.step)
        with self._read() as connection:
            return list(connection.execute(query).all())

    def rank(
        self, experiment_id: int, key: str, value: float, *, higher_is_better: bool
    ) -> tuple[int, int]:
        """``(rank, count)`` of ``value`` among the experiment's runs with metric ``key``."""
        statement = _RANK_HIGHER if higher_is_better else _RANK_LOWER
        with self._read() as connection:
            count, ahead = connection.execute(
                statement, {"key": key, "experiment_id": experiment_id, "value": value}
            ).one()
        return int(ahead or 0) + 1, int(count or 0)


# -- helpers ------------------------------------------------------------------


def _finish(connection: Connection, finish: RunFinish, known_environments: set[str]) -> str | None:
    """End a RUNNING run; returns the environment hash it refers to, None if not RUNNING."""
    meta_update = dict(finish.meta_update)
    environment = None
    if finish.packages is not None:
        packages_json = json.dumps(finish.packages, sort_keys=True)
        environment = hashlib.sha256(packages_json.encode()).hexdigest()
        meta_update["environment"] = environment
        if environment not in known_environments:
            connection.execute(
                _insert_for(connection, environments).on_conflict_do_nothing(index_elements=["id"]),
                {"id": environment, "packages": packages_json},
            )
    base = finish.base_meta
    if base is None:
        row = connection.execute(_RUN_META, {"run_id": finish.run_id}).first()
        if row is None:
            raise RunNotFoundError(f"no run with id {finish.run_id!r}")
        base = json.loads(row.meta)
    meta = _dump({**base, **meta_update})
    changed = driver.execute(
        connection,
        driver.RUN_END,
        [(finish.status, finish.end_time, meta, finish.end_time, finish.run_id)],
    )
    return (environment or "") if changed else None


def _rank_statement(higher_is_better: bool) -> Any:
    value: Any = bindparam("value")
    better = metrics.c.value > value if higher_is_better else metrics.c.value < value
    statement = (
        select(func.count(), func.sum(case((better, 1), else_=0)))
        .select_from(metrics.join(runs, runs.c.id == metrics.c.run_id))
        .where(
            metrics.c.key == bindparam("key"),
            runs.c.experiment_id == bindparam("experiment_id"),
            metrics.c.value.is_not(None),
        )
    )
    return statement


#: Up to this many ids are bound as parameters (SQLite allows 32,766 per statement).
_MAX_BOUND_IDS = 5_000

# Built once: constructing statements costs more than running them on a small store.
_RANK_HIGHER = _rank_statement(True)
_RANK_LOWER = _rank_statement(False)
_CHANGE_TOKEN = select(
    func.count(), func.max(runs.c.start_time), func.max(runs.c.end_time), func.max(runs.c.heartbeat)
)
_RUN_META = select(runs.c.meta, runs.c.status).where(runs.c.id == bindparam("run_id"))
_HEARTBEAT = (
    update(runs)
    .where(runs.c.id.in_(bindparam("ids", expanding=True)), runs.c.status == RUNNING)
    .values(heartbeat=bindparam("now"))
)


def _run_columns() -> Select[Any]:
    return select(
        runs.c.id,
        experiments.c.name.label("experiment"),
        runs.c.name,
        runs.c.status,
        runs.c.parent_id,
        runs.c.start_time,
        runs.c.end_time,
        runs.c.source,
        runs.c.meta,
    ).join(experiments, experiments.c.id == runs.c.experiment_id)


def _with_default_order(order_by: Sequence[ColumnElement[Any]]) -> list[ColumnElement[Any]]:
    # Newest first, then id, so equal start times still give a stable order.
    return [*order_by, runs.c.start_time.desc(), runs.c.id]


def _id_query(
    where: ColumnElement[bool] | None,
    order_by: Sequence[ColumnElement[Any]],
    limit: int | None,
) -> Select[Any]:
    query = select(runs.c.id)
    if where is not None:
        query = query.where(where)
    query = query.order_by(*_with_default_order(order_by))
    return query if limit is None else query.limit(limit)


def _exists(connection: Connection, run_id: str) -> bool:
    return connection.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is not None


def _insert_for(connection: Connection, table: Any) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"nbtrack supports SQLite and PostgreSQL, not {connection.dialect.name}")


def _latest(points: Sequence[MetricPoint]) -> list[MetricPoint]:
    """Per (run, key), the point with the highest step (the last logged on ties)."""
    latest: dict[tuple[str, str], MetricPoint] = {}
    for point in points:
        key = (point.run_id, point.key)
        current = latest.get(key)
        if current is None or point.step >= current.step:
            latest[key] = point
    return list(latest.values())


def _dump(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False, default=str)


def _reason(error: DBAPIError) -> str:
    return str(error.orig).splitlines()[0] if error.orig is not None else str(error)
