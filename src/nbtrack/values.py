"""Encoding of param values, metric values and names (pure; no third-party imports).

Params keep their type: a value is stored as ``(value_type, value_num, value_text)``
where ``value_text`` is always the exact canonical text and ``value_num`` is set
for numbers, so ``params.alpha > 0.1`` compares numbers in SQL and ``runs()``
gives back ints and floats. Anything that is not a scalar (lists, dicts, NumPy
arrays, pandas objects) is stored as JSON text.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from typing import Any

MAX_KEY_LENGTH = 250

# value_type codes stored in params.value_type
INT, FLOAT, BOOL, STR, NONE, JSON = "int", "float", "bool", "str", "none", "json"

EncodedParam = tuple[str, "float | None", str]


def validate_key(key: object, what: str = "key") -> str:
    """Return ``key`` if it is a usable param/metric/tag name, else raise ``ValueError``.

    >>> validate_key("rmse")
    'rmse'
    """
    if not isinstance(key, str):
        raise TypeError(f"{what} must be a str, got {type(key).__name__}: {key!r:.80}")
    if not key or not key.strip():
        raise ValueError(f"{what} must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"{what} is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}")
    if "\x00" in key:
        raise ValueError(f"{what} must not contain NUL characters: {key!r:.80}")
    return key


def _plain(value: Any) -> Any:
    """NumPy/pandas scalars and containers to plain Python, for JSON."""
    module = type(value).__module__
    if module.startswith(("numpy", "pandas")):
        for method in ("tolist", "to_dict"):
            convert = getattr(value, method, None)
            if convert is not None:
                try:
                    return convert() if method == "tolist" else convert(orient="list")
                except TypeError:
                    return convert()
        item = getattr(value, "item", None)
        if item is not None:
            return item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return value


def _scalar(value: Any) -> Any:
    """A NumPy scalar or 0-d array as the Python scalar it holds; anything else unchanged."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def encode_param(value: Any) -> EncodedParam:
    """Encode a param value as ``(value_type, value_num, value_text)``.

    >>> encode_param(0.1)
    ('float', 0.1, '0.1')
    >>> encode_param([1, 2])
    ('json', None, '[1, 2]')
    """
    value = _scalar(value)
    if value is None:
        return NONE, None, "None"
    if isinstance(value, bool):
        return BOOL, None, str(value)
    if isinstance(value, int):
        return INT, float(value) if abs(value) < 2**63 else None, str(value)
    if isinstance(value, float):
        return FLOAT, value if math.isfinite(value) else None, repr(value)
    if isinstance(value, str):
        return STR, None, value
    if isinstance(value, (datetime.date, datetime.time)):
        return STR, None, value.isoformat()
    if isinstance(value, os.PathLike):
        return STR, None, os.fspath(value)
    try:
        text = json.dumps(value, default=_plain, ensure_ascii=False)
    except (TypeError, ValueError):
        # Unserialisable objects are kept as their repr, as text.
        return STR, None, repr(value)
    return JSON, None, text


def decode_param(value_type: str, value_text: str) -> Any:
    """Inverse of :func:`encode_param` (JSON comes back as lists/dicts).

    >>> decode_param("int", "3")
    3
    """
    if value_type == INT:
        return int(value_text)
    if value_type == FLOAT:
        return float(value_text)
    if value_type == BOOL:
        return value_text == "True"
    if value_type == NONE:
        return None
    if value_type == JSON:
        return json.loads(value_text)
    return value_text


def metric_value(value: Any, key: str = "metric") -> float:
    """Check and convert a metric value to float (NaN and ±inf are kept).

    >>> metric_value(3)
    3.0
    """
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"metric {key!r} must be a real number, got {type(value).__name__}: {value!r:.80}"
        )
    return float(value)


def tag_value(value: Any) -> str:
    """Tags are strings; other values are stored as their ``str``."""
    return value if isinstance(value, str) else str(value)
