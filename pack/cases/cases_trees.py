"""Cases for every tree-ensemble exporter: classifier (binary and multiclass) and regressor
per family, small (20-50 trees) so generation is fast.

HistGradientBoosting, XGBoost, LightGBM (and a random forest) also get data with gaps and
no imputer: the gappy features are then optional in the schema and NaN reaches the trees,
so the reference's blanked rows check each library's missing-value routing.
Some cases put a scaler in front, so float32-casting models see preprocessed f64 values.
"""
from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
                              GradientBoostingRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier,
                              RandomForestRegressor)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import case_data as cd
from make_cases import Case

T = "target"


def _gaps(data, rate=0.12, every=3, seed=11):
    """`data` with ~rate of the values missing in every `every`-th feature column."""
    def load():
        out = []
        for i, frame in enumerate(data()):
            frame = frame.copy()
            rng = np.random.default_rng(seed + i)
            for c in [c for c in frame.columns if c != T][::every]:
                frame.loc[rng.random(len(frame)) < rate, c] = np.nan
            out.append(frame)
        return tuple(out)
    return load


def _codes(data):
    """Integer class codes 0..K-1 for the target (XGBoost refuses other labels)."""
    def load():
        train, hold = data()
        classes = sorted(train[T].unique())
        return tuple(f.assign(**{T: f[T].map({c: i for i, c in enumerate(classes)})}) for f in (train, hold))
    return load


def _fit(make_est, data, scale=False):
    def build():
        train, hold = data()
        est = make_est()
        model = Pipeline([("scale", StandardScaler()), ("model", est)]) if scale else est
        model.fit(cd.X(train, T), train[T])
        return model, train, hold, T
    return build


def _xgb(kind, **kw):
    def make():
        import xgboost as xgb
        cls = xgb.XGBClassifier if kind == "clf" else xgb.XGBRegressor
        return cls(n_estimators=30, max_depth=4, learning_rate=0.2, n_jobs=1, random_state=0, **kw)
    return make


def _lgbm(kind, **kw):
    def make():
        import lightgbm as lgb
        cls = lgb.LGBMClassifier if kind == "clf" else lgb.LGBMRegressor
        return cls(n_estimators=30, num_leaves=15, learning_rate=0.1, n_jobs=1, random_state=0,
                   verbose=-1, **kw)
    return make


def _penguins_hgb():
    """Penguins' own gaps: numeric columns pass through with NaN, categories one-hot."""
    train, hold = cd.penguins()
    pre = ColumnTransformer([
        ("num", "passthrough", cd.PENGUIN_NUMS),
        ("cat", OneHotEncoder(handle_unknown="ignore"), cd.PENGUIN_CATS),
    ])
    model = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(max_iter=25, random_state=0))])
    model.fit(cd.X(train, "species"), train["species"])
    return model, train, hold, "species"


S = dict(random_state=0)

CASES = [
    # sklearn trees and forests (float32 inputs, f64 thresholds)
    Case("tree_dt_classifier_binary", _fit(lambda: DecisionTreeClassifier(max_depth=6, **S), cd.breast_cancer)),
    Case("tree_dt_classifier_multiclass", _fit(lambda: DecisionTreeClassifier(max_depth=5, **S), cd.wine, scale=True)),
    Case("tree_dt_regressor", _fit(lambda: DecisionTreeRegressor(max_depth=7, **S), cd.diabetes)),
    Case("tree_rf_classifier_binary", _fit(lambda: RandomForestClassifier(n_estimators=25, max_depth=8, **S),
                                           cd.breast_cancer, scale=True)),
    Case("tree_rf_classifier_multiclass_nan", _fit(lambda: RandomForestClassifier(n_estimators=25, **S),
                                                   _gaps(cd.wine))),
    Case("tree_rf_regressor", _fit(lambda: RandomForestRegressor(n_estimators=20, max_depth=8, **S), cd.diabetes)),
    Case("tree_et_classifier_binary", _fit(lambda: ExtraTreesClassifier(n_estimators=25, max_depth=10, **S),
                                           cd.breast_cancer)),
    Case("tree_et_classifier_multiclass", _fit(lambda: ExtraTreesClassifier(n_estimators=25, **S), cd.iris)),
    Case("tree_et_regressor", _fit(lambda: ExtraTreesRegressor(n_estimators=20, max_depth=8, **S), cd.diabetes,
                                   scale=True)),
    # GradientBoosting (init + learning_rate * sum)
    Case("tree_gb_classifier_binary", _fit(lambda: GradientBoostingClassifier(n_estimators=30, **S),
                                           cd.breast_cancer)),
    Case("tree_gb_classifier_multiclass", _fit(lambda: GradientBoostingClassifier(n_estimators=20, **S),
                                               cd.wine, scale=True)),
    Case("tree_gb_regressor", _fit(lambda: GradientBoostingRegressor(n_estimators=30, **S), cd.diabetes)),
    # HistGradientBoosting (f64 inputs, baseline, NaN sides)
    Case("tree_hgb_classifier_binary_nan", _fit(lambda: HistGradientBoostingClassifier(max_iter=30, **S),
                                                _gaps(cd.breast_cancer))),
    Case("tree_hgb_classifier_multiclass_nan", _fit(lambda: HistGradientBoostingClassifier(max_iter=20, **S),
                                                    _gaps(cd.wine), scale=True)),
    Case("tree_hgb_regressor_nan", _fit(lambda: HistGradientBoostingRegressor(max_iter=30, **S),
                                        _gaps(cd.diabetes))),
    Case("tree_hgb_regressor_poisson_nan", _fit(
        lambda: HistGradientBoostingRegressor(loss="poisson", max_iter=30, **S), _gaps(cd.diabetes))),
    Case("tree_hgb_penguins", _penguins_hgb),
    # XGBoost (float32, x < threshold, f32 sums, base margin)
    Case("tree_xgb_classifier_binary_nan", _fit(_xgb("clf"), _codes(_gaps(cd.breast_cancer)))),
    Case("tree_xgb_classifier_multiclass_nan", _fit(_xgb("clf"), _gaps(cd.wine), scale=True)),
    Case("tree_xgb_regressor_nan", _fit(_xgb("reg"), _gaps(cd.diabetes))),
    # LightGBM (f64, x <= threshold, missing types)
    Case("tree_lgbm_classifier_binary_nan", _fit(_lgbm("clf"), _gaps(cd.breast_cancer))),
    Case("tree_lgbm_classifier_multiclass_nan", _fit(_lgbm("clf", min_child_samples=5), _gaps(cd.iris))),
    Case("tree_lgbm_regressor_nan", _fit(_lgbm("reg"), _gaps(cd.diabetes))),
]
