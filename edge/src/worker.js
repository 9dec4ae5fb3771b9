// workerd (Cloudflare Workers' runtime) entry. workerd does not compile WebAssembly from
// bytes at run time, so the component's core modules arrive as Wasm modules of the
// worker (workerd.capnp lists them; each import below is a compiled WebAssembly.Module).

import core from "./mlfn.core.wasm";
import core2 from "./mlfn.core2.wasm";
import core3 from "./mlfn.core3.wasm";
import { makeHandler } from "./function.js";

const coreModules = {
  "mlfn.core.wasm": core,
  "mlfn.core2.wasm": core2,
  "mlfn.core3.wasm": core3,
};

let handle;

export default {
  fetch(request, env) {
    // The guest's settings are the worker's `MLFN_*` text bindings (workerd.capnp).
    handle ??= makeHandler(coreModules, {
      environment: Object.fromEntries(
        Object.entries(env ?? {}).filter(([k, v]) => k.startsWith("MLFN_") && typeof v === "string"),
      ),
    });
    return handle(request);
  },
};
