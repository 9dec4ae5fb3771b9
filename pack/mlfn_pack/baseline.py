"""Drift baselines: decile bins (PSI) and a 101-point quantile grid (KS) of a numeric
feature, shares of each category of a categorical one. numpy only, so the bundle scripts of
the network kinds (models/drift_baseline.py) load this file by path in their own venvs."""
from __future__ import annotations

import math

import numpy as np

DECILES = 10  # baseline bins for drift (PSI)
CDF_POINTS = 101  # baseline quantiles for the KS statistic


def numeric_baseline(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=float)
    present = values[~np.isnan(values)]
    if not len(present):
        raise ValueError("a numeric feature has no values in the baseline data")
    edges = np.unique(np.quantile(present, np.linspace(0, 1, DECILES + 1)[1:-1]))
    # bin(v) = number of edges e with e < v  (the rule the Rust drift code uses)
    bins = np.searchsorted(edges, present, side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1)
    return {
        "kind": "quantile_bins",
        "edges": [float(e) for e in edges],
        "proportions": [float(c) / len(present) for c in counts],
        "quantiles": [float(q) for q in np.quantile(present, np.linspace(0, 1, CDF_POINTS))],
        "missing_rate": float(np.isnan(values).mean()),
        "mean": float(present.mean()),
        "std": float(present.std()),
        "count": int(len(present)),
    }


def categorical_baseline(values, categories: list[str]) -> dict:
    """`values`: category names, `None` or NaN where missing."""
    values = list(values)
    present = [v for v in values if not _missing(v)]
    n = max(len(present), 1)
    return {
        "kind": "categories",
        "categories": categories,
        "proportions": [float(sum(v == c for v in present)) / n for c in categories],
        "missing_rate": float((len(values) - len(present)) / max(len(values), 1)),
        "count": int(len(present)),
    }


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
