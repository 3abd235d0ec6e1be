"""Models and the registry: log_model, register, aliases, tags, load by URI, %track_models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from IPython.core.error import UsageError

import nbtrack
from nbtrack.errors import ArtifactError, ModelNotFoundError
from nbtrack.panels._table import table_columns
from nbtrack.registry import resolve
from nbtrack.registry._view import RegistryView
from nbtrack.store import registry as tables
from nbtrack.tracking import Tracker

linear = pytest.importorskip("sklearn.linear_model")
pd = pytest.importorskip("pandas")


@pytest.fixture(autouse=True)
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "artifacts"
    monkeypatch.setenv("NBTRACK_ARTIFACTS", str(folder))
    return folder


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["distance", "hour", "weekday"])
    y = X.to_numpy() @ np.array([3.0, 0.5, -1.0]) + rng.normal(scale=0.1, size=60)
    return X, y


def _train(alpha: float) -> tuple[str, Any]:
    X, y = _data()
    with nbtrack.start_run(name=f"ridge-{alpha}", params={"alpha": alpha}) as run:
        model = linear.Ridge(alpha=alpha).fit(X, y)
        run.log_metric("rmse", float(np.sqrt(np.mean((model.predict(X) - y) ** 2))))
        run.log_model(model, "model")
    return run.id, model


def test_log_model_writes_metadata_and_loads_back(
    tracker: Tracker, root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_id, model = _train(0.1)
    assert nbtrack.get_run(run_id).artifacts == ["model"]
    folder = Path(nbtrack.download_artifact(run_id, "model", str(tmp_path / "dl")))
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib", "nbtrack-model.json"]
    import json

    meta = json.loads((folder / "nbtrack-model.json").read_text())
    assert meta["flavor"] == "sklearn" and meta["format"] == "joblib"
    assert meta["class"] == "sklearn.linear_model._ridge.Ridge"
    assert meta["input_columns"] == ["distance", "hour", "weekday"]
    assert "scikit-learn" in meta["libraries"]
    X, _ = _data()
    loaded = nbtrack.load_model(f"runs:/{run_id}/model")
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    said = capsys.readouterr().out
    assert f"runs:/{run_id}/model" in said and str(root) in said and "verified" in said


def test_register_alias_and_load_by_version_alias_latest(
    tracker: Tracker, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _train(10.0)
    second, best = _train(0.01)
    v1 = nbtrack.register_model(first, "duration", description="baseline")
    v2 = nbtrack.register_model(second, "duration", tags={"stage": "candidate"})
    assert (v1.version, v2.version) == (1, 2)
    assert v2.run_id == second and v2.experiment == tracker.experiment
    assert v2.metrics["rmse"] == pytest.approx(nbtrack.get_run(second).metrics["rmse"])
    assert v2.tags == {"stage": "candidate"} and v1.description == "baseline"

    nbtrack.set_alias("duration", "champion", 1)
    nbtrack.set_alias("duration", "champion", 2)  # moved: recorded with who and when
    events = tables.alias_events(tracker.store, "duration")
    assert [(e.alias, e.version, e.previous) for e in events] == [
        ("champion", 1, None),
        ("champion", 2, 1),
    ]
    assert all(e.set_by and e.set_at > 0 for e in events)

    X, _ = _data()
    for uri in ("models:/duration@champion", "models:/duration/2", "models:/duration/latest"):
        np.testing.assert_allclose(nbtrack.load_model(uri).predict(X), best.predict(X))
        assert "(sha256 " in capsys.readouterr().out
    assert resolve(tracker, "models:/duration/1").run_id == first

    nbtrack.set_model_tag("duration", "team", "pricing")
    nbtrack.set_model_tag("duration", "validated", "yes", version=2)
    nbtrack.set_model_description("duration", "trip duration <minutes>")
    nbtrack.set_model_description("duration", "the better one", version=2)
    models = nbtrack.models()
    assert models.loc[0, "aliases"] == {"champion": 2}
    assert models.loc[0, "tags"] == {"team": "pricing"}
    assert models.loc[0, "latest_version"] == 2
    versions = nbtrack.model_versions("duration")
    assert versions["version"].tolist() == [2, 1]
    assert versions["aliases"].tolist() == [["champion"], []]
    assert versions["description"].tolist() == ["the better one", "baseline"]

    nbtrack.set_alias("duration", "champion", None)
    with pytest.raises(ModelNotFoundError, match="no alias 'champion'"):
        nbtrack.load_model("models:/duration@champion")


def test_registered_runs_are_marked(tracker: Tracker) -> None:
    first, _ = _train(1.0)
    second, _ = _train(2.0)
    nbtrack.register_model(second, "m")
    nbtrack.register_model(second, "other")
    frame = nbtrack.runs()
    marks = dict(zip(frame["run_id"], frame["tags.registered"], strict=True))
    assert marks[second] == "m/1, other/1"
    assert pd.isna(marks[first])
    assert nbtrack.runs(filter="tags.registered IS NOT NULL")["run_id"].tolist() == [second]
    labels = [c.label for c in table_columns(frame)]
    assert labels.index("registered") < labels.index("rmse")


def test_bad_inputs_are_clear(tracker: Tracker) -> None:
    run_id, _ = _train(1.0)
    with nbtrack.start_run() as plain:
        plain.log_text("not a model", "notes.txt")
    with pytest.raises(ArtifactError, match="not a model"):
        nbtrack.register_model(plain, "m", artifact="notes.txt")
    with pytest.raises(ArtifactError, match="no artifact 'model'"):
        nbtrack.register_model(plain, "m")
    for name in ("a/b", "a@b", ""):
        with pytest.raises(ValueError):
            nbtrack.register_model(run_id, name)
    nbtrack.register_model(run_id, "m")
    for alias in ("latest", "1", "bad alias", "a/b"):
        with pytest.raises(ValueError):
            nbtrack.set_alias("m", alias, 1)
    with pytest.raises(ModelNotFoundError):
        nbtrack.set_alias("m", "champion", 7)
    with pytest.raises(ModelNotFoundError):
        nbtrack.set_alias("nope", "champion", 1)
    for uri in ("models:/m", "models:/m/x", "m", "models:/m/1/2"):
        with pytest.raises(ValueError):
            nbtrack.load_model(uri)
    with pytest.raises(ModelNotFoundError):
        nbtrack.load_model("models:/m/9")


def test_hash_is_checked_before_unpickling(
    tracker: Tracker, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    run_id, _ = _train(1.0)
    nbtrack.register_model(run_id, "m")
    rows = {row.path: row for row in tables.artifact_rows(tracker.store, run_id, "model")}
    digest = rows["model.joblib"].digest
    blob = root / "blobs" / "sha256" / digest[:2] / digest[2:]
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"evil")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("unpickled unverified bytes")

    monkeypatch.setattr(joblib, "load", refuse)
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        nbtrack.load_model("models:/m/1")


def test_relogged_artifact_after_registration_is_refused(tracker: Tracker) -> None:
    X, y = _data()
    with nbtrack.start_run() as run:
        run.log_model(linear.Ridge(alpha=1.0).fit(X, y), "model")
        nbtrack.register_model(run, "m")
        run.log_model(linear.Ridge(alpha=5.0).fit(X, y), "model")
    with pytest.raises(ArtifactError, match="re-logged"):
        nbtrack.load_model("models:/m/1")


def test_pickle_flavor_without_joblib(tracker: Tracker, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_joblib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "joblib":
            raise ImportError("no joblib")
        return real_import(name, *args, **kwargs)

    with nbtrack.start_run() as run:
        monkeypatch.setattr(builtins, "__import__", no_joblib)
        run.log_model({"weights": [1, 2]}, "model")
        monkeypatch.setattr(builtins, "__import__", real_import)
    assert nbtrack.load_model(run, quiet=True) == {"weights": [1, 2]}


def test_xgboost_native_json(tracker: Tracker, tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    X, y = _data()
    model = xgboost.XGBRegressor(n_estimators=5, max_depth=2).fit(X, y)
    with nbtrack.start_run() as run:
        run.log_model(model, "model")
    folder = Path(nbtrack.download_artifact(run, "model", str(tmp_path)))
    assert (folder / "model.json").is_file()
    loaded = nbtrack.load_model(run, quiet=True)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)


def test_track_models_magic_shows_escaped_lineage(ip: Any, tracker: Tracker) -> None:
    ip.user_ns["nbtrack"] = nbtrack
    ip.run_cell(
        "from sklearn.linear_model import Ridge\n"
        "import numpy as np\n"
        "X = np.arange(20.0).reshape(10, 2); y = X.sum(axis=1)\n"
    )
    result = ip.run_cell(
        "%%track -n '<script>alert(1)</script>'\n"
        "alpha = 0.5\n"
        "model = Ridge(alpha=alpha).fit(X, y)\n"
        "rmse = float(((model.predict(X) - y) ** 2).mean() ** 0.5)\n"
        "nbtrack.log_model(model)\n"
    )
    assert result.error_in_exec is None
    run = nbtrack.last_run()
    assert run is not None and run.artifacts == ["model"]
    version = nbtrack.register_model(run, "<b>model", description="<img src=x>")
    assert version.source is not None and "Ridge(alpha=alpha)" in version.source
    nbtrack.set_alias("<b>model", "champion", 1)
    view = ip.run_line_magic("track_models", "")
    assert isinstance(view, RegistryView)
    page = view._repr_html_()
    assert "<script>" not in page and "<b>model" not in page and "<img" not in page
    assert "&lt;b&gt;model" in page and "@champion" in page and "rmse=" in page
    assert "&lt;script&gt;" in page  # the run's name, escaped
    text = repr(view)
    assert "<b>model · 1 version(s)" in text and "v1 | @champion" in text
    assert isinstance(ip.run_line_magic("track_models", "'<b>model' --limit 1"), RegistryView)
    assert isinstance(ip.run_line_magic("track_models", "--all"), RegistryView)
    with pytest.raises(UsageError, match="no registered model"):
        ip.run_line_magic("track_models", "missing")
    with pytest.raises(UsageError):
        ip.run_line_magic("track_models", "--limit x")
    assert "no registered models" in repr(RegistryView([], []))
