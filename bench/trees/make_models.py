"""Fits the two tree ensembles of the onnxruntime comparison, packs each with the real
`mlfn-pack` CLI and converts the same fitted estimator to ONNX with skl2onnx.

    python make_models.py OUT_DIR MLFN_PACK

Writes, per model NAME (rf200-breast-cancer, gb300-wine) under OUT_DIR:
  NAME.joblib        the fitted estimator (fitted on a DataFrame: feature names kept)
  NAME-train.csv     the 75 % training split (+ `target`), the drift baseline
  NAME-holdout.csv   the 25 % holdout (+ `target`): the reference rows and bench rows
  NAME/              the bundle mlfn-pack writes (manifest.json, model.json, reference.json)
  NAME.onnx          skl2onnx conversion, float32 input `input` [N, F], zipmap off
Deterministic (fixed seeds); re-running rewrites the same models.
"""

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import onnx
import pandas as pd
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split

MODELS = {
    "rf200-breast-cancer": (
        load_breast_cancer,
        lambda: RandomForestClassifier(n_estimators=200, random_state=0),
    ),
    "gb300-wine": (
        load_wine,
        lambda: GradientBoostingClassifier(n_estimators=300, max_depth=3, random_state=0),
    ),
}


def main(out: Path, mlfn_pack: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (loader, make) in MODELS.items():
        data = loader(as_frame=True)
        frame = data.data
        y = data.target.astype(int)
        x_train, x_hold, y_train, y_hold = train_test_split(
            frame, y, test_size=0.25, random_state=42
        )
        est = make().fit(x_train, y_train)
        joblib.dump(est, out / f"{name}.joblib")
        x_train.assign(target=y_train).to_csv(out / f"{name}-train.csv", index=False)
        x_hold.assign(target=y_hold).to_csv(out / f"{name}-holdout.csv", index=False)

        subprocess.run(
            [
                mlfn_pack, str(out / f"{name}.joblib"),
                "--data", str(out / f"{name}-holdout.csv"),
                "--baseline-data", str(out / f"{name}-train.csv"),
                "--target", "target",
                "--out", str(out / name),
                "--created", "2026-01-01",
            ],
            check=True,
        )

        n_features = frame.shape[1]
        model = to_onnx(
            est,
            initial_types=[("input", FloatTensorType([None, n_features]))],
            options={id(est): {"zipmap": False}},
        )
        onnx.checker.check_model(model)
        (out / f"{name}.onnx").write_bytes(model.SerializeToString())
        ops = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in model.graph.node})
        meta = {
            "name": name,
            "estimator": type(est).__name__,
            "params": {k: v for k, v in est.get_params().items()
                       if k in ("n_estimators", "max_depth", "random_state")},
            "dataset": loader.__name__,
            "rows_train": len(x_train),
            "rows_holdout": len(x_hold),
            "features": list(est.feature_names_in_),
            "classes": [int(c) for c in est.classes_],
            "holdout_accuracy": float(np.mean(est.predict(x_hold) == y_hold)),
            "onnx_ops": ops,
            "onnx_opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
            "versions": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                         "onnx": onnx.__version__},
        }
        (out / f"{name}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(f"{name}: {meta['estimator']} {meta['params']} on {meta['dataset']} "
              f"({meta['rows_train']} train / {meta['rows_holdout']} holdout, "
              f"accuracy {meta['holdout_accuracy']:.3f}); onnx {ops} {meta['onnx_opsets']}",
              flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
