"""SQL of artifacts and the model registry (schema revision 0002).

Functions take a :class:`~nbtrack.store.store.Store` and use its transaction
scopes, so errors become :class:`~nbtrack.errors.StoreError` exactly as for runs.
Nothing here touches blob bytes: rows name digests, the blob store holds bytes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from nbtrack.errors import ModelNotFoundError, RunNotFoundError, StoreError
from nbtrack.store.schema import (
    artifacts,
    experiments,
    model_alias_events,
    model_aliases,
    model_tags,
    model_versions,
    registered_models,
    runs,
    tags,
)

if TYPE_CHECKING:
    from nbtrack.store.store import Store

#: The run tag that marks runs with registered versions (``"duration-model/3, …"``).
REGISTERED_TAG = "registered"


class ArtifactRow(NamedTuple):
    """One stored file of a run's artifact (``path`` is ``""`` for a single file)."""

    run_id: str
    name: str
    path: str
    kind: str
    digest: str
    size: int
    created_at: float


@dataclass(frozen=True)
class VersionRow:
    """A model version with its lineage, aliases and tags."""

    name: str
    version: int
    run_id: str | None
    run_name: str | None
    experiment: str | None
    source: str | None
    artifact: str
    digest: str
    metrics: dict[str, Any]
    description: str | None
    created_at: float
    created_by: str | None
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRow:
    """A registered model: description, tags, aliases and its number of versions."""

    name: str
    description: str | None
    created_at: float
    updated_at: float
    latest_version: int
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


# -- artifacts --------------------------------------------------------------------------------


def put_artifact(store: Store, run_id: str, name: str, rows: Sequence[ArtifactRow]) -> None:
    """Record (or replace) artifact ``name`` of a run: all its files in one transaction."""
    with store._write() as connection:
        if connection.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        connection.execute(
            delete(artifacts).where(artifacts.c.run_id == run_id, artifacts.c.name == name)
        )
        if rows:
            connection.execute(insert(artifacts), [row._asdict() for row in rows])


def artifact_rows(store: Store, run_id: str, name: str | None = None) -> list[ArtifactRow]:
    """Files of one artifact of a run (all artifacts when ``name`` is None), by name and path."""
    query = select(*(artifacts.c[f] for f in ArtifactRow._fields)).where(
        artifacts.c.run_id == run_id
    )
    if name is not None:
        query = query.where(artifacts.c.name == name)
    with store._read() as connection:
        rows = connection.execute(query.order_by(artifacts.c.name, artifacts.c.path)).all()
    return [ArtifactRow(*row) for row in rows]


def artifact_names(connection: Connection, run_id: str) -> list[str]:
    """Names of a run's artifacts, sorted (used inside ``Store.get_run``'s snapshot)."""
    query = (
        select(artifacts.c.name)
        .where(artifacts.c.run_id == run_id)
        .distinct()
        .order_by(artifacts.c.name)
    )
    return list(connection.execute(query).scalars())


def referenced_digests(store: Store) -> set[str]:
    """Every blob digest some run's artifact refers to (what ``nbtrack gc`` keeps)."""
    with store._read() as connection:
        return set(connection.execute(select(artifacts.c.digest).distinct()).scalars())


# -- registry: writes -------------------------------------------------------------------------


def create_version(
    store: Store,
    *,
    name: str,
    run_id: str,
    artifact: str,
    digest: str,
    metrics: dict[str, Any],
    user: str | None,
    description: str | None = None,
) -> int:
    """Add version N+1 of model ``name`` (created if new); tag the run; return N+1."""
    for attempt in range(5):
        try:
            return _create_version(
                store, name, run_id, artifact, digest, metrics, user, description
            )
        except StoreError as error:  # PostgreSQL: another process took the same number
            if not isinstance(error.__cause__, IntegrityError) or attempt == 4:
                raise
    raise AssertionError("unreachable")


def _create_version(
    store: Store,
    name: str,
    run_id: str,
    artifact: str,
    digest: str,
    metrics: dict[str, Any],
    user: str | None,
    description: str | None,
) -> int:
    now = time.time()
    with store._write() as connection:
        run = connection.execute(
            select(experiments.c.name.label("experiment"))
            .select_from(runs.join(experiments, experiments.c.id == runs.c.experiment_id))
            .where(runs.c.id == run_id)
        ).first()
        if run is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        exists = connection.execute(
            select(registered_models.c.name).where(registered_models.c.name == name)
        ).first()
        if exists is None:
            connection.execute(
                insert(registered_models).values(name=name, created_at=now, updated_at=now)
            )
        else:
            connection.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(updated_at=now)
            )
        latest = connection.execute(
            select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        ).scalar()
        version = int(latest or 0) + 1
        connection.execute(
            insert(model_versions).values(
                name=name,
                version=version,
                run_id=run_id,
                experiment=run.experiment,
                artifact=artifact,
                digest=digest,
                metrics=json.dumps(metrics, default=str),
                description=description,
                created_at=now,
                created_by=user,
            )
        )
        marker = f"{name}/{version}"
        current = connection.execute(
            select(tags.c.value).where(tags.c.run_id == run_id, tags.c.key == REGISTERED_TAG)
        ).scalar()
        if current is None:
            connection.execute(insert(tags).values(run_id=run_id, key=REGISTERED_TAG, value=marker))
        else:
            connection.execute(
                update(tags)
                .where(tags.c.run_id == run_id, tags.c.key == REGISTERED_TAG)
                .values(value=f"{current}, {marker}")
            )
    return version


def set_alias(store: Store, name: str, alias: str, version: int | None, user: str | None) -> None:
    """Point ``alias`` at ``version`` (None removes it), recording who and when."""
    now = time.time()
    with store._write() as connection:
        _require_version(connection, name, version)
        previous = connection.execute(
            select(model_aliases.c.version).where(
                model_aliases.c.name == name, model_aliases.c.alias == alias
            )
        ).scalar()
        connection.execute(
            delete(model_aliases).where(
                model_aliases.c.name == name, model_aliases.c.alias == alias
            )
        )
        if version is not None:
            connection.execute(
                insert(model_aliases).values(
                    name=name, alias=alias, version=version, set_by=user, set_at=now
                )
            )
        connection.execute(
            insert(model_alias_events).values(
                name=name, alias=alias, version=version, previous=previous, set_by=user, set_at=now
            )
        )


def set_model_tag(store: Store, name: str, version: int | None, key: str, value: str) -> None:
    """Tag a model (``version`` None) or one of its versions."""
    with store._write() as connection:
        _require_version(connection, name, version)
        number = version or 0
        connection.execute(
            delete(model_tags).where(
                model_tags.c.name == name, model_tags.c.version == number, model_tags.c.key == key
            )
        )
        connection.execute(
            insert(model_tags).values(name=name, version=number, key=key, value=value)
        )


def set_description(store: Store, name: str, version: int | None, text: str | None) -> None:
    """Describe a model (``version`` None) or one of its versions."""
    with store._write() as connection:
        _require_version(connection, name, version)
        if version is None:
            statement: Any = update(registered_models).where(registered_models.c.name == name)
        else:
            statement = update(model_versions).where(
                model_versions.c.name == name, model_versions.c.version == version
            )
        connection.execute(statement.values(description=text))


def _require_version(connection: Connection, name: str, version: int | None) -> None:
    if version is None:
        query: Any = select(registered_models.c.name).where(registered_models.c.name == name)
    else:
        query = select(model_versions.c.version).where(
            model_versions.c.name == name, model_versions.c.version == version
        )
    if connection.execute(query).first() is None:
        what = f"model {name!r}" if version is None else f"version {version} of model {name!r}"
        raise ModelNotFoundError(f"no registered {what}; see nbtrack.models()")


# -- registry: reads --------------------------------------------------------------------------


def models(store: Store) -> list[ModelRow]:
    """Every registered model, by name."""
    with store._read() as connection:
        rows = connection.execute(
            select(
                registered_models,
                select(func.max(model_versions.c.version))
                .where(model_versions.c.name == registered_models.c.name)
                .scalar_subquery()
                .label("latest"),
            ).order_by(registered_models.c.name)
        ).all()
        alias_rows = connection.execute(select(model_aliases)).all()
        tag_rows = connection.execute(select(model_tags).where(model_tags.c.version == 0)).all()
    aliases: dict[str, dict[str, int]] = {}
    for alias_row in alias_rows:
        aliases.setdefault(alias_row.name, {})[alias_row.alias] = alias_row.version
    model_tag_map: dict[str, dict[str, str]] = {}
    for tag_row in tag_rows:
        model_tag_map.setdefault(tag_row.name, {})[tag_row.key] = tag_row.value
    return [
        ModelRow(
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
            latest_version=int(row.latest or 0),
            aliases=aliases.get(row.name, {}),
            tags=model_tag_map.get(row.name, {}),
        )
        for row in rows
    ]


def versions(store: Store, name: str | None = None, version: int | None = None) -> list[VersionRow]:
    """Versions (of one model when ``name`` is given), newest first, with lineage."""
    query = (
        select(
            model_versions,
            runs.c.name.label("run_name"),
            runs.c.source,
        )
        .select_from(model_versions.outerjoin(runs, runs.c.id == model_versions.c.run_id))
        .order_by(model_versions.c.name, model_versions.c.version.desc())
    )
    alias_query = select(model_aliases)
    tag_query = select(model_tags).where(model_tags.c.version > 0)
    if name is not None:
        query = query.where(model_versions.c.name == name)
        alias_query = alias_query.where(model_aliases.c.name == name)
        tag_query = tag_query.where(model_tags.c.name == name)
    if version is not None:
        query = query.where(model_versions.c.version == version)
    with store._read() as connection:
        rows = connection.execute(query).all()
        alias_rows = connection.execute(alias_query).all()
        tag_rows = connection.execute(tag_query).all()
    aliases: dict[tuple[str, int], list[str]] = {}
    for alias_row in sorted(alias_rows, key=lambda r: r.alias):
        aliases.setdefault((alias_row.name, alias_row.version), []).append(alias_row.alias)
    version_tags: dict[tuple[str, int], dict[str, str]] = {}
    for tag_row in tag_rows:
        version_tags.setdefault((tag_row.name, tag_row.version), {})[tag_row.key] = tag_row.value
    return [
        VersionRow(
            name=row.name,
            version=row.version,
            run_id=row.run_id,
            run_name=row.run_name,
            experiment=row.experiment,
            source=row.source,
            artifact=row.artifact,
            digest=row.digest,
            metrics=json.loads(row.metrics or "{}"),
            description=row.description,
            created_at=row.created_at,
            created_by=row.created_by,
            aliases=aliases.get((row.name, row.version), []),
            tags=version_tags.get((row.name, row.version), {}),
        )
        for row in rows
    ]


def alias_version(store: Store, name: str, alias: str) -> int:
    """The version ``alias`` points at; ``ModelNotFoundError`` if none."""
    with store._read() as connection:
        found = connection.execute(
            select(model_aliases.c.version).where(
                model_aliases.c.name == name, model_aliases.c.alias == alias
            )
        ).scalar()
    if found is None:
        raise ModelNotFoundError(f"model {name!r} has no alias {alias!r}; see nbtrack.models()")
    return int(found)


def latest_version(store: Store, name: str) -> int:
    """The highest version of model ``name``; ``ModelNotFoundError`` if it has none."""
    with store._read() as connection:
        found = connection.execute(
            select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        ).scalar()
    if found is None:
        raise ModelNotFoundError(f"no registered model {name!r}; see nbtrack.models()")
    return int(found)


def alias_events(store: Store, name: str) -> list[Any]:
    """Every alias move of model ``name``, oldest first: alias, version, previous, by, at."""
    with store._read() as connection:
        return list(
            connection.execute(
                select(
                    model_alias_events.c.alias,
                    model_alias_events.c.version,
                    model_alias_events.c.previous,
                    model_alias_events.c.set_by,
                    model_alias_events.c.set_at,
                )
                .where(model_alias_events.c.name == name)
                .order_by(model_alias_events.c.id)
            ).all()
        )
