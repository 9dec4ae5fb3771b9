#!/usr/bin/env python3
"""Latency of one request through a running `host serve`, c=1 over one keep-alive
connection: /predict vs Open Inference Protocol V2 infer with JSON data and with binary
tensor data both ways, for 1 and 256 rows (reference rows of the bundle, repeated).

usage: bench/v2_latency.py HOST PORT BUNDLE   (run from the repository root; stdlib only)
"""
import http.client, json, struct, sys, time
host, port, bundle = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = json.load(open(f"models/{bundle}/manifest.json")); ref = json.load(open(f"models/{bundle}/reference.json"))
rows = (ref["rows"] * 3)
def v2_json(rs):
    inputs = [{"name": f["name"], "datatype": "BYTES" if f["type"] == "category" else "FP64", "shape": [len(rs)],
               "data": [r["features"].get(f["name"]) for r in rs]} for f in m["features"]]
    return json.dumps({"inputs": inputs}).encode(), {"content-type": "application/json"}
def v2_bin(rs):
    inputs, blob = [], b""
    for f in m["features"]:
        vals = [r["features"].get(f["name"]) for r in rs]
        if f["type"] == "category":
            b = b"".join(struct.pack("<I", len((v or "").encode())) + (v or "").encode() for v in vals); dt = "BYTES"
        else:
            b = struct.pack(f"<{len(vals)}d", *[float("nan") if v is None else float(v) for v in vals]); dt = "FP64"
        inputs.append({"name": f["name"], "datatype": dt, "shape": [len(rs)], "parameters": {"binary_data_size": len(b)}}); blob += b
    h = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
    return h + blob, {"inference-header-content-length": str(len(h)), "content-type": "application/octet-stream"}
def predict(rs):
    return json.dumps({"instances": [r["features"] for r in rs]}).encode(), {"content-type": "application/json"}
c = http.client.HTTPConnection(host, port)
def run(path, body, headers, n):
    ts = []
    for i in range(n):
        t = time.perf_counter(); c.request("POST", path, body, headers); r = c.getresponse(); r.read(); ts.append(time.perf_counter() - t)
        assert r.status == 200, r.status
    ts.sort(); return ts[len(ts)//2] * 1e6, ts[int(len(ts)*0.9)] * 1e6
for n in (1, 256):
    rs = rows[:n]
    for name, (path, fn) in {"/predict": ("/predict", predict), "V2 JSON": (f"/v2/models/{m['name']}/infer", v2_json), "V2 binary": (f"/v2/models/{m['name']}/infer", v2_bin)}.items():
        body, headers = fn(rs)
        run(path, body, headers, 20)
        p50, p90 = run(path, body, headers, 300 if n == 1 else 100)
        print(f"{bundle} {n:>3} rows {name:<10} body {len(body):>7} B  p50 {p50:8.0f} us  p90 {p90:8.0f} us")
