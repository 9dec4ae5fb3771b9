# workerd config: the packaged component as a Worker on 127.0.0.1:8787.
#   node build.mjs ../target/spin/breast-cancer.wasm dist     # writes dist/ (this file too)
#   npx workerd serve dist/workerd.capnp [--socket-addr http=127.0.0.1:8787]
# Paths are relative to this file, i.e. to the build's output directory.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "mlfn", worker = .mlfnWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "mlfn")],
);

const mlfnWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    # The component's core modules, compiled by workerd at load (it refuses to compile
    # Wasm from bytes at run time). build.mjs checks jco wrote exactly these.
    (name = "mlfn.core.wasm", wasm = embed "mlfn.core.wasm"),
    (name = "mlfn.core2.wasm", wasm = embed "mlfn.core2.wasm"),
    (name = "mlfn.core3.wasm", wasm = embed "mlfn.core3.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  # The guest's settings, as under Spin or `wasmtime serve` (the default is 1 MiB).
  bindings = [(name = "MLFN_MAX_BODY_BYTES", text = "1048576")],
);
