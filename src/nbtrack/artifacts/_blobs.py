"""Content-addressed blob storage: a local folder, or ``s3://bucket/prefix`` through fsspec.

Layout under the root: ``blobs/sha256/ab/cdef…`` (the first two hex digits are
a folder, so no folder grows past a few thousand entries) and ``tmp/`` for
writes in progress. A blob's key is the sha256 of its bytes, so the same bytes
are stored once, and a name (which a user chose) never becomes a path here.

Writes are atomic: bytes go to ``tmp/<random>`` while they are hashed, then
are renamed into place; a process killed mid-write leaves at most a temp file,
which ``nbtrack gc`` removes. On S3 an object appears only once its upload
completes, so the final key is written directly. Every read re-hashes the
bytes and refuses them if they do not match the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from nbtrack.artifacts._names import validate_digest
from nbtrack.errors import ArtifactError

CHUNK = 1 << 20
#: Environment variable with the S3 endpoint (MinIO, moto, Ceph…); else AWS's default.
ENDPOINT_ENV = "NBTRACK_S3_ENDPOINT_URL"


class BlobInfo(NamedTuple):
    """A stored blob: its digest, size in bytes and last-modified time (epoch seconds)."""

    digest: str
    size: int
    modified: float


class BlobStore:
    """Blobs in a local folder. :func:`open_blob_store` picks this or :class:`FsspecBlobStore`.

    >>> import tempfile
    >>> blobs = BlobStore(tempfile.mkdtemp())
    >>> digest, size = blobs.put_bytes(b"hello")
    >>> blobs.get_bytes(digest)
    b'hello'
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self._root = Path(root)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.root}>"

    def location(self, digest: str) -> str:
        """Where the blob ``digest`` lives (for messages)."""
        return str(self._path(digest))

    def _path(self, digest: str) -> Path:
        validate_digest(digest)
        return self._root / "blobs" / "sha256" / digest[:2] / digest[2:]

    # -- writing -------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return ``(sha256, size)``."""
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store the file at ``path``; return ``(sha256, size)``."""
        with open(path, "rb") as source:
            return self.put_stream(source)

    def put_stream(self, source: BinaryIO) -> tuple[str, int]:
        """Copy ``source`` into a temp file while hashing it, then rename it into place."""
        tmp_dir = self._root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = digest.hexdigest()
            final = self._path(key)
            if final.exists():
                # Same bytes already stored: refresh its age so a concurrent gc keeps it.
                os.utime(final)
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)
            return key, size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    # -- reading -------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        """True when the blob is stored."""
        return self._path(digest).is_file()

    def _open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise ArtifactError(
                f"blob sha256:{digest} is missing from {self.root}; is NBTRACK_ARTIFACTS "
                "pointing at the artifact root this store was written with?"
            ) from None

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes, after checking they hash to ``digest``."""
        with self._open(digest) as source:
            data = source.read()
        _check(hashlib.sha256(data).hexdigest(), digest, self.location(digest))
        return data

    def get_to_file(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the blob to ``dest`` atomically, after checking its hash."""
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            hasher = hashlib.sha256()
            with os.fdopen(fd, "wb") as out, self._open(digest) as source:
                while chunk := source.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            _check(hasher.hexdigest(), digest, self.location(digest))
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    # -- garbage collection --------------------------------------------------------------

    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob (files whose path is not a digest are ignored)."""
        base = self._root / "blobs" / "sha256"
        if not base.is_dir():
            return
        for folder in sorted(base.iterdir()):
            if not folder.is_dir():
                continue
            for item in sorted(folder.iterdir()):
                digest = folder.name + item.name
                if item.is_file() and _is_digest(digest):
                    stat = item.stat()
                    yield BlobInfo(digest, stat.st_size, stat.st_mtime)

    def list_temp(self) -> Iterator[tuple[str, int, float]]:
        """Leftover temp files of interrupted writes: ``(path, size, modified)``."""
        tmp_dir = self._root / "tmp"
        if tmp_dir.is_dir():
            for item in sorted(tmp_dir.iterdir()):
                if item.is_file():
                    stat = item.stat()
                    yield str(item), stat.st_size, stat.st_mtime

    def delete(self, digest: str) -> None:
        """Remove one blob (missing is fine)."""
        path = self._path(digest)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty

    def delete_temp(self, path: str) -> None:
        """Remove a leftover temp file (only inside this root's ``tmp/``)."""
        tmp_dir = (self._root / "tmp").resolve()
        target = Path(path).resolve()
        if target.parent != tmp_dir:
            raise ValueError(f"{path} is not a temp file of {self.root}")
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


class FsspecBlobStore(BlobStore):
    """Blobs under an fsspec URL such as ``s3://bucket/prefix`` (``pip install nbtrack[s3]``).

    The S3 endpoint comes from ``$NBTRACK_S3_ENDPOINT_URL`` when set (MinIO,
    moto, …); credentials from the usual AWS variables and files.
    """

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        super().__init__(root)
        try:
            import fsspec
        except ImportError:
            raise ArtifactError(
                f"artifacts at {root} need fsspec and s3fs: pip install 'nbtrack[s3]'"
            ) from None
        options = dict(storage_options or {})
        protocol = root.split("://", 1)[0]
        endpoint = os.environ.get(ENDPOINT_ENV)
        if protocol in ("s3", "s3a") and endpoint:
            options.setdefault("client_kwargs", {}).setdefault("endpoint_url", endpoint)
        if protocol in ("s3", "s3a"):
            # Listings must never be cached: gc and exists() need the current state.
            options.setdefault("use_listings_cache", False)
            options.setdefault("skip_instance_cache", True)
        try:
            self.fs: Any = fsspec.filesystem(protocol, **options)
        except ImportError as error:
            raise ArtifactError(
                f"artifacts at {root} need {error.name or 's3fs'}: pip install 'nbtrack[s3]'"
            ) from None
        self._prefix = root.split("://", 1)[1].rstrip("/")

    def _key(self, digest: str) -> str:
        validate_digest(digest)
        return f"{self._prefix}/blobs/sha256/{digest[:2]}/{digest[2:]}"

    def location(self, digest: str) -> str:
        return f"{self.root.split('://', 1)[0]}://{self._key(digest)}"

    def put_stream(self, source: BinaryIO) -> tuple[str, int]:
        # The key is the hash, known only after reading everything: spool to a local
        # temp file (memory for small blobs), then upload; S3 shows an object only
        # once its upload completed, so no partial blob is ever visible.
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            digest = hashlib.sha256()
            size = 0
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            key = digest.hexdigest()
            if not self.exists(key):
                spool.seek(0)
                with self.fs.open(self._key(key), "wb") as out:
                    while chunk := spool.read(CHUNK):
                        out.write(chunk)
            return key, size

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
                size += len(chunk)
        key = hasher.hexdigest()
        if not self.exists(key):
            self.fs.put_file(os.fspath(path), self._key(key))
        return key, size

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._key(digest)))

    def _open(self, digest: str) -> BinaryIO:
        try:
            handle: BinaryIO = self.fs.open(self._key(digest), "rb")
        except FileNotFoundError:
            raise ArtifactError(
                f"blob sha256:{digest} is missing from {self.root}; is NBTRACK_ARTIFACTS "
                "pointing at the artifact root this store was written with?"
            ) from None
        return handle

    def list_blobs(self) -> Iterator[BlobInfo]:
        base = f"{self._prefix}/blobs/sha256"
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        for key, info in sorted(found.items()):
            parts = key.rstrip("/").split("/")
            digest = parts[-2] + parts[-1] if len(parts) >= 2 else ""
            if _is_digest(digest) and info.get("type", "file") == "file":
                modified = info.get("LastModified") or info.get("mtime")
                stamp = modified.timestamp() if hasattr(modified, "timestamp") else time.time()
                yield BlobInfo(digest, int(info.get("size") or 0), float(stamp))

    def list_temp(self) -> Iterator[tuple[str, int, float]]:
        return iter(())  # uploads are atomic: nothing is left behind

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._key(digest))


def open_blob_store(root: str) -> BlobStore:
    """The blob store at ``root``: a local folder, or any fsspec URL (``s3://bucket/prefix``).

    >>> open_blob_store("/tmp/nbtrack-artifacts")
    <BlobStore /tmp/nbtrack-artifacts>
    """
    if "://" in root and not root.startswith("file://"):
        return FsspecBlobStore(root)
    path = root.removeprefix("file://")
    return BlobStore(os.path.abspath(os.path.expanduser(path)))


def _check(actual: str, expected: str, where: str) -> None:
    if actual != expected:
        raise ArtifactError(
            f"blob {where} does not match its sha256 (expected {expected[:12]}…, got "
            f"{actual[:12]}…): it was altered or corrupted; nothing was loaded from it"
        )


def _is_digest(text: str) -> bool:
    try:
        validate_digest(text)
    except ValueError:
        return False
    return True
