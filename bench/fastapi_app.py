"""The textbook FastAPI model service, for comparison: a pydantic input model, a
joblib-loaded sklearn Pipeline, predict + predict_proba on a one-row DataFrame.
Run: MODEL_PATH=... MANIFEST=... uvicorn fastapi_app:app --workers 1
"""

import json
import os

import joblib
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, create_model

manifest = json.load(open(os.environ["MANIFEST"]))
pipeline = joblib.load(os.environ["MODEL_PATH"])
labels = manifest["labels"]
columns = [f["name"] for f in manifest["features"]]

Features = create_model("Features", **{name: (float, ...) for name in columns})


class PredictRequest(BaseModel):
    features: Features


app = FastAPI(title=f"{manifest['name']} (FastAPI)")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(req: PredictRequest):
    frame = pd.DataFrame([req.features.model_dump()], columns=columns)
    proba = pipeline.predict_proba(frame)[0]
    label = int(proba.argmax())  # classes_ order = the manifest's labels
    return {
        "model": {"name": manifest["name"], "version": manifest["version"]},
        "predictions": [
            {
                "label": labels[label],
                "probabilities": {l: float(p) for l, p in zip(labels, proba)},
                "confidence": float(proba[label]),
            }
        ],
    }
