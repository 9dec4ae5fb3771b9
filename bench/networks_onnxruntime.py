"""onnxruntime's side of bench/networks.sh: the same inputs as host/examples/network_bench.rs,
one thread (as our wasm and native tract run), median over N runs: the network alone, and
the whole Python pipeline (the reference's preprocessing + onnxruntime + the answer).

    <bundle venv>/bin/python bench/networks_onnxruntime.py BUNDLE_DIR N

Kinds: image (Pillow, as make.py's `preprocess`), text (the `tokenizers` package on the
bundle's tokenizer.json, mean pooling), file-type (the `magika` package's own features and
`identify_bytes`; corpus from target/<bundle>-corpus/expected.json).
"""

import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime

bundle = Path(sys.argv[1])
n = int(sys.argv[2])
manifest = json.loads((bundle / "manifest.json").read_text())
reference = json.loads((bundle / "reference.json").read_text())


def session(path: Path) -> onnxruntime.InferenceSession:
    one = onnxruntime.SessionOptions()
    one.intra_op_num_threads = 1
    one.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), one, providers=["CPUExecutionProvider"])


def median_us(f, inputs) -> float:
    times = []
    for i in range(max(n, len(inputs))):
        x = inputs[i % len(inputs)]
        t = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def report(what: str, network_us: float, whole_us: float) -> None:
    print(f"-- {what} --")
    print(
        f"onnxruntime {onnxruntime.__version__}, one thread: network alone median {network_us:.1f} µs; "
        f"whole Python pipeline median {whole_us:.1f} µs"
    )


kind = manifest["kind"]
if kind == "image":
    from PIL import Image

    recipe = manifest["image"]
    h, w = recipe["input_size"]
    mean = np.asarray(recipe["mean"], np.float32)
    std = np.asarray(recipe["std"], np.float32)
    scale = np.float32(recipe["scale"])
    filt = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}[
        recipe["interpolation"]
    ]

    def preprocess(data: bytes) -> np.ndarray:
        im = Image.open(io.BytesIO(data)).convert("RGB")
        iw, ih = im.size
        side = max(1, int(recipe["crop_fraction"] * min(iw, ih)))
        left, top = (iw - side + 1) // 2, (ih - side + 1) // 2
        im = im.crop((left, top, left + side, top + side)).resize((w, h), filt)
        x = (np.asarray(im, dtype=np.float32) / scale - mean) / std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)

    s = session(bundle / manifest["model"]["file"])
    name = manifest["model"]["input"]["name"]
    files = [(bundle / x["file"]).read_bytes() for x in reference["samples"]]
    tensors = [preprocess(b) for b in files]

    def whole(data: bytes):
        logits = s.run(None, {name: preprocess(data)})[0][0].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return np.argsort(-p)[: manifest["top_k"]]

    report(
        f"{len(files)} sample images (JPEG and PNG, raw body)",
        median_us(lambda x: s.run(None, {name: x}), tensors),
        median_us(whole, files),
    )
elif kind == "text":
    from tokenizers import Tokenizer

    tokenizer_file = next(f for f in manifest["files"] if f["role"] == "tokenizer")["file"]
    tok = Tokenizer.from_file(str(bundle / tokenizer_file))
    max_tokens = manifest["text"]["max_tokens"]
    tok.enable_truncation(max_tokens)
    tok.no_padding()
    s = session(bundle / manifest["model"]["file"])
    names = [i["name"] for i in manifest["model"]["inputs"]]

    def feeds(e):
        ids = np.asarray([e.ids], np.int64)
        by_name = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.asarray([e.type_ids], np.int64),
        }
        return {k: by_name[k] for k in names}

    def whole(text: str):
        out = s.run(None, feeds(tok.encode(text)))[0][0].astype(np.float64)
        v = out.mean(axis=0)
        return v / np.linalg.norm(v)

    texts = [x["text"] for x in reference["samples"]]
    long = ["x " * (max_tokens * 2)]
    for what, ts in [
        (f"{len(texts)} reference texts, one per request", texts),
        (f"one text truncated at {max_tokens} tokens", long),
    ]:
        encoded = [feeds(tok.encode(t)) for t in ts]
        report(what, median_us(lambda f: s.run(None, f), encoded), median_us(whole, ts))
elif kind == "file-type":
    import magika
    from magika.types import Seekable

    corpus = json.loads(Path(f"target/{bundle.name}-corpus/expected.json").read_text())
    m = magika.Magika()
    cfg = m._model_config
    s = session(bundle / manifest["model"]["file"])
    inputs = []
    for f in corpus["files"]:
        try:
            data = Path(f["path"]).read_bytes()
        except OSError:
            continue
        _, feats = m._get_result_or_features_from_seekable(Seekable(io.BytesIO(data)))
        if feats is not None:  # reaches the network
            x = np.asarray([feats.beg[: cfg.beg_size] + feats.end[-cfg.end_size :]], np.int32)
            inputs.append((data, x))
    report(
        f"{len(inputs)} corpus files that reach the network",
        median_us(lambda d: s.run(None, {"bytes": d[1]}), inputs),
        median_us(lambda d: m.identify_bytes(d[0]), inputs),
    )
    print(
        f"(whole pipeline: magika {magika.__version__}'s identify_bytes, with its own session, "
        f"intra_op_num_threads={m._onnx_session.get_session_options().intra_op_num_threads})"
    )
else:
    sys.exit(f"kind {kind!r}: not a network bundle")
