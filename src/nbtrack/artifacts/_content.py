"""Bytes of figures, text and dicts logged as artifacts (pure; plotting libraries lazily)."""

from __future__ import annotations

import io
import json
from typing import Any


def figure_bytes(figure: Any, name: str) -> bytes:
    """A plotly or matplotlib figure as the bytes of file ``name`` (format from its extension).

    Plotly: ``.html`` (plotly.js from its CDN, so the file stays small) or ``.json``.
    Matplotlib: any format ``savefig`` knows (``.png``, ``.svg``, ``.pdf`` …).

    >>> figure_bytes({"data": [], "layout": {}}, "fig.json")
    b'{"data": [], "layout": {}}'
    """
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if hasattr(figure, "savefig"):  # matplotlib Figure (or anything with its interface)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=extension or "png", bbox_inches="tight")
        return buffer.getvalue()
    if isinstance(figure, dict) or hasattr(figure, "to_plotly_json"):
        if extension == "json":
            plain = figure if isinstance(figure, dict) else figure.to_plotly_json()
            return json.dumps(plain, default=_jsonable).encode()
        if extension in ("html", "htm"):
            import plotly.io as pio

            return str(pio.to_html(figure, include_plotlyjs="cdn", full_html=True)).encode()
        raise ValueError(
            f"a plotly figure is logged as .html or .json, not {name!r} "
            "(images need kaleido: fig.write_image, then log_artifact)"
        )
    raise TypeError(f"log_figure takes a plotly or matplotlib figure, got {type(figure).__name__}")


def dict_bytes(value: Any, name: str) -> bytes:
    """A dict (or any JSON-able value) as ``.json``, or ``.yaml``/``.yml`` when PyYAML is there.

    >>> dict_bytes({"a": 1}, "config.json")
    b'{\\n  "a": 1\\n}'
    """
    lower = name.lower()
    if lower.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ValueError(
                f"{name!r}: YAML needs PyYAML (pip install pyyaml); or use .json"
            ) from None
        return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True)).encode()
    return json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable).encode()


def _jsonable(value: Any) -> Any:
    for method in ("tolist", "isoformat"):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert()
    return repr(value)
