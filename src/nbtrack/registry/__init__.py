"""The model registry: versions with lineage, aliases, tags, descriptions, ``models:/`` URIs.

A version points at a run's model artifact and records the artifact's digest
at registration, so loading ``models:/name/3`` later refuses an artifact that
was re-logged under the same name since. Registering also tags the run
``registered = "name/3"``, which is how ``runs()`` and the runs panel mark it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ArtifactError, ModelNotFoundError
from nbtrack.store import registry as tables
from nbtrack.store.registry import ModelRow, VersionRow
from nbtrack.tracking import metadata
from nbtrack.tracking.artifacts import artifact_digest, artifact_files, load_model_files
from nbtrack.values import validate_key

if TYPE_CHECKING:
    import pandas as pd

    from nbtrack.tracking import ActiveRun, Run, Tracker

__all__ = [
    "ModelRow",
    "VersionRow",
    "load_model",
    "model_versions",
    "models",
    "register_model",
    "resolve",
    "set_alias",
]

_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))$")
_RUN_URI = re.compile(r"^runs:/(?P<run>[0-9a-f]{32})/(?P<name>.+)$")


def validate_model_name(name: object) -> str:
    """A model name: a usable key without ``/`` or ``@`` (they delimit ``models:/`` URIs).

    >>> validate_model_name("duration-model")
    'duration-model'
    """
    text = validate_key(name, "model name")
    if "/" in text or "@" in text or text != text.strip():
        raise ValueError(f"model name must not contain '/' or '@' or surrounding spaces: {text!r}")
    return text


def validate_alias(alias: object) -> str:
    """An alias: a letter or ``_``, then letters, digits, ``_`` or ``-``; not ``latest``.

    >>> validate_alias("champion")
    'champion'
    """
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == "latest":
        raise ValueError(
            f"alias must start with a letter and use letters, digits, '_' or '-' "
            f"(up to 64, not 'latest'): {alias!r:.80}"
        )
    return alias


def register_model(
    tracker: Tracker,
    run: ActiveRun | Run | str,
    name: str,
    artifact: str = "model",
    description: str | None = None,
    tags: dict[str, Any] | None = None,
) -> VersionRow:
    """Register artifact ``artifact`` of ``run`` as the next version of model ``name``."""
    name = validate_model_name(name)
    snapshot = tracker.get_run(run if isinstance(run, str) else run.id)
    rows = artifact_files(tracker, snapshot.id, artifact)
    if not any(row.kind == "model" for row in rows):
        raise ArtifactError(
            f"artifact {artifact!r} of run {snapshot.id[:8]} is not a model; "
            "log it with log_model first"
        )
    metrics = {k: (None if v != v else v) for k, v in snapshot.metrics.items()}  # NaN -> null
    version = tables.create_version(
        tracker.store,
        name=name,
        run_id=snapshot.id,
        artifact=artifact,
        digest=artifact_digest(rows),
        metrics=metrics,
        user=metadata.user(),
        description=description,
    )
    for key, value in (tags or {}).items():
        tables.set_model_tag(
            tracker.store, name, version, validate_key(key, "tag name"), str(value)
        )
    return tables.versions(tracker.store, name, version)[0]


def set_alias(tracker: Tracker, name: str, alias: str, version: int | None) -> None:
    """Point ``alias`` of model ``name`` at ``version``; ``None`` removes the alias."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise TypeError(f"version must be an int, got {type(version).__name__}")
    tables.set_alias(
        tracker.store, validate_model_name(name), validate_alias(alias), version, metadata.user()
    )


def set_tag(tracker: Tracker, name: str, key: str, value: Any, version: int | None = None) -> None:
    """Tag model ``name`` (or one of its versions)."""
    tables.set_model_tag(
        tracker.store, validate_model_name(name), version, validate_key(key, "tag name"), str(value)
    )


def set_description(tracker: Tracker, name: str, text: str | None, version: int | None) -> None:
    """Describe model ``name`` (or one of its versions)."""
    tables.set_description(tracker.store, validate_model_name(name), version, text)


def resolve(tracker: Tracker, uri: str) -> VersionRow:
    """The version a ``models:/name/3``, ``models:/name@alias`` or ``models:/name/latest`` means.

    >>> resolve(tracker, "models:/duration-model@champion").version  # doctest: +SKIP
    3
    """
    match = _MODEL_URI.match(uri)
    if match is None:
        raise ValueError(
            f"not a model URI: {uri!r}; use models:/NAME/VERSION, models:/NAME@ALIAS "
            "or models:/NAME/latest"
        )
    name = validate_model_name(match["name"])
    if match["alias"] is not None:
        number = tables.alias_version(tracker.store, name, validate_alias(match["alias"]))
    elif match["version"] == "latest":
        number = tables.latest_version(tracker.store, name)
    elif match["version"].isdigit():
        number = int(match["version"])
    else:
        raise ValueError(f"{uri!r}: the version must be a number or 'latest'")
    found = tables.versions(tracker.store, name, number)
    if not found:
        raise ModelNotFoundError(f"model {name!r} has no version {number}; see nbtrack.models()")
    return found[0]


def load_model(
    tracker: Tracker,
    model: str | ActiveRun | Run,
    artifact: str = "model",
    *,
    quiet: bool = False,
) -> Any:
    """Load a model from ``models:/…``, ``runs:/<run id>/<artifact>`` or a run object.

    Bytes come only from this tracker's artifact root and are checked against
    their sha256 before anything is unpickled; the line printed says where from.
    """
    if not isinstance(model, str):
        return load_model_files(
            tracker, model.id, artifact, f"runs:/{model.id}/{artifact}", quiet=quiet
        )
    run_match = _RUN_URI.match(model)
    if run_match is not None:
        return load_model_files(tracker, run_match["run"], run_match["name"], model, quiet=quiet)
    version = resolve(tracker, model)
    if version.run_id is None:
        raise ArtifactError(f"{model}: the run of version {version.version} no longer exists")
    rows = artifact_files(tracker, version.run_id, version.artifact)
    if artifact_digest(rows) != version.digest:
        raise ArtifactError(
            f"{model}: artifact {version.artifact!r} of run {version.run_id[:8]} was re-logged "
            f"after version {version.version} was registered; register it again to use it"
        )
    label = (
        f"{model} (= {version.name}/{version.version})"
        if "@" in model or "latest" in model
        else model
    )
    return load_model_files(tracker, version.run_id, version.artifact, label, quiet=quiet)


def models(tracker: Tracker) -> pd.DataFrame:
    """Registered models: ``name, latest_version, aliases, description, tags, updated_at``."""
    import pandas as pd

    rows = tables.models(tracker.store)
    return pd.DataFrame(
        {
            "name": [row.name for row in rows],
            "latest_version": [row.latest_version for row in rows],
            "aliases": [dict(row.aliases) for row in rows],
            "description": [row.description for row in rows],
            "tags": [dict(row.tags) for row in rows],
            "updated_at": pd.to_datetime([row.updated_at for row in rows], unit="s", utc=True),
        }
    )


def model_versions(tracker: Tracker, name: str | None = None) -> pd.DataFrame:
    """Versions with lineage: ``name, version, aliases, run_id, run_name, experiment,
    artifact, created_at, created_by, description, metrics.<k>`` (at registration)."""
    import pandas as pd

    rows = tables.versions(tracker.store, None if name is None else validate_model_name(name))
    frame = pd.DataFrame(
        {
            "name": [row.name for row in rows],
            "version": pd.Series([row.version for row in rows], dtype="int64"),
            "aliases": [list(row.aliases) for row in rows],
            "run_id": [row.run_id for row in rows],
            "run_name": [row.run_name for row in rows],
            "experiment": [row.experiment for row in rows],
            "artifact": [row.artifact for row in rows],
            "created_at": pd.to_datetime([row.created_at for row in rows], unit="s", utc=True),
            "created_by": [row.created_by for row in rows],
            "description": [row.description for row in rows],
        }
    )
    keys = sorted({key for row in rows for key in row.metrics})
    for key in keys:
        frame[f"metrics.{key}"] = pd.Series([row.metrics.get(key) for row in rows], dtype="float64")
    return frame
