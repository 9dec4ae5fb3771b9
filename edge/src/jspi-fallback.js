// jco 1.35 wraps a few exports with `WebAssembly.promising` (JSPI) inside try/catch, on
// every instantiation. Where JSPI is missing (Node 20) each wrap throws a TypeError, and
// V8 builds its stack trace by re-parsing the ~15,000-line instantiate function: about
// 7 ms a throw, 4 throws per instance (30 of Node's 38 ms per request, measured). esbuild
// substitutes this for `WebAssembly.promising` (build.mjs: define + inject): the real
// one when present (workerd), else the same fallback jco's catch takes, without the throw.
const promising = globalThis.WebAssembly["promising"];
export const wasmPromisingOrIdentity = typeof promising === "function" ? promising : (f) => f;
