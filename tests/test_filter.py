"""Tests for nbtrack.query.filter: MLflow-style filters and orderings, run against SQLite."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite

from nbtrack.query.filter import (
    And,
    Comparison,
    Not,
    Or,
    compile_filter,
    compile_order_by,
    experiment_condition,
    parse_filter,
)
from nbtrack.store import ParamRow, Store
from nbtrack.store.store import MetricPoint, TagRow
from nbtrack.values import encode_param


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


# id: (experiment, name, start, status, params, metrics, tags); None metric = NaN
RUNS: dict[str, tuple[str, str, str, str, dict[str, Any], dict[str, Any], dict[str, str]]] = {
    "r1": (
        "e",
        "alpha-run",
        "2024-01-01T00:00:00",
        "FINISHED",
        {"model": "xgboost", "alpha": 0.1, "depth": 3, "flag": True, "a b": 1},
        {"rmse": 5.0, "acc": 0.9, "my metric": 2.0},
        {"team": "ml", "note": "Été chaud", "path": "axb"},
    ),
    "r2": (
        "e",
        "beta-run",
        "2024-02-01T00:00:00",
        "FAILED",
        {"model": "lightgbm", "alpha": 0.5, "depth": "3", "flag": False},
        {"rmse": 7.0, "acc": None},
        {"team": "data", "path": "a_b%c", "quote": 'it\'s "q"'},
    ),
    "r3": (
        "other",
        "Gamma",
        "2024-03-01T00:00:00",
        "RUNNING",
        {"model": "XGBoost"},
        {"rmse": 6.0},
        {"path": "x*y"},
    ),
    "r4": (
        "e",
        "δέλτα",
        "2024-04-01T00:00:00",
        "KILLED",
        {},
        {},
        {"team": "ML", "note": "ÉTÉ", "path": "x[y]"},
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    path: Path = tmp_path_factory.mktemp("filter") / "t.db"
    store = Store(f"sqlite:///{path}")
    for run_id, (experiment, name, start, status, params, metrics, tags) in RUNS.items():
        store.create_run(
            run_id=run_id,
            experiment_id=store.experiment_id(experiment) or 0,
            name=name,
            parent_id=None,
            start_time=_epoch(start),
            source=None,
            meta={},
            host="test",
            pid=1,
            pid_start=None,
            param_rows=[ParamRow(run_id, k, *encode_param(v)) for k, v in params.items()],
            tag_rows=[TagRow(run_id, k, v) for k, v in tags.items()],
        )
        store.write_batch(
            points=[MetricPoint(run_id, k, 0, v, time.time()) for k, v in metrics.items()]
        )
        if status != "RUNNING":
            store.finish_run(run_id, status, _epoch(start) + 3600, {})
    return store


def _ids(store: Store, text: str | None, order_by: Any = None) -> list[str]:
    return store.run_ids(compile_filter(text), compile_order_by(order_by))


FILTERS = [
    # metrics: every comparator; missing and NaN metrics never match
    ("metrics.rmse < 6.5", {"r1", "r3"}),
    ("metrics.rmse <= 6", {"r1", "r3"}),
    ("metrics.rmse > 6", {"r2"}),
    ("metrics.rmse >= 6", {"r2", "r3"}),
    ("metrics.rmse = 7", {"r2"}),
    ("metrics.rmse == 7.0", {"r2"}),
    ("metrics.rmse != 7", {"r1", "r3"}),
    ("metrics.rmse <> 7", {"r1", "r3"}),
    ("metric.rmse = 5", {"r1"}),
    ("metrics.rmse>-1", {"r1", "r2", "r3"}),
    ("metrics.rmse < 5.5e0", {"r1"}),
    ("metrics.acc > 0", {"r1"}),
    ("metrics.acc IS NULL", {"r2", "r3", "r4"}),
    ("metrics.acc is not null", {"r1"}),
    ("not metrics.acc > 0", set()),
    ("not metrics.rmse > 6", {"r1", "r3"}),
    ("metrics.nope < 1 or metrics.nope >= 1", set()),
    ("metrics.`my metric` > 1", {"r1"}),
    ('metrics."my metric" = 2', {"r1"}),
    ("metrics.rmse IN (5, 6)", {"r1", "r3"}),
    ("metrics.rmse not in (5, 6)", {"r2"}),
    # params: numbers compare value_num, strings value_text, true/false the text
    ("params.model = 'xgboost'", {"r1"}),
    ('params.model = "xgboost"', {"r1"}),
    ("params.model != 'xgboost'", {"r2", "r3"}),
    ("params.alpha > 0.1", {"r2"}),
    ("params.alpha >= 0.1", {"r1", "r2"}),
    ("params.alpha > -1e-3", {"r1", "r2"}),
    ("params.alpha = 1e-1", {"r1"}),
    ("params.alpha = '0.1'", {"r1"}),
    ("params.depth = 3", {"r1"}),
    ("params.depth = '3'", {"r1", "r2"}),
    ("params.flag = true", {"r1"}),
    ("param.flag = FALSE", {"r2"}),
    ("params.flag != True", {"r2"}),
    ('params."a b" = 1', {"r1"}),
    ("params.`a b` = '1'", {"r1"}),
    ("params.model IN ('xgboost', 'lightgbm')", {"r1", "r2"}),
    ("params.model NOT IN ('xgboost')", {"r2", "r3"}),
    ("params.alpha in (0.1, 0.5)", {"r1", "r2"}),
    ("params.model IS NULL", {"r4"}),
    ("params.alpha IS NULL", {"r3", "r4"}),
    ("params.alpha IS NOT NULL", {"r1", "r2"}),
    # LIKE is case-sensitive, ILIKE is not (non-ASCII too); \ escapes % and _
    ("params.model LIKE 'xgb%'", {"r1"}),
    ("params.model ILIKE 'xgb%'", {"r1", "r3"}),
    ("params.model LIKE '%Boost'", {"r3"}),
    ("params.model LIKE 'xgboos_'", {"r1"}),
    ("params.model not like 'xgb%'", {"r2", "r3"}),
    ("params.model NOT ILIKE 'XGB%'", {"r2"}),
    ("tags.note LIKE '%Été%'", {"r1"}),
    ("tags.note LIKE '%été%'", set()),
    ("tags.note ILIKE '%été%'", {"r1", "r4"}),
    ("run_name ILIKE 'ΔΈΛΤΑ'", {"r4"}),
    ("run_name LIKE 'ΔΈΛΤΑ'", set()),
    ("tags.path LIKE 'a_b%'", {"r1", "r2"}),
    ("tags.path LIKE 'a\\_b\\%c'", {"r2"}),
    ("tags.path LIKE 'x*y'", {"r3"}),
    ("tags.path LIKE 'x?y'", set()),
    ("tags.path LIKE 'x_y'", {"r3"}),
    ("tags.path LIKE 'x[y]'", {"r4"}),
    ("tags.path ILIKE 'X[Y]'", {"r4"}),
    # tags
    ("tags.team = 'ml'", {"r1"}),
    ("tag.team != 'ml'", {"r2", "r4"}),
    ("tags.team ILIKE 'ML'", {"r1", "r4"}),
    ("tags.team IS NULL", {"r3"}),
    ("tags.team is not null", {"r1", "r2", "r4"}),
    ("tags.quote = 'it''s \"q\"'", {"r2"}),
    ("tags.quote = 'it\\'s \"q\"'", {"r2"}),
    ('tags.quote = "it\'s \\"q\\""', {"r2"}),
    ('tags.quote = "it\'s ""q"""', {"r2"}),
    # attributes
    ("status = 'FINISHED'", {"r1"}),
    ("attributes.status = 'finished'", {"r1"}),
    ("attribute.status != 'running'", {"r1", "r2", "r4"}),
    ("status IN ('failed', 'KILLED')", {"r2", "r4"}),
    ("status LIKE 'F%'", {"r1", "r2"}),
    ("run_name = 'Gamma'", {"r3"}),
    ("attributes.run_name ILIKE '%RUN'", {"r1", "r2"}),
    ("run_id = 'r2'", {"r2"}),
    ("run_id IN ('r1', 'r4')", {"r1", "r4"}),
    ("experiment = 'other'", {"r3"}),
    ("experiment != 'other'", {"r1", "r2", "r4"}),
    ("attributes.experiment LIKE 'e%'", {"r1", "r2", "r4"}),
    # times: numbers are epoch milliseconds, strings ISO-8601 (naive = UTC)
    (f"start_time > {_epoch('2024-01-23T00:00:00') * 1000:.0f}", {"r2", "r3", "r4"}),
    (f"attributes.start_time = {_epoch('2024-01-01T00:00:00') * 1000:.0f}", {"r1"}),
    ("start_time >= '2024-02-01'", {"r2", "r3", "r4"}),
    ("start_time < '2024-02-01T00:00:00+00:00'", {"r1"}),
    ("start_time < '2024-02-01T01:00:00+02:00'", {"r1"}),
    ("start_time < '2024-02-01T00:00:00Z'", {"r1"}),
    ("end_time IS NULL", {"r3"}),
    ("end_time < '2024-01-02'", {"r1"}),
    # boolean logic: not > and > or; SQL three-valued logic
    ("metrics.rmse < 6.5 and params.model = 'xgboost'", {"r1"}),
    ("metrics.rmse < 6.5 AnD Params.model = 'xgboost'", {"r1"}),
    ("params.model = 'lightgbm' or metrics.rmse < 5.5", {"r1", "r2"}),
    ("params.model = 'lightgbm' or metrics.rmse < 6.5 and status = 'RUNNING'", {"r2", "r3"}),
    ("(params.model = 'lightgbm' or metrics.rmse < 6.5) and status = 'RUNNING'", {"r3"}),
    ("not status = 'FINISHED' and metrics.rmse > 5", {"r2", "r3"}),
    ("not (status = 'FINISHED' or metrics.rmse > 6.5)", {"r3"}),
    ("NOT NOT status = 'FAILED'", {"r2"}),
    ("((((status = 'FAILED'))))", {"r2"}),
    ("status='FAILED'or(status='KILLED')", {"r2", "r4"}),
    # a string is a literal, never SQL
    ("params.model = '1; DROP TABLE runs; --'", set()),
    ("params.model = 'x'' OR ''1''=''1'", set()),
    # no filter
    ("", {"r1", "r2", "r3", "r4"}),
    ("   \n", {"r1", "r2", "r3", "r4"}),
    (None, {"r1", "r2", "r3", "r4"}),
]


@pytest.mark.parametrize(("text", "expected"), FILTERS)
def test_filter(store: Store, text: str | None, expected: set[str]) -> None:
    assert set(_ids(store, text)) == expected


def test_filter_in_frame_rows_and_with_limit(store: Store) -> None:
    where = compile_filter("params.model ILIKE 'xgb%' and experiment = 'e'")
    rows = store.frame_rows(where, compile_order_by("metrics.rmse"), limit=1)
    assert [r.id for r in rows.runs] == ["r1"]
    assert {r[0] for r in rows.params} == {"r1"}
    rows = store.frame_rows(compile_filter("metrics.rmse > 5"), compile_order_by("experiment"))
    assert [r.id for r in rows.runs] == ["r2", "r3"]
    assert {r[0] for r in rows.metrics} == {"r2", "r3"}


def test_experiment_condition(store: Store) -> None:
    other = store.experiment_id("other")
    assert other is not None
    assert store.run_ids(experiment_condition([other])) == ["r3"]
    assert store.run_ids(experiment_condition([])) == []


ORDERS: list[tuple[Any, list[str]]] = [
    (None, ["r4", "r3", "r2", "r1"]),
    ("", ["r4", "r3", "r2", "r1"]),
    ("metrics.rmse", ["r1", "r3", "r2", "r4"]),
    ("metrics.rmse ASC", ["r1", "r3", "r2", "r4"]),
    ("metrics.rmse DESC", ["r2", "r3", "r1", "r4"]),
    ("metrics.acc", ["r1", "r4", "r3", "r2"]),  # NaN and missing last
    ("metrics.acc desc", ["r1", "r4", "r3", "r2"]),
    ("params.alpha DESC", ["r2", "r1", "r4", "r3"]),
    ("params.alpha", ["r1", "r2", "r4", "r3"]),
    ("params.depth", ["r1", "r2", "r4", "r3"]),  # numbers, then text, then missing
    ("start_time", ["r1", "r2", "r3", "r4"]),
    ("attributes.start_time DESC", ["r4", "r3", "r2", "r1"]),
    ("end_time desc", ["r4", "r2", "r1", "r3"]),
    ("run_name", ["r3", "r1", "r2", "r4"]),
    ("experiment DESC, metrics.rmse", ["r3", "r1", "r2", "r4"]),
    (["tags.team", "metrics.rmse DESC"], ["r4", "r2", "r1", "r3"]),
    (("tags.team DESC",), ["r1", "r2", "r4", "r3"]),
    ("metrics.`my metric` DESC", ["r1", "r4", "r3", "r2"]),
    ("status,run_id", ["r2", "r1", "r4", "r3"]),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDERS)
def test_order_by(store: Store, order_by: Any, expected: list[str]) -> None:
    assert _ids(store, None, order_by) == expected


def test_order_by_with_filter(store: Store) -> None:
    assert _ids(store, "experiment = 'e'", "metrics.rmse DESC") == ["r2", "r1", "r4"]


def test_parse_tree() -> None:
    assert parse_filter("  ") is None
    assert parse_filter("metrics.rmse < 6.5") == Comparison("metric", "rmse", "<", 6.5)
    tree = parse_filter("params.a = 1 or tags.b = 'x' and not tags.c IS NULL")
    assert tree == Or(
        (
            Comparison("param", "a", "=", 1.0),
            And(
                (
                    Comparison("tag", "b", "=", "x"),
                    Not(Comparison("tag", "c", "IS NULL", None)),
                )
            ),
        )
    )
    assert parse_filter("params.train.lr IN (1, 2)") == Comparison(
        "param", "train.lr", "IN", (1.0, 2.0)
    )
    assert parse_filter("metrics.train/loss-avg < 1") == Comparison(
        "metric", "train/loss-avg", "<", 1.0
    )


def test_every_value_is_bound() -> None:
    expr = compile_filter(
        "params.model = 'xgb''; DROP' and tags.t LIKE 'a%' and metrics.m > 1.5"
        " and status IN ('failed') and start_time > '2024-01-01'"
    )
    assert expr is not None
    for dialect in (sqlite.dialect(), postgresql.dialect()):  # type: ignore[no-untyped-call]
        sql = str(expr.compile(dialect=dialect))
        for literal in ("xgb", "DROP", "a%", "1.5", "FAILED", "2024", "model", "'t'"):
            assert literal not in sql


def test_ilike_on_postgresql_is_native() -> None:
    expr = compile_filter("tags.t ILIKE 'A\\_%' and tags.u LIKE 'b'")
    assert expr is not None
    compiled = expr.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    assert " ILIKE " in str(compiled) and " LIKE " in str(compiled)
    assert "A\\_%" in compiled.params.values()


BAD_FILTERS = [
    ("(metrics.rmse < 1", "expected ')'"),
    ("metrics.rmse < 1)", "')'"),
    ("((metrics.rmse < 1)", "expected ')'"),
    ("()", "')'"),
    ("foo.x = 1", "'foo'"),
    ("attributes.foo = 'x'", "'foo'"),
    ("rmse < 1", "'rmse'"),
    ("params.a =", "unexpected end"),
    ("params.a = and", "'and'"),
    ("params.a", "unexpected end"),
    ("params.a 1", "'1'"),
    ("metrics.x < 'a'", "'a'"),
    ("metrics.x IN ('a', 'b')", "'a'"),
    ("metrics.x LIKE 'a%'", "LIKE"),
    ("params.a LIKE 1", "LIKE"),
    ("params.a < 'b'", "'b'"),
    ("params.a IN (1, 'a')", "IN lists"),
    ("params.a IN ()", "')'"),
    ("params.a IN (1,)", "')'"),
    ("params.a IN 1", "'1'"),
    ("params.a = true or tags.b = false", "true/false"),
    ("params.a > true", "true/false"),
    ("params.a = null", "'null'"),
    ("params.a is 1", "'1'"),
    ("params.a is not", "unexpected end"),
    ("params.a not = 1", "'='"),
    ("params.a = 'abc", 'unterminated string "\'abc"'),
    ('params.a = "abc\\"', "unterminated string"),
    ("metrics.`a b < 1", "unterminated string '`a b < 1'"),
    ("metrics. < 1", "'metrics.'"),
    ("metrics.`` < 1", "empty key"),
    ("`x` = 1", "'`'"),
    ("params.a = '1' ; DROP TABLE runs; --", "';'"),
    ("params.a = 1; DELETE FROM runs", "';'"),
    ("params.a = 1 -- comment", "'-'"),
    ("1=1", "'1'"),
    ("1 = 1 or params.a = 1", "'1'"),
    ("'a' = 'a'", "\"'a'\""),
    ("metrics.rmse << 1", "position 14: unexpected token '<<' (expected a comparator)"),
    ("metrics.rmse ~ 1", "'~'"),
    ("metrics.rmse > 1e999", "'1e999'"),
    ("metrics.rmse > 1abc", "'1abc'"),
    ("metrics.rmse > 1.2.3", "'1.2.3'"),
    ("metrics.rmse > 1 metrics.b = 2", "'metrics.b'"),
    ("metrics.rmse > 1 and", "unexpected end"),
    ("metrics.rmse > 1 and or metrics.b = 2", "'or'"),
    ("not", "unexpected end"),
    ("status = 'DONE'", "'DONE'"),
    ("status = 1", "quote the value"),
    ("tags.t = 1", "quote the value"),
    ("run_name < 'b'", "'b'"),
    ("start_time > 'yesterday'", "'yesterday'"),
    ("start_time LIKE '2024%'", "LIKE"),
    ("(" * 60 + "status = 'FAILED'" + ")" * 60, "nesting deeper than 50"),
    ("not " * 60 + "status = 'FAILED'", "nesting deeper than 50"),
    ("(" * 5_000, "nesting deeper than 50"),
    ("(" * 100_000, "100000 characters"),
    ("x" * 20_000, "20000 characters"),
    ("params.a IN (" + ", ".join(["1"] * 1001) + ")", "at most 1000"),
    ("params.a = 'x\x00'", "position 14: unexpected character '\\x00'"),
    ("tags.t = '\ud800'", "unexpected character '\\ud800'"),
]


@pytest.mark.parametrize(("text", "match"), BAD_FILTERS)
def test_bad_filter(store: Store, text: str, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match=re.escape(match)):
        compile_filter(text)
    assert time.perf_counter() - started < 1.0
    assert {"runs", "params", "metrics", "tags", "experiments"} <= set(
        inspect(store.engine).get_table_names()
    )
    assert len(_ids(store, None)) == 4


def test_error_names_position() -> None:
    with pytest.raises(ValueError, match=re.escape("invalid filter at position 14")):
        parse_filter("metrics.rmse << 1")
    with pytest.raises(ValueError, match="position 1: unknown prefix 'foo'"):
        parse_filter("foo.x = 1")


def test_longest_accepted_nesting(store: Store) -> None:
    text = "(" * 50 + "status = 'FAILED'" + ")" * 50
    assert _ids(store, text) == ["r2"]


BAD_ORDERS = [
    ("metrics.rmse sideways", "'sideways'"),
    ("foo.x", "'foo'"),
    ("metrics.rmse,", "unexpected end"),
    (",metrics.rmse", "','"),
    ("metrics.rmse DESC ASC", "'ASC'"),
    ("metrics.rmse < 1", "'<'"),
    ("nope", "'nope'"),
    (["metrics.rmse", "params.`x"], "unterminated string"),
    ("x" * 20_000, "20000 characters"),
]


@pytest.mark.parametrize(("order_by", "match"), BAD_ORDERS)
def test_bad_order_by(order_by: Any, match: str) -> None:
    with pytest.raises(ValueError, match=re.escape(match)):
        compile_order_by(order_by)


TOKENS = [
    "metrics.rmse",
    "params.a",
    "tags.t",
    "status",
    "start_time",
    "run_name",
    "foo.x",
    "metrics.`a b`",
    'params."x"',
    "=",
    "!=",
    "<",
    ">=",
    "<<",
    "LIKE",
    "ILIKE",
    "IN",
    "NOT",
    "IS",
    "NULL",
    "and",
    "or",
    "not",
    "(",
    ")",
    ",",
    "1",
    "-2.5e3",
    "'x'",
    '"y"',
    "'FAILED'",
    "'2024-01-01'",
    "true",
    "'%a_'",
    "'",
    ";",
    "1e999",
    "\\",
]


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(max_size=120))
def test_random_text_parses_or_raises_value_error(text: str) -> None:
    try:
        expr = compile_filter(text)
    except ValueError:
        return
    if expr is not None:
        expr.compile(dialect=sqlite.dialect())


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join))
def test_token_soup_runs_or_raises_value_error(store: Store, text: str) -> None:
    try:
        expr = compile_filter(text)
    except ValueError:
        return
    store.run_ids(expr)  # valid filters are valid SQL
