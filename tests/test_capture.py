"""Tests for nbtrack.capture (cell analysis and value selection)."""

from __future__ import annotations

import math
import runpy
import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nbtrack.capture import (
    CellAnalysis,
    Selection,
    analyse_cell,
    as_metric_float,
    is_metric_value,
    parse_name_list,
    select_values,
)


def _analyse(source: str) -> CellAnalysis:
    return analyse_cell(textwrap.dedent(source))


# --------------------------------------------------------------------------
# analyse_cell
# --------------------------------------------------------------------------

ANALYSIS_CASES = [
    # literals of every kind are params
    ("x = 1", ("x",), ()),
    ("x = 1.5", ("x",), ()),
    ("x = 'adam'", ("x",), ()),
    ("x = True", ("x",), ()),
    ("x = None", ("x",), ()),
    ("x = -3", ("x",), ()),
    ("x = -1e-3", ("x",), ()),
    ("x = +2", ("x",), ()),
    ("x = 1e10", ("x",), ()),
    ("x = (1, 'a', None)", ("x",), ()),
    ("x = [64, [32, -16], {'k': (1.0, -2)}]", ("x",), ()),
    ("x = {'a': [1, 2], 'b': {'c': None}, 3: -1}", ("x",), ()),
    ("x = []", ("x",), ()),
    ("x = {}", ("x",), ()),
    ("x = 'a' 'b'", ("x",), ()),
    # non-literals are metric candidates
    ("x = f()", (), ("x",)),
    ("x = 1 + 2", (), ("x",)),
    ("x = -y", (), ("x",)),
    ("x = not True", (), ("x",)),
    ("x = - -3", (), ("x",)),
    ("x = -True", (), ("x",)),
    ("x = 2j", (), ("x",)),
    ("x = b'raw'", (), ("x",)),
    ("x = ...", (), ("x",)),
    ("x = {1, 2}", (), ("x",)),
    ("x = [1, f()]", (), ("x",)),
    ("x = {'a': f()}", (), ("x",)),
    ("x = {k: 1}", (), ("x",)),
    ("x = {**d}", (), ("x",)),
    ("x = [*a]", (), ("x",)),
    ("x = f'{y}'", (), ("x",)),
    ("x = y", (), ("x",)),
    ("x = [i for i in range(3)]", (), ("x",)),
    # annotated assignment
    ("x: int = 3", ("x",), ()),
    ("x: float = f()", (), ("x",)),
    ("x: int", (), ()),
    # augmented assignment
    ("x += 1", (), ("x",)),
    ("x = 0\nx += 1", (), ("x",)),
    ("x = 0\nx *= 2", (), ("x",)),
    ("x = 'a'\nx //= 2", (), ("x",)),
    # tuple unpacking
    ("a, b = f()", (), ("a", "b")),
    ("a, b = 1, 2", ("a", "b"), ()),
    ("[a, b] = [1, 'x']", ("a", "b"), ()),
    ("(a, b) = [1, 2]", ("a", "b"), ()),
    ("a, b = 1, f()", ("a",), ("b",)),
    ("a, b = 1, 2, 3", (), ("a", "b")),
    ("(a, b), c = (1, 2), 3", ("a", "b", "c"), ()),
    ("(a, b), c = f(), 3", ("c",), ("a", "b")),
    ("a, *b = 1, 2, 3", (), ("a", "b")),
    ("a, b = 1, *rest", (), ("a", "b")),
    ("a, b = t", (), ("a", "b")),
    ("x = 1, 2", ("x",), ()),
    # chained assignment
    ("a = b = 3", ("a", "b"), ()),
    ("a = b = f()", (), ("a", "b")),
    ("a = b, c = 1, 2", ("a", "b", "c"), ()),
    ("a = b, c = t", (), ("a", "b", "c")),
    # attribute / subscript targets are not captured
    ("x.y = 1", (), ()),
    ("d['k'] = 2", (), ()),
    ("x.y = z = 1", ("z",), ()),
    ("x.y, z = f()", (), ("z",)),
    ("d['k'] += 1", (), ()),
    # bindings that are not top-level assignments are not captured
    ("for i in range(3):\n    pass", (), ()),
    ("for i in range(3):\n    y = i", (), ()),
    ("with open(p) as fh:\n    data = fh.read()", (), ()),
    ("def f():\n    inner = 1\n    return inner", (), ()),
    ("class C:\n    attr = 1", (), ()),
    ("if cond:\n    x = 1\nelse:\n    x = 2", (), ()),
    ("while cond:\n    w = 1", (), ()),
    ("try:\n    t = 1\nexcept ValueError as err:\n    e = 2", (), ()),
    ("import numpy as np\nimport os.path\nfrom math import pi", (), ()),
    ("(y := 5)", (), ()),
    ("print(x)", (), ()),
    ("lam = lambda v: v", (), ("lam",)),
    # underscore names are ignored
    ("_x = 1", (), ()),
    ("_ = f()", (), ()),
    ("__dunder = 2", (), ()),
    ("_a, b = 1, 2", ("b",), ()),
    ("_a = b = f()", (), ("b",)),
    # re-assignment at top level
    ("x = 1\nx = 2", ("x",), ()),
    ("x = 1\nx = f()", (), ("x",)),
    ("x = f()\nx = 1", (), ("x",)),
    ("x: int = 1\nx = 2", ("x",), ()),
    # a top-level literal re-bound non-literally elsewhere at module scope
    ("best = 0.0\nfor v in vs:\n    best = max(best, v)", (), ("best",)),
    ("total = 0\nfor v in vs:\n    total += v", (), ("total",)),
    ("i = 0\nfor i in range(3):\n    pass", (), ("i",)),
    ("lr = 0.1\nif fast:\n    lr = 0.5", ("lr",), ()),
    ("lr = 0.1\nif fast:\n    lr = lr * 2", (), ("lr",)),
    ("fh = None\nwith open(p) as fh:\n    pass", (), ("fh",)),
    ("np = 1\nimport numpy as np", (), ("np",)),
    ("os = 1\nimport os.path", (), ("os",)),
    ("pi = 3\nfrom math import pi", (), ("pi",)),
    ("f = 1\ndef f():\n    pass", (), ("f",)),
    ("C = 1\nclass C:\n    pass", (), ("C",)),
    ("n = 1\nprint(n := 2)", (), ("n",)),
    ("n = 1\nx = [(n := v) for v in vs]", (), ("n", "x")),
    ("n = 1\ndef f():\n    global n\n    n = 2\nf()", (), ("n",)),
    ("err = None\ntry:\n    pass\nexcept Exception as err:\n    pass", (), ("err",)),
    ("m = 1\nmatch v:\n    case [m, *rest]:\n        pass", (), ("m",)),
    # locals of functions/lambdas/comprehensions do not demote params
    ("v = 1\ndef f():\n    v = g()\n    return v", ("v",), ()),
    ("v = 1\ng = lambda: (v := 2)", ("v",), ("g",)),
    ("v = 1\nxs = [v for v in range(3)]", ("v",), ("xs",)),
    # ordering: first top-level assignment, independent of later changes
    ("b = 1\na = f()\nc = 2\nb = 3\nd = g()\na = 4", ("b", "c"), ("a", "d")),
    ("z = f()\ny = 1\nz += 1\nx = 2", ("y", "x"), ("z",)),
    # IPython-transformed code is valid Python and must not crash
    ("get_ipython().run_line_magic('matplotlib', 'inline')\nx = 1", ("x",), ()),
    ("files = get_ipython().getoutput('ls')", (), ("files",)),
    # empty / trivial
    ("", (), ()),
    ("# just a comment\n", (), ()),
]


@pytest.mark.parametrize(("source", "params", "metrics"), ANALYSIS_CASES)
def test_analyse_cell(source: str, params: tuple[str, ...], metrics: tuple[str, ...]) -> None:
    assert analyse_cell(source) == CellAnalysis(params=params, metrics=metrics)


def test_analyse_cell_realistic_cell() -> None:
    result = _analyse(
        """
        import numpy as np
        from sklearn.metrics import mean_squared_error

        lr = 1e-3
        layers = [64, 32]
        seed: int = 42
        opt, sched = "adam", None
        _scratch = 1

        model = train(lr, layers, seed)
        for epoch in range(10):
            model.step()
        preds = model.predict(X)
        rmse = np.sqrt(mean_squared_error(y, preds))
        mae = float(np.abs(y - preds).mean())
        n_eval = len(y)
        n_eval += 0
        """
    )
    assert result.params == ("lr", "layers", "seed", "opt", "sched")
    assert result.metrics == ("model", "preds", "rmse", "mae", "n_eval")


MAGIC_CASES = [
    ("%matplotlib inline\nx = 1\ny = f()", ("x",), ("y",)),
    ("!pip install foo\nx = 1", ("x",), ()),
    ("  %time y = f()\n  x = 1", ("x",), ()),
    ("    x = 1\n    y = f()", ("x",), ("y",)),
    ("x = 1\nnp.mean?\n", ("x",), ()),
    ("x = 1\nnp.mean??\n", ("x",), ()),
    ("?np.mean\nx = 1", ("x",), ()),
    ("x = 1\n%%timeit\ny = 2", ("x", "y"), ()),
    ("for i in range(3):\n    %time f(i)\nx = 1", ("x",), ()),
    ("if a:\n    !echo hi\nx = 'a'", ("x",), ()),
    ("files = !ls\nx = 1", ("x",), ("files",)),
    ("t = %timeit -o f()\nx = 1", ("x",), ("t",)),
    ("a, b = !ls\nx = 1", ("x",), ("a", "b")),
    ("x = 2  # really?\n%who", ("x",), ()),
    ("lr = 0.1\n!echo {lr}\nlr = f()", (), ("lr",)),
]


@pytest.mark.parametrize(("source", "params", "metrics"), MAGIC_CASES)
def test_analyse_cell_tolerates_ipython_syntax(
    source: str, params: tuple[str, ...], metrics: tuple[str, ...]
) -> None:
    assert analyse_cell(source) == CellAnalysis(params=params, metrics=metrics)


@pytest.mark.parametrize(
    "source",
    [
        "x = = 1",
        "def f(:\n    pass",
        "x = 1\ny = (",
        "%magic\nx = (",
        "if True:\nx = 1",
        "x = 1\n\x00",
    ],
)
def test_analyse_cell_syntax_error_gives_empty_analysis(source: str) -> None:
    assert analyse_cell(source) == CellAnalysis(params=(), metrics=())


def test_analyse_cell_does_not_emit_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyse_cell('pattern = "\\d+"\nx = 1')
    assert result == CellAnalysis(("pattern", "x"), ())
    assert caught == []


def test_module_imports_neither_numpy_nor_ipython() -> None:
    # Load capture.py on its own (not via the package) in a fresh interpreter.
    import nbtrack.capture

    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('cap', {nbtrack.capture.__file__!r})\n"
        "c = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(c)\n"
        "assert c.is_metric_value(1.5) and not c.is_metric_value(True)\n"
        "assert c.analyse_cell('x = 1\\n%time y = 2') == (('x',), ())\n"
        "print('numpy' in sys.modules, 'IPython' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --------------------------------------------------------------------------
# is_metric_value / as_metric_float
# --------------------------------------------------------------------------

METRIC_VALUES = [
    (0, 0.0),
    (3, 3.0),
    (-7, -7.0),
    (0.25, 0.25),
    (-1e-3, -1e-3),
    (10**300, 1e300),
    (np.int8(-3), -3.0),
    (np.int64(5), 5.0),
    (np.uint64(2**63), 2.0**63),
    (np.float16(0.5), 0.5),
    (np.float32(0.25), 0.25),
    (np.float64(1.5), 1.5),
    (np.longdouble(2.5), 2.5),
    (np.array(2.5), 2.5),
    (np.array(4, dtype=np.int32), 4.0),
    (np.sqrt(np.array(16.0)), 4.0),
    (np.mean([1.0, 2.0]), 1.5),
]


@pytest.mark.parametrize(("value", "expected"), METRIC_VALUES)
def test_metric_values_accepted_and_converted(value: object, expected: float) -> None:
    assert is_metric_value(value)
    result = as_metric_float(value)
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize(
    "value",
    [math.nan, np.float64("nan"), np.array(np.nan), np.float32("nan")],
)
def test_nan_is_a_metric_value(value: object) -> None:
    assert is_metric_value(value)
    result = as_metric_float(value)
    assert type(result) is float
    assert math.isnan(result)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(math.inf, math.inf), (-math.inf, -math.inf), (np.float64("-inf"), -math.inf)],
)
def test_inf_is_a_metric_value(value: object, expected: float) -> None:
    assert is_metric_value(value)
    assert as_metric_float(value) == expected


NON_METRIC_VALUES = [
    True,
    False,
    np.bool_(True),
    np.array(True),
    1 + 2j,
    np.complex128(1),
    np.array(1 + 0j),
    np.datetime64("2024-01-01"),
    np.timedelta64(1, "D"),
    np.array([1.0]),
    np.array([1.0, 2.0]),
    np.array([[3]]),
    np.array("text"),
    np.array(1.0, dtype=object),
    np.str_("1"),
    "1.0",
    b"1",
    None,
    [1.0],
    (1.0,),
    {"a": 1.0},
    Fraction(1, 2),
    object(),
    10**400,
]


@pytest.mark.parametrize("value", NON_METRIC_VALUES, ids=repr)
def test_non_metric_values_rejected(value: object) -> None:
    assert not is_metric_value(value)
    with pytest.raises(TypeError, match="not a real number"):
        as_metric_float(value)


# --------------------------------------------------------------------------
# select_values
# --------------------------------------------------------------------------

ANALYSIS = CellAnalysis(params=("lr", "layers", "opt"), metrics=("model", "rmse", "acc"))
NAMESPACE: dict[str, object] = {
    "lr": 0.1,
    "layers": [64, 32],
    "opt": "adam",
    "model": object(),
    "rmse": np.float64(0.5),
    "acc": np.array(0.9),
    "flag": True,
    "label": "x",
    "n": 7,
}


def test_select_values_default_detection() -> None:
    sel = select_values(NAMESPACE, ANALYSIS)
    assert isinstance(sel, Selection)
    assert sel.params == {"lr": 0.1, "layers": [64, 32], "opt": "adam"}
    assert sel.params["layers"] is NAMESPACE["layers"]  # returned as-is
    assert sel.metrics == {"rmse": 0.5, "acc": 0.9}
    assert all(type(v) is float for v in sel.metrics.values())
    assert list(sel.metrics) == ["rmse", "acc"]
    assert sel.warnings == ()


def test_select_values_default_skips_missing_and_non_numeric_silently() -> None:
    analysis = CellAnalysis(params=("lr", "gone"), metrics=("flag", "label", "lost", "n"))
    sel = select_values(NAMESPACE, analysis)
    assert sel == Selection({"lr": 0.1}, {"n": 7.0}, ())


def test_select_values_keeps_nan_and_inf() -> None:
    ns: dict[str, object] = {"a": math.nan, "b": np.float32("inf")}
    sel = select_values(ns, CellAnalysis((), ("a", "b")))
    assert math.isnan(sel.metrics["a"])
    assert sel.metrics["b"] == math.inf


@pytest.mark.parametrize(
    ("params", "metrics", "exp_params", "exp_metrics"),
    [
        # -p only: exactly those params; metrics auto, minus the -p names
        (["lr"], None, {"lr": 0.1}, {"rmse": 0.5, "acc": 0.9}),
        (["n", "rmse"], None, {"n": 7, "rmse": 0.5}, {"acc": 0.9}),
        # detected params not named in -p do not turn into metrics
        (["model"], None, {"model": NAMESPACE["model"]}, {"rmse": 0.5, "acc": 0.9}),
        # -m only: exactly those metrics; params auto, minus the -m names
        (None, ["n"], {"lr": 0.1, "layers": [64, 32], "opt": "adam"}, {"n": 7.0}),
        (
            None,
            ["lr", "rmse"],
            {"layers": [64, 32], "opt": "adam"},
            {"lr": 0.1, "rmse": 0.5},
        ),
        # both explicit
        (["opt"], ["acc"], {"opt": "adam"}, {"acc": 0.9}),
        # empty explicit lists capture nothing of that kind
        ([], None, {}, {"rmse": 0.5, "acc": 0.9}),
        (None, [], {"lr": 0.1, "layers": [64, 32], "opt": "adam"}, {}),
        # duplicates collapse, order follows the option
        (
            ["opt", "lr", "opt"],
            ["acc", "rmse", "acc"],
            {"opt": "adam", "lr": 0.1},
            {"acc": 0.9, "rmse": 0.5},
        ),
    ],
)
def test_select_values_explicit(
    params: list[str] | None,
    metrics: list[str] | None,
    exp_params: dict[str, object],
    exp_metrics: dict[str, float],
) -> None:
    sel = select_values(NAMESPACE, ANALYSIS, params=params, metrics=metrics)
    assert sel.params == exp_params
    assert list(sel.params) == list(exp_params)
    assert sel.metrics == pytest.approx(exp_metrics)
    assert list(sel.metrics) == list(exp_metrics)
    assert sel.warnings == ()


def test_select_values_explicit_missing_and_non_numeric_warn() -> None:
    sel = select_values(
        NAMESPACE,
        ANALYSIS,
        params=["lr", "nope"],
        metrics=["rmse", "missing", "label", "flag", "model"],
    )
    assert sel.params == {"lr": 0.1}
    assert sel.metrics == {"rmse": 0.5}
    assert sel.warnings == (
        "-p: name 'nope' is not defined after the cell",
        "-m: name 'missing' is not defined after the cell",
        "-m: 'label' is not a real number (str); skipped",
        "-m: 'flag' is not a real number (bool); skipped",
        "-m: 'model' is not a real number (object); skipped",
    )


def test_select_values_duplicate_explicit_names_warn_once() -> None:
    sel = select_values(NAMESPACE, ANALYSIS, params=["nope", "nope"], metrics=["x", "x"])
    assert sel.warnings == (
        "-p: name 'nope' is not defined after the cell",
        "-m: name 'x' is not defined after the cell",
    )


def test_select_values_explicit_param_may_hold_none() -> None:
    sel = select_values({"x": None}, CellAnalysis((), ()), params=["x"])
    assert sel.params == {"x": None}
    assert sel.warnings == ()


@pytest.mark.parametrize("kind", ["params", "metrics"])
def test_select_values_rejects_plain_string(kind: str) -> None:
    with pytest.raises(TypeError, match="not a str"):
        select_values(NAMESPACE, ANALYSIS, **{kind: "lr,rmse"})


def test_select_values_end_to_end(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        import numpy as np
        lr = 0.5
        steps = -3
        data = np.arange(4.0)
        total = 0
        for v in data:
            total += v
        mean = data.mean()
        ok = mean > 1
        name = "run"
        """
    )
    script = tmp_path / "cell.py"
    script.write_text(source)
    ns: dict[str, object] = runpy.run_path(str(script))
    analysis = analyse_cell(source)
    assert analysis == CellAnalysis(
        params=("lr", "steps", "name"), metrics=("data", "total", "mean", "ok")
    )
    sel = select_values(ns, analysis)
    assert sel == Selection(
        params={"lr": 0.5, "steps": -3, "name": "run"},
        metrics={"total": 6.0, "mean": 1.5},
        warnings=(),
    )


# --------------------------------------------------------------------------
# parse_name_list
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", ("a",)),
        ("a,b", ("a", "b")),
        ("rmse, mae", ("rmse", "mae")),
        ("rmse mae\tr2", ("rmse", "mae", "r2")),
        (" a ,, b , ", ("a", "b")),
        ("a,b,a", ("a", "b")),
        ("_private,x1", ("_private", "x1")),
        ("", ()),
        ("  ", ()),
    ],
)
def test_parse_name_list(text: str, expected: tuple[str, ...]) -> None:
    assert parse_name_list(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("a,1b", "1b"),
        ("x.y", "x.y"),
        ("a,b-c", "b-c"),
        ("class", "class"),
        ("ok,d[0]", "d[0]"),
    ],
)
def test_parse_name_list_rejects_invalid(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=rf"invalid name '{bad}'".replace("[", r"\[")):
        parse_name_list(text)
