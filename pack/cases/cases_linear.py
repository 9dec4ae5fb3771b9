"""Cases for every linear and MLP exporter: binary and multiclass classification, regression."""
from __future__ import annotations

from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge,
                                  SGDClassifier, SGDRegressor)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import case_data as cd
from make_cases import Case


def _scaled(est, data, target="target"):
    def build():
        train, hold = data()
        pipe = Pipeline([("scale", StandardScaler()), ("model", est)])
        pipe.fit(cd.X(train, target), train[target])
        return pipe, train, hold, target
    return build


CASES = [
    Case("lin_logreg_binary", _scaled(LogisticRegression(max_iter=5000), cd.breast_cancer)),
    Case("lin_logreg_multinomial", _scaled(LogisticRegression(max_iter=5000), cd.wine)),
    Case("lin_linear_regression", _scaled(LinearRegression(), cd.diabetes)),
    Case("lin_ridge", _scaled(Ridge(alpha=2.0), cd.diabetes)),
    Case("lin_lasso", _scaled(Lasso(alpha=0.5), cd.diabetes)),
    Case("lin_elasticnet", _scaled(ElasticNet(alpha=0.1, l1_ratio=0.3), cd.diabetes)),
    Case("lin_sgd_log_binary", _scaled(SGDClassifier(loss="log_loss", random_state=0), cd.breast_cancer)),
    Case("lin_sgd_log_multiclass", _scaled(SGDClassifier(loss="log_loss", random_state=0), cd.iris)),
    Case("lin_sgd_regressor", _scaled(SGDRegressor(random_state=0), cd.diabetes)),
    Case("mlp_classifier_binary", _scaled(
        MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=300, random_state=0), cd.breast_cancer)),
    Case("mlp_classifier_multiclass_tanh", _scaled(
        MLPClassifier(hidden_layer_sizes=(12,), activation="tanh", max_iter=500, random_state=0), cd.wine)),
    Case("mlp_regressor_logistic", _scaled(
        MLPRegressor(hidden_layer_sizes=(10,), activation="logistic", max_iter=500, random_state=0),
        cd.diabetes)),
    Case("mlp_regressor_identity", _scaled(
        MLPRegressor(hidden_layer_sizes=(6,), activation="identity", max_iter=300, random_state=0),
        cd.diabetes)),
]
