"""Artifacts: name checks, content-addressed blob storage (local or S3), model flavors.

No SQL here: which run refers to which blob is recorded by ``store.registry``;
this package only turns bytes into blobs and back. fsspec/s3fs, joblib and the
model libraries are imported only when a feature needs them.
"""

from __future__ import annotations

import os

from nbtrack.errors import ArtifactError

#: Environment variable naming the artifact root (a folder or ``s3://bucket/prefix``).
ARTIFACTS_ENV = "NBTRACK_ARTIFACTS"
#: Folder beside a SQLite store file used when ``NBTRACK_ARTIFACTS`` is not set.
DEFAULT_FOLDER = "nbtrack-artifacts"


def resolve_artifact_root(store_url: str, explicit: str | None = None) -> str:
    """Where artifacts of the store at ``store_url`` go.

    ``explicit``, else ``$NBTRACK_ARTIFACTS``, else ``nbtrack-artifacts/`` beside a
    SQLite file. Other stores (PostgreSQL, in-memory SQLite) need one of the first
    two: a folder next to a server's database would not be shared by the team.

    >>> resolve_artifact_root("sqlite:////data/runs.db")
    '/data/nbtrack-artifacts'
    """
    root = explicit or os.environ.get(ARTIFACTS_ENV)
    if root:
        return root if "://" in root else os.path.abspath(os.path.expanduser(root))
    prefix = "sqlite:///"
    path = store_url[len(prefix) :].partition("?")[0] if store_url.startswith(prefix) else ""
    if not path or path == ":memory:":
        raise ArtifactError(
            f"no artifact root for the store {store_url}: set {ARTIFACTS_ENV} to a folder "
            "or s3://bucket/prefix (only a SQLite file has a default, beside it)"
        )
    return os.path.join(os.path.dirname(os.path.abspath(path)), DEFAULT_FOLDER)
