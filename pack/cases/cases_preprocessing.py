"""Cases covering every supported preprocessing step and option, each under a
LogisticRegression or Ridge, on sklearn's bundled data and palmerpenguins (gaps, strings)."""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (MaxAbsScaler, MinMaxScaler, OneHotEncoder, OrdinalEncoder,
                                   RobustScaler, StandardScaler)

import case_data as cd
from make_cases import Case

NUMS, CATS = cd.PENGUIN_NUMS, cd.PENGUIN_CATS


def _fit(pre_steps, est, split, target):
    train, hold = split
    pipe = Pipeline(pre_steps + [("model", est)])
    pipe.fit(cd.X(train, target), train[target])
    return pipe, train, hold, target


def _lr():
    return LogisticRegression(max_iter=5000)


def penguins_median_onehot():
    # median / most_frequent imputation, StandardScaler, OneHotEncoder(error), multinomial
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), NUMS),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="error", sparse_output=False))]), CATS),
    ])
    return _fit([("pre", pre)], _lr(), cd.penguins(), "species")


def penguins_str_dtype():
    # the same with pandas' native str columns instead of object arrays, and sparse
    # one-hot output inside a ColumnTransformer that is dense overall
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), NUMS),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder())]), CATS),
    ], sparse_threshold=0.0)
    return _fit([("pre", pre)], _lr(), cd.penguins(object_strings=False), "species")


def penguins_mean_indicator_minmax():
    # mean imputation with missing indicators, MinMaxScaler; constant string fill,
    # OneHotEncoder(ignore, drop="if_binary"): sex becomes one column
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="mean", add_indicator=True)),
                          ("scale", MinMaxScaler())]), NUMS),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="unknown")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore", drop="if_binary",
                                                   sparse_output=False))]), CATS),
    ])
    return _fit([("pre", pre)], _lr(), cd.penguins(), "species")


def penguins_onehot_missing_category():
    # no string imputer: NaN is a fitted category (category_missing); drop="first";
    # constant numeric fill then RobustScaler
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=0.0)),
                          ("scale", RobustScaler())]), NUMS),
        ("cat", OneHotEncoder(drop="first", sparse_output=False), CATS),
    ])
    return _fit([("pre", pre)], _lr(), cd.penguins(), "species")


def penguins_ordinal():
    # OrdinalEncoder with unknown_value and a fitted missing category (encoded -2);
    # most_frequent numeric imputation then MaxAbsScaler
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("scale", MaxAbsScaler())]), NUMS),
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-2), CATS),
    ])
    return _fit([("pre", pre)], _lr(), cd.penguins(), "species")


def penguins_ordinal_imputed_ridge():
    # imputed strings then OrdinalEncoder(error), scaled afterwards; a regression target
    split = cd.penguins()
    split = tuple(s.dropna(subset=["body_mass_g"]).reset_index(drop=True) for s in split)
    nums = [c for c in NUMS if c != "body_mass_g"]
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), nums),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("ord", OrdinalEncoder()),
                          ("scale", StandardScaler())]), CATS + ["species"]),
    ])
    return _fit([("pre", pre)], Ridge(), split, "body_mass_g")


def breast_remainder_passthrough():
    # columns by name; StandardScaler without mean / without std; remainder passthrough
    split = cd.breast_cancer()
    cols = [c for c in split[0].columns if c != "target"]
    pre = ColumnTransformer([
        ("nomean", StandardScaler(with_mean=False), cols[:10]),
        ("nostd", StandardScaler(with_std=False), cols[10:20]),
    ], remainder="passthrough")
    return _fit([("pre", pre), ("scale", MaxAbsScaler())], _lr(), split, "target")


def breast_drop_and_passthrough():
    # a dropped transformer, a passthrough transformer, remainder drop: only the read
    # columns are API features
    split = cd.breast_cancer()
    cols = [c for c in split[0].columns if c != "target"]
    pre = ColumnTransformer([
        ("scaled", RobustScaler(), cols[:5]),
        ("skip", "drop", cols[5:10]),
        ("raw", "passthrough", cols[10:12]),
    ], remainder="drop")
    return _fit([("pre", pre)], _lr(), split, "target")


def diabetes_nested_pipeline():
    # nested Pipelines, a passthrough step, scalers chained on the same columns
    inner = Pipeline([("center", StandardScaler(with_std=False)), ("noop", "passthrough"),
                      ("robust", RobustScaler()), ("minmax", MinMaxScaler())])
    return _fit([("pre", inner)], Ridge(alpha=0.5), cd.diabetes(), "target")


def iris_bare_estimator():
    # no pipeline at all: the estimator reads the raw columns
    train, hold = cd.iris()
    est = _lr().fit(cd.X(train, "target"), train["target"])
    return est, train, hold, "target"


CASES = [
    Case("pp_penguins_median_onehot", penguins_median_onehot),
    Case("pp_penguins_str_dtype", penguins_str_dtype),
    Case("pp_penguins_mean_indicator_minmax", penguins_mean_indicator_minmax),
    Case("pp_penguins_onehot_missing_category", penguins_onehot_missing_category),
    Case("pp_penguins_ordinal", penguins_ordinal),
    Case("pp_penguins_ordinal_imputed_ridge", penguins_ordinal_imputed_ridge),
    Case("pp_breast_remainder_passthrough", breast_remainder_passthrough),
    Case("pp_breast_drop_and_passthrough", breast_drop_and_passthrough),
    Case("pp_diabetes_nested_pipeline", diabetes_nested_pipeline),
    Case("pp_iris_bare_estimator", iris_bare_estimator),
]
