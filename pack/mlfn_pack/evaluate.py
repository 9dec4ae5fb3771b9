"""A pure-Python evaluator of column programs (models/README.md `preprocessing.columns`).

It is the reference semantics the Rust evaluator must match, written independently of the
compiler: the packager runs it on every reference row and refuses to write a bundle whose
programs do not reproduce sklearn's `transformed` bit for bit; the tests use it too.
"""
from __future__ import annotations

import math

NAN = float("nan")


def _num(v):
    return NAN if v is None else float(v)


def eval_column(col: dict, features: dict) -> float:
    src = col["source"]
    raw = features.get(src["feature"])
    missing = raw is None or (isinstance(raw, float) and math.isnan(raw))
    kind = src["kind"]
    if kind == "value":
        x = _num(src["impute"]) if missing else float(raw)
    elif kind == "missing_indicator":
        x = 1.0 if missing else 0.0
    elif kind == "one_hot":
        v = src["impute"] if missing else raw
        if v is None:
            x = 1.0 if src.get("category_missing") else 0.0
        else:
            x = 1.0 if not src.get("category_missing") and v == src["category"] else 0.0
    elif kind == "ordinal":
        v = src["impute"] if missing else raw
        if v is None:
            x = _num(src["missing_value"])
        elif v in src["categories"]:
            x = float(src["categories"].index(v))
        elif "unknown_value" in src:
            x = _num(src["unknown_value"])
        else:
            raise ValueError(f"unknown category {v!r} for {src['feature']!r}")
    else:
        raise ValueError(f"unknown source kind {kind!r}")
    for op in col["ops"]:
        v = op["value"]
        if op["op"] == "sub":
            x = x - v
        elif op["op"] == "div":
            x = x / v
        elif op["op"] == "mul":
            x = x * v
        elif op["op"] == "add":
            x = x + v
        else:
            raise ValueError(f"unknown op {op['op']!r}")
    return x


def eval_row(columns: list[dict], features: dict) -> list[float]:
    return [eval_column(c, features) for c in columns]
