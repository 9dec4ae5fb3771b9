#!/usr/bin/env python3
"""The holdout of a bundle in models/ with its true target, split exactly as models/train.py
splits it, written as CSV; and scikit-learn's own metrics of the bundle's reference outputs
(the user's pipeline's predict/predict_proba, in reference.json) against that truth, as JSON
on stdout. tests/validate.rs checks `host validate --data` against these: an oracle
independent of the host's metric code. Run with the pack venv (target/pack-venv).

usage: holdout_csv.py BUNDLE OUT.csv
"""
import json
import sys
from pathlib import Path

import numpy as np
from sklearn import metrics
from sklearn.model_selection import train_test_split

MODELS = Path(__file__).resolve().parents[2] / "models"
sys.path.insert(0, str(MODELS))
import train  # noqa: E402  (models/train.py: the data loaders and the split's constants)


def main() -> int:
    name, out = sys.argv[1], Path(sys.argv[2])
    load, _, _ = train.BUNDLES[name]
    frame, target, task, _ = load()
    _, hold = train_test_split(frame, test_size=train.HOLDOUT_FRACTION, random_state=train.SEED,
                               stratify=frame[target] if task == "classification" else None)
    train.write_csv(hold, out)
    reference = json.loads((MODELS / name / "reference.json").read_text())
    rows = [r for r in reference["rows"] if r["origin"].startswith("data row ")
            and "blanked" not in r["origin"]]
    if len(rows) != len(hold):
        raise SystemExit(f"{name}: {len(rows)} reference rows for {len(hold)} holdout rows")
    # The reference rows are the holdout's, in order: check one value per row.
    first = next(iter(rows[0]["features"]))
    for r, (_, h) in zip(rows, hold.iterrows()):
        v = r["features"][first]
        assert v is None or v == h[first] or abs(float(v) - float(h[first])) < 1e-9, (v, h[first])
    if task == "classification":
        labels = reference["labels"]
        truth = hold[target].astype(str).to_numpy()
        proba = np.array([r["probabilities"] for r in rows])
        predicted = [r["label"] for r in rows]
        if len(labels) == 2:
            auc = metrics.roc_auc_score(truth == labels[1], proba[:, 1])
        else:
            auc = metrics.roc_auc_score(truth, proba, multi_class="ovr", average="macro",
                                        labels=labels)
        result = {"accuracy": metrics.accuracy_score(truth, predicted), "roc_auc": auc,
                  "log_loss": metrics.log_loss(truth, proba, labels=labels)}
    else:
        truth = hold[target].to_numpy(dtype=float)
        predicted = np.array([r["value"] for r in rows])
        result = {"rmse": float(np.sqrt(metrics.mean_squared_error(truth, predicted))),
                  "mae": metrics.mean_absolute_error(truth, predicted),
                  "r2": metrics.r2_score(truth, predicted)}
    result["target"] = target
    result["rows"] = len(hold)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
