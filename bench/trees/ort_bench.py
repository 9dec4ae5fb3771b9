"""onnxruntime side of the tree benchmark, plus the agreement check against sklearn.

    python ort_bench.py DIR NAME [NAME...] [--iterations-one N] [--iterations-batch N]

For each NAME: loads DIR/NAME.onnx in an InferenceSession with one intra-op and one
inter-op thread and sequential execution, and times `session.run` on

  * one row: the bundle's first reference row (the row `host bench` times), and
  * a batch of 256 rows: the reference rows (the holdout) cycled to 256 — the rows
    `host bench --batch-sizes 256` times, in the same order,

as float32 [N, F] in the estimator's feature order, after a warm-up. Per call: median,
p99 (µs) of the wall time of `session.run` from Python (`perf_counter_ns`), for a batch
also per row; and `call_floor_p50_us`, the same for a graph that only copies its input
(Identity): what a call costs before any tree runs (binding, session, output copy), so
`p50_us - call_floor_p50_us` is onnxruntime's tree evaluation alone.

Agreement: onnxruntime's probabilities against the reference's (= the user's sklearn
pipeline's `predict_proba`): max |difference| and label mismatches, over the data rows;
the reference's "optional features blanked" copies (all-NaN rows, present when the
estimator takes NaN, e.g. a RandomForest) are reported apart: skl2onnx does not carry
sklearn's missing-value routing, so onnxruntime's answers for them are not sklearn's.
The timed rows include them, exactly as `host bench` cycles the reference rows.
Prints one JSON object {NAME: {...}} on stdout.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

BATCH = 256


def session(model: Path | bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def stats(ns: list[int]) -> dict:
    a = np.sort(np.asarray(ns, dtype=np.float64)) / 1e3
    return {
        "p50_us": float(np.percentile(a, 50)),
        "p99_us": float(np.percentile(a, 99)),
        "min_us": float(a[0]),
        "count": len(a),
    }


def time_calls(sess, feeds, iterations: int, warmup: int) -> dict:
    run = sess.run
    for _ in range(warmup):
        run(None, feeds)
    ns = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        t = clock()
        run(None, feeds)
        ns.append(clock() - t)
    return stats(ns)


def identity_model(n_features: int) -> bytes:
    """An ONNX graph that only copies its [N, F] float input: its `session.run` time is
    the per-call cost of onnxruntime's Python binding and session, not of any trees."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, n_features])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, n_features])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "id", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("names", nargs="+")
    ap.add_argument("--iterations-one", type=int, default=5000)
    ap.add_argument("--iterations-batch", type=int, default=500)
    args = ap.parse_args()

    report = {"onnxruntime": ort.__version__, "threads": {"intra_op": 1, "inter_op": 1},
              "execution_mode": "sequential", "models": {}}
    for name in args.names:
        meta = json.loads((args.dir / f"{name}.meta.json").read_text())
        ref = json.loads((args.dir / name / "reference.json").read_text())
        features = meta["features"]
        rows = [r for r in ref["rows"]]
        x_ref = np.array([[r["features"][f] for f in features] for r in rows], dtype=np.float64)
        x32 = x_ref.astype(np.float32)
        one = np.ascontiguousarray(x32[:1])
        batch = np.ascontiguousarray(np.resize(x32, (BATCH, x32.shape[1])))  # rows cycled

        sess = session(args.dir / f"{name}.onnx")
        inp = sess.get_inputs()[0].name
        outs = [o.name for o in sess.get_outputs()]

        # Agreement with sklearn (the reference's probabilities) on every reference row.
        labels_ort, proba_ort = sess.run(None, {inp: x32})
        proba_ref = np.array([r["probabilities"] for r in rows], dtype=np.float64)
        label_names = ref["labels"]
        data = np.array(["blanked" not in r["origin"] for r in rows])
        mism = np.array([label_names[int(a)] != r["label"] for a, r in zip(labels_ort, rows)])
        diff_all = np.abs(proba_ort.astype(np.float64) - proba_ref).max(axis=1)
        diff, mismatches = diff_all[data], int(mism[data].sum())
        blanked = {"rows": int((~data).sum())}
        if (~data).any():
            blanked |= {"max_abs_proba_diff": float(diff_all[~data].max()),
                        "label_mismatches": int(mism[~data].sum())}
        # The ORT batch must equal ORT row by row (it does: trees are per-row).
        one_by_one = np.vstack([sess.run(None, {inp: x32[i:i + 1]})[1] for i in range(len(x32))])

        feeds = {"one": {inp: one}, "batch256": {inp: batch}}
        iters = {"one": args.iterations_one, "batch256": args.iterations_batch}
        one_t = time_calls(sess, feeds["one"], iters["one"], warmup=500)
        batch_t = time_calls(sess, feeds["batch256"], iters["batch256"], warmup=50)
        batch_t["per_row_p50_us"] = batch_t["p50_us"] / BATCH
        floor = session(identity_model(x32.shape[1]))
        one_t["call_floor_p50_us"] = time_calls(floor, feeds["one"], iters["one"], 500)["p50_us"]
        batch_t["call_floor_p50_us"] = time_calls(floor, feeds["batch256"], iters["batch256"], 50)["p50_us"]

        report["models"][name] = {
            "outputs": outs,
            "reference_rows": len(rows),
            "data_rows": int(data.sum()),
            "max_abs_proba_diff_vs_sklearn": float(diff.max()),
            "mean_abs_proba_diff_vs_sklearn": float(diff.mean()),
            "label_mismatches_vs_sklearn": mismatches,
            "blanked_rows_vs_sklearn": blanked,
            "batch_equals_row_by_row": bool(np.array_equal(one_by_one, proba_ort)),
            "one": one_t,
            "batch256": batch_t,
        }
        print(f"{name}: ort one p50 {one_t['p50_us']:.1f} µs, batch256 p50 "
              f"{batch_t['p50_us']:.1f} µs; max |p_ort - p_sklearn| {diff.max():.3g}, "
              f"{mismatches} label mismatches / {int(data.sum())} data rows", file=sys.stderr, flush=True)
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
