"""Static analysis of a ``%%track`` cell: which names are params, which are metrics.

This module is pure (stdlib only).  It never imports IPython, and it never
imports NumPy itself: NumPy values are recognised only if NumPy is already in
``sys.modules`` (a NumPy value cannot exist otherwise).

Rules applied by :func:`analyse_cell`:

* Only *top-level* assignment statements introduce names: ``x = ...``,
  ``x: T = ...`` and ``x += ...`` (any augmented assignment).  Chained
  assignment ``a = b = 3`` assigns both names; unpacking ``a, b = f()`` assigns
  each name.  Names bound only inside ``def``/``class`` bodies, ``if``/``for``/
  ``while``/``try``/``with`` blocks, loop variables, ``with ... as`` names,
  imports and attribute/subscript targets are never captured.  Walrus
  expressions are not assignment statements and do not introduce names.
* A name is a **param** when every binding of it at module scope in the cell is
  an assignment of a *literal*: ``int``/``float``/``str``/``bool``/``None``
  constants, a signed number (``-3``, ``-1e-3``) and tuples/lists/dicts of
  literals, nested.  Unpacking a same-length tuple/list display pairs the
  elements, so ``a, b = 1, 2`` makes ``a`` and ``b`` params, while
  ``a, b = 1, f()`` makes only ``a`` a param.  Starred unpacking is never
  literal.
* Every other captured name is a **metric candidate**.  In particular, a name
  that is also augmented-assigned or re-bound to a non-literal anywhere at
  module scope (top level or inside blocks, as a loop variable, by an import,
  a ``def``, a walrus, or via ``global`` in a function) is a metric candidate,
  e.g. ``best = 0.0`` followed by ``for x in xs: best = max(best, x)``.
* Names starting with ``_`` are ignored.
* Raw IPython syntax is tolerated: if the source is not valid Python, lines
  that are line magics (``%``), shell escapes (``!``) or help requests
  (``?obj``, ``obj?``) are replaced by ``pass``, ``x = !cmd`` and
  ``x = %magic`` become non-literal assignments of ``x``, and a uniformly
  indented cell is dedented.  If the source is still invalid, the analysis is
  empty.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
import textwrap
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, SupportsFloat, cast

__all__ = [
    "CellAnalysis",
    "Selection",
    "analyse_cell",
    "as_metric_float",
    "is_metric_value",
    "parse_name_list",
    "select_values",
]


class CellAnalysis(NamedTuple):
    """Names found in a cell, each tuple in first top-level-assignment order."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]


class Selection(NamedTuple):
    """Values read from the namespace after the cell ran."""

    params: dict[str, object]
    metrics: dict[str, float]
    warnings: tuple[str, ...]


_AssignStmt = (ast.Assign, ast.AnnAssign, ast.AugAssign)
_MAGIC_ASSIGN = re.compile(r"^(\s*[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*,?\s*)=\s*[%!]")


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None or type(node.value) in (int, float, str, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        return isinstance(operand, ast.Constant) and type(operand.value) in (int, float)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_literal(elt) for elt in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(
            _is_literal(v) for v in node.values
        )
    return False


def _target_bindings(target: ast.expr, value: ast.expr | None) -> Iterator[tuple[str, bool]]:
    """Yield ``(name, value_is_literal)`` for the names bound by one target."""
    if isinstance(target, ast.Name):
        yield target.id, value is not None and _is_literal(value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        values: list[ast.expr | None] = [None] * len(target.elts)
        if (
            isinstance(value, (ast.Tuple, ast.List))
            and len(value.elts) == len(target.elts)
            and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
        ):
            values = list(value.elts)
        for elt, elt_value in zip(target.elts, values, strict=True):
            yield from _target_bindings(elt, elt_value)
    elif isinstance(target, ast.Starred):
        yield from _target_bindings(target.value, None)
    # ast.Attribute / ast.Subscript targets bind no name.


def _assign_bindings(stmt: ast.stmt) -> Iterator[tuple[str, bool]]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            yield from _target_bindings(target, stmt.value)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        yield from _target_bindings(stmt.target, stmt.value)
    elif isinstance(stmt, ast.AugAssign):
        yield from _target_bindings(stmt.target, None)


def _other_bindings(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """Module-scope bindings other than the top-level assignment statements."""
    stack: list[ast.AST] = [
        child
        for stmt in tree.body
        for child in (ast.iter_child_nodes(stmt) if isinstance(stmt, _AssignStmt) else [stmt])
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, False
            for sub in ast.walk(node):
                if isinstance(sub, ast.Global):
                    yield from ((name, False) for name in sub.names)
            continue  # a new scope: its other bindings are local
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, _AssignStmt):
            yield from _assign_bindings(node)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            yield from _target_bindings(node.target, None)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            yield from _target_bindings(node.optional_vars, None)
        elif isinstance(node, ast.NamedExpr):
            yield node.target.id, False
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                yield (alias.asname or alias.name.split(".")[0]), False
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            if node.name is not None:
                yield node.name, False
        elif isinstance(node, ast.MatchMapping) and node.rest is not None:
            yield node.rest, False
        stack.extend(ast.iter_child_nodes(node))


def _strip_ipython_syntax(source: str) -> str:
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        magic_assign = _MAGIC_ASSIGN.match(line)
        if magic_assign:
            line = f"{magic_assign.group(1)}= __ipython_magic__()"
        elif stripped.startswith(("%", "!", "?")) or (
            stripped.endswith("?") and not re.search(r"[\s#]", stripped)
        ):
            line = f"{indent}pass"
        lines.append(line)
    return "\n".join(lines)


def _parse(source: str) -> ast.Module | None:
    # Silence e.g. invalid-escape warnings: running the cell reports them itself.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError):  # ValueError: null bytes
            pass
        try:
            return ast.parse(_strip_ipython_syntax(textwrap.dedent(source)))
        except (SyntaxError, ValueError, RecursionError):
            return None


def analyse_cell(source: str) -> CellAnalysis:
    """Find param names and metric candidates in a cell's raw source.

    >>> analyse_cell("lr = 0.1\\nsizes = [64, 32]\\nmodel = fit(lr)\\nrmse = f(model)")
    CellAnalysis(params=('lr', 'sizes'), metrics=('model', 'rmse'))
    """
    tree = _parse(source)
    if tree is None:
        return CellAnalysis((), ())
    literal: dict[str, bool] = {}  # insertion order == first top-level assignment
    for stmt in tree.body:
        for name, is_lit in _assign_bindings(stmt):
            if not name.startswith("_"):
                literal[name] = literal.get(name, True) and is_lit
    for name, is_lit in _other_bindings(tree):
        if name in literal and not is_lit:
            literal[name] = False
    return CellAnalysis(
        params=tuple(name for name, is_lit in literal.items() if is_lit),
        metrics=tuple(name for name, is_lit in literal.items() if not is_lit),
    )


def is_metric_value(value: object) -> bool:
    """True for real numbers: int, float, numpy integer/floating, 0-d numpy real array.

    False for ``bool``/``numpy.bool_``, complex, datetime/timedelta, ints too
    large for a float, and everything else.

    >>> is_metric_value(0.25), is_metric_value(3), is_metric_value(True)
    (True, True, False)
    """
    np: Any = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.generic, np.ndarray)):
        return bool(value.ndim == 0 and value.dtype.kind in "iuf")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def as_metric_float(value: object) -> float:
    """Convert a value accepted by :func:`is_metric_value` to ``float``.

    NaN and infinities are kept.  Raises ``TypeError`` for other values.

    >>> as_metric_float(3)
    3.0
    """
    if not is_metric_value(value):
        raise TypeError(f"not a real number: {type(value).__name__}")
    return float(cast(SupportsFloat, value))


def _names_arg(option: str, names: Sequence[str] | None) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"{option} names must be a sequence of names, not a str")
    return tuple(dict.fromkeys(names))


def select_values(
    namespace: Mapping[str, object],
    analysis: CellAnalysis,
    params: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> Selection:
    """Read param and metric values from the user namespace after the cell ran.

    ``params``/``metrics`` are the explicit ``-p``/``-m`` names; ``None`` means
    auto-detect from ``analysis`` (an empty sequence captures nothing).  Auto
    detection excludes names given explicitly for the other kind.  Detected
    names that are missing (or, for metrics, not real numbers) are skipped
    silently; explicit ones are skipped with a warning.  Param values are
    returned as-is; metric values as ``float``.

    >>> sel = select_values({"lr": 0.1, "rmse": 2, "model": object()},
    ...                     CellAnalysis(("lr",), ("model", "rmse")))
    >>> sel.params, sel.metrics, sel.warnings
    ({'lr': 0.1}, {'rmse': 2.0}, ())
    """
    explicit_params = _names_arg("-p", params)
    explicit_metrics = _names_arg("-m", metrics)
    messages: list[str] = []
    missing = "{}: name {!r} is not defined after the cell"

    param_values: dict[str, object] = {}
    if explicit_params is None:
        for name in analysis.params:
            if name in namespace and name not in (explicit_metrics or ()):
                param_values[name] = namespace[name]
    else:
        for name in explicit_params:
            if name in namespace:
                param_values[name] = namespace[name]
            else:
                messages.append(missing.format("-p", name))

    metric_values: dict[str, float] = {}
    if explicit_metrics is None:
        for name in analysis.metrics:
            value = namespace.get(name)
            if name not in (explicit_params or ()) and is_metric_value(value):
                metric_values[name] = as_metric_float(value)
    else:
        for name in explicit_metrics:
            if name not in namespace:
                messages.append(missing.format("-m", name))
            elif not is_metric_value(namespace[name]):
                kind = type(namespace[name]).__name__
                messages.append(f"-m: {name!r} is not a real number ({kind}); skipped")
            else:
                metric_values[name] = as_metric_float(namespace[name])

    return Selection(param_values, metric_values, tuple(messages))


def parse_name_list(text: str) -> tuple[str, ...]:
    """Parse a ``-p``/``-m`` option value: names separated by commas and/or spaces.

    Duplicates are dropped (first occurrence wins).  Raises ``ValueError`` naming
    the first entry that is not a valid Python identifier.

    >>> parse_name_list("rmse, mae  r2")
    ('rmse', 'mae', 'r2')
    """
    names = [name for name in re.split(r"[\s,]+", text) if name]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"invalid name {name!r}: not a Python identifier")
    return tuple(dict.fromkeys(names))
