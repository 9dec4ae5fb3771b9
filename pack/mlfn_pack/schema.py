"""The API schema (`features[]`) and the drift baselines, from the compiled columns and data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .baseline import categorical_baseline, numeric_baseline
from .compile import ERROR, NAN, Col
from .estimators import Unsupported


def round_sig(x: float, digits: int = 6) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def valid_range(values: np.ndarray) -> dict:
    """Inputs further than half the observed span beyond the data are extrapolation the
    model was never fitted on: reject them. Non-negative measurements stay non-negative."""
    values = values[~np.isnan(values)]
    if not len(values):
        raise ValueError("a numeric feature has no values in the data: cannot derive its range")
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    vmin = lo - 0.5 * span
    if lo >= 0:
        vmin = max(vmin, 0.0)
    return {"min": round_sig(vmin), "max": round_sig(hi + 0.5 * span)}


def required(cols: list[Col], takes_nan: bool) -> bool:
    return any(c.missing == ERROR or (c.missing == NAN and not takes_nan) for c in cols)


def features(input_names, columns: list[Col], takes_nan: bool, data: pd.DataFrame,
             baseline: pd.DataFrame, integers: set[str]) -> list[dict]:
    out = []
    for name in input_names:
        cols = [c for c in columns if c.feature == name]
        if not cols:
            continue  # dropped by the preprocessing: not part of the API
        feat = {"name": name}
        enc = [c for c in cols if c.source["kind"] in ("one_hot", "ordinal")]
        if enc:
            cats = _categories(name, enc)
            feat["type"] = "category"
            feat["required"] = required(cols, takes_nan)
            feat["categories"] = cats
            if all(c.accept_unknown for c in enc):
                feat["accept_unknown"] = True
            feat["default"] = next((c.source["impute"] for c in enc if c.source["impute"] is not None), None)
            feat["baseline"] = categorical_baseline(baseline[name], cats)
        else:
            feat["type"] = "integer" if name in integers else "number"
            feat["required"] = required(cols, takes_nan)
            both = np.concatenate([data[name].to_numpy(dtype=float), baseline[name].to_numpy(dtype=float)])
            feat["range"] = valid_range(both)
            feat["default"] = next((c.source["impute"] for c in cols
                                    if c.source["kind"] == "value" and c.source["impute"] is not None), None)
            feat["baseline"] = numeric_baseline(baseline[name].to_numpy(dtype=float))
        out.append(feat)
    return out


def _categories(name: str, enc: list[Col]) -> list[str]:
    first = enc[0].categories
    for c in enc[1:]:
        if c.categories != first:
            raise Unsupported(f"input: encoders of feature {name!r} were fitted on different categories")
    return list(first)
