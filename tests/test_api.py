"""The Python API of SPEC §4 against a real SQLite file."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import RunNotFoundError
from nbtrack.tracking import Tracker


def test_start_run_logs_params_metrics_tags_and_finishes(tracker: Tracker) -> None:
    nbtrack.set_experiment("nyc-taxi")
    with nbtrack.start_run(name="baseline", params={"alpha": 0.1}, tags={"team": "pricing"}) as run:
        run.log_params({"model": "lasso", "depth": 6})
        run.log_metric("rmse", 6.3)
        run.set_tags({"stage": "dev"})
    stored = nbtrack.get_run(run.id)
    assert stored.name == "baseline"
    assert stored.experiment == "nyc-taxi"
    assert stored.status == "FINISHED"
    assert stored.params == {"alpha": 0.1, "model": "lasso", "depth": 6}
    assert stored.metrics == {"rmse": 6.3}
    assert stored.tags == {"team": "pricing", "stage": "dev"}
    assert stored.source is None
    assert stored.meta["duration_s"] >= 0
    assert stored.meta["python"].count(".") == 2
    assert {"user", "host", "packages", "git_commit", "datasets", "error"} <= set(stored.meta)


def test_module_level_logging_goes_to_the_open_run(tracker: Tracker) -> None:
    with nbtrack.start_run() as run:
        nbtrack.log_param("lr", 0.01)
        nbtrack.log_params({"layers": 3})
        nbtrack.log_metric("loss", 0.5)
        nbtrack.log_metrics({"acc": 0.9})
        nbtrack.log(step=5, f1=0.7)
        nbtrack.set_tag("k", "v")
        nbtrack.set_tags({"k2": 2})
        assert nbtrack.active_run() is run
    stored = nbtrack.get_run(run.id)
    assert stored.params == {"lr": 0.01, "layers": 3}
    assert stored.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.7}
    assert stored.tags == {"k": "v", "k2": "2"}
    assert nbtrack.active_run() is None


def test_logging_without_open_run_starts_one_like_mlflow(tracker: Tracker) -> None:
    nbtrack.log_metric("x", 1.0)
    run = nbtrack.active_run()
    assert run is not None
    nbtrack.end_run()
    assert nbtrack.get_run(run.id).status == "FINISHED"


def test_metric_steps_history_and_latest(tracker: Tracker) -> None:
    with nbtrack.start_run() as run:
        for epoch in range(5):
            run.log(loss=1 / (epoch + 1))  # steps 0..4 by default
        run.log_metric("val", 3.0, step=10)
        run.log_metric("val", 1.0, step=2)  # an older step does not replace the latest
    history = nbtrack.metric_history(run.id, "loss")
    assert list(history.columns) == ["key", "step", "value", "timestamp"]
    assert history["step"].tolist() == [0, 1, 2, 3, 4]
    assert history["value"].tolist() == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert str(history["timestamp"].dtype).startswith("datetime64")
    assert nbtrack.get_run(run.id).metrics == {"loss": pytest.approx(0.2), "val": 3.0}
    both = tracker.metric_histories([run.id], ["val"])
    assert both["step"].tolist() == [2, 10]


def test_nested_runs_via_parent_and_implicitly(tracker: Tracker) -> None:
    with nbtrack.start_run(name="sweep") as sweep, nbtrack.start_run(name="trial-1") as implicit:
        pass
    with nbtrack.start_run(name="trial-2", parent=sweep) as explicit:
        pass
    assert nbtrack.get_run(implicit.id).parent_id == sweep.id
    assert nbtrack.get_run(explicit.id).parent_id == sweep.id
    frame = nbtrack.runs()
    assert set(frame.loc[frame.parent_run_id == sweep.id, "run_name"]) == {"trial-1", "trial-2"}


def test_unknown_parent_is_refused_and_nothing_is_written(tracker: Tracker) -> None:
    with pytest.raises(RunNotFoundError, match="parent run"):
        nbtrack.start_run(parent="f" * 32)
    assert len(nbtrack.runs(experiment="*")) == 0


def test_exception_in_with_block_marks_failed_and_propagates(tracker: Tracker) -> None:
    with pytest.raises(ZeroDivisionError), nbtrack.start_run() as run:
        run.log_metric("before", 1.0)
        _ = 1 / 0
    stored = nbtrack.get_run(run.id)
    assert stored.status == "FAILED"
    assert stored.meta["error"] == "ZeroDivisionError: division by zero"
    assert stored.metrics == {"before": 1.0}


def test_keyboard_interrupt_marks_killed(tracker: Tracker) -> None:
    with pytest.raises(KeyboardInterrupt), nbtrack.start_run() as run:
        raise KeyboardInterrupt
    assert nbtrack.get_run(run.id).status == "KILLED"


def test_runs_frame_columns_follow_mlflow_and_types_are_kept(tracker: Tracker) -> None:
    for alpha, model in [(0.1, "lasso"), (0.5, "ridge"), (1.0, "lasso")]:
        with nbtrack.start_run(params={"alpha": alpha, "model": model, "n": 3}) as run:
            run.log_metric("rmse", 10 * alpha)
            run.set_tag("team", "a")
    frame = nbtrack.runs()
    assert list(frame.columns[:8]) == [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "duration_s",
        "parent_run_id",
    ]
    assert {"params.alpha", "params.model", "params.n", "metrics.rmse", "tags.team"} <= set(frame)
    assert frame["params.alpha"].dtype == "float64"
    assert frame["params.n"].dtype == "int64"
    assert frame["metrics.rmse"].dtype == "float64"
    assert isinstance(frame["start_time"].dtype, pd.DatetimeTZDtype)
    # newest first by default, like MLflow
    assert frame["params.alpha"].tolist() == [1.0, 0.5, 0.1]


def test_runs_filter_order_limit_and_experiments(tracker: Tracker) -> None:
    nbtrack.set_experiment("a")
    for alpha in (0.1, 0.2, 0.3, 0.4):
        with nbtrack.start_run(params={"alpha": alpha}) as run:
            run.log_metric("rmse", alpha * 10)
    with nbtrack.start_run(experiment="b", params={"alpha": 9.0}):
        pass
    top = nbtrack.runs(
        filter="metrics.rmse > 1.5 or params.alpha = 0.1", order_by="metrics.rmse DESC", limit=2
    )
    assert top["params.alpha"].tolist() == [0.4, 0.3]
    assert len(nbtrack.runs(experiment="b")) == 1
    assert len(nbtrack.runs(experiment="*")) == 5
    assert len(nbtrack.runs(experiment=["a", "b"])) == 5
    assert nbtrack.runs(experiment="missing").empty
    with pytest.raises(ValueError, match="limit"):
        nbtrack.runs(limit=-1)


def test_best_and_last_run(tracker: Tracker) -> None:
    ids = []
    for rmse, acc in [(3.0, 0.7), (1.0, 0.6), (2.0, 0.9)]:
        with nbtrack.start_run() as run:
            run.log_metrics({"rmse": rmse, "acc": acc})
        ids.append(run.id)
    with nbtrack.start_run() as no_metric:
        pass
    assert nbtrack.best_run("rmse").id == ids[1]
    assert nbtrack.best_run("acc", mode="max").id == ids[2]
    assert nbtrack.best_run("nothing") is None
    assert nbtrack.last_run().id == no_metric.id
    with pytest.raises(ValueError, match="mode"):
        nbtrack.best_run("rmse", mode="lowest")


def test_last_run_in_a_new_process_is_newest_in_store(tracker: Tracker, store_uri: str) -> None:
    with nbtrack.start_run() as run:
        pass
    other = Tracker(store_uri)
    assert other.last_run().id == run.id
    other.close()


def test_get_run_of_unknown_id_raises(tracker: Tracker) -> None:
    with pytest.raises(RunNotFoundError):
        nbtrack.get_run("nope")


def test_values_reach_the_store_within_a_second_without_ending(
    tracker: Tracker, store_uri: str
) -> None:
    import time

    run = nbtrack.start_run()
    run.log_metric("live", 1.0)
    reader = Tracker(store_uri)
    deadline = time.monotonic() + 3
    seen = {}
    while time.monotonic() < deadline and not seen:
        seen = reader.store.get_run(run.id).metrics
        time.sleep(0.1)
    assert seen == {"live": 1.0}
    run.end()
    reader.close()


def test_nan_and_inf_metrics_round_trip(tracker: Tracker) -> None:
    with nbtrack.start_run() as run:
        run.log_metrics({"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    metrics = nbtrack.get_run(run.id).metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf and metrics["ninf"] == -math.inf
    frame = nbtrack.runs()
    assert math.isnan(frame.loc[0, "metrics.nan"]) and frame.loc[0, "metrics.inf"] == math.inf


def test_events_announce_start_log_and_end(tracker: Tracker) -> None:
    seen = []
    stop = tracker.events.subscribe(lambda event: seen.append(event.kind))
    with nbtrack.start_run() as run:
        run.log_metric("x", 1)
    stop()
    assert seen[0] == "started" and seen[-1] == "ended" and "logged" in seen


def test_connect_while_a_run_is_open_is_refused(tracker: Tracker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = nbtrack.start_run()
    with pytest.raises(nbtrack.errors.NbtrackError, match="end the open run"):
        nbtrack.connect(f"sqlite:///{tmp_path / 'other.db'}")
    run.end()
    url = nbtrack.connect(f"sqlite:///{tmp_path / 'other.db'}")
    assert url.endswith("other.db")
    assert nbtrack.runs(experiment="*").empty
