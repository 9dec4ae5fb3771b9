"""mlfn-pack MODEL.joblib --data DATA.csv --target COLUMN --out DIR [options]

Exit status: 0 written; 2 unsupported step/option or bad arguments (nothing written);
1 any other failure, including a failed component check with --host (nothing written).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import __version__
from .estimators import Unsupported

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="mlfn-pack", description="Package a fitted scikit-learn "
                                 "pipeline as an mlfn bundle (models/README.md).")
    ap.add_argument("model", type=Path, metavar="MODEL.joblib")
    ap.add_argument("--data", type=Path, required=True, help="CSV: input columns and the target")
    ap.add_argument("--target", required=True, help="the target column in --data")
    ap.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    ap.add_argument("--name", help="bundle name (default: the --out directory's name)")
    ap.add_argument("--version", default="1.0.0", help="semantic version (default 1.0.0)")
    ap.add_argument("--description")
    ap.add_argument("--baseline-data", type=Path, help="CSV for drift baselines (default --data)")
    ap.add_argument("--source", type=Path, help="JSON object stored as manifest.source")
    ap.add_argument("--created", help="ISO date (default today)")
    ap.add_argument("--max-reference-rows", type=int, default=2000)
    ap.add_argument("--host", default=os.environ.get("MLFN_HOST"),
                    help="host binary: run `HOST package DIR -o x.wasm` before writing (env MLFN_HOST)")
    a = ap.parse_args(argv)
    a.name = a.name or a.out.resolve().name
    if not NAME.match(a.name):
        ap.error(f"--name {a.name!r} must match [a-z0-9][a-z0-9._-]*")
    if not SEMVER.match(a.version):
        ap.error(f"--version {a.version!r} is not a semantic version")
    a.created = a.created or dt.date.today().isoformat()
    try:
        dt.date.fromisoformat(a.created)
    except ValueError:
        ap.error(f"--created {a.created!r} is not an ISO date (YYYY-MM-DD)")
    if a.max_reference_rows < 1:
        ap.error("--max-reference-rows must be at least 1")
    return a


def _command(argv) -> list[str]:
    # file arguments by base name only: the record must not depend on temp/checkout paths
    out = ["mlfn-pack"]
    for s in argv:
        out.append(Path(s).name if ("/" in s or os.sep in s) and not s.startswith("-") else s)
    return out


def build_files(a, argv) -> dict[str, bytes]:
    import joblib

    from .bundle import Inputs, build
    from .data import integer_columns, read_csv

    model = joblib.load(a.model)
    data = read_csv(a.data)
    base_path = a.baseline_data or a.data
    baseline = read_csv(base_path)
    integers = integer_columns(a.data) & integer_columns(base_path)
    source = {}
    if a.source:
        source = json.loads(a.source.read_text())
        if not isinstance(source, dict):
            raise ValueError("--source must hold a JSON object")
    description = a.description or f"{type(model).__name__} packaged by mlfn-pack"
    return build(Inputs(model=model, data=data, data_name=a.data.name, baseline=baseline,
                        integers=integers, target=a.target, name=a.name, version=a.version,
                        description=description, created=a.created, source=source,
                        command=_command(argv), max_rows=a.max_reference_rows))


def check_component(host: str, bundle: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wasm = Path(tmp) / "check.wasm"
        r = subprocess.run([host, "package", str(bundle), "-o", str(wasm)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ComponentCheckFailed(f"component check failed ({host} package exited "
                                       f"{r.returncode}):\n{r.stdout}{r.stderr}".rstrip())


class ComponentCheckFailed(Exception):
    pass


def install(files: dict[str, bytes], out: Path, host: str | None) -> None:
    """Write into a temp dir beside OUT, check it, then swap it into place."""
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would make the bundle private
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if host:
            check_component(host, tmp)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, old / "x")
        os.rename(tmp, out)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    try:
        files = build_files(a, argv)
        install(files, a.out, a.host)
    except Unsupported as e:
        print(f"mlfn-pack: unsupported: {e}", file=sys.stderr)
        return 2
    except ComponentCheckFailed as e:
        print(f"mlfn-pack: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # one line, no traceback: the message says what to fix
        print(f"mlfn-pack: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(f"mlfn-pack {__version__}: wrote {a.out}")
    if a.host:
        print(f"component check passed ({a.host} package)")
    else:
        print(f"component check skipped: run `host package {a.out} -o {a.name}.wasm` "
              "(or pass --host PATH / set MLFN_HOST)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
