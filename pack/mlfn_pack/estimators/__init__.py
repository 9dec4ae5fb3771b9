"""Estimator exporters: a fitted final estimator -> the `mlfn-estimator` model.json object.

Each module (linear, mlp, trees, xgb, lgbm) exposes
`EXPORTERS: dict[str, Callable[[est, int], Exported]]` keyed by `type(est).__name__`.
The registry is merged lazily so that a missing optional library (xgboost, lightgbm) or a
module not written yet only removes its estimators instead of breaking the packager.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass
class Exported:
    model: dict  # the whole model.json object per models/README.md
    takes_nan: bool  # the estimator accepts NaN inputs (missing values may reach it)


class Unsupported(Exception):
    """A step or option the bundle format cannot express; the message names both."""


_MODULES = ("linear", "mlp", "trees", "xgb", "lgbm")
_registry: dict[str, Callable] | None = None


def registry() -> dict[str, Callable]:
    global _registry
    if _registry is None:
        merged: dict[str, Callable] = {}
        for mod in _MODULES:
            try:
                m = importlib.import_module(f"{__name__}.{mod}")
            except ImportError:
                # the module is absent, or its library (xgboost/lightgbm) is not installed
                continue
            merged.update(getattr(m, "EXPORTERS", {}))
        _registry = merged
    return _registry


def export(est, *, n_features: int) -> Exported:
    name = type(est).__name__
    fn = registry().get(name)
    if fn is None:
        raise Unsupported(f"estimator {name} is not supported")
    return fn(est, n_features)


def model_header(est, *, kind: str, input_width: int, outputs: int, link: str,
                 link_scale: float = 1.0) -> dict:
    """The keys every model.json starts with (models/README.md, mlfn-estimator format 1)."""
    return {
        "format": "mlfn-estimator",
        "format_version": 1,
        "estimator": type(est).__name__,
        "kind": kind,
        "input_width": int(input_width),
        "outputs": int(outputs),
        "link": link,
        "link_scale": float(link_scale),
    }
