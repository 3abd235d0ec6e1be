"""Param importance: pure on DataFrames, plus nbtrack.importance over a real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.query.importance import param_importance, variance_share
from nbtrack.tracking import Tracker


@pytest.fixture
def store_uri(sqlite_uri: str) -> str:
    return sqlite_uri


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "params.learning_rate": 10 ** rng.uniform(-3, 0, n),  # dominates (log-uniform)
            "params.max_depth": rng.integers(2, 9, n),  # small effect
            "params.booster": rng.choice(["gbtree", "dart"], n),  # no effect
            "params.seed": rng.integers(0, 1000, n),  # no effect
        }
    )
    lr = np.log10(df["params.learning_rate"])
    df["metrics.loss"] = (lr + 1.5) ** 2 + 0.05 * df["params.max_depth"] + rng.normal(0, 0.02, n)
    return df


@pytest.mark.parametrize("n", [15, 40, 200])
def test_the_dominant_param_ranks_first_even_with_few_runs(n: int) -> None:
    ranking = param_importance(synthetic(n), "loss")
    assert ranking.param.iloc[0] == "learning_rate"
    assert ranking.importance.sum() == pytest.approx(1.0)
    noise = ranking.set_index("param").loc[["booster", "seed"], "importance"]
    if n >= 40:  # with 15 runs chance can still lend a noise param a third of the credit
        assert ranking.importance.iloc[0] > 0.6
        assert (noise < 0.15).all()


def test_bias_correction_gives_noise_about_zero() -> None:
    rng = np.random.default_rng(5)
    scores = [variance_share(rng.integers(0, 4, 20), rng.normal(size=20))[1] for _ in range(200)]
    raw = [variance_share(rng.integers(0, 4, 20), rng.normal(size=20))[0] for _ in range(200)]
    assert np.mean(raw) > 0.1  # eta² of pure noise with 4 groups over 20 runs
    assert np.median(scores) == 0.0  # epsilon² removes the bias (clipped at 0)
    assert np.mean(scores) < np.mean(raw) / 2


def test_categorical_and_missing_params_and_an_outlier() -> None:
    df = pd.DataFrame(
        {
            "params.model": ["xgb", "xgb", "lasso", "lasso", "xgb", "lasso", None, None],
            "params.alpha": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
            "metrics.rmse": [1.0, 1.1, 5.0, 5.2, 0.9, 4.9, 3.0, 1e9],
        }
    )
    ranking = param_importance(df, "metrics.rmse")
    assert ranking.param.tolist() == ["model", "alpha"]
    assert ranking.kind.tolist() == ["categorical", "numeric"]
    assert np.isnan(ranking.spearman.iloc[0])


def test_degenerate_inputs_give_an_empty_or_zero_ranking() -> None:
    assert param_importance(pd.DataFrame(), "loss").empty
    one = pd.DataFrame({"params.a": [1], "metrics.loss": [0.5]})
    assert param_importance(one).empty
    flat = pd.DataFrame({"params.a": [1, 2, 3, 4], "metrics.loss": [1.0] * 4})
    assert param_importance(flat).importance.tolist() == [0.0]


def test_nbtrack_importance_reads_the_experiment(tracker: Tracker) -> None:
    nbtrack.set_experiment("imp")
    for _, row in synthetic(20).iterrows():
        params = {k[len("params.") :]: row[k] for k in row.index if k.startswith("params.")}
        with nbtrack.start_run(params=params) as run:
            run.log_metric("loss", row["metrics.loss"])
    ranking = nbtrack.importance(metric="loss")
    assert ranking.param.iloc[0] == "learning_rate"
    assert set(ranking.param) == {"learning_rate", "max_depth", "booster", "seed"}
