"""Artifacts of runs: bytes into the blob store, their names into the store, and back.

The order of a write makes it safe to kill at any point: the blob is written
(atomically) first, the rows naming it second, in one transaction. A process
killed in between leaves an unreferenced blob (``nbtrack gc`` frees it), never
a name without its bytes.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from nbtrack.artifacts import resolve_artifact_root
from nbtrack.artifacts._blobs import BlobStore, open_blob_store
from nbtrack.artifacts._names import validate_name
from nbtrack.errors import ArtifactError
from nbtrack.store import registry as tables
from nbtrack.store.registry import ArtifactRow

if TYPE_CHECKING:
    from nbtrack.tracking.tracker import Tracker

FILE, DIR, MODEL, FIGURE, TEXT, DICT = "file", "dir", "model", "figure", "text", "dict"


class ArtifactInfo(NamedTuple):
    """What logging an artifact stored: its name, kind, digest, total size and URI."""

    run_id: str
    name: str
    kind: str
    digest: str
    size: int

    @property
    def uri(self) -> str:
        """``runs:/<run id>/<name>``, accepted by :func:`nbtrack.load_model`."""
        return f"runs:/{self.run_id}/{self.name}"


_blob_stores: dict[str, BlobStore] = {}
_blob_lock = threading.Lock()


def blob_store(tracker: Tracker) -> BlobStore:
    """The blob store of ``tracker``'s store (``$NBTRACK_ARTIFACTS`` or beside the SQLite file)."""
    root = resolve_artifact_root(tracker.url)
    with _blob_lock:
        blobs = _blob_stores.get(root)
        if blobs is None:
            blobs = _blob_stores[root] = open_blob_store(root)
        return blobs


def artifact_digest(rows: Iterable[ArtifactRow]) -> str:
    """One digest for a whole artifact: the blob's for a file, a digest of the listing else.

    >>> artifact_digest([ArtifactRow("r", "a", "", "file", "ab" * 32, 1, 0.0)]) == "ab" * 32
    True
    """
    rows = sorted(rows, key=lambda row: row.path)
    if len(rows) == 1 and rows[0].path == "":
        return rows[0].digest
    listing = "".join(f"{row.path}\0{row.digest}\n" for row in rows)
    return hashlib.sha256(listing.encode()).hexdigest()


# -- writing ----------------------------------------------------------------------------------


def log_path(
    tracker: Tracker, run_id: str, path: str | os.PathLike[str], name: str | None
) -> ArtifactInfo:
    """Store the file or folder at ``path`` as artifact ``name`` (default: its base name)."""
    source = Path(path)
    name = validate_name(name if name is not None else source.name)
    if source.is_file():
        digest, size = blob_store(tracker).put_file(source)
        return _record(tracker, run_id, name, FILE, [("", digest, size)])
    if source.is_dir():
        files = []
        blobs = blob_store(tracker)
        for folder, subfolders, names in os.walk(source):
            subfolders.sort()
            for file_name in sorted(names):
                full = Path(folder) / file_name
                relative = validate_name(full.relative_to(source).as_posix(), "file name")
                if full.is_file():
                    digest, size = blobs.put_file(full)
                    files.append((relative, digest, size))
        return _record(tracker, run_id, name, DIR, files)
    raise FileNotFoundError(f"log_artifact: no file or folder at {os.fspath(path)!r}")


def log_files(
    tracker: Tracker, run_id: str, name: str, kind: str, files: dict[str, bytes]
) -> ArtifactInfo:
    """Store in-memory files as one artifact: ``{"": data}`` for a single file."""
    name = validate_name(name)
    blobs = blob_store(tracker)
    stored = []
    for relative, data in sorted(files.items()):
        if relative:
            validate_name(relative, "file name")
        digest, size = blobs.put_bytes(data)
        stored.append((relative, digest, size))
    return _record(tracker, run_id, name, kind, stored)


def _record(
    tracker: Tracker, run_id: str, name: str, kind: str, files: list[tuple[str, str, int]]
) -> ArtifactInfo:
    now = time.time()
    rows = [
        ArtifactRow(run_id, name, path, kind, digest, size, now) for path, digest, size in files
    ]
    tables.put_artifact(tracker.store, run_id, name, rows)
    return ArtifactInfo(run_id, name, kind, artifact_digest(rows), sum(r.size for r in rows))


# -- reading ----------------------------------------------------------------------------------


def artifact_files(tracker: Tracker, run_id: str, name: str) -> list[ArtifactRow]:
    """The stored files of artifact ``name`` of a run; ``ArtifactError`` if it has none."""
    tracker.flush()
    rows = tables.artifact_rows(tracker.store, run_id, validate_name(name))
    if not rows:
        known = sorted({row.name for row in tables.artifact_rows(tracker.store, run_id)})
        raise ArtifactError(
            f"run {run_id[:8]} has no artifact {name!r}"
            + (f"; it has: {', '.join(known[:20])}" if known else "; it has none")
        )
    return rows


def download(tracker: Tracker, run_id: str, name: str, dest: str | os.PathLike[str] | None) -> str:
    """Write artifact ``name`` under folder ``dest`` (a new temp folder by default).

    Returns the local path: ``dest/<name>`` (a folder for folder artifacts).
    Every file's bytes are checked against their sha256 before they are written.
    """
    rows = artifact_files(tracker, run_id, name)
    base = Path(dest if dest is not None else tempfile.mkdtemp(prefix="nbtrack-")).resolve()
    target = _inside(base, name)
    blobs = blob_store(tracker)
    for row in rows:
        path = target if row.path == "" else _inside(target, validate_name(row.path, "file name"))
        blobs.get_to_file(row.digest, path)
    return str(target)


def _inside(base: Path, relative: str) -> Path:
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"{relative!r} would be written outside {base}")
    return target


def read_file(tracker: Tracker, row: ArtifactRow) -> bytes:
    """The verified bytes of one stored file."""
    return blob_store(tracker).get_bytes(row.digest)


def load_model_files(
    tracker: Tracker, run_id: str, name: str, label: str, *, quiet: bool = False
) -> Any:
    """Load the model artifact ``name`` of a run: metadata, verified bytes, then the model."""
    from nbtrack.artifacts._models import META_FILE, deserialize_model, read_meta

    rows = {row.path: row for row in artifact_files(tracker, run_id, name)}
    if META_FILE not in rows:
        raise ArtifactError(
            f"artifact {name!r} of run {run_id[:8]} is not a model (no {META_FILE}); "
            "log it with nbtrack.log_model"
        )
    meta = read_meta(read_file(tracker, rows[META_FILE]))
    model_row = rows.get(validate_name(str(meta["file"]), "model file"))
    if model_row is None:
        raise ArtifactError(f"model {label}: {meta['file']} is missing from the artifact")
    blobs = blob_store(tracker)
    data = blobs.get_bytes(model_row.digest)  # raises unless the sha256 matches
    if not quiet:
        print(
            f"nbtrack: loading model {label} (run {run_id[:8]}, {meta['format']}) from "
            f"{blobs.location(model_row.digest)} (sha256 {model_row.digest[:12]}…, verified)",
            file=sys.stdout,
        )
    return deserialize_model(meta, data)


# -- garbage collection -----------------------------------------------------------------------


class GcReport(NamedTuple):
    """What ``nbtrack gc`` found: unreferenced blobs and leftover temp files."""

    blobs: list[tuple[str, int]]
    temp_files: list[tuple[str, int]]
    kept: int
    delete: bool

    @property
    def freed_bytes(self) -> int:
        return sum(size for _, size in self.blobs) + sum(size for _, size in self.temp_files)


def collect_garbage(
    tracker: Tracker, *, delete: bool = False, min_age_s: float = 3600.0
) -> GcReport:
    """Find (and with ``delete`` remove) blobs no run refers to, older than ``min_age_s``.

    The age limit protects writes in progress: their blob is stored before the
    row naming it.
    """
    blobs = blob_store(tracker)
    tracker.flush()
    referenced = tables.referenced_digests(tracker.store)
    cutoff = time.time() - min_age_s
    orphans, kept = [], 0
    for info in blobs.list_blobs():
        if info.digest in referenced or info.modified > cutoff:
            kept += 1
        else:
            orphans.append((info.digest, info.size))
    temp = [(path, size) for path, size, modified in blobs.list_temp() if modified <= cutoff]
    if delete:
        for digest, _ in orphans:
            blobs.delete(digest)
        for path, _ in temp:
            blobs.delete_temp(path)
    return GcReport(orphans, temp, kept, delete)
