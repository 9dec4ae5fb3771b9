"""onnxruntime's side of bench/media.sh: magika's own session (the package runs
onnxruntime itself) on the same corpus files as `media_bench`: the network alone on
magika's features, and the package's whole `identify_bytes`, median over N runs.

    target/media-venv/bin/python bench/media_onnxruntime.py CORPUS_JSON N
"""

import json
import statistics
import sys
import time
from pathlib import Path

import magika
import onnxruntime
from magika.types import Seekable
import io

corpus = json.loads(Path(sys.argv[1]).read_text())
n = int(sys.argv[2])
m = magika.Magika()
cfg = m._model_config
inputs = []
for f in corpus["files"]:
    data = Path(f["path"]).read_bytes()
    _, feats = m._get_result_or_features_from_seekable(Seekable(io.BytesIO(data)))
    if feats is not None:  # reaches the network
        inputs.append((data, [feats.beg[: cfg.beg_size] + feats.end[-cfg.end_size:]]))

def med(xs):
    return statistics.median(xs) * 1e6

net, whole = [], []
for i in range(n):
    data, x = inputs[i % len(inputs)]
    t = time.perf_counter()
    m._onnx_session.run(["target_label"], {"bytes": x})
    net.append(time.perf_counter() - t)
    t = time.perf_counter()
    m.identify_bytes(data)
    whole.append(time.perf_counter() - t)
one = onnxruntime.SessionOptions()
one.intra_op_num_threads = 1
one.inter_op_num_threads = 1
single = onnxruntime.InferenceSession(str(m._model_path), one, providers=["CPUExecutionProvider"])
net1 = []
for i in range(n):
    _, x = inputs[i % len(inputs)]
    t = time.perf_counter()
    single.run(["target_label"], {"bytes": x})
    net1.append(time.perf_counter() - t)
opts = m._onnx_session.get_session_options()
print(f"onnxruntime, one thread (as wasm and our native tract run): network alone median {med(net1):.1f} µs")
print(f"onnxruntime {onnxruntime.__version__} (magika {magika.__version__}'s session, "
      f"intra_op_num_threads={opts.intra_op_num_threads}): network alone median {med(net):.1f} µs; "
      f"identify_bytes median {med(whole):.1f} µs ({len(inputs)} inputs, {n} runs)")
