"""Reading the user's CSV the way the bundle will see values: floats parsed round-trip
exactly (so the reference `features` are the very f64s the pipeline received), string
columns as object arrays with np.nan for missing (what sklearn encoders expect)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

_INT = re.compile(r"^[+-]?\d+$")


def read_csv(path) -> pd.DataFrame:
    # pandas < 3's default float parser may be off by an ulp; 3 parses exactly by default
    # (and deprecates the option)
    opts = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    frame = pd.read_csv(path, **opts)
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c].dtype) and not pd.api.types.is_bool_dtype(frame[c].dtype):
            frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    return frame


def integer_columns(path) -> set[str]:
    """Numeric columns whose every present value is written as an integer in the file
    (pandas reads an integer column with gaps as float64, so the dtype alone is not enough)."""
    text = pd.read_csv(path, dtype=str)
    out = set()
    for c in text.columns:
        present = text[c].dropna()
        if len(present) and present.map(lambda s: bool(_INT.match(s.strip()))).all():
            out.add(c)
    return out
