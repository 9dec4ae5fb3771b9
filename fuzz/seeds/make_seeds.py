#!/usr/bin/env python3
"""Writes the committed seed corpus of both fuzz targets (fuzz/seeds/<target>/).

Most seeds are requests written out (`Request::literal` in fuzz/src/lib.rs):
`#<bundle> <METHOD> <path>` then header lines, a blank line and the body; libFuzzer's
byte mutations of them are mutations of real requests. Values come from the bundles'
own reference rows. A few seeds are bytes for the structured generator (any input that
does not start with `#`). Run from anywhere: python3 fuzz/seeds/make_seeds.py (it overwrites its own files and
keeps the others: reproducers of findings live beside them).
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = HERE.parent.parent / "models"
JSON = "content-type: application/json"


def row(bundle, i=0):
    ref = json.loads((MODELS / bundle / "reference.json").read_text())
    return ref["rows"][i]["features"]


def literal(bundle, method, path, headers, body):
    head = f"#{bundle} {method} {path}\n" + "".join(h + "\n" for h in headers) + "\n"
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    if isinstance(body, str):
        body = body.encode()
    return head.encode() + body


def seeds():
    p = row("penguins", 0)
    p2 = row("penguins", 5)
    b = row("breast-cancer", 0)
    s = {}
    # The routes.
    for bundle in ("penguins", "breast-cancer"):
        short = bundle.split("-")[0]
        s[f"{short}-health"] = literal(bundle, "GET", "/health", [], b"")
        s[f"{short}-metadata"] = literal(bundle, "GET", "/metadata", [], b"")
        s[f"{short}-openapi"] = literal(bundle, "GET", "/openapi.json", [], b"")
        s[f"{short}-index"] = literal(bundle, "GET", "/", [], b"")
    s["not-found"] = literal("penguins", "GET", "/healthz", [], b"")
    s["method-not-allowed"] = literal("penguins", "GET", "/predict", [], b"")
    s["post-health"] = literal("penguins", "POST", "/health", [JSON], b"{}")
    s["lowercase-method"] = literal("penguins", "post", "/predict?x=1", [JSON], {"features": p})
    # Valid predictions.
    s["penguins-one"] = literal("penguins", "POST", "/predict", [JSON], {"features": p})
    s["penguins-batch"] = literal(
        "penguins", "POST", "/predict", [JSON, "x-request-id: fuzz-1"], {"instances": [p, p2, {}]}
    )
    s["penguins-empty-row"] = literal("penguins", "POST", "/predict", [JSON], {"features": {}})
    s["penguins-nulls"] = literal(
        "penguins", "POST", "/predict", [JSON], {"features": {k: None for k in p}}
    )
    s["breast-one"] = literal("breast-cancer", "POST", "/predict", [JSON], {"features": b})
    s["breast-chunked"] = literal(
        "breast-cancer", "POST", "/predict", ["content-type: Application/JSON; charset=utf-8", "-content-length"],
        {"instances": [b]},
    )
    # Each a 4xx deep in validation.
    s["penguins-unknown-category"] = literal(
        "penguins", "POST", "/predict", [JSON], {"features": {**p, "island": "Atlantis"}}
    )
    s["penguins-wrong-types"] = literal(
        "penguins", "POST", "/predict", [JSON],
        {"features": {**p, "island": 3, "bill_length_mm": "42", "sex": ["male"], "body_mass_g": True}},
    )
    s["penguins-non-integer"] = literal(
        "penguins", "POST", "/predict", [JSON], {"features": {**p, "flipper_length_mm": 197.5}}
    )
    s["penguins-out-of-range"] = literal(
        "penguins", "POST", "/predict", [JSON], {"features": {**p, "body_mass_g": 8101}}
    )
    s["penguins-near-miss"] = literal(
        "penguins", "POST", "/predict", [JSON], {"features": {"bill_lenght_mm": 40, "Island": "Dream"}}
    )
    s["penguins-1e400"] = literal(
        "penguins", "POST", "/predict", [JSON],
        '{"features":{"bill_length_mm":1e400,"bill_depth_mm":-0,"body_mass_g":123456789012345678901234567890}}',
    )
    s["penguins-nan"] = literal("penguins", "POST", "/predict", [JSON], '{"features":{"bill_length_mm":NaN}}')
    s["breast-missing-required"] = literal(
        "breast-cancer", "POST", "/predict", [JSON], {"features": {"mean_radius": 14.0}}
    )
    s["breast-batch-over-limit"] = literal(
        "breast-cancer", "POST", "/predict", [JSON], '{"instances":[' + ",".join(["{}"] * 257) + "]}"
    )
    s["breast-many-unknown"] = literal(
        "breast-cancer", "POST", "/predict", [JSON], {"features": {f"k{i}": i for i in range(300)}}
    )
    s["shape-both"] = literal("penguins", "POST", "/predict", [JSON], {"features": p, "instances": [p]})
    s["shape-extra"] = literal("penguins", "POST", "/predict", [JSON], {"features": p, "wasm": 1})
    s["shape-array"] = literal("penguins", "POST", "/predict", [JSON], [p])
    s["shape-instances-object"] = literal("penguins", "POST", "/predict", [JSON], {"instances": p})
    s["deep-nesting"] = literal(
        "penguins", "POST", "/predict", [JSON], '{"features":{"island":' + "[" * 200 + "]" * 200 + "}}"
    )
    s["malformed"] = literal("penguins", "POST", "/predict", [JSON], '{"features": {"island": "Dream",')
    s["not-utf8"] = literal("penguins", "POST", "/predict", [JSON], b'{"features":{"island":"\xff\xfe"}}')
    s["text-plain"] = literal("penguins", "POST", "/predict", ["content-type: text/plain"], {"features": p})
    s["no-content-type"] = literal("penguins", "POST", "/predict", [], {"features": p})
    s["two-content-types"] = literal(
        "penguins", "POST", "/predict", ["content-type: text/plain", JSON], {"features": p}
    )
    # Bytes for the structured generator (fixed pseudo-random, any first byte but '#').
    rng = random.Random(8)
    for i in range(8):
        data = bytes(rng.randrange(256) for _ in range(64 << (i % 4)))
        if data[:1] == b"#":
            data = b"\x00" + data[1:]
        s[f"generated-{i}"] = data
    return s


def main():
    for target in ("component_http", "differential"):
        out = HERE / target
        out.mkdir(exist_ok=True)
        for name, data in seeds().items():
            (out / name).write_bytes(data)
    print(f"{len(seeds())} seeds per target in {HERE}")


if __name__ == "__main__":
    main()
