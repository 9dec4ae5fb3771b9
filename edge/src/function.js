// The packaged component as a fetch handler: a Web `Request` becomes the component's
// `wasi:http/incoming-handler` call and its response a Web `Response`. Shared by the
// workerd entry (worker.js) and the Node entry (node.js).
//
// Like our host, Spin and `wasmtime serve`, every request gets a fresh instance: the
// core modules are compiled once, and instantiating the pre-initialised snapshot copies
// its memory image, model included, so nothing carries over between requests.

import { instantiate } from "mlfn-component"; // jco's output; esbuild resolves the alias
import { handleIncomingRequest } from "@bytecodealliance/preview2-shim/http";
import { wasiImports } from "./wasi.js";

/** The guest's own default body limit (`pipeline::MAX_BODY_BYTES`). */
const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/** The guest's error envelope, for answers the host side has to give itself. */
function errorResponse(status, code, message, requestId) {
  const headers = { "content-type": "application/json" };
  if (requestId) headers["x-request-id"] = requestId;
  return new Response(JSON.stringify({ error: { code, message, details: [] } }), {
    status,
    headers,
  });
}

/** The client's `x-request-id` when it is sane (as the guest takes it), else a new one. */
function requestId(request) {
  const id = request.headers.get("x-request-id");
  if (id && id.length <= 64 && /^[\x21-\x7e]+$/.test(id)) return id;
  return `edge-${crypto.randomUUID()}`;
}

/**
 * Reads at most `limit` + 1 bytes of the body, so an oversized body is refused without
 * being buffered whole (the guest would refuse it too, after the copy).
 */
async function boundedBody(request, limit) {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * `coreModules`: the transpiled component's core modules by file name, compiled
 * (`WebAssembly.Module`). `environment`: the guest's settings (`MLFN_MAX_BODY_BYTES`,
 * `MLFN_LOG_INPUTS`). `log`: receives each line an instance writes to stderr (its
 * per-request JSON event).
 */
export function makeHandler(coreModules, { environment = {}, log = (line) => console.error(line) } = {}) {
  const getCoreModule = (name) => {
    const module = coreModules[name];
    if (!module) throw new Error(`the transpiled component needs core module ${name}, which was not provided`);
    return module;
  };
  const maxBodyBytes = Number(environment.MLFN_MAX_BODY_BYTES ?? DEFAULT_MAX_BODY_BYTES);

  return async function handle(request) {
    const id = requestId(request);
    const declared = Number(request.headers.get("content-length") ?? 0);
    const tooLarge = () =>
      errorResponse(413, "payload_too_large", `request body exceeds the limit of ${maxBodyBytes} bytes`, id);
    if (declared > maxBodyBytes) return tooLarge();
    const body = await boundedBody(request, maxBodyBytes);
    if (body === null) return tooLarge();
    const headers = new Headers(request.headers);
    headers.set("x-request-id", id); // the guest echoes it and puts it in its event
    const buffered = new Request(request.url, {
      method: request.method,
      headers,
      body: body.byteLength > 0 ? body : undefined,
    });

    const stderrLines = [];
    try {
      const component = await instantiate(getCoreModule, wasiImports({ environment, stderrLines }));
      return await handleIncomingRequest(buffered, (incoming, out) =>
        component.incomingHandler.handle(incoming, out),
      );
    } catch (e) {
      // A trap fails only this request; the details are for the operator's log.
      console.error(JSON.stringify({ event: "failure", request_id: id, error: String(e && e.stack ? e.stack : e) }));
      return errorResponse(
        500,
        "internal",
        `the function failed; the log has the details under request id ${id}`,
        id,
      );
    } finally {
      for (const line of stderrLines) log(line);
    }
  };
}
