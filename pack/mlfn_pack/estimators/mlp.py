"""MLPClassifier / MLPRegressor -> `kind: mlp`.

The hidden activation is sklearn's `activation`; the output activation becomes the link
(logistic for a binary classifier's single output, softmax for multiclass, identity for
regression), exactly as MLP*.predict_proba / predict apply out_activation_.
"""
from __future__ import annotations

from . import Exported, Unsupported, model_header



def mlp(est, n_features: int) -> Exported:
    name = type(est).__name__
    if est.n_features_in_ != n_features:
        raise Unsupported(f"{name}: fitted on {est.n_features_in_} columns, preprocessing gives {n_features}")
    if est.activation not in ("relu", "tanh", "logistic", "identity"):
        raise Unsupported(f"{name}: activation={est.activation!r}")
    out = est.out_activation_
    k = est.n_outputs_
    if out == "softmax":
        link = "softmax"
    elif out == "logistic" and k == 1:
        link = "logistic"
    elif out == "identity" and k == 1:
        link = "identity"
    else:
        raise Unsupported(f"{name}: {k} outputs with out_activation_={out!r} (multi-label/multi-output)")
    model = model_header(est, kind="mlp", input_width=n_features, outputs=k, link=link)
    model["activation"] = est.activation
    model["layers"] = [{"weights": w.astype(float).tolist(), "bias": b.astype(float).tolist()}
                       for w, b in zip(est.coefs_, est.intercepts_)]
    return Exported(model=model, takes_nan=False)


EXPORTERS = {"MLPClassifier": mlp, "MLPRegressor": mlp}
