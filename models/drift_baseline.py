"""Writes the drift baselines of a network bundle (kind image, text or file-type) into its
manifest.json, under "drift": one baseline per input summary that the function's events
record (an image's width, height, brightness and bytes; a text's chars, tokens and unknown
tokens; a file's bytes) and of its answers (confidence; file-type: the label mix too).

The population is the bundle's reference samples, measured here independently of the Rust
code: Pillow for an image's size and luma, the reference's own token ids (Python
`tokenizers`), the magika package's answers. The bins and quantile grid are those of the
tabular bundles (pack/mlfn_pack/baseline.py, loaded by path: these venvs have no sklearn).

Usage: python models/drift_baseline.py models/<bundle>   (each bundle's make.sh runs it)
"""
from __future__ import annotations

import base64
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _baseline_module():
    spec = importlib.util.spec_from_file_location(
        "mlfn_baseline", ROOT / "pack" / "mlfn_pack" / "baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


baseline = _baseline_module()


def image_summaries(bundle: Path, samples: list[dict]) -> tuple[dict, list[float]]:
    import numpy as np
    from PIL import Image

    luma = np.array([0.299, 0.587, 0.114])
    columns = {"width": [], "height": [], "brightness": [], "bytes": []}
    for s in samples:
        path = bundle / s["file"]
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
        columns["width"].append(rgb.shape[1])
        columns["height"].append(rgb.shape[0])
        # One decimal, as the events record it.
        columns["brightness"].append(round(float((rgb @ luma).mean()), 1))
        columns["bytes"].append(path.stat().st_size)
    confidence = [s["top_k"][0]["probability"] for s in samples]
    return columns, confidence


def text_summaries(bundle: Path, samples: list[dict]) -> dict:
    tok = json.loads((bundle / "tokenizer.json").read_text())
    unknown_id = tok["model"]["vocab"][tok["model"]["unk_token"]]
    return {
        "chars": [len(s["text"]) for s in samples],
        "tokens": [len(s["input_ids"]) for s in samples],
        "unknown_tokens": [s["input_ids"].count(unknown_id) for s in samples],
    }


def file_summaries(samples: list[dict]) -> dict:
    return {"bytes": [len(base64.b64decode(s["bytes_base64"])) for s in samples]}


def drift_section(bundle: Path) -> dict:
    manifest = json.loads((bundle / "manifest.json").read_text())
    reference = json.loads((bundle / "reference.json").read_text())
    samples = reference["samples"]
    kind = manifest["kind"]
    prediction = {}
    if kind == "image":
        columns, confidence = image_summaries(bundle, samples)
        prediction["confidence"] = baseline.numeric_baseline(confidence)
    elif kind == "text":
        columns = text_summaries(bundle, samples)
    elif kind == "file-type":
        # The empty file is a sample of the package's answers, but the function refuses
        # an empty body (400): no event records it.
        samples = [s for s in samples if s["bytes_base64"]]
        columns = file_summaries(samples)
        labels = [s["label"] for s in samples]
        prediction["label"] = baseline.categorical_baseline(labels, sorted(set(labels)))
        prediction["confidence"] = baseline.numeric_baseline([s["score"] for s in samples])
    else:
        raise SystemExit(f"{bundle}: kind {kind!r} has no input summaries")
    return {
        "source": f"the {len(samples)} samples of reference.json (models/drift_baseline.py)",
        "features": [{"name": name, "baseline": baseline.numeric_baseline(values)}
                     for name, values in columns.items()],
        "prediction_baseline": prediction,
    }


def main() -> None:
    bundle = Path(sys.argv[1])
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["drift"] = drift_section(bundle)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
