"""autolog with real scikit-learn and XGBoost on a real SQLite store (small data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.integrations._common import AutologWarning
from nbtrack.tracking import ActiveRun, Tracker

sklearn = pytest.importorskip("sklearn")
xgb = pytest.importorskip("xgboost")

from sklearn.linear_model import Lasso, Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture
def store_uri(sqlite_uri: str) -> str:
    """autolog does not depend on the backend: SQLite only, to keep these tests fast."""
    return sqlite_uri


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = x @ np.array([1.0, 2.0, 0.0, -1.0]) + rng.normal(0, 0.1, 120)
    return x, y


@pytest.fixture
def autologged(tracker: Tracker) -> Iterator[Tracker]:
    nbtrack.autolog()
    yield tracker
    nbtrack.autolog(disable=True)


def test_pipeline_params_flattened_score_time_and_class(autologged: Tracker, data: Any) -> None:
    x, y = data
    model = make_pipeline(StandardScaler(), Lasso(alpha=0.05)).fit(x, y)
    frame = autologged.runs()
    assert len(frame) == 1  # the steps' own fits are the pipeline's, not runs of their own
    run = autologged.get_run(frame.run_id[0])
    assert run.status == "FINISHED"
    assert run.params["lasso__alpha"] == 0.05
    assert run.params["standardscaler__with_mean"] is True
    assert run.params["lasso"] == "Lasso"  # nested estimator: its class name
    assert "steps" not in run.params
    assert run.metrics["training_score"] == pytest.approx(model.score(x, y))
    assert run.metrics["fit_time_s"] > 0
    assert run.tags["estimator_name"] == "Pipeline"
    assert run.tags["estimator_class"] == "sklearn.pipeline.Pipeline"


def test_fit_inside_an_open_run_logs_into_it(autologged: Tracker, data: Any) -> None:
    x, y = data
    with nbtrack.start_run(name="outer") as outer:
        Ridge(alpha=2.0).fit(x, y)
    frame = autologged.runs()
    assert frame.run_id.tolist() == [outer.id]
    assert autologged.get_run(outer.id).params["alpha"] == 2.0


def test_disable_restores_the_original_fit(tracker: Tracker, data: Any) -> None:
    original = Lasso.fit
    nbtrack.autolog()
    assert Lasso.fit is not original
    nbtrack.autolog(disable=True)
    assert Lasso.fit is original
    Lasso().fit(*data)
    assert tracker.runs().empty


def test_grid_search_parent_and_one_child_per_candidate(autologged: Tracker, data: Any) -> None:
    x, y = data
    grid = {"alpha": [0.01, 0.1, 1.0], "fit_intercept": [True, False]}
    search = GridSearchCV(Lasso(), grid, cv=3).fit(x, y)
    frame = autologged.runs()
    parents = frame[frame.parent_run_id.isna()]
    assert len(parents) == 1
    parent_id = parents.run_id.iloc[0]
    children = frame[frame.parent_run_id == parent_id]
    assert len(children) == 6
    assert sorted(
        zip(children["params.alpha"], children["params.fit_intercept"], strict=False)
    ) == sorted((a, f) for a in grid["alpha"] for f in grid["fit_intercept"])
    best = children[children["tags.best"] == "true"]
    assert len(best) == 1
    assert best["params.alpha"].iloc[0] == search.best_params_["alpha"]
    assert best["metrics.mean_test_score"].iloc[0] == pytest.approx(search.best_score_)
    parent = autologged.get_run(parent_id)
    assert parent.tags["best_run_id"] == best.run_id.iloc[0]
    assert parent.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.params["estimator__alpha"] == 1.0  # the base estimator's params, flattened


def test_xgboost_train_logs_rounds_best_iteration_and_model(
    autologged: Tracker, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged_models: list[Any] = []
    monkeypatch.setattr(
        ActiveRun, "log_model", lambda self, model, name: logged_models.append(model), raising=False
    )
    x, y = data
    dtrain = xgb.DMatrix(x[:80], label=y[:80])
    dval = xgb.DMatrix(x[80:], label=y[80:])
    booster = xgb.train(
        {"max_depth": 3, "eta": 0.3, "eval_metric": "rmse", "nthread": 1},
        dtrain,
        num_boost_round=200,
        evals=[(dtrain, "train"), (dval, "val")],
        early_stopping_rounds=3,
        verbose_eval=False,
    )
    (run_id,) = autologged.runs().run_id
    run = autologged.get_run(run_id)
    assert run.params["max_depth"] == 3 and run.params["num_boost_round"] == 200
    assert run.params["early_stopping_rounds"] == 3
    history = autologged.metric_history(run_id, "val-rmse")
    rounds = booster.num_boosted_rounds()
    assert history.step.tolist() == list(range(rounds))
    assert len(autologged.metric_history(run_id, "train-rmse")) == rounds
    assert run.metrics["best_iteration"] == booster.best_iteration
    assert run.metrics["best_score"] == pytest.approx(history.value.min())
    assert logged_models == [booster]


def test_xgboost_sklearn_api_is_one_run_with_curves(autologged: Tracker, data: Any) -> None:
    x, y = data
    model = xgb.XGBRegressor(n_estimators=8, max_depth=2, learning_rate=0.3, n_jobs=1)
    model.fit(x[:80], y[:80], eval_set=[(x[80:], y[80:])], verbose=False)
    (run_id,) = autologged.runs().run_id  # xgboost.train inside fit is not a second run
    run = autologged.get_run(run_id)
    assert run.params["n_estimators"] == 8 and run.params["max_depth"] == 2
    assert run.tags["estimator_name"] == "XGBRegressor"
    assert autologged.metric_history(run_id, "validation_0-rmse").step.tolist() == list(range(8))
    assert run.metrics["best_iteration"] == 7  # no early stopping: best round of the curve
    assert run.metrics["training_score"] == pytest.approx(model.score(x[:80], y[:80]))


def test_autolog_inside_track_cell_logs_into_the_cell_run(ip: Any, tracker: Tracker) -> None:
    ip.user_ns.update(data=(np.arange(40.0).reshape(20, 2), np.arange(20.0)))
    nbtrack.autolog()
    try:
        ip.run_cell_magic(
            "track",
            "-n cell --quiet",
            "from sklearn.linear_model import Lasso\n"
            "alpha = 0.5\n"
            "model = Lasso(alpha=alpha).fit(*data)\n"
            "r2 = model.score(*data)\n",
        )
    finally:
        nbtrack.autolog(disable=True)
    frame = tracker.runs()
    assert frame.run_name.tolist() == ["cell"]  # no second run for the fit
    run = tracker.get_run(frame.run_id[0])
    assert run.params["alpha"] == 0.5  # captured by the cell and logged by autolog: one value
    assert run.params["max_iter"] == 1000  # from autolog
    assert run.metrics["training_score"] == pytest.approx(run.metrics["r2"])
    assert len(tracker.metric_history(run.id, "training_score")) == 1


def test_a_logging_failure_warns_and_the_fit_still_works(
    autologged: Tracker, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ActiveRun, params: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ActiveRun, "log_params", broken)
    with pytest.warns(AutologWarning, match="disk full"):
        model = Lasso(alpha=0.1).fit(*data)
    assert hasattr(model, "coef_")


def test_a_failing_fit_raises_unchanged_and_its_run_is_failed(
    autologged: Tracker, data: Any
) -> None:
    x, _ = data
    with pytest.raises(ValueError):
        Lasso().fit(x, np.arange(3))  # wrong number of targets
    (status,) = autologged.runs().status
    assert status == "FAILED"
