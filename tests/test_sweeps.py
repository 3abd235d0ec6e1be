"""Hyperopt and Optuna sweeps with the real libraries: parent run, children, best tag,
threads and several processes on one SQLite store."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.tracking import Tracker

hyperopt = pytest.importorskip("hyperopt")
optuna = pytest.importorskip("optuna")
from hyperopt import hp  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"x": hp.uniform("x", -3, 3), "kind": hp.choice("kind", ["a", "b"])}


def quadratic(params: dict[str, Any]) -> float:
    return float((params["x"] - 1) ** 2 + (params["kind"] == "b"))


@pytest.fixture
def store_uri(sqlite_uri: str) -> str:
    """Sweeps do not depend on the backend: SQLite only (several processes share it)."""
    return sqlite_uri


def children_of(frame: pd.DataFrame, parent_id: str) -> pd.DataFrame:
    return frame[frame.parent_run_id == parent_id]


def test_hyperopt_tpe_sweep_parent_children_best(tracker: Tracker) -> None:
    trials = hyperopt.Trials()
    best = nbtrack.hyperopt.fmin(
        quadratic,
        SPACE,
        algo=hyperopt.tpe.suggest,
        max_evals=12,
        trials=trials,
        name="quad",
        rstate=np.random.default_rng(1),
    )
    frame = tracker.runs()
    (parent_id,) = frame[frame.parent_run_id.isna()].run_id
    parent = tracker.get_run(parent_id)
    assert parent.name == "quad" and parent.status == "FINISHED"
    assert parent.tags["sweep"] == "hyperopt" and parent.tags["sweep.algo"] == "tpe"
    kids = children_of(frame, parent_id)
    assert len(kids) == 12 and set(kids.status) == {"FINISHED"}
    assert sorted(kids["metrics.loss"]) == sorted(trials.losses())
    winner = kids[kids["tags.best"] == "true"]
    assert len(winner) == 1 and (kids["tags.best"] == "false").sum() == 11
    assert winner["metrics.loss"].iloc[0] == min(trials.losses())
    assert winner["params.x"].iloc[0] == pytest.approx(best["x"])
    assert parent.tags["best_run_id"] == winner.run_id.iloc[0]
    curve = tracker.metric_history(parent_id, "best_loss")
    assert curve.value.is_monotonic_decreasing and curve.value.iloc[-1] == min(trials.losses())


def test_hyperopt_objective_nests_in_the_open_run_and_logs_failures(tracker: Tracker) -> None:
    def objective(params: dict[str, Any]) -> dict[str, Any]:
        nbtrack.log_metric("inside", params["x"])  # reaches the trial's run
        if params["x"] > 2:
            return {"status": hyperopt.STATUS_FAIL}
        return {"loss": quadratic(params), "status": hyperopt.STATUS_OK, "rmse": 1.5}

    with nbtrack.start_run(name="manual") as sweep:
        hyperopt.fmin(
            nbtrack.hyperopt.objective(objective, progress=False),
            SPACE,
            algo=hyperopt.rand.suggest,
            max_evals=10,
            show_progressbar=False,
            rstate=np.random.default_rng(3),
        )
    kids = children_of(tracker.runs(), sweep.id)
    assert len(kids) == 10
    failed = kids[kids.status == "FAILED"]
    assert (
        failed["params.x"].gt(2).all() and kids[kids.status == "FINISHED"]["params.x"].le(2).all()
    )
    ok = kids[kids.status == "FINISHED"]
    assert (ok["metrics.rmse"] == 1.5).all()
    assert (kids["metrics.inside"] == kids["params.x"]).all()


def _hyperopt_worker(args: tuple[str, int]) -> int:
    parent_id, seed = args
    nbtrack.hyperopt.fmin(
        quadratic,
        SPACE,
        max_evals=5,
        parent=parent_id,
        progress=False,
        show_progressbar=False,
        rstate=np.random.default_rng(seed),
    )
    return os.getpid()


@pytest.mark.slow
def test_hyperopt_trials_in_several_processes_are_all_kept(tracker: Tracker) -> None:
    with nbtrack.start_run(name="parallel") as sweep:
        tracker.flush()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pids = pool.map(_hyperopt_worker, [(sweep.id, 1), (sweep.id, 2), (sweep.id, 3)])
        best_id = nbtrack.hyperopt.tag_best(sweep)
    assert os.getpid() not in pids
    kids = children_of(tracker.runs(), sweep.id)
    assert len(kids) == 15 and set(kids.status) == {"FINISHED"}
    assert kids.run_id.is_unique
    assert kids[kids["tags.best"] == "true"].run_id.tolist() == [best_id]
    assert tracker.get_run(best_id).metrics["loss"] == kids["metrics.loss"].min()
    assert tracker.get_run(sweep.id).status == "FINISHED"  # a worker did not end it


def test_optuna_threads_with_autolog_inside_the_objective(tracker: Tracker) -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge

    assert sklearn
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=60)

    def objective(trial: optuna.Trial) -> float:
        alpha = trial.suggest_float("alpha", 1e-3, 10, log=True)
        trial.suggest_categorical("solver", ["auto", "svd"])
        Ridge(alpha=alpha).fit(x, y)
        return (np.log10(alpha) - 0.5) ** 2

    study = optuna.create_study(study_name="ridge", sampler=optuna.samplers.RandomSampler(seed=0))
    nbtrack.autolog(frameworks=["sklearn"])
    try:
        sweep = nbtrack.optuna.optimize(study, objective, n_trials=10, n_jobs=2, progress=False)
    finally:
        nbtrack.autolog(disable=True)
    frame = tracker.runs()
    kids = children_of(frame, sweep.parent_id)
    assert len(kids) == 10 and len(frame) == 11  # autolog made no runs of its own
    assert sorted(kids["tags.trial"].astype(int)) == list(range(10))
    for _, kid in kids.iterrows():
        trial = study.trials[int(kid["tags.trial"])]
        assert kid["metrics.value"] == pytest.approx(trial.value)
        # autolog logged the fit of *this* trial's thread into this trial's run
        assert kid["params.alpha"] == pytest.approx(trial.params["alpha"])
        assert kid["metrics.training_score"] == kid["metrics.training_score"]  # not NaN
        assert trial.user_attrs["nbtrack_run_id"] == kid.run_id
    assert sweep.best_run_id == kids[kids["tags.best"] == "true"].run_id.iloc[0]
    assert tracker.get_run(sweep.best_run_id).metrics["value"] == study.best_value
    assert study.user_attrs[nbtrack.optuna.PARENT_ATTR] == sweep.parent_id


WORKER = textwrap.dedent(
    """
    import sys, optuna, nbtrack
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="shared", storage=sys.argv[1])
    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        return (x - 1) ** 2
    nbtrack.optuna.optimize(study, objective, n_trials=5, progress=False)
    """
)


@pytest.mark.slow
def test_optuna_two_processes_share_one_study_and_one_parent(
    tracker: Tracker, store_uri: str, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="shared", storage=storage)
    with nbtrack.start_run(name="two-procs") as sweep:
        study.set_user_attr(nbtrack.optuna.PARENT_ATTR, sweep.id)
        tracker.flush()
        env = {**os.environ, "NBTRACK_URI": store_uri}
        workers = [
            subprocess.Popen([sys.executable, "-c", WORKER, storage], env=env, cwd=tmp_path)
            for _ in range(2)
        ]
        assert [w.wait(timeout=120) for w in workers] == [0, 0]
        nbtrack.optuna.tag_best(sweep)
    kids = children_of(tracker.runs(), sweep.id)
    assert len(kids) == 10 and set(kids.status) == {"FINISHED"}
    assert sorted(kids["tags.trial"].astype(int)) == list(range(10))  # no trial lost
    done = {t.number: t for t in study.trials}
    for _, kid in kids.iterrows():
        assert kid["params.x"] == pytest.approx(done[int(kid["tags.trial"])].params["x"])
    best = kids[kids["tags.best"] == "true"]
    assert int(best["tags.trial"].iloc[0]) == study.best_trial.number
