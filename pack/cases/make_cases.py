"""Generate test bundles: every `cases_*.py` module beside this file exposes `CASES`.

    python pack/cases/make_cases.py --out DIR [--only NAME ...]

For each case: fit (build()), save the model with joblib and the frames as CSV in a temp
dir, then run the real `mlfn-pack` CLI into DIR/<name>/. A case whose output exists and is
newer than every case source is skipped, so reruns are cheap.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent


@dataclass
class Case:
    name: str
    # -> (fitted estimator or Pipeline, train DataFrame, holdout DataFrame, target column)
    build: Callable[[], tuple]
    # extra mlfn-pack arguments, e.g. ["--max-reference-rows", "50"]
    args: tuple = ()


def case_modules() -> list[Path]:
    return sorted(HERE.glob("cases_*.py"))


def load_cases() -> list[Case]:
    cases: list[Case] = []
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))  # case modules share case_data.py
    for path in case_modules():
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = mod
        spec.loader.exec_module(mod)
        cases.extend(mod.CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"duplicate case names: {sorted(dup)}")
    return cases


def mlfn_pack_cmd() -> list[str]:
    # the CLI installed beside this interpreter (the pack venv), else the module
    exe = Path(sys.executable).with_name("mlfn-pack")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mlfn_pack.cli"]


def sources_mtime() -> float:
    files = case_modules() + [Path(__file__), HERE / "case_data.py"]
    pkg = HERE.parent / "mlfn_pack"
    files += list(pkg.rglob("*.py"))
    return max(p.stat().st_mtime for p in files)


def csv(frame, path: Path) -> None:
    """Integral float columns (gaps make pandas use float) are written as integers, as a
    user's file would hold them, so the schema types them `integer`."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_float_dtype(col.dtype):
            present = col.dropna()
            if len(present) and (present == present.round()).all() and present.abs().max() < 2**53:
                out[c] = col.astype("Int64")
    out.to_csv(path, index=False)


def run_case(case: Case, out: Path, newest: float) -> str:
    dest = out / case.name
    manifest = dest / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime > newest:
        return "up to date"
    import joblib

    est, train, holdout, target = case.build()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        joblib.dump(est, tmp / "model.joblib")
        csv(holdout, tmp / "data.csv")
        csv(train, tmp / "train.csv")
        if dest.exists():
            shutil.rmtree(dest)
        cmd = mlfn_pack_cmd() + [
            str(tmp / "model.joblib"), "--data", str(tmp / "data.csv"),
            "--baseline-data", str(tmp / "train.csv"), "--target", target,
            "--out", str(dest), "--name", case.name, "--created", "2026-11-27",
            *case.args,
        ]
        env = dict(os.environ)
        env.pop("MLFN_HOST", None)
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"case {case.name}: mlfn-pack exited {r.returncode}\n{r.stdout}{r.stderr}")
    return "written"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--jobs", type=int, default=2, help="cases packed at once (default 2)")
    a = ap.parse_args(argv)
    cases = load_cases()
    if a.only:
        unknown = set(a.only) - {c.name for c in cases}
        if unknown:
            raise SystemExit(f"unknown cases: {sorted(unknown)}")
        cases = [c for c in cases if c.name in a.only]
    a.out.mkdir(parents=True, exist_ok=True)
    newest = sources_mtime()
    from concurrent.futures import ThreadPoolExecutor

    def one(c):
        try:
            print(f"{c.name}: {run_case(c, a.out, newest)}", flush=True)
            return True
        except Exception as e:  # report every failing case, not just the first
            print(f"{c.name}: FAILED: {e}", file=sys.stderr, flush=True)
            return False

    # threads suffice: the time goes to the mlfn-pack subprocesses
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        ok = list(pool.map(one, cases))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
