"""Run filters and orderings: MLflow's ``search_runs`` syntax compiled to SQLAlchemy Core.

A filter is comparisons joined by ``and``/``or``/``not`` and parentheses::

    metrics.rmse < 6.5 and params.model = 'xgboost'
    tags.team ILIKE 'ml%' or not (status IN ('FAILED', 'CRASHED'))
    metrics.`val loss` IS NOT NULL and start_time >= '2024-05-01'

Semantics, all in SQL (every value is a bound parameter):

- ``metrics.k`` compares the latest value with numbers. A missing metric and a
  NaN (stored as NULL) make the comparison NULL, so the run is left out; ``not``
  and ``!=`` follow SQL's three-valued logic, so they leave it out too.
  ``IS NULL`` is true for a missing or NaN metric, ``IS NOT NULL`` for a real number.
- ``params.k`` with a number compares the numeric value (``params.alpha > 0.1``);
  with a string, the canonical text (``params.alpha = '0.1'``, ``params.model = 'xgb'``);
  with ``true``/``false``, the text ``'True'``/``'False'``. ``IS NULL``: not logged.
- ``tags.k``, ``run_name``, ``run_id``, ``experiment`` and ``status`` compare with
  strings; ``status`` values are checked and case-insensitive.
- ``start_time``/``end_time`` take epoch milliseconds (as in MLflow) or an
  ISO-8601 string (naive means UTC).
- ``LIKE`` is case-sensitive, ``ILIKE`` is not (Unicode included, on SQLite too,
  where both become ``GLOB``); ``\\`` escapes ``%``/``_`` in a pattern.
- Strings are single- or double-quoted; a quote is escaped by doubling it or
  with a backslash (``\\\\`` is one backslash; other backslashes stay as they are).

Errors are ``ValueError`` naming the offending token and its 1-based position.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, NamedTuple, TypeAlias

from sqlalchemy import Boolean, and_, literal, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from nbtrack.store.schema import experiments, metrics, params, runs, tags
from nbtrack.store.store import STATUSES

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Not",
    "Or",
    "compile_filter",
    "compile_order_by",
    "experiment_condition",
    "parse_filter",
]

MAX_LENGTH = 10_000  #: longest filter or order_by text accepted
MAX_DEPTH = 50  #: deepest nesting of parentheses and ``not``
MAX_IN_ITEMS = 1_000  #: longest ``IN`` list

Scalar: TypeAlias = str | float | bool
Value: TypeAlias = Scalar | tuple[Scalar, ...] | None


class Comparison(NamedTuple):
    """``kind`` is metric/param/tag/attribute; ``value`` is as written (numbers as float)."""

    kind: str
    key: str
    op: str  # = != < <= > >= LIKE ILIKE NOT LIKE NOT ILIKE IN NOT IN IS NULL IS NOT NULL
    value: Value


class And(NamedTuple):
    items: tuple[Expr, ...]


class Or(NamedTuple):
    items: tuple[Expr, ...]


class Not(NamedTuple):
    item: Expr


Expr: TypeAlias = Comparison | And | Or | Not

_PREFIXES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}
_ATTRIBUTES = ("status", "run_name", "run_id", "experiment", "start_time", "end_time")
_TIMES = ("start_time", "end_time")
_ORDERING = ("<", "<=", ">", ">=")
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_SPACE = re.compile(r"\s+")
_NAME = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRAILING = re.compile(r"[\w.]+")
_BARE_KEY = re.compile(r"[\w./-]+")
_OPERATOR = re.compile(r"[<>=!]+")
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


class _Token(NamedTuple):
    kind: str  # name key str num op ( ) , end
    text: str
    pos: int
    value: Any = None


def _fail(what: str, pos: int, message: str) -> ValueError:
    return ValueError(f"invalid {what} at position {pos + 1}: {message}")


def _quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """Read the quoted string at ``start``: ``(value, end)``."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif char == quote and text.startswith(quote, i + 1):
            out.append(quote)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise _fail(what, start, f"unterminated string {text[start : start + 30]!r}")


def _tokens(text: str, what: str) -> Iterator[_Token]:
    """Tokens one at a time, so the first error from the left is the one reported."""
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        pos = space.end() if space else pos
        if pos >= len(text):
            yield _Token("end", "", pos)
            return
        char = text[pos]
        if char in "(),":
            token = _Token(char, char, pos)
        elif char in "'\"":
            value, end = _quoted(text, pos, what)
            token = _Token("str", text[pos:end], pos, value)
        elif operator := _OPERATOR.match(text, pos):
            token = _Token("op", operator.group(), pos)
        elif number := _NUMBER.match(text, pos):
            junk = _TRAILING.match(text, number.end())
            if junk:
                raise _fail(what, pos, f"unexpected token {text[pos : junk.end()]!r}")
            if not math.isfinite(float(number.group())):
                raise _fail(what, pos, f"number out of range {number.group()!r}")
            token = _Token("num", number.group(), pos, float(number.group()))
        elif name := _NAME.match(text, pos):
            token = _Token("name", name.group(), pos)
            if text.startswith(".", name.end()):
                start = name.end() + 1
                if text[start : start + 1] in ("`", '"'):
                    key, end = _quoted(text, start, what)
                elif bare := _BARE_KEY.match(text, start):
                    key, end = bare.group(), bare.end()
                else:
                    raise _fail(what, pos, f"missing key after {text[pos:start]!r}")
                if not key:
                    raise _fail(what, pos, f"empty key in {text[pos:end]!r}")
                token = _Token("key", text[pos:end], pos, (name.group(), key))
        else:
            raise _fail(what, pos, f"unexpected character {char!r}")
        pos += len(token.text)
        yield token


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ValueError(f"{what} is {len(text)} characters long; the limit is {MAX_LENGTH}")
        if bad := _UNSAFE.search(text):  # no database stores NUL; surrogates cannot be encoded
            raise _fail(what, bad.start(), f"unexpected character {bad.group()!r}")
        self.text, self.what, self.depth = text, what, 0
        self.stream = _tokens(text, what)
        self.tok = next(self.stream)

    def advance(self) -> _Token:
        token = self.tok
        if token.kind != "end":
            self.tok = next(self.stream)
        return token

    def keyword(self, *words: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.upper() in words

    def unexpected(self, expected: str) -> ValueError:
        found = f"end of the {self.what}" if self.tok.kind == "end" else f"token {self.tok.text!r}"
        return _fail(self.what, self.tok.pos, f"unexpected {found} (expected {expected})")

    def expect(self, kind: str, expected: str) -> _Token:
        if self.tok.kind != kind:
            raise self.unexpected(expected)
        return self.advance()

    def parse(self) -> Expr | None:
        if self.tok.kind == "end":
            return None
        expr = self.disjunction()
        self.expect("end", "AND, OR or the end")
        return expr

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while self.keyword("OR"):
            self.advance()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Expr:
        items = [self.unary()]
        while self.keyword("AND"):
            self.advance()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Expr:
        if not (self.keyword("NOT") or self.tok.kind == "("):
            return self.comparison()
        self.depth += 1  # checked before recursing: deep input fails fast
        if self.depth > MAX_DEPTH:
            message = f"nesting deeper than {MAX_DEPTH} at {self.tok.text!r}"
            raise _fail(self.what, self.tok.pos, message)
        if self.advance().kind == "(":
            expr = self.disjunction()
            self.expect(")", "')'")
        else:
            expr = Not(self.unary())
        self.depth -= 1
        return expr

    def key(self) -> tuple[str, str]:
        token = self.tok
        if token.kind == "key":
            prefix, key = token.value
            kind = _PREFIXES.get(prefix.lower())
            if kind is None:
                raise _fail(
                    self.what,
                    token.pos,
                    f"unknown prefix {prefix!r} in {token.text!r} "
                    "(expected metrics., params., tags. or attributes.)",
                )
            if kind == "attribute" and key.lower() not in _ATTRIBUTES:
                raise _fail(
                    self.what,
                    token.pos,
                    f"unknown attribute {key!r} (expected one of {', '.join(_ATTRIBUTES)})",
                )
            self.advance()
            return kind, key.lower() if kind == "attribute" else key
        if token.kind == "name" and token.text.lower() in _ATTRIBUTES:
            self.advance()
            return "attribute", token.text.lower()
        raise self.unexpected("a key such as metrics.rmse, params.alpha, tags.team or status")

    def value(self) -> Scalar:
        token = self.tok
        if token.kind in ("str", "num"):
            self.advance()
            return token.value  # type: ignore[no-any-return]
        if self.keyword("TRUE", "FALSE"):
            self.advance()
            return token.text.upper() == "TRUE"
        if self.keyword("NULL"):
            raise self.unexpected("a value; test a missing value with IS NULL or IS NOT NULL")
        raise self.unexpected("a value: a quoted string or a number")

    def comparison(self) -> Comparison:
        kind, key = self.key()
        op_token = self.tok
        value: Value = None
        negated = "NOT " if self.keyword("NOT") else ""
        if negated:
            self.advance()
            if not self.keyword("IN", "LIKE", "ILIKE"):
                raise self.unexpected("IN, LIKE or ILIKE after NOT")
        if op_token.kind == "op" and op_token.text in _OPS:
            op = _OPS[self.advance().text]
            value = self.value()
        elif self.keyword("LIKE", "ILIKE"):
            op = negated + self.advance().text.upper()
            value = self.value()
        elif self.keyword("IN"):
            op = negated + self.advance().text.upper()
            self.expect("(", "'(' after IN")
            items = [self.value()]
            while self.tok.kind == "," and len(items) <= MAX_IN_ITEMS:
                self.advance()
                items.append(self.value())
            if len(items) > MAX_IN_ITEMS:
                raise _fail(self.what, op_token.pos, f"IN lists hold at most {MAX_IN_ITEMS} values")
            self.expect(")", "',' or ')'")
            value = tuple(items)
        elif self.keyword("IS"):
            self.advance()
            op = "IS NOT NULL" if self.keyword("NOT") else "IS NULL"
            if op == "IS NOT NULL":
                self.advance()
            if not self.keyword("NULL"):
                raise self.unexpected("NULL")
            self.advance()
        else:
            raise self.unexpected("a comparator")
        got = self.text[op_token.pos : self.tok.pos].strip()
        try:
            _check(kind, key, op, value)
        except ValueError as error:
            raise _fail(self.what, op_token.pos, f"{error} (in {got[:60]!r})") from None
        return Comparison(kind, key, op, value)


def _check(kind: str, key: str, op: str, value: Value) -> Value:
    """Validate a comparison; return its value as compared in SQL."""
    if value is None:
        return None
    items = value if isinstance(value, tuple) else (value,)
    if isinstance(items[0], bool):
        if kind != "param" or op not in ("=", "!="):
            raise ValueError(f"true/false only compare params with = or !=, not {kind} {op}")
        return str(items[0])
    numeric = isinstance(items[0], float)
    if any(isinstance(item, bool) or isinstance(item, float) != numeric for item in items):
        raise ValueError("IN lists hold either only strings or only numbers")
    if "LIKE" in op and (numeric or kind == "metric" or key in _TIMES):
        raise ValueError(f"{op} needs a string pattern and a text key")
    if kind == "metric" and not numeric:
        raise ValueError(f"metrics compare with numbers, not with the string {items[0]!r}")
    if kind == "attribute" and key in _TIMES:
        seconds = tuple(float(v) / 1000 if numeric else _epoch(str(v)) for v in items)
        return seconds if isinstance(value, tuple) else seconds[0]
    if numeric and kind in ("tag", "attribute"):
        raise ValueError(f"{kind} {key!r} compares with strings: quote the value")
    if not numeric and op in _ORDERING:
        raise ValueError(f"{op} compares numbers (or times), not the string {items[0]!r}")
    if kind == "attribute" and key == "status" and "LIKE" not in op:
        status = tuple(str(item).upper() for item in items)
        for item, upper in zip(items, status, strict=True):
            if upper not in STATUSES:
                raise ValueError(f"unknown status {item!r} (expected one of {', '.join(STATUSES)})")
        return status if isinstance(value, tuple) else status[0]
    return value


def _epoch(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO-8601 datetime") from None


# -- SQL ----------------------------------------------------------------------


class _Like(FunctionElement[bool]):
    """``column LIKE pattern``, case-sensitive everywhere (SQLite's LIKE is not: GLOB)."""

    type = Boolean()
    inherit_cache = True
    name = "nbtrack_like"


class _ILike(_Like):
    """``column ILIKE pattern``, Unicode case-insensitive on SQLite too."""

    inherit_cache = True
    name = "nbtrack_ilike"


@compiles(_Like)
def _compile_like(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern, _glob = element.clauses.clauses
    like = column.ilike if isinstance(element, _ILike) else column.like
    return "(" + compiler.process(like(pattern, escape="\\"), **kw) + ")"


@compiles(_Like, "sqlite")
def _compile_glob(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column, _pattern, glob = element.clauses.clauses
    return f"({compiler.process(column.op('GLOB', is_comparison=True)(glob), **kw)})"


def _like(column: ColumnElement[Any], pattern: str, *, ignore_case: bool) -> ColumnElement[bool]:
    """LIKE/ILIKE with ``\\`` as escape; the pattern is also rendered as a GLOB for SQLite."""
    like: list[str] = []
    glob: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char in "%_":
            like.append(char)
            glob.append("*" if char == "%" else "?")
            continue
        if char == "\\":  # escapes the next character; a trailing one is literal
            char = next(chars, "\\")
        like.append("\\" + char if char in "%_\\" else char)
        cases = {c for c in (char, char.lower(), char.upper(), char.swapcase()) if len(c) == 1}
        if ignore_case and len(cases) > 1:
            glob.append("[" + "".join(sorted(cases)) + "]")
        else:
            glob.append(f"[{char}]" if char in "*?[" else char)
    cls = _ILike if ignore_case else _Like
    return cls(column, literal("".join(like)), literal("".join(glob)))


def _lookup(table: Any, column: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    """The run's value for ``key``: a scalar subquery correlated to ``runs``."""
    return (
        select(column)
        .where(table.c.run_id == runs.c.id, table.c.key == key)
        .correlate(runs)
        .scalar_subquery()
    )


def _column(kind: str, key: str, numeric: bool) -> ColumnElement[Any]:
    if kind == "metric":
        return _lookup(metrics, metrics.c.value, key)
    if kind == "param":
        return _lookup(params, params.c.value_num if numeric else params.c.value_text, key)
    if kind == "tag":
        return _lookup(tags, tags.c.value, key)
    if key == "experiment":
        return (
            select(experiments.c.name)
            .where(experiments.c.id == runs.c.experiment_id)
            .correlate(runs)
            .scalar_subquery()
        )
    return runs.c[{"run_name": "name", "run_id": "id"}.get(key, key)]


_COMPARE: dict[str, Callable[[ColumnElement[Any], Any], ColumnElement[bool]]] = {
    "=": lambda c, v: c == v,
    "!=": lambda c, v: c != v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "IN": lambda c, v: c.in_(v),
    "NOT IN": lambda c, v: c.not_in(v),
    "IS NULL": lambda c, v: c.is_(None),
    "IS NOT NULL": lambda c, v: c.is_not(None),
    "LIKE": lambda c, v: _like(c, v, ignore_case=False),
    "ILIKE": lambda c, v: _like(c, v, ignore_case=True),
    "NOT LIKE": lambda c, v: not_(_like(c, v, ignore_case=False)),
    "NOT ILIKE": lambda c, v: not_(_like(c, v, ignore_case=True)),
}


def _sql(expr: Expr) -> ColumnElement[bool]:
    if isinstance(expr, Comparison):
        value = _check(*expr)
        first = value[0] if isinstance(value, tuple) else value
        column = _column(expr.kind, expr.key, isinstance(first, float))
        return _COMPARE[expr.op](column, list(value) if isinstance(value, tuple) else value)
    if isinstance(expr, Not):
        return not_(_sql(expr.item))
    join = and_ if isinstance(expr, And) else or_
    return join(*(_sql(item) for item in expr.items))


def parse_filter(text: str) -> Expr | None:
    """Parse a filter into an :data:`Expr`; ``None`` for an empty one.

    >>> parse_filter("metrics.rmse < 6.5")
    Comparison(kind='metric', key='rmse', op='<', value=6.5)
    """
    return _Parser(text, "filter").parse()


def compile_filter(text: str | None) -> ColumnElement[bool] | None:
    """The filter as a SQL condition over ``runs``; ``None`` when there is no filter."""
    expr = None if text is None else parse_filter(text)
    return None if expr is None else _sql(expr)


def compile_order_by(order_by: str | Sequence[str] | None) -> list[ColumnElement[Any]]:
    """ORDER BY terms for ``"metrics.rmse"``, ``"params.alpha DESC, start_time"``, ...

    Missing values (and NaN metrics) sort last in both directions; params sort by
    number, then by text.
    """
    items = [] if order_by is None else [order_by] if isinstance(order_by, str) else order_by
    terms: list[ColumnElement[Any]] = []
    for item in items:
        parser = _Parser(item, "order_by")
        while parser.tok.kind != "end":
            kind, key = parser.key()
            descending = parser.keyword("DESC")
            if parser.keyword("ASC", "DESC"):
                parser.advance()
            if parser.tok.kind != "end":
                parser.expect(",", "ASC, DESC, ',' or the end")
                if parser.tok.kind == "end":
                    raise parser.unexpected("a key after ','")
            columns = [_column(kind, key, True)]
            if kind == "param":
                columns.append(_column(kind, key, False))
            for column in columns:
                terms.append((column.desc() if descending else column.asc()).nulls_last())
    return terms


def experiment_condition(experiment_ids: Sequence[int]) -> ColumnElement[bool]:
    """Runs of the given experiments."""
    return runs.c.experiment_id.in_([int(i) for i in experiment_ids])
