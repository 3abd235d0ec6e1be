"""SPEC §10: every bad input gets a clear error and loses nothing already stored."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.tracking import Tracker

LONG_UNICODE = ("Ω≈ç√∫ 漢字 😀 \u200b" * 1000)[:10_000]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, "nan"),
        (math.inf, math.inf),
        (-math.inf, -math.inf),
        (np.float32(1.5), 1.5),
        (np.int64(7), 7.0),
        (np.array(2.5), 2.5),
        (10**20, 1e20),
    ],
    ids=["nan", "inf", "-inf", "np.float32", "np.int64", "0-d array", "big int"],
)
def test_metric_values_are_stored_as_such(tracker: Tracker, value: Any, expected: Any) -> None:
    with nbtrack.start_run() as run:
        run.log_metric("m", value)
    stored = nbtrack.get_run(run.id).metrics["m"]
    assert math.isnan(stored) if expected == "nan" else stored == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("abc", TypeError),
        (True, TypeError),
        (None, TypeError),
        ([1.0], TypeError),
        (1 + 2j, TypeError),
    ],
    ids=["str", "bool", "None", "list", "complex"],
)
def test_bad_metric_values_raise_and_keep_what_was_logged(
    tracker: Tracker, value: Any, error: type[Exception]
) -> None:
    with nbtrack.start_run() as run:
        run.log_metric("good", 1.0)
        with pytest.raises(error, match="must be a real number"):
            run.log_metric("bad", value)
    assert nbtrack.get_run(run.id).metrics == {"good": 1.0}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2, 3], [1, 2, 3]),
        ({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}),
        ((1, "x"), [1, "x"]),
        (np.array([1.0, 2.0]), [1.0, 2.0]),
        (np.float64(0.25), 0.25),
        (np.int32(4), 4),
        (np.bool_(True), True),
        (pd.Series([1, 2], name="s"), [1, 2]),
        (pd.DataFrame({"a": [1, 2]}), {"a": [1, 2]}),
        (pd.Timestamp("2024-01-01"), "2024-01-01T00:00:00"),
        (None, None),
        (LONG_UNICODE, LONG_UNICODE),
        (float("nan"), "nan"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        (2**70, 2**70),
    ],
    ids=[
        "list",
        "dict",
        "tuple",
        "ndarray",
        "np.float64",
        "np.int32",
        "np.bool_",
        "Series",
        "DataFrame",
        "Timestamp",
        "None",
        "10k unicode",
        "nan",
        "script",
        "huge int",
    ],
)
def test_param_values_round_trip(tracker: Tracker, value: Any, expected: Any) -> None:
    with nbtrack.start_run() as run:
        run.log_param("p", value)
    stored = nbtrack.get_run(run.id).params["p"]
    if expected == "nan":
        assert math.isnan(stored)
    else:
        assert stored == expected


def test_unserialisable_param_is_kept_as_its_repr(tracker: Tracker) -> None:
    class Model:
        def __repr__(self) -> str:
            return "Model(depth=3)"

    with nbtrack.start_run() as run:
        run.log_param("model", Model())
    assert nbtrack.get_run(run.id).params["model"] == "Model(depth=3)"


@pytest.mark.parametrize(
    ("key", "error", "match"),
    [
        ("", ValueError, "must not be empty"),
        ("   ", ValueError, "must not be empty"),
        ("x" * 251, ValueError, "limit is 250"),
        ("a\x00b", ValueError, "NUL"),
        (3, TypeError, "must be a str"),
    ],
    ids=["empty", "blank", "too long", "NUL", "not str"],
)
def test_bad_names_are_refused(
    tracker: Tracker, key: Any, error: type[Exception], match: str
) -> None:
    with nbtrack.start_run() as run:
        for log in (run.log_metric, run.log_param, run.set_tag):
            with pytest.raises(error, match=match):
                log(key, 1)
        run.log_metric("ok", 1.0)
    assert nbtrack.get_run(run.id).metrics == {"ok": 1.0}


def test_unicode_and_markup_names_are_kept_exactly(tracker: Tracker) -> None:
    name = "<script>alert('x')</script> ünïcødé 😀"
    with nbtrack.start_run(name=name, experiment=name) as run:
        run.log_metric(name, 1.0)
        run.log_param(name, name)
        run.set_tag(name, LONG_UNICODE)
    stored = nbtrack.get_run(run.id)
    assert (stored.name, stored.experiment) == (name, name)
    assert stored.metrics == {name: 1.0} and stored.params == {name: name}
    assert stored.tags == {name: LONG_UNICODE}
    assert "<script>" not in stored._repr_html_()


@pytest.mark.parametrize(
    ("filter_text", "bad_token"),
    [
        ("metrics.rmse <", "end of the filter"),
        ("metrics.rmse << 1", "<"),
        ("foo.bar = 1", "foo"),
        ("params.a = 'x' ; DROP TABLE runs; --", ";"),
        ("metrics.rmse < 'abc'", "abc"),
        ("(metrics.rmse < 1", "end of the filter"),
        ("metrics.rmse < 1)", ")"),
        ("status = 'RUNNIN'", "RUNNIN"),
    ],
)
def test_malformed_filters_raise_value_error_naming_the_token(
    tracker: Tracker, filter_text: str, bad_token: str
) -> None:
    with nbtrack.start_run() as run:
        run.log_metric("rmse", 1.0)
    with pytest.raises(ValueError) as caught:
        nbtrack.runs(filter=filter_text)
    assert bad_token in str(caught.value)
    assert len(nbtrack.runs()) == 1  # nothing stored was touched


def test_injection_in_a_string_literal_is_just_a_string(tracker: Tracker, store_uri: str) -> None:
    with nbtrack.start_run(params={"a": "x'; DROP TABLE runs; --"}):
        pass
    found = nbtrack.runs(filter='params.a = "x\'; DROP TABLE runs; --"')
    assert len(found) == 1
    with tracker.store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 1


def test_deeply_nested_and_huge_filters_are_refused_quickly(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="nest"):
        nbtrack.runs(filter="(" * 2_000 + "metrics.a < 1" + ")" * 2_000)
    with pytest.raises(ValueError, match="long"):
        nbtrack.runs(filter="metrics.a < 1 and " * 1000 + "metrics.a < 1")


def test_bad_run_arguments(tracker: Tracker, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run name"):
        nbtrack.start_run(name="")
    with pytest.raises(ValueError, match="experiment name"):
        nbtrack.set_experiment("")
    assert nbtrack.runs(experiment="*").empty
