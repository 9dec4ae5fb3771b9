#!/usr/bin/env python3
"""A burst of costly requests at a fixed concurrency, counted by status: what admission
(host/src/admission.rs) changes under overload. Each client posts the same body again as
soon as it has an answer (it does not honour Retry-After), for SECONDS.

    host package models/minilm-l6 -o minilm.wasm && host serve minilm.wasm --listen 127.0.0.1:18702 &
    bench/burst.py http://127.0.0.1:18702/predict 8 20      # URL CONCURRENCY SECONDS [BODY_JSON]

The default body is one text that the tokenizer truncates at 256 tokens."""
import collections
import json
import sys
import threading
import time
import urllib.error
import urllib.request

url, concurrency, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
body = (sys.argv[4] if len(sys.argv) > 4 else json.dumps({"texts": ["x " * 512]})).encode()
results, lock, end = [], threading.Lock(), time.time() + seconds


def client():
    while time.time() < end:
        sent = time.time()
        request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request) as r:
                status = r.status
                r.read()
        except urllib.error.HTTPError as e:
            status = e.code
            e.read()
        with lock:
            results.append((status, time.time() - sent))


threads = [threading.Thread(target=client) for _ in range(concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
by_status = collections.defaultdict(list)
for status, took in results:
    by_status[status].append(took)
for status, took in sorted(by_status.items()):
    took.sort()
    print(f"status {status}: {len(took)} requests, median {took[len(took) // 2] * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms")
