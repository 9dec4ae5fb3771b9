"""The Open Inference Protocol V2 of a served component, through the real
`tritonclient.http` client with its defaults (binary tensor data both ways) and with JSON
data, checked against the bundle's reference.json (the user's pipeline's own outputs).

usage: v2_client.py --url HOST:PORT --bundle DIR

Network bundles (kinds image, text, file-type) take one BYTES input: the client sends
the reference's images, texts or files, raw in binary tensor data and (base64 for images
and files) as JSON strings, and compares the answers with the reference's.

Prints one line per check group and "v2 client: passed (N checks)"; exits non-zero on the
first failure.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

MAX_BATCH = 256
checks = 0


def ok(condition, message):
    global checks
    if not condition:
        raise AssertionError(message)
    checks += 1


def feature_array(feature, rows, shape_2d):
    """One feature's column as the tensor a user would build from a DataFrame column:
    FP64 with NaN for a missing number, BYTES with b"" for a missing category."""
    values = [r["features"].get(feature["name"]) for r in rows]
    if feature["type"] == "category":
        arr = np.array([b"" if v is None else v.encode() for v in values], dtype=np.object_)
        datatype = "BYTES"
    else:
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        datatype = "FP64"
    if shape_2d:
        arr = arr.reshape(-1, 1)
    return arr, datatype


def by_feature_inputs(manifest, rows, binary, shape_2d):
    inputs = []
    for f in manifest["features"]:
        arr, datatype = feature_array(f, rows, shape_2d)
        t = httpclient.InferInput(f["name"], list(arr.shape), datatype)
        t.set_data_from_numpy(arr, binary_data=binary)
        inputs.append(t)
    return inputs


def matrix_inputs(manifest, rows, binary):
    names = [f["name"] for f in manifest["features"]]
    arr = np.array(
        [[np.nan if r["features"].get(n) is None else float(r["features"][n]) for n in names] for r in rows],
        dtype=np.float64,
    )
    t = httpclient.InferInput("input-0", list(arr.shape), "FP64")
    t.set_data_from_numpy(arr, binary_data=binary)
    return [t]


def compare(result, reference, rows, what):
    if reference["task"] == "classification":
        labels = result.as_numpy("label")
        probabilities = result.as_numpy("probabilities")
        ok(labels.shape == (len(rows),), f"{what}: label shape {labels.shape}")
        ok(probabilities.shape == (len(rows), len(reference["labels"])), f"{what}: probabilities shape {probabilities.shape}")
        ok(probabilities.dtype == np.float32, f"{what}: probabilities dtype {probabilities.dtype}")
        for i, r in enumerate(rows):
            label = labels[i].decode() if isinstance(labels[i], bytes) else str(labels[i])
            ok(label == r["label"], f"{what} row {i} ({r['origin']}): label {label!r}, sklearn {r['label']!r}")
            diff = np.max(np.abs(probabilities[i].astype(np.float64) - np.array(r["probabilities"])))
            ok(diff <= 1e-5, f"{what} row {i}: probabilities differ by {diff}")
    else:
        values = result.as_numpy("value")
        ok(values.shape == (len(rows),) and values.dtype == np.float64, f"{what}: value {values.shape} {values.dtype}")
        for i, r in enumerate(rows):
            y = r["value"]
            ok(abs(values[i] - y) <= 1e-5 * max(1.0, abs(y)), f"{what} row {i}: value {values[i]}, sklearn {y}")


def expect_error(call, status, text, what):
    try:
        call()
    except InferenceServerException as e:
        ok(e.status() == str(status), f"{what}: status {e.status()} ({e.message()}), expected {status}")
        ok(text in e.message(), f"{what}: {e.message()!r} does not say {text!r}")
        return
    raise AssertionError(f"{what}: no error raised")


def health_and_metadata(client, name, version):
    ok(client.is_server_live(), "server live")
    ok(client.is_server_ready(), "server ready")
    ok(client.is_model_ready(name), "model ready")
    ok(client.is_model_ready(name, version), "model version ready")
    ok(not client.is_model_ready(name + "-nope"), "an unknown model is not ready")
    server = client.get_server_metadata()
    ok("binary_tensor_data" in server["extensions"], f"server metadata {server}")
    meta = client.get_model_metadata(name, version)
    ok(meta["name"] == name and meta["versions"] == [version], f"model metadata {meta}")
    return meta


def bytes_input(name, elements, binary):
    """One BYTES input [N]: raw bytes in binary data; in JSON, base64 strings for binary
    content (JSON strings cannot hold arbitrary bytes), the text itself for texts."""
    t = httpclient.InferInput(name, [len(elements)], "BYTES")
    t.set_data_from_numpy(np.array(elements, dtype=np.object_), binary_data=binary)
    return t


def as_str(x):
    """A BYTES output element: bytes from binary data, str from JSON."""
    return x.decode() if isinstance(x, bytes) else str(x)


def b64(data):
    import base64

    return base64.b64encode(data).decode()


def network_kind(client, bundle, manifest, reference):
    name, version = manifest["name"], manifest["version"]
    meta = health_and_metadata(client, name, version)
    kind = manifest["kind"]
    samples = reference["samples"]
    print(f"{name}: health and metadata")
    for binary in (True, False):
        mode = "binary" if binary else "JSON"
        if kind == "image":
            labels = json.loads((bundle / "labels.json").read_text())
            for i in range(0, len(samples), 4):
                batch = samples[i : i + 4]
                files = [(bundle / s["file"]).read_bytes() for s in batch]
                data = files if binary else [b64(f) for f in files]
                result = client.infer(name, [bytes_input("image", data, binary)])
                got = [as_str(l) for l in result.as_numpy("label")]
                conf = result.as_numpy("confidence")
                probs = result.as_numpy("probabilities")
                ok(probs.shape == (len(batch), len(labels)), f"probabilities shape {probs.shape}")
                for s, label, c, p in zip(batch, got, conf, probs):
                    want = s["top_k"][0]
                    ok(label == want["label"], f"{mode} {s['file']}: {label} != {want['label']}")
                    ok(abs(c - want["probability"]) <= 0.05, f"{mode} {s['file']}: confidence {c}")
                    ok(labels[int(np.argmax(p))] == label, f"{mode} {s['file']}: argmax")
        elif kind == "text":
            for i in range(0, len(samples), 8):
                batch = [s for s in samples[i : i + 8] if len(s["input_ids"]) <= 64]
                if not batch:
                    continue
                texts = [s["text"].encode() for s in batch]
                data = texts if binary else [t.decode() for t in texts]
                result = client.infer(name, [bytes_input("text", data, binary)])
                emb = result.as_numpy("embedding")
                ok(emb.shape == (len(batch), len(batch[0]["embedding"])), f"shape {emb.shape}")
                for s, e in zip(batch, emb):
                    r = np.asarray(s["embedding"])
                    cos = float(np.dot(e, r) / (np.linalg.norm(e) * np.linalg.norm(r)))
                    ok(cos >= 0.9999, f"{mode} {s['origin']}: cosine {cos}")
        else:  # file-type
            import base64

            for i in range(0, len(samples), 8):
                batch = samples[i : i + 8]
                files = [base64.b64decode(s["bytes_base64"]) for s in batch]
                data = files if binary else [b64(f) for f in files]
                requested = [httpclient.InferRequestedOutput(o, binary_data=binary) for o in ("label", "mime_type", "confidence")]
                result = client.infer(name, [bytes_input("file", data, binary)], outputs=requested)
                got = [as_str(l) for l in result.as_numpy("label")]
                mimes = [as_str(m) for m in result.as_numpy("mime_type")]
                for s, label, mime in zip(batch, got, mimes):
                    ok((label, mime) == (s["label"], s["mime_type"]), f"{mode} {s['origin']}: {label} {mime}")
        print(f"{name}: every sample through infer, {mode}")
    # Refusals in the protocol's envelope.
    wrong = httpclient.InferInput("nope", [1], "BYTES")
    wrong.set_data_from_numpy(np.array([b"x"], dtype=np.object_))
    expect_error(lambda: client.infer(name, [wrong]), 400, meta["inputs"][0]["name"], "an unknown input")
    print(f"v2 client: passed ({checks} checks)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--bundle", required=True)
    a = p.parse_args()
    bundle = Path(a.bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    reference = json.loads((bundle / "reference.json").read_text())
    name, version = manifest["name"], manifest["version"]
    client = httpclient.InferenceServerClient(url=a.url)
    if manifest.get("kind", "tabular") != "tabular":
        network_kind(client, bundle, manifest, reference)
        return
    meta = health_and_metadata(client, name, version)
    ok([i["name"] for i in meta["inputs"]] == [f["name"] for f in manifest["features"]], "metadata inputs are the features")
    outputs = [o["name"] for o in meta["outputs"]]
    ok(outputs == (["label", "probabilities"] if reference["task"] == "classification" else ["value"]), f"outputs {outputs}")
    print(f"{name}: health and metadata")

    rows = reference["rows"]
    all_numeric = all(f["type"] != "category" for f in manifest["features"])
    batches = [rows[:1]] + [rows[i : i + MAX_BATCH] for i in range(0, len(rows), MAX_BATCH)]
    for binary in (True, False):
        mode = "binary" if binary else "JSON"
        for b, batch in enumerate(batches):
            # The client's defaults: no outputs listed, so all of them, as binary data.
            result = client.infer(name, by_feature_inputs(manifest, batch, binary, shape_2d=b % 2 == 0))
            compare(result, reference, batch, f"by feature, {mode}, batch {b}")
            # Outputs asked for by name, in the same encoding as the inputs.
            requested = [httpclient.InferRequestedOutput(o, binary_data=binary) for o in outputs]
            result = client.infer(name, by_feature_inputs(manifest, batch, binary, shape_2d=False),
                                  model_version=version, outputs=requested, request_id=f"req-{b}")
            ok(result.get_response()["id"] == f"req-{b}", "the id is echoed")
            compare(result, reference, batch, f"by feature, {mode}, outputs by name, batch {b}")
            if all_numeric:
                result = client.infer(name, matrix_inputs(manifest, batch, binary))
                compare(result, reference, batch, f"[N, F] tensor, {mode}, batch {b}")
        print(f"{name}: {len(rows)} reference rows, {mode} data, single row and batches"
              + (", by feature and as one [N, F] tensor" if all_numeric else ", by feature"))

    # Only one output asked for.
    result = client.infer(name, by_feature_inputs(manifest, rows[:3], True, False),
                          outputs=[httpclient.InferRequestedOutput(outputs[-1])])
    ok([o["name"] for o in result.get_response()["outputs"]] == [outputs[-1]], "one output")

    # Errors: tritonclient raises InferenceServerException with the status and message.
    inputs = by_feature_inputs(manifest, rows[:4], True, False)
    expect_error(lambda: client.infer(name + "-nope", inputs), 404, "unknown model", "unknown model")
    expect_error(lambda: client.infer(name, inputs, model_version="9.9.9"), 404, "unknown version", "unknown version")
    expect_error(lambda: client.get_model_metadata(name + "-nope"), 404, "unknown model", "unknown model metadata")
    expect_error(lambda: client.infer(name, inputs, outputs=[httpclient.InferRequestedOutput("nope")]),
                 400, "unknown output 'nope'", "unknown output")
    numeric = next(f for f in manifest["features"] if f["type"] != "category")
    bad_rows = [dict(r, features=dict(r["features"])) for r in rows[:5]]
    too_big = numeric["range"]["max"] * 10 + 1000 if "range" in numeric else math.inf
    bad_rows[3]["features"][numeric["name"]] = too_big
    expect_error(lambda: client.infer(name, by_feature_inputs(manifest, bad_rows, True, False)),
                 400, f"input '{numeric['name']}' row 3:", "a value out of range")
    short = by_feature_inputs(manifest, rows[:4], True, False)
    short[0] = httpclient.InferInput(short[0].name(), [3], short[0].datatype())
    short[0].set_data_from_numpy(feature_array(manifest["features"][0], rows[:3], False)[0])
    expect_error(lambda: client.infer(name, short), 400, f"4 rows, but input '{short[0].name()}' has 3", "rows disagree")
    print(f"{name}: errors (404 unknown model and version, 400 naming the tensor and row)")
    print(f"v2 client: passed ({checks} checks)")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"v2 client: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
