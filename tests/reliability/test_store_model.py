"""Issue 6: random sequences of API calls agree with a plain in-memory model.

A Hypothesis state machine starts runs (nested under the open one, as the
tracker does), logs params (any type), metric points (NaN, ±inf, explicit and
default steps, ties), tags, ends runs with a status, flushes, closes and
reopens the store, and after each step may compare what the store gives back
(``get_run``, ``metric_history``, ``runs()``, filtered and ordered
``run_ids``, a second tracker) with a dict model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from nbtrack.tracking import ActiveRun, Tracker
from nbtrack.values import encode_param

pytestmark = pytest.mark.slow

KEYS = ["a", "b", "c d", "ß"]
EXPERIMENTS = ["e1", "e2"]
NUMBERS = [-1, 0, 0.5, 2]
STATUSES = ["FINISHED", "FAILED", "KILLED"]

metric_values = st.one_of(
    st.sampled_from([*NUMBERS, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**9), 10**9),
)
param_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.sampled_from(NUMBERS),
    st.text(max_size=12),
    st.sampled_from(["x", "0.5", "True"]),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.booleans(), max_size=2),
)
tag_values = st.one_of(st.text(max_size=12), st.sampled_from(["x", "y"]))


@dataclass
class ModelRun:
    id: str
    name: str
    experiment: str
    parent: str | None
    status: str = "RUNNING"
    params: dict[str, Any] = field(default_factory=dict)
    latest: dict[str, tuple[int, float]] = field(default_factory=dict)
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    next_step: dict[str, int] = field(default_factory=dict)


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN and types must agree (1 is not True)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def text_cell(value: Any) -> Any:
    """A text column's cell; missing is None (pandas 3 string columns give NaN)."""
    return None if isinstance(value, float) and math.isnan(value) else value


# -- filters: text plus the model's three-valued meaning -------------------------------

Truth = bool | None  # None is SQL's "unknown"
Atom = tuple[str, Callable[[ModelRun], Truth]]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
    "=": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
}


def _quoted_key(key: str) -> str:
    return key if key.isidentifier() else f"`{key}`"


def metric_atom(key: str, op: str, number: float) -> Atom:
    def truth(run: ModelRun) -> Truth:
        value = run.latest.get(key, (0, math.nan))[1]
        return None if math.isnan(value) else _COMPARE[op](value, number)

    return f"metrics.{_quoted_key(key)} {op} {number}", truth


def param_number_atom(key: str, op: str, number: float) -> Atom:
    def truth(run: ModelRun) -> Truth:
        if key not in run.params:
            return None
        value_num = encode_param(run.params[key])[1]
        return None if value_num is None else _COMPARE[op](value_num, number)

    return f"params.{_quoted_key(key)} {op} {number}", truth


def param_text_atom(key: str, text: str) -> Atom:
    def truth(run: ModelRun) -> Truth:
        return None if key not in run.params else encode_param(run.params[key])[2] == text

    return f"params.{_quoted_key(key)} = '{text}'", truth


def tag_atom(key: str, text: str) -> Atom:
    def truth(run: ModelRun) -> Truth:
        return None if key not in run.tags else run.tags[key] == text

    return f"tags.{_quoted_key(key)} = '{text}'", truth


def null_atom(kind: str, key: str, negated: bool) -> Atom:
    def truth(run: ModelRun) -> Truth:
        if kind == "metrics":
            missing = math.isnan(run.latest.get(key, (0, math.nan))[1])
        else:
            missing = key not in (run.params if kind == "params" else run.tags)
        return missing != negated

    return f"{kind}.{_quoted_key(key)} IS {'NOT ' if negated else ''}NULL", truth


def status_atom(statuses: tuple[str, ...]) -> Atom:
    listed = ", ".join(f"'{s}'" for s in statuses)
    return f"status IN ({listed})", lambda run: run.status in statuses


keys = st.sampled_from(KEYS)
ops = st.sampled_from(list(_COMPARE))
numbers = st.sampled_from(NUMBERS)
atoms = st.one_of(
    st.builds(metric_atom, keys, ops, numbers),
    st.builds(param_number_atom, keys, ops, numbers),
    st.builds(param_text_atom, keys, st.sampled_from(["x", "0.5", "True", "2"])),
    st.builds(tag_atom, keys, st.sampled_from(["x", "y"])),
    st.builds(null_atom, st.sampled_from(["metrics", "params", "tags"]), keys, st.booleans()),
    st.builds(
        status_atom,
        st.lists(st.sampled_from(["RUNNING", *STATUSES]), min_size=1, max_size=2).map(tuple),
    ),
)


def _and(a: Atom, b: Atom) -> Atom:
    def truth(run: ModelRun) -> Truth:
        x, y = a[1](run), b[1](run)
        return False if x is False or y is False else (None if x is None or y is None else True)

    return f"({a[0]}) and ({b[0]})", truth


def _or(a: Atom, b: Atom) -> Atom:
    def truth(run: ModelRun) -> Truth:
        x, y = a[1](run), b[1](run)
        return True if x is True or y is True else (None if x is None or y is None else False)

    return f"({a[0]}) or ({b[0]})", truth


def _not(a: Atom) -> Atom:
    def truth(run: ModelRun) -> Truth:
        x = a[1](run)
        return None if x is None else not x

    return f"not ({a[0]})", truth


filters = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(_and, inner, inner), st.builds(_or, inner, inner), st.builds(_not, inner)
    ),
    max_leaves=4,
)


# -- the machine -----------------------------------------------------------------------


class StoreModel(RuleBasedStateMachine):
    """Subclassed per backend with ``new_uri`` set.

    Runs are drawn by their position in the model (insertion order), never by
    their random ids, so Hypothesis replays the same choices.
    """

    new_uri: Callable[[], str]

    def __init__(self) -> None:
        super().__init__()
        self.uri = type(self).new_uri()
        self.tracker = Tracker(self.uri)
        self.model: dict[str, ModelRun] = {}
        self.handles: dict[str, ActiveRun] = {}
        self.stack: list[str] = []  # open runs, innermost last (the tracker nests under it)

    def teardown(self) -> None:
        for run_id in reversed(self.stack):
            self.handles[run_id].end()
        self.tracker.close()

    def open_runs(self) -> list[str]:
        return list(self.stack)

    @initialize()
    def start_empty(self) -> None:
        assert self.tracker.run_ids(experiment="*") == []

    # -- writes --

    @rule(
        experiment=st.sampled_from(EXPERIMENTS),
        params=st.dictionaries(keys, param_values, max_size=2),
        tags=st.dictionaries(keys, tag_values, max_size=2),
    )
    def start_run(self, experiment: str, params: dict[str, Any], tags: dict[str, str]) -> None:
        name = f"run-{len(self.model)}"
        run = self.tracker.start_run(name=name, params=params, tags=tags, experiment=experiment)
        parent = self.stack[-1] if self.stack else None
        self.model[run.id] = ModelRun(
            run.id, name, experiment, parent, params=dict(params), tags=dict(tags)
        )
        self.handles[run.id] = run
        self.stack.append(run.id)

    @precondition(lambda self: self.stack)
    @rule(data=st.data(), key=keys, value=param_values)
    def log_param(self, data: st.DataObject, key: str, value: Any) -> None:
        run_id = data.draw(st.sampled_from(self.stack))
        self.handles[run_id].log_param(key, value)
        self.model[run_id].params[key] = value

    @precondition(lambda self: self.stack)
    @rule(
        data=st.data(),
        key=keys,
        value=metric_values,
        step=st.none() | st.integers(0, 4),
    )
    def log_metric(self, data: st.DataObject, key: str, value: float, step: int | None) -> None:
        run_id = data.draw(st.sampled_from(self.stack))
        self.handles[run_id].log_metric(key, value, step=step)
        run = self.model[run_id]
        step = run.next_step.get(key, 0) if step is None else step
        run.next_step[key] = step + 1
        number = float(value)
        run.history.setdefault(key, []).append((step, number))
        if key not in run.latest or step >= run.latest[key][0]:
            run.latest[key] = (step, number)

    @precondition(lambda self: self.stack)
    @rule(data=st.data(), key=keys, value=tag_values)
    def set_tag(self, data: st.DataObject, key: str, value: str) -> None:
        run_id = data.draw(st.sampled_from(self.stack))
        self.handles[run_id].set_tag(key, value)
        self.model[run_id].tags[key] = value

    @precondition(lambda self: self.stack)
    @rule(data=st.data(), status=st.sampled_from(STATUSES))
    def end_run(self, data: st.DataObject, status: str) -> None:
        run_id = data.draw(st.sampled_from(self.stack))
        self.handles[run_id].end(status)
        self.handles[run_id].end("FINISHED")  # ending twice changes nothing
        self.model[run_id].status = status
        self.stack.remove(run_id)

    @rule()
    def flush(self) -> None:
        self.tracker.flush()

    @rule()
    def close_and_reopen(self) -> None:
        # Pending rows are written; open runs stay open (their process is alive).
        self.tracker.close()

    # -- reads --

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def check_run(self, data: st.DataObject) -> None:
        run_id = data.draw(st.sampled_from(list(self.model)))
        self._check_record(self.tracker, run_id)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def check_from_another_tracker(self, data: st.DataObject) -> None:
        self.tracker.flush()
        other = Tracker(self.uri)
        try:
            for run_id in data.draw(st.lists(st.sampled_from(list(self.model)), max_size=3)):
                self._check_record(other, run_id)
            assert sorted(other.run_ids(experiment="*")) == sorted(self.model)
        finally:
            other.close()

    def _check_record(self, tracker: Tracker, run_id: str) -> None:
        run, model = tracker.get_run(run_id), self.model[run_id]
        assert (run.name, run.experiment, run.status, run.parent_id) == (
            model.name,
            model.experiment,
            model.status,
            model.parent,
        )
        assert same(run.params, model.params), (run.params, model.params)
        assert same(run.metrics, {k: v for k, (_s, v) in model.latest.items()})
        assert run.tags == model.tags
        assert (run.meta["end_time"] is None) == (model.status == "RUNNING")

    @precondition(lambda self: any(m.history for m in self.model.values()))
    @rule(data=st.data())
    def check_history(self, data: st.DataObject) -> None:
        run_id = data.draw(st.sampled_from([r for r, m in self.model.items() if m.history]))
        key = data.draw(st.sampled_from(list(self.model[run_id].history)))
        frame = self.tracker.metric_history(run_id, key)
        got = list(zip(frame["step"].tolist(), frame["value"].tolist(), strict=True))
        expected = self.model[run_id].history[key]
        assert [s for s, _ in got] == sorted(s for s, _ in expected)  # ordered by step
        assert sorted(map(repr, got)) == sorted(map(repr, expected))

    @rule(where=filters)
    def check_filter(self, where: Atom) -> None:
        text, truth = where
        expected = {r for r, m in self.model.items() if truth(m) is True}
        assert set(self.tracker.run_ids(experiment="*", filter=text)) == expected, text

    @rule(key=keys, descending=st.booleans(), experiment=st.sampled_from([*EXPERIMENTS, "*"]))
    def check_order(self, key: str, descending: bool, experiment: str) -> None:
        order = f"metrics.{_quoted_key(key)} {'DESC' if descending else 'ASC'}"
        ids = self.tracker.run_ids(experiment=experiment, order_by=order)
        scope = {r for r, m in self.model.items() if experiment in ("*", m.experiment)}
        assert sorted(ids) == sorted(scope)
        values = [self.model[r].latest.get(key, (0, math.nan))[1] for r in ids]
        present = [v for v in values if not math.isnan(v)]
        assert values[: len(present)] == present, "missing values sort last"
        assert present == sorted(present, reverse=descending)

    @precondition(lambda self: self.model)
    @rule()
    def check_frame(self) -> None:
        frame = self.tracker.runs(experiment="*")
        assert sorted(frame["run_id"]) == sorted(self.model)
        for row in frame.to_dict("records"):
            model = self.model[row["run_id"]]
            assert row["status"] == model.status
            assert text_cell(row["parent_run_id"]) == model.parent
            for key in KEYS:
                value = row.get(f"metrics.{key}", math.nan)
                assert same(float(value), model.latest.get(key, (0, math.nan))[1])
                assert text_cell(row.get(f"tags.{key}")) == model.tags.get(key)
                if key in model.params:
                    expected = model.params[key]
                    got = row[f"params.{key}"]
                    if expected is None:  # None and missing look alike in a column
                        assert text_cell(got) is None, got
                        continue
                    if type(expected) in (int, float) and not isinstance(got, (int, str)):
                        assert same(float(got), float(expected)), (got, expected)
                    else:
                        assert same(got if type(got) is not bool else bool(got), expected) or (
                            type(got).__module__ == "numpy" and same(got.item(), expected)
                        ), (got, expected)


#: Examples per backend: PostgreSQL costs about twice as much per store (a schema each).
EXAMPLES = {"sqlite": 60, "postgresql": 25}
SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    database=None,
    derandomize=True,  # a fixed seed: the same sequences on every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _machine(new_uri: Callable[[], str]) -> type[StoreModel]:
    return type("Machine", (StoreModel,), {"new_uri": staticmethod(new_uri)})


def test_api_against_model(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    count = iter(range(10**6))
    if backend == "sqlite":

        def new_uri() -> str:
            return f"sqlite:///{tmp_path / f'model-{next(count)}.db'}"
    else:
        server = request.getfixturevalue("postgres")

        def new_uri() -> str:
            next(count)
            return str(server.fresh_schema_url())

    from hypothesis.stateful import run_state_machine_as_test

    started = time.monotonic()
    chosen = settings(SETTINGS, max_examples=EXAMPLES[backend])
    run_state_machine_as_test(_machine(new_uri), settings=chosen)
    print(
        f"{backend}: stateful model check: {chosen.max_examples} examples, {next(count)} stores, "
        f"up to {chosen.stateful_step_count} API calls each (derandomized), agree with the "
        f"dict model in {time.monotonic() - started:.1f} s"
    )


def test_runs_frame_with_equal_length_list_params(tmp_path: Path) -> None:
    # Found by the model above: np.array() of equal-length lists made a 2-D column.
    tracker = Tracker(f"sqlite:///{tmp_path / 'lists.db'}")
    try:
        for values in ([1, 2, 3], [4, 5, 6]):
            with tracker.start_run(params={"l": values, "d": {"k": values[0]}}, experiment="e"):
                pass
            frame = tracker.runs(experiment="e")
            assert frame["params.l"].tolist()[0] == values
            assert frame["params.d"].tolist()[0] == {"k": values[0]}
    finally:
        tracker.close()
