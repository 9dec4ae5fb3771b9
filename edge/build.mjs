// Turns a packaged component into what workerd and Node run:
//   node build.mjs COMPONENT.wasm OUT_DIR
// 1. jco transpile (async instantiation: we hand it compiled core modules and the WASI
//    imports per instance) into OUT_DIR/jco/;
// 2. esbuild bundles src/worker.js (workerd) and src/node.js (Node) with the transpiled
//    component and @bytecodealliance/preview2-shim's browser build (Web APIs only), the
//    core modules left as separate .wasm files;
// 3. copies workerd.capnp beside them.
// npm packages come from edge/node_modules (`npm ci` here) or $MLFN_EDGE_NODE_MODULES.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [component, outArg] = process.argv.slice(2);
if (!component || !outArg) {
  console.error("usage: node build.mjs COMPONENT.wasm OUT_DIR");
  process.exit(2);
}
const out = resolve(outArg);
const nodeModules = resolve(process.env.MLFN_EDGE_NODE_MODULES ?? join(here, "node_modules"));
const require = createRequire(join(nodeModules, "..", "resolve-from-here.js"));

// The core modules workerd.capnp and src/worker.js name.
const CORE_MODULES = ["mlfn.core.wasm", "mlfn.core2.wasm", "mlfn.core3.wasm"];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "jco"), { recursive: true });
execFileSync(
  join(nodeModules, ".bin", "jco"),
  ["transpile", resolve(component), "-o", join(out, "jco"), "--name", "mlfn", "--instantiation", "async", "--no-typescript", "--quiet"],
  { stdio: "inherit" },
);
const written = readdirSync(join(out, "jco")).filter((n) => n.endsWith(".wasm")).sort();
if (JSON.stringify(written) !== JSON.stringify(CORE_MODULES)) {
  throw new Error(`jco wrote core modules ${written}, but workerd.capnp and src/worker.js list ${CORE_MODULES}`);
}
for (const name of written) copyFileSync(join(out, "jco", name), join(out, name));

const esbuild = require("esbuild");
const transpiled = {
  name: "mlfn-component",
  setup(build) {
    build.onResolve({ filter: /^mlfn-component$/ }, () => ({ path: join(out, "jco", "mlfn.js") }));
  },
};
const common = {
  bundle: true,
  format: "esm",
  // "neutral": no `node` export condition, so both bundles take the shim's browser build.
  platform: "neutral",
  target: "es2022",
  nodePaths: [nodeModules],
  plugins: [transpiled],
  // See src/jspi-fallback.js.
  inject: [join(here, "src", "jspi-fallback.js")],
  define: { "WebAssembly.promising": "wasmPromisingOrIdentity" },
  external: ["*.wasm", "node:*"],
  logLevel: "warning",
};
await esbuild.build({ ...common, entryPoints: [join(here, "src", "worker.js")], outfile: join(out, "worker.js") });
await esbuild.build({ ...common, entryPoints: [join(here, "src", "node.js")], outfile: join(out, "node.mjs") });
copyFileSync(join(here, "workerd.capnp"), join(out, "workerd.capnp"));
console.log(`built ${out}: worker.js + workerd.capnp (workerd), node.mjs (Node), ${CORE_MODULES.join(", ")}`);
