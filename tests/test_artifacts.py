"""Artifacts on a local root: files, folders, figures, text, dicts; content addressing,
hash checks on read, name validation, atomic writes under SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nbtrack
from nbtrack.artifacts import resolve_artifact_root
from nbtrack.artifacts._names import validate_name
from nbtrack.errors import ArtifactError
from nbtrack.tracking import Tracker
from nbtrack.tracking.artifacts import blob_store, collect_garbage

TRAVERSAL = [
    "../escape.txt",
    "a/../../escape.txt",
    "..\\escape.txt",
    "a\\..\\..\\escape.txt",
    "%2e%2e/escape.txt",
    "%2E%2E%2Fescape.txt",
    "%252e%252e/escape.txt",
    "..%2fescape.txt",
    "%5c..%5cescape.txt",
    "/etc/passwd",
    "%2fetc/passwd",
    "C:/windows/escape.txt",
    "a\x00b.txt",
    "a%00b.txt",
    ".",
    "..",
    "",
    "a//b",
]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The artifact root for this test (needed for PostgreSQL; explicit for SQLite too)."""
    folder = tmp_path / "artifacts"
    monkeypatch.setenv("NBTRACK_ARTIFACTS", str(folder))
    return folder


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


def test_file_artifact_round_trip_and_same_bytes_stored_once(
    tracker: Tracker, root: Path, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_bytes(b"a,b\n1,2\n" * 1000)
    with nbtrack.start_run(name="one") as first:
        info = first.log_artifact(data)
    with nbtrack.start_run(name="two") as second:
        second.log_artifact(str(data), name="inputs/train.csv")
    assert info.name == "train.csv" and info.size == 8000 and info.uri.startswith("runs:/")
    assert nbtrack.get_run(first.id).artifacts == ["train.csv"]
    assert nbtrack.get_run(second.id).artifacts == ["inputs/train.csv"]
    blobs = _blob_files(root)
    assert len(blobs) == 1  # content-addressed: the same bytes once
    assert blobs[0].relative_to(root).parts[:3] == ("blobs", "sha256", info.digest[:2])
    assert blobs[0].name == info.digest[2:]
    out = nbtrack.download_artifact(second, "inputs/train.csv", str(tmp_path / "out"))
    assert out == str(tmp_path / "out" / "inputs" / "train.csv")
    assert Path(out).read_bytes() == data.read_bytes()
    assert not list((root / "tmp").iterdir())


def test_folder_artifact_and_relogging_replaces(
    tracker: Tracker, root: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "outputs"
    (folder / "plots").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "plots" / "b.txt").write_text("B")
    with nbtrack.start_run() as run:
        run.log_artifact(folder)
        run.log_text("v1", "note.txt")
        run.log_text("v2", "note.txt")  # same name again: replaced
    assert run.artifacts == ["note.txt", "outputs"]
    out = Path(nbtrack.download_artifact(run, "outputs", str(tmp_path / "dl")))
    assert (out / "a.txt").read_text() == "A"
    assert (out / "plots" / "b.txt").read_text() == "B"
    note = nbtrack.download_artifact(run, "note.txt", str(tmp_path / "dl"))
    assert Path(note).read_text() == "v2"
    with pytest.raises(ArtifactError, match="has no artifact 'missing'"):
        nbtrack.download_artifact(run, "missing")


def test_text_dict_and_figures(tracker: Tracker, root: Path, tmp_path: Path) -> None:
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    with nbtrack.start_run() as run:
        nbtrack.log_text("ünïcode <b>", "notes.md")
        nbtrack.log_dict({"alpha": 0.1, "layers": [1, 2]}, "config.json")
        nbtrack.log_figure(figure, "fig.html")
        nbtrack.log_figure(figure, "fig.json")
        with pytest.raises(ValueError, match=r"\.html or \.json"):
            nbtrack.log_figure(figure, "fig.png")
        with pytest.raises(TypeError, match="plotly or matplotlib"):
            nbtrack.log_figure(object(), "fig.html")
    assert run.artifacts == ["config.json", "fig.html", "fig.json", "notes.md"]
    dl = tmp_path / "dl"
    assert Path(nbtrack.download_artifact(run, "notes.md", str(dl))).read_text() == "ünïcode <b>"
    config = json.loads(Path(nbtrack.download_artifact(run, "config.json", str(dl))).read_text())
    assert config == {"alpha": 0.1, "layers": [1, 2]}
    page = Path(nbtrack.download_artifact(run, "fig.html", str(dl))).read_text()
    assert "<html>" in page and "plotly" in page
    spec = json.loads(Path(nbtrack.download_artifact(run, "fig.json", str(dl))).read_text())
    assert spec["data"][0]["y"] == [3, 4]


def test_matplotlib_figure(tracker: Tracker, root: Path, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with nbtrack.start_run() as run:
        run.log_figure(fig, "curve.png")
        run.log_figure(fig, "curve.svg")
    plt.close(fig)
    png = Path(nbtrack.download_artifact(run, "curve.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = Path(nbtrack.download_artifact(run, "curve.svg", str(tmp_path)))
    assert "<svg" in svg.read_text()


def test_tampered_blob_is_refused_and_nothing_is_written(
    tracker: Tracker, root: Path, tmp_path: Path
) -> None:
    with nbtrack.start_run() as run:
        info = run.log_text("original", "note.txt")
    blob = root / "blobs" / "sha256" / info.digest[:2] / info.digest[2:]
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        nbtrack.download_artifact(run, "note.txt", str(tmp_path / "dl"))
    assert not (tmp_path / "dl" / "note.txt").exists()
    blob.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        nbtrack.download_artifact(run, "note.txt", str(tmp_path / "dl"))


@pytest.mark.parametrize("name", TRAVERSAL, ids=[repr(n) for n in TRAVERSAL])
def test_traversal_names_are_refused(
    tracker: Tracker, root: Path, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    with nbtrack.start_run() as run:
        before = sorted(p for p in tmp_path.rglob("*") if root not in p.parents and p != root)
        with pytest.raises(ValueError):
            run.log_artifact(source, name=name)
        with pytest.raises(ValueError):
            run.log_text("x", name)
        with pytest.raises(ValueError):
            run.log_dict({}, name)
    with pytest.raises(ValueError):
        nbtrack.download_artifact(run, name, str(tmp_path / "dl"))
    assert nbtrack.get_run(run.id).artifacts == []
    after = sorted(p for p in tmp_path.rglob("*") if root not in p.parents and p != root)
    assert [p for p in after if p not in before] == []  # nothing written outside the root
    assert not Path("/etc/escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_good_names_pass() -> None:
    for name in ("model", "plots/loss curve.html", "ünïcode.txt", "a..b", ".hidden", "100%.txt"):
        assert validate_name(name) == name


def test_artifact_root_defaults_beside_sqlite_and_is_required_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NBTRACK_ARTIFACTS", raising=False)
    db = tmp_path / "runs.db"
    assert resolve_artifact_root(f"sqlite:///{db}") == str(tmp_path / "nbtrack-artifacts")
    with pytest.raises(ArtifactError, match="set NBTRACK_ARTIFACTS"):
        resolve_artifact_root("postgresql+psycopg://u@h/db")
    tracker = Tracker("sqlite://")
    try:
        with tracker.start_run() as run, pytest.raises(ArtifactError, match="NBTRACK_ARTIFACTS"):
            run.log_text("x", "x.txt")
    finally:
        tracker.close()
    sqlite_tracker = Tracker(f"sqlite:///{db}")
    try:
        with sqlite_tracker.start_run() as run:
            info = run.log_text("beside", "x.txt")
        assert (tmp_path / "nbtrack-artifacts" / "blobs" / "sha256" / info.digest[:2]).is_dir()
    finally:
        sqlite_tracker.close()


def test_listing_runs_never_unpickles(
    tracker: Tracker, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    joblib = pytest.importorskip("joblib")
    with nbtrack.start_run() as run:
        run.log_model({"weights": [1, 2]}, "model")
        run.log_metric("rmse", 1.0)
    nbtrack.register_model(run, "m")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(joblib, "load", refuse)
    assert len(nbtrack.runs()) == 1
    assert nbtrack.get_run(run.id).artifacts == ["model"]
    assert nbtrack.models()["name"].tolist() == ["m"]
    assert len(nbtrack.model_versions()) == 1
    from nbtrack.panels import compare

    compare(static=True)


_WRITER = """
import sys, time
import nbtrack
from nbtrack.artifacts import _blobs
import nbtrack.tracking.artifacts as glue

stage, path, ready = sys.argv[1], sys.argv[2], sys.argv[3]

def hang(*args, **kwargs):
    open(ready, "w").close()
    time.sleep(600)

with nbtrack.start_run(name="writer") as run:
    run.log_text("small", "done.txt")
    print(run.id, flush=True)
    if stage == "before-rename":
        _blobs.os.fsync = hang           # the temp file is written, not yet renamed
    else:
        glue.tables.put_artifact = hang  # the blob is in place, its row not yet written
    run.log_artifact(path, name="big.bin")
"""


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["before-rename", "before-row"])
def test_sigkill_during_a_write_leaves_no_partial_artifact(
    store_uri: str, root: Path, tmp_path: Path, stage: str
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    ready = tmp_path / "ready"
    env = {**os.environ, "NBTRACK_URI": store_uri, "NBTRACK_ARTIFACTS": str(root)}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_WRITER), stage, str(big), str(ready)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "the writer never reached the write"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    tracker = Tracker(store_uri)  # opening the store reaps the dead writer's run
    try:
        run = tracker.get_run(run_id)
        assert run.status == "CRASHED"
        assert run.artifacts == ["done.txt"]  # the killed write is not visible
        assert tracker.runs("*")["run_id"].tolist() == [run_id]
        sizes = sorted(p.stat().st_size for p in _blob_files(root))
        temps = list((root / "tmp").iterdir())
        if stage == "before-rename":
            assert sizes == [5]  # only "small": no partial blob under blobs/
            assert len(temps) == 1
        else:
            assert sizes == [5, 8 << 20]  # complete blob, referenced by no run
            assert temps == []
        report = collect_garbage(tracker, delete=True, min_age_s=0)
        assert len(report.blobs) + len(report.temp_files) == 1
        assert [p.stat().st_size for p in _blob_files(root)] == [5]
        assert list((root / "tmp").iterdir()) == []
        with tracker.start_run() as again:
            again.log_artifact(big, name="big.bin")
        assert tracker.get_run(again.id).artifacts == ["big.bin"]
        assert blob_store(tracker).get_bytes(again.log_text("ok", "ok.txt").digest) == b"ok"
    finally:
        tracker.close()
