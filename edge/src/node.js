// Node entry: a node:http server over the same fetch handler as the worker.
//   node node.mjs [--listen 127.0.0.1:3000]
// The core modules are read from this file's directory (where edge/build.mjs writes
// them). The guest's settings come from the environment (`MLFN_*`).

import { createServer } from "node:http";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeHandler } from "./function.js";

const here = dirname(fileURLToPath(import.meta.url));

function listenAddress() {
  const i = process.argv.indexOf("--listen");
  const value = i >= 0 ? process.argv[i + 1] : "127.0.0.1:3000";
  const at = value.lastIndexOf(":");
  return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
}

const coreModules = {};
for (const name of readdirSync(here).filter((n) => n.endsWith(".wasm"))) {
  coreModules[name] = new WebAssembly.Module(readFileSync(join(here, name)));
}
const environment = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("MLFN_")));
const handle = makeHandler(coreModules, { environment });

/** node:http's request as a Web Request (the body streamed, not copied here). */
function toRequest(req, origin) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url, origin), {
    method: req.method,
    headers,
    body: hasBody ? req : undefined,
    duplex: "half",
  });
}

const { host, port } = listenAddress();
const server = createServer(async (req, res) => {
  try {
    const response = await handle(toRequest(req, `http://${req.headers.host ?? `${host}:${port}`}`));
    const body = Buffer.from(await response.arrayBuffer());
    const headers = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    headers["content-length"] = String(body.byteLength);
    res.writeHead(response.status, headers);
    res.end(body);
  } catch (e) {
    console.error(e);
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "internal", message: "the function failed", details: [] } }));
  }
});
server.keepAliveTimeout = 5000;
server.listen(port, host, () => {
  console.log(`serving on http://${host}:${server.address().port}`);
});
// Stops on SIGINT/SIGTERM (the tests end it that way).
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
