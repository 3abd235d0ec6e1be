"""Issue 6: 10,000 generated filters each compile to an allowed expression or raise ValueError.

Inputs (fixed seed): arbitrary Unicode text, token soups drawn from the
grammar's vocabulary and broken on purpose, and well-formed filters built from
the grammar. Every one that compiles is checked to hold only allowed pieces
(comparisons of metrics/params/tags/attributes, and/or/not) and is executed
against a small store on both backends. Deep nesting is refused at once.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from nbtrack.query.filter import (
    MAX_DEPTH,
    And,
    Comparison,
    Expr,
    Not,
    Or,
    compile_filter,
    parse_filter,
)
from nbtrack.store import ParamRow, Store
from nbtrack.store.store import MetricPoint, TagRow
from nbtrack.values import encode_param

pytestmark = pytest.mark.slow

SEED = 20_261_106
INPUTS = 10_000
EXECUTE_EVERY = 5  # run every 5th compiled filter against the store (all of them on SQLite)

KINDS = {"metric", "param", "tag", "attribute"}
ATTRIBUTES = {"status", "run_name", "run_id", "experiment", "start_time", "end_time"}
OPS = {
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN",
    "IS NULL", "IS NOT NULL",
}  # fmt: skip

KEYS = [
    "metrics.rmse", "metrics.`val loss`", "params.alpha", "params.model", "tags.team",
    "tags.`ünï`", "status", "run_name", "run_id", "experiment", "start_time", "end_time",
    "attributes.status", "metric.acc", 'params."a b"', "foo.bar", "metrics.", "params.`",
]  # fmt: skip
COMPARATORS = ["=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "IN",
               "NOT IN", "IS NULL", "IS NOT NULL", "=<", "!", "==="]  # fmt: skip
VALUES = [
    "0", "-1.5", "1e3", "1e999", ".5", "+2", "'xgb'", '"xgb"', "'it''s'", "'a\\'b'", "'%x_'",
    "'FINISHED'", "'running'", "'2026-01-01'", "'2026-13-45'", "true", "FALSE", "NULL",
    "('a', 'b')", "(1, 2, 3)", "(1, 'a')", "()", "'", "'\u0000'", "'\ud800'", "1700000000000",
]  # fmt: skip
IN_LISTS = ["(1, 2)", "('a', 'b')", "('FINISHED')"]
JOINERS = ["and", "or", "AND", "Or", "&&", "||", ","]
JUNK = ["(", ")", "not", "NOT", ";", "--", "/*", "`", "\\", "\x00", "\u202e", "\U0001f600", " "]


def well_formed(rng: random.Random, depth: int = 0) -> str:
    if depth < 3 and rng.random() < 0.4:
        left, right = well_formed(rng, depth + 1), well_formed(rng, depth + 1)
        joined = f"{left} {rng.choice(['and', 'or'])} {right}"
        return f"({joined})" if rng.random() < 0.5 else joined
    if depth < 3 and rng.random() < 0.1:
        return f"not ({well_formed(rng, depth + 1)})"
    key = rng.choice(KEYS[:14])
    op = rng.choice(COMPARATORS[:15])
    if op.startswith("IS"):
        return f"{key} {op}"
    if op.endswith("IN"):
        return f"{key} {op} {rng.choice(IN_LISTS)}"
    return f"{key} {op} {rng.choice(VALUES[:18])}"


def token_soup(rng: random.Random) -> str:
    vocabulary = KEYS + COMPARATORS + VALUES + JOINERS + JUNK
    return " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(0, 14)))


def mutated(rng: random.Random) -> str:
    text = list(well_formed(rng))
    for _ in range(rng.randrange(1, 4)):
        if not text:
            break
        where = rng.randrange(len(text))
        action = rng.randrange(3)
        if action == 0:
            del text[where]
        elif action == 1:
            text.insert(where, rng.choice("()'\"`.,=<>!\\ \x00é"))
        else:
            text[where] = chr(rng.randrange(0x20, 0x250))
    return "".join(text)


def random_text(rng: random.Random) -> str:
    alphabet = rng.choice(
        [
            "abcdefghijklmnopqrstuvwxyz._`'\"()<>=! 0123456789",
            "".join(map(chr, range(0x20, 0x7F))),
            None,
        ]
    )
    n = rng.randrange(0, 80)
    if alphabet is None:  # any code point, surrogates and NUL included
        return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(n))
    return "".join(rng.choice(alphabet) for _ in range(n))


GENERATORS = [well_formed, well_formed, token_soup, mutated, random_text]


def allowed(expr: Expr) -> bool:
    if isinstance(expr, (And, Or)):
        return len(expr.items) >= 2 and all(allowed(item) for item in expr.items)
    if isinstance(expr, Not):
        return allowed(expr.item)
    return (
        isinstance(expr, Comparison)
        and expr.kind in KINDS
        and expr.op in OPS
        and (expr.kind != "attribute" or expr.key in ATTRIBUTES)
    )


def _small_store(uri: str) -> Store:
    store = Store(uri)
    experiment = store.experiment_id("fuzz") or 0
    for i, (model, status) in enumerate(
        [("xgb", "FINISHED"), ("it's", "FAILED"), ("ünï", "RUNNING")]
    ):
        run_id = f"run{i}"
        store.create_run(
            run_id=run_id, experiment_id=experiment, name=f"n{i}", parent_id=None,
            start_time=1.7e9 + i, source=None, meta={}, host="h", pid=1, pid_start=None,
            param_rows=[ParamRow(run_id, "alpha", *encode_param(0.1 * i)),
                        ParamRow(run_id, "model", *encode_param(model))],
            tag_rows=[TagRow(run_id, "team", "ml%" if i else "x")],
        )  # fmt: skip
        store.write_batch(
            points=[MetricPoint(run_id, "rmse", 0, None if i == 2 else 1.0 + i, 1.7e9)]
        )
        if status != "RUNNING":
            store.finish_run(run_id, status, 1.7e9 + 10, {})
    return store


def test_ten_thousand_generated_filters(store_uri: str, backend: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    store = _small_store(store_uri)
    compiled = refused = executed = 0
    started = time.monotonic()
    try:
        for n in range(INPUTS):
            text = rng.choice(GENERATORS)(rng)
            try:
                expr = compile_filter(text)
            except ValueError:
                refused += 1
                continue
            except Exception as error:  # anything but ValueError is a bug
                raise AssertionError(f"{text!r} raised {error!r}") from error
            compiled += 1
            tree = parse_filter(text)
            assert (tree is None) == (expr is None)
            assert tree is None or allowed(tree), (text, tree)
            if expr is not None and (backend == "sqlite" or n % EXECUTE_EVERY == 0):
                store.run_ids(expr)  # a compiled filter is valid SQL
                executed += 1
    finally:
        store.close()
    elapsed = time.monotonic() - started
    assert compiled > INPUTS // 10 and refused > INPUTS // 10  # both sides exercised
    print(
        f"{backend}: seed {SEED}: {INPUTS} generated filters: {compiled} compiled "
        f"({executed} executed), {refused} ValueError, nothing else; {elapsed:.1f} s"
    )


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100_000,
        "not " * 100_000 + "status = 'FINISHED'",
        "(" * 4_000 + "status = 'FINISHED'" + ")" * 4_000,
        "(" * (MAX_DEPTH + 1) + "status = 'FINISHED'" + ")" * (MAX_DEPTH + 1),
    ],
    ids=["100k-open", "100k-not", "4k-balanced", "depth-51"],
)
def test_deep_nesting_is_refused_quickly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError):
        compile_filter(text)
    elapsed = time.perf_counter() - started
    print(f"{len(text):,} characters ({text[:6]!r}...) refused in {elapsed * 1000:.1f} ms")
    assert elapsed < 1.0  # loose: the figure is the printed one
