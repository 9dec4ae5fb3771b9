"""Small data sets from installed packages only (no downloads), split the same way."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


def _split(frame: pd.DataFrame, target: str, stratify: bool, seed: int = 0):
    train, hold = train_test_split(frame, test_size=0.25, random_state=seed,
                                   stratify=frame[target] if stratify else None)
    return train.reset_index(drop=True), hold.reset_index(drop=True)


def sklearn_frame(loader, target="target", names=False):
    raw = loader(as_frame=True)
    frame = raw.data.copy()
    frame.columns = [c.replace(" ", "_").replace("(", "").replace(")", "").replace("/", "_")
                     for c in frame.columns]
    y = raw.target
    frame[target] = [raw.target_names[i] for i in y] if names else y
    return frame


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return _split(sklearn_frame(load_breast_cancer, names=True), "target", True)


def wine():
    from sklearn.datasets import load_wine

    return _split(sklearn_frame(load_wine), "target", True)


def iris():
    from sklearn.datasets import load_iris

    return _split(sklearn_frame(load_iris, names=True), "target", True)


def diabetes():
    from sklearn.datasets import load_diabetes

    return _split(sklearn_frame(load_diabetes), "target", False)


PENGUIN_NUMS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
PENGUIN_CATS = ["island", "sex"]


def penguins(object_strings: bool = True):
    """Palmer penguins: gaps in every column but island, string categories; with object_strings the string
    columns are object arrays with np.nan, else pandas' own str dtype."""
    import palmerpenguins

    d = palmerpenguins.load_penguins()[PENGUIN_NUMS + PENGUIN_CATS + ["species"]].copy()
    if object_strings:
        for c in PENGUIN_CATS + ["species"]:
            d[c] = d[c].astype(object).where(d[c].notna(), np.nan)
    return _split(d, "species", True)


def X(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    return frame.drop(columns=[target])
