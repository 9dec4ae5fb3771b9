"""Preprocessing compiler: a fitted sklearn preprocessing -> one column program per estimator
input column (models/README.md, `preprocessing.columns`).

Every intermediate column is tracked symbolically (`Col`): where its value comes from (a
feature's value, a missing indicator, a one-hot or ordinal code) and the f64 ops applied
since. Each supported step rewrites the list of columns exactly as its `transform` would
rewrite the matrix, so the programs reproduce sklearn's float64 output bit for bit (the
packager checks that on every reference row). Anything else raises `Unsupported` naming the
step's path (`pre/cat/onehot`) and the option.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .estimators import Unsupported

# What a missing input value turns into in a column:
HANDLED = "handled"  # a defined number (imputed, indicator, encoder's missing category)
NAN = "nan"  # NaN reaches the estimator (fine only if it takes NaN)
ERROR = "error"  # sklearn would raise: the feature must be required


@dataclass
class Col:
    feature: str
    is_str: bool  # still a string column (no encoder yet): cannot reach the estimator
    source: dict  # models/README.md `source` (for string columns: value + impute)
    ops: list = field(default_factory=list)
    missing: str = NAN
    # encoder outputs: the fitted categories (incl. a dropped one) and whether unknown
    # values are accepted (handle_unknown ignore / use_encoded_value)
    categories: list | None = None
    accept_unknown: bool = False

    def program(self) -> dict:
        return {"source": dict(self.source), "ops": [dict(o) for o in self.ops]}


def _is_nan(v) -> bool:
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def _cls(est) -> str:
    return type(est).__name__


def _unsupported(path: str, est, option: str) -> Unsupported:
    return Unsupported(f"{path}: {_cls(est)} {option} is not supported")


def input_columns(names, frame) -> list[Col]:
    """The raw columns the pipeline receives, typed from the data."""
    cols = []
    for n in names:
        if n not in frame.columns:
            raise Unsupported(f"input: the data has no column {n!r} that the pipeline reads")
        import pandas as pd

        dt = frame[n].dtype
        if pd.api.types.is_bool_dtype(dt):
            raise Unsupported(f"input: boolean column {n!r} is not supported (use 0/1 or strings)")
        is_str = not pd.api.types.is_numeric_dtype(dt)
        cols.append(Col(feature=n, is_str=is_str,
                        source={"kind": "value", "feature": n, "impute": None}))
    return cols


def flatten(est, path: str) -> list[tuple[str, object]]:
    """Pipeline steps with nested Pipelines expanded and passthrough/None skipped."""
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        out = []
        for name, step in est.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            out += flatten(step, f"{path}/{name}" if path else name)
        return out
    return [(path or _cls(est), est)]


def compile_step(est, cols: list[Col], path: str, sparse_ok: bool) -> list[Col]:
    name = _cls(est)
    fn = _STEPS.get(name)
    if fn is None:
        raise Unsupported(f"{path}: step {name} is not supported")
    n_in = getattr(est, "n_features_in_", None)
    if n_in is not None and n_in != len(cols):
        raise Unsupported(f"{path}: {name} was fitted on {n_in} columns but receives {len(cols)}")
    return fn(est, cols, path, sparse_ok)


def _pipeline(est, cols, path, sparse_ok):
    for p, step in flatten(est, path):
        cols = compile_step(step, cols, p, sparse_ok)
    return cols


def _column_transformer(ct, cols, path, sparse_ok):
    if getattr(ct, "sparse_output_", False):
        raise _unsupported(path, ct, "sparse output (sparse_threshold with sparse transformers)")
    names = list(getattr(ct, "feature_names_in_", []))
    if [c.feature for c in cols if c.source["kind"] == "value" and not c.ops] != names or len(names) != len(cols):
        # columns are selected by name, so the input must still be the raw named features
        raise _unsupported(path, ct, "on columns that are not the raw named input")
    index = ct._transformer_to_input_indices  # resolved selections (names, callables, masks)
    # fitted transformers_ replace "passthrough" by an identity FunctionTransformer: the
    # unfitted specification says which ones were passthrough
    given = {n: t for n, t, _ in ct.transformers}
    given["remainder"] = ct.remainder
    out = []
    for name, trans, _sel in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = list(index.get(name, []))
        if not idx:
            continue
        sub = [cols[i] for i in idx]
        if isinstance(given.get(name), str) and given[name] == "passthrough":
            out += sub
        else:
            out += compile_step(trans, sub, f"{path}/{name}", True)
    return out


def _simple_imputer(imp, cols, path, sparse_ok):
    mv = imp.missing_values
    if not (_is_nan(mv) or mv is None or mv is getattr(__import__("pandas"), "NA")):
        raise _unsupported(path, imp, f"missing_values={mv!r}")
    out, indicator = [], []
    keep_empty = getattr(imp, "keep_empty_features", False)
    for i, c in enumerate(cols):
        stat = imp.statistics_[i]
        if _is_nan(stat):
            if not keep_empty:
                continue  # sklearn drops a column that was entirely missing at fit
            raise _unsupported(path, imp, f"keep_empty_features on the all-missing column {c.feature!r}")
        out.append(_impute(imp, c, stat, path))
    if imp.add_indicator:
        for j in imp.indicator_.features_:
            c = cols[j]
            if c.source["kind"] != "value" or c.source["impute"] is not None:
                raise _unsupported(path, imp, f"add_indicator on a derived column of {c.feature!r}")
            indicator.append(Col(feature=c.feature, is_str=False,
                                 source={"kind": "missing_indicator", "feature": c.feature},
                                 missing=HANDLED))
    return out + indicator


def _impute(imp, c: Col, stat, path) -> Col:
    if c.missing != NAN:
        return c  # no NaN can arrive here: the imputer leaves the column unchanged
    if c.is_str:
        if not isinstance(stat, str):
            raise _unsupported(path, imp, f"non-string fill value {stat!r} for string column {c.feature!r}")
        return replace(c, source={**c.source, "impute": stat}, missing=HANDLED)
    if isinstance(stat, str):
        raise _unsupported(path, imp, f"string fill value {stat!r} for numeric column {c.feature!r}")
    kind = c.source["kind"]
    if c.ops:
        raise _unsupported(path, imp, f"imputing column {c.feature!r} after it was transformed")
    if kind == "value":
        return replace(c, source={**c.source, "impute": float(stat)}, missing=HANDLED)
    if kind == "ordinal":
        return replace(c, source={**c.source, "missing_value": float(stat)}, missing=HANDLED)
    raise _unsupported(path, imp, f"imputing a {kind} column of {c.feature!r}")


def _numeric(est, c: Col, path) -> None:
    if c.is_str:
        raise _unsupported(path, est, f"on string column {c.feature!r}")


def _with_ops(c: Col, *ops) -> Col:
    return replace(c, ops=c.ops + [{"op": o, "value": float(v)} for o, v in ops])


def _standard_scaler(s, cols, path, sparse_ok):
    out = []
    for i, c in enumerate(cols):
        _numeric(s, c, path)
        ops = []
        if s.with_mean:
            ops.append(("sub", s.mean_[i]))
        if s.with_std:
            ops.append(("div", s.scale_[i]))
        out.append(_with_ops(c, *ops))
    return out


def _minmax_scaler(s, cols, path, sparse_ok):
    if s.clip:
        raise _unsupported(path, s, "clip=True")
    out = []
    for i, c in enumerate(cols):
        _numeric(s, c, path)
        out.append(_with_ops(c, ("mul", s.scale_[i]), ("add", s.min_[i])))
    return out


def _robust_scaler(s, cols, path, sparse_ok):
    out = []
    for i, c in enumerate(cols):
        _numeric(s, c, path)
        ops = []
        if s.with_centering:
            ops.append(("sub", s.center_[i]))
        if s.with_scaling:
            ops.append(("div", s.scale_[i]))
        out.append(_with_ops(c, *ops))
    return out


def _maxabs_scaler(s, cols, path, sparse_ok):
    out = []
    for i, c in enumerate(cols):
        _numeric(s, c, path)
        out.append(_with_ops(c, ("div", s.scale_[i])))
    return out


def _encoder_checks(enc, cols, path):
    if getattr(enc, "min_frequency", None) is not None:
        raise _unsupported(path, enc, f"min_frequency={enc.min_frequency!r}")
    if getattr(enc, "max_categories", None) is not None:
        raise _unsupported(path, enc, f"max_categories={enc.max_categories!r}")
    if np.dtype(enc.dtype) != np.float64:
        raise _unsupported(path, enc, f"dtype={np.dtype(enc.dtype).name} (only float64)")
    split = []
    for i, c in enumerate(cols):
        if not c.is_str or c.ops:
            raise _unsupported(path, enc, f"on numeric categories (column {c.feature!r})")
        cats = list(enc.categories_[i])
        has_nan = bool(cats) and _is_nan(cats[-1])
        named = cats[:-1] if has_nan else cats
        if not all(isinstance(x, str) for x in named):
            raise _unsupported(path, enc, f"on non-string categories (column {c.feature!r})")
        split.append((c, named, has_nan))
    return split


def _one_hot(enc, cols, path, sparse_ok):
    if enc.sparse_output and not sparse_ok:
        raise _unsupported(path, enc, "sparse_output=True (the estimator would receive a sparse matrix)")
    if enc.handle_unknown not in ("error", "ignore", "infrequent_if_exist"):
        raise _unsupported(path, enc, f"handle_unknown={enc.handle_unknown!r}")
    drop = getattr(enc, "drop_idx_", None)
    out = []
    for i, (c, named, has_nan) in enumerate(_encoder_checks(enc, cols, path)):
        impute = c.source["impute"]
        handled = impute is not None or has_nan
        entries = [{"category": x} for x in named] + ([{"category_missing": True}] if has_nan else [])
        for j, e in enumerate(entries):
            if drop is not None and drop[i] is not None and int(drop[i]) == j:
                continue
            out.append(Col(feature=c.feature, is_str=False,
                           source={"kind": "one_hot", "feature": c.feature, **e, "impute": impute},
                           missing=HANDLED if handled else ERROR,
                           categories=list(named), accept_unknown=enc.handle_unknown != "error"))
    return out


def _ordinal(enc, cols, path, sparse_ok):
    if enc.handle_unknown not in ("error", "use_encoded_value"):
        raise _unsupported(path, enc, f"handle_unknown={enc.handle_unknown!r}")
    out = []
    for c, named, has_nan in _encoder_checks(enc, cols, path):
        impute = c.source["impute"]
        src = {"kind": "ordinal", "feature": c.feature, "categories": named, "impute": impute}
        if enc.handle_unknown == "use_encoded_value":
            u = float(enc.unknown_value)
            src["unknown_value"] = None if math.isnan(u) else u
        missing_value = None
        if impute is not None:
            missing = HANDLED
        elif has_nan:
            m = float(enc.encoded_missing_value)
            missing_value = None if math.isnan(m) else m
            missing = NAN if missing_value is None else HANDLED
        else:
            missing = ERROR  # sklearn treats NaN as an unknown category here
        src["missing_value"] = missing_value
        out.append(Col(feature=c.feature, is_str=False, source=src, missing=missing,
                       categories=list(named),
                       accept_unknown=enc.handle_unknown == "use_encoded_value"))
    return out


_STEPS = {
    "Pipeline": _pipeline,
    "ColumnTransformer": _column_transformer,
    "SimpleImputer": _simple_imputer,
    "StandardScaler": _standard_scaler,
    "MinMaxScaler": _minmax_scaler,
    "RobustScaler": _robust_scaler,
    "MaxAbsScaler": _maxabs_scaler,
    "OneHotEncoder": _one_hot,
    "OrdinalEncoder": _ordinal,
}


@dataclass
class Compiled:
    final: object  # the estimator
    final_path: str
    input_names: list[str]  # the pipeline's feature_names_in_
    columns: list[Col]  # one per estimator input column


def compile_model(model, frame) -> Compiled:
    flat = flatten(model, "")
    if not flat:
        raise Unsupported("pipeline: no estimator")
    final_path, final = flat[-1]
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise Unsupported(f"{flat[0][0]}: fitted without column names (fit it on a pandas DataFrame)")
    cols = input_columns([str(n) for n in names], frame)
    for path, step in flat[:-1]:
        cols = compile_step(step, cols, path, False)
    for c in cols:
        if c.is_str:
            raise Unsupported(f"{final_path}: string column {c.feature!r} reaches the estimator unencoded")
    return Compiled(final, final_path, [str(n) for n in names], cols)
