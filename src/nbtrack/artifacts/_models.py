"""Model flavors: how a model object becomes files, and files become a model again.

A logged model is a folder artifact with two files:

- ``nbtrack-model.json``: flavor, format, file name, the model's class, Python
  and library versions, input columns when known (``feature_names_in_``);
- the model itself: ``model.json`` in XGBoost's own JSON format for XGBoost
  models (no pickle involved), else ``model.joblib`` (joblib, when installed)
  or ``model.pkl`` for scikit-learn-style objects.

Loading reads the metadata (JSON), then the model's bytes, already checked
against their sha256 by the caller, and only then unpickles them.
"""

from __future__ import annotations

import io
import json
import pickle
import platform
import sys
import tempfile
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

META_FILE = "nbtrack-model.json"
_LIBRARIES = ("scikit-learn", "joblib", "numpy", "pandas", "scipy", "xgboost", "lightgbm")


def flavor_of(model: Any) -> str:
    """``"xgboost"`` for XGBoost models (saved as their own JSON), else ``"sklearn"``.

    >>> flavor_of(object())
    'sklearn'
    """
    module = type(model).__module__
    return "xgboost" if module.split(".")[0] == "xgboost" else "sklearn"


def serialize_model(model: Any, input_columns: list[str] | None = None) -> dict[str, bytes]:
    """The files of a logged model: ``{file name: bytes}``, metadata file included.

    >>> files = serialize_model({"weights": [1, 2]})
    >>> sorted(files)
    ['model.joblib', 'nbtrack-model.json']
    """
    flavor = flavor_of(model)
    cls = type(model)
    meta: dict[str, Any] = {
        "flavor": flavor,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "python": platform.python_version(),
        "libraries": _library_versions(),
        "input_columns": input_columns or _input_columns(model),
        "n_features_in": _int_or_none(getattr(model, "n_features_in_", None)),
    }
    files: dict[str, bytes] = {}
    if flavor == "xgboost":
        meta.update(format="xgboost-json", file="model.json")
        files["model.json"] = _xgboost_json(model)
    else:
        try:
            import joblib
        except ImportError:
            meta.update(format="pickle", file="model.pkl")
            files["model.pkl"] = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            buffer = io.BytesIO()
            joblib.dump(model, buffer)
            meta.update(format="joblib", file="model.joblib")
            files["model.joblib"] = buffer.getvalue()
    files[META_FILE] = json.dumps(meta, indent=1, sort_keys=True).encode()
    return files


def read_meta(data: bytes) -> dict[str, Any]:
    """Parse ``nbtrack-model.json`` (plain JSON: safe on any input)."""
    meta = json.loads(data.decode("utf-8"))
    if not isinstance(meta, dict) or "format" not in meta or "file" not in meta:
        raise ValueError(f"{META_FILE} is not nbtrack model metadata")
    return meta


def deserialize_model(meta: dict[str, Any], data: bytes) -> Any:
    """Rebuild a model from its verified bytes and metadata.

    Only call this with bytes whose sha256 was checked against the store's
    record: joblib and pickle run code while loading.
    """
    fmt = meta["format"]
    if fmt == "xgboost-json":
        return _load_xgboost(meta, data)
    if fmt == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    if fmt == "pickle":
        return pickle.loads(data)
    raise ValueError(f"unknown model format {fmt!r} (written by a newer nbtrack?)")


def _xgboost_json(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        model.save_model(str(path))
        return path.read_bytes()


def _load_xgboost(meta: dict[str, Any], data: bytes) -> Any:
    xgboost = import_module("xgboost")
    module_name, _, class_name = str(meta.get("class", "xgboost.Booster")).rpartition(".")
    # Only XGBoost's own classes are instantiated; the name comes from our metadata.
    cls = getattr(xgboost, class_name, None)
    if not module_name.startswith("xgboost") or cls is None or not isinstance(cls, type):
        cls = xgboost.Booster
    model = cls()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        path.write_bytes(data)
        model.load_model(str(path))
    return model


def _input_columns(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names", None)  # xgboost.Booster
    if names is None:
        return None
    try:
        return [str(name) for name in names]
    except TypeError:
        return None


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _library_versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        module = name.replace("scikit-learn", "sklearn")
        if module in sys.modules or name in ("joblib",):
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                continue
    return found
