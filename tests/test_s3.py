"""Artifacts on S3: a real S3-compatible server (moto's standalone server) in a subprocess.

The server listens on 127.0.0.1 on a free port; nbtrack reaches it through
``NBTRACK_S3_ENDPOINT_URL`` with dummy AWS credentials, exactly as a team
would point it at MinIO or another S3-compatible store.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")
sklearn_linear = pytest.importorskip("sklearn.linear_model")

import numpy as np  # noqa: E402

import nbtrack  # noqa: E402
from nbtrack.errors import ArtifactError  # noqa: E402
from nbtrack.tracking import Tracker  # noqa: E402
from nbtrack.tracking.artifacts import blob_store, collect_garbage  # noqa: E402

BUCKET = "nbtrack-test"
TRAVERSAL = ["../escape.txt", "..\\escape.txt", "%2e%2e/escape.txt", "/abs.txt", "a\x00b"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1:<free port>, killed at teardown."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tracker: Tracker) -> Any:
    """A fresh prefix in the test bucket as the artifact root; returns an s3fs filesystem."""
    import s3fs

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NBTRACK_S3_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint}, skip_instance_cache=True)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    prefix = f"{BUCKET}/run-{time.monotonic_ns()}"
    monkeypatch.setenv("NBTRACK_ARTIFACTS", f"s3://{prefix}")
    fs.prefix = prefix  # type: ignore[attr-defined]
    return fs


def _keys(fs: Any) -> list[str]:
    fs.invalidate_cache()
    return sorted(fs.find(BUCKET))


def test_log_list_download_and_dedupe_on_s3(s3: Any, tracker: Tracker, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n")
    with nbtrack.start_run(name="a") as run:
        run.log_artifact(data)
        run.log_text("same", "one.txt")
        run.log_text("same", "two.txt")
    assert nbtrack.get_run(run.id).artifacts == ["data.csv", "one.txt", "two.txt"]
    mine = [k for k in _keys(s3) if k.startswith(s3.prefix + "/")]
    assert len(mine) == 2  # "same" is stored once
    assert all(k.startswith(s3.prefix + "/blobs/sha256/") for k in mine)
    path = nbtrack.download_artifact(run, "data.csv", str(tmp_path / "out"))
    assert Path(path).read_text() == "x,y\n1,2\n"


def test_model_and_registry_round_trip_on_s3(s3: Any, tracker: Tracker) -> None:
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = X @ np.array([1.5, -2.0])
    with nbtrack.start_run(name="ridge") as run:
        model = sklearn_linear.Ridge(alpha=0.01).fit(X, y)
        run.log_model(model, "model")
        run.log_metric("rmse", 0.1)
    version = nbtrack.register_model(run, "s3-model")
    nbtrack.set_alias("s3-model", "champion", version.version)
    loaded = nbtrack.load_model("models:/s3-model@champion", quiet=True)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert nbtrack.model_versions("s3-model")["version"].tolist() == [1]


def test_tampered_blob_on_s3_is_refused(s3: Any, tracker: Tracker) -> None:
    with nbtrack.start_run() as run:
        info = run.log_text("original", "note.txt")
    key = f"{s3.prefix}/blobs/sha256/{info.digest[:2]}/{info.digest[2:]}"
    with s3.open(key, "wb") as out:
        out.write(b"tampered")
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        nbtrack.download_artifact(run, "note.txt")


@pytest.mark.parametrize("name", TRAVERSAL)
def test_traversal_names_are_refused_on_s3(
    s3: Any, tracker: Tracker, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    with nbtrack.start_run() as run:
        with pytest.raises(ValueError):
            run.log_artifact(source, name=name)
        with pytest.raises(ValueError):
            run.log_text("x", name)
    assert nbtrack.get_run(run.id).artifacts == []
    assert all(key.startswith(s3.prefix + "/") for key in _keys(s3) if s3.prefix in key)
    outside = [k for k in _keys(s3) if not k.startswith(f"{BUCKET}/run-")]
    assert outside == []


def test_gc_on_s3(s3: Any, tracker: Tracker) -> None:
    with nbtrack.start_run() as run:
        run.log_text("kept", "kept.txt")
    orphan, _ = blob_store(tracker).put_bytes(b"nobody refers to me")
    dry = collect_garbage(tracker, min_age_s=0)
    assert [digest for digest, _ in dry.blobs] == [orphan]
    collect_garbage(tracker, delete=True, min_age_s=0)
    assert not blob_store(tracker).exists(orphan)
    assert nbtrack.download_artifact(run, "kept.txt") and os.environ["NBTRACK_ARTIFACTS"]
