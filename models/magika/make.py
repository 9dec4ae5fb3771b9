"""Builds the `magika` file-type bundle (kind `file-type`, models/README.md) from the
`magika` wheel on PyPI, and its reference fixture from the `magika` package itself.

The model and both configuration files are copied byte for byte out of the wheel (no
conversion here: the host turns the ONNX into NNEF at packaging time). The manifest
records the wheel (file name, sha256), the package's version and licence, and the path
of every file inside it. `reference.json` holds sample inputs (built only from the wheel's
own files and fixed synthetic bytes, so a rerun writes the same bytes) with what
`magika.Magika().identify_bytes` answers for each: the packaging gate of the bundle.

Run through make.sh (the pinned venv of requirements.txt).
"""

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import magika
import onnxruntime

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "target" / "media-cache"

PACKAGE = "magika"
VERSION = "1.0.3"
# The wheel pip picks for this platform tag; pinned so every machine fetches the same bytes.
PLATFORM = "manylinux_2_28_x86_64"
WHEEL = f"magika-{VERSION}-py3-none-{PLATFORM}.whl"
WHEEL_SHA256 = "3e9b49134e8116ee40b431664dcbed9e199413efddcce1a173c734b4e0521529"
MODEL_NAME = "standard_v3_3"

# Inside the wheel -> the bundle's file name.
FILES = {
    f"magika/models/{MODEL_NAME}/model.onnx": "model.onnx",
    f"magika/models/{MODEL_NAME}/config.min.json": "config.min.json",
    "magika/config/content_types_kb.min.json": "content_types_kb.min.json",
}

# Reference samples: larger files are cut to their first and last 8 KiB (what the model
# reads is within 4 KiB of either end); the oracle runs on exactly the stored bytes.
CUT = 8192


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def fetch_wheel() -> Path:
    """The wheel from PyPI (cached under target/), checked against the pinned digest."""
    path = CACHE / WHEEL
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
             "--only-binary=:all:", "--platform", PLATFORM,
             "--python-version", "3.11", "-d", str(CACHE), f"{PACKAGE}=={VERSION}"],
            check=True,
        )
    got = sha256(path.read_bytes())
    if got != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {got}, expected {WHEEL_SHA256}")
    return path


def licence(wheel: zipfile.ZipFile) -> str:
    meta = wheel.read(f"magika-{VERSION}.dist-info/METADATA").decode()
    for line in meta.splitlines():
        if line.startswith("License:") or line.startswith("License-Expression:"):
            return line.split(":", 1)[1].strip()
    sys.exit("the wheel's METADATA names no licence")


def samples(wheel: zipfile.ZipFile) -> list[tuple[str, bytes]]:
    """Fixed inputs: every corner of magika's rules, then real files from the wheel."""
    out = [
        ("empty", b""),
        ("7 bytes of text (under min_file_size_for_dl)", b"hello!\n"),
        ("7 bytes, invalid UTF-8", b"\xff\xfe\x00\x01abc"),
        ("8 bytes of text", b"abcdefgh"),
        ("whitespace around 5 bytes (padding at beg[7])", b"   \n\t abc \r\n   \x0b\x0c  "),
        ("5000 spaces then text", b" " * 5000 + b"print('hello world')\n"),
        ("UTF-8 split at the 4096-byte block edge", b" " * 4095 + "é".encode() + b"x" * 10),
        ("256 distinct bytes", bytes(range(256))),
        ("random-looking bytes", bytes((i * 7919 + 13) % 251 for i in range(3000))),
        ("a short JSON", b'{"a": [1, 2, 3], "b": {"c": "d"}}\n'),
        ("a CSV", b"".join(b"%d,%d,%s\n" % (i, i * i, b"x" * (i % 7)) for i in range(200))),
        ("a PDF header", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"),
        ("a PNG signature", b"\x89PNG\r\n\x1a\n" + bytes(64)),
        ("a shell script", b"#!/bin/sh\nset -eu\nfor f in *; do echo \"$f\"; done\n"),
        ("an HTML page", b"<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>hi</p></body></html>\n"),
    ]
    names = sorted(
        n for n in wheel.namelist()
        if n.endswith((".py", ".json", ".md", ".onnx", ".typed", "METADATA", "WHEEL", "RECORD"))
    )
    for name in names:
        data = wheel.read(name)
        out.append((f"wheel:{name}", data))
    # The wheel itself (a zip) and its native CLI if it has one (ELF).
    out.append(("the wheel (zip)", (CACHE / WHEEL).read_bytes()))
    for name in sorted(wheel.namelist()):
        if name.endswith(".data/scripts/magika"):
            out.append((f"wheel:{name}", wheel.read(name)))
    cut = []
    for origin, data in out:
        if len(data) > 2 * CUT:
            data = data[:CUT] + data[-CUT:]
            origin += f" (first and last {CUT} bytes)"
        cut.append((origin, data))
    return cut


def main() -> None:
    wheel_path = fetch_wheel()
    with zipfile.ZipFile(wheel_path) as wheel:
        files = {}
        for inner, name in FILES.items():
            data = wheel.read(inner)
            (HERE / name).write_bytes(data)
            files[name] = data
        lic = licence(wheel)
        inputs = samples(wheel)

    config = json.loads(files["config.min.json"])
    width = config["beg_size"] + config["mid_size"] + config["end_size"]
    labels = config["target_labels_space"]
    model = {
        "file": "model.onnx",
        "format": "onnx",
        "sha256": sha256(files["model.onnx"]),
        "input": {"name": "bytes", "datatype": "int32", "shape": [1, width]},
        "output": {"name": "target_label", "datatype": "float32", "shape": [1, len(labels)]},
    }
    manifest = {
        "manifest_version": 2,
        "kind": "file-type",
        "task": "classification",
        "name": "magika",
        "version": "1.0.3",
        "created": "2026-11-27",
        "description": "File-type detection: Google's magika (model standard_v3_3) on the "
                       "first and last bytes of any input; "
                       f"{len(labels)} content types, thresholds as the magika package applies them.",
        "source": {
            "package": PACKAGE,
            "package_version": VERSION,
            "package_license": lic,
            "registry": "PyPI",
            "wheel": WHEEL,
            "wheel_sha256": WHEEL_SHA256,
            "files": {name: inner for inner, name in FILES.items()},
            "model": MODEL_NAME,
        },
        "training": {
            "by": "Google (magika); not retrained here",
            "packed_by": "models/magika/make.sh",
        },
        "model": model,
        "files": [
            {"file": "config.min.json", "role": "magika-config", "sha256": sha256(files["config.min.json"])},
            {"file": "content_types_kb.min.json", "role": "content-types", "sha256": sha256(files["content_types_kb.min.json"])},
        ],
    }
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    m = magika.Magika()
    rows = []
    for origin, data in inputs:
        r = m.identify_bytes(data)
        p = r.prediction
        rows.append({
            "origin": origin,
            "bytes_base64": base64.b64encode(data).decode(),
            "label": str(p.output.label),
            "group": p.output.group,
            "mime_type": p.output.mime_type,
            "score": p.score,
            "dl_label": str(p.dl.label),
        })
    reference = {
        "model": manifest["name"],
        "version": manifest["version"],
        "kind": "file-type",
        "generated_by": "models/magika/make.py",
        "oracle": {"magika": magika.__version__, "onnxruntime": onnxruntime.__version__,
                   "call": "magika.Magika().identify_bytes(bytes)"},
        "samples": rows,
    }
    (HERE / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    labels_seen = sorted({r["label"] for r in rows})
    print(f"models/magika: {len(rows)} reference samples, labels {labels_seen}")


if __name__ == "__main__":
    main()
