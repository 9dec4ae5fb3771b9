// The WASI imports of one component instance, from @bytecodealliance/preview2-shim's
// browser build (Web APIs only, so the same code runs on workerd and Node), with the
// instance's stderr captured: the guest writes one JSON event per request there, as it
// does under our host, Spin and `wasmtime serve`.

import { createCli } from "@bytecodealliance/preview2-shim/cli";
import { monotonicClock, wallClock } from "@bytecodealliance/preview2-shim/clocks";
import { types as httpTypes } from "@bytecodealliance/preview2-shim/http";
import { error, poll as shimPoll, streams } from "@bytecodealliance/preview2-shim/io";
import { insecureSeed, random } from "@bytecodealliance/preview2-shim/random";

// The WASI version the component's imports name (jco's `.d.ts` declares
// `wasi:cli/environment@0.2.6` and so on).
const WASI_VERSION = "0.2.6";

// jco transpiles in synchronous mode, so an import may not answer with a Promise. The
// shim's `poll` yields to the event loop (it returns a Promise) even when a pollable is
// ready; every pollable here is ready at once (the request body is buffered before the
// call, the response body is written to memory), so the answer is known synchronously.
const poll = {
  Pollable: shimPoll.Pollable,
  poll(list) {
    const ready = [];
    for (let i = 0; i < list.length; i++) {
      if (list[i].ready()) ready.push(i);
    }
    if (ready.length === 0) {
      throw new Error("wasi:io/poll: nothing is ready and this host cannot block");
    }
    return new Uint32Array(ready);
  },
};

/** Collects what the guest writes to a stream, line by line. */
function lineCollector(lines) {
  const decoder = new TextDecoder();
  let pending = "";
  const take = () => {
    const parts = pending.split("\n");
    pending = parts.pop();
    for (const line of parts) if (line) lines.push(line);
  };
  return {
    write(bytes) {
      pending += decoder.decode(bytes, { stream: true });
      take();
    },
    flush() {
      pending += decoder.decode();
      if (pending) lines.push(pending);
      pending = "";
    },
    blockingFlush() {
      this.flush();
    },
  };
}

/**
 * Imports for one instance. `environment`: the guest's settings (e.g.
 * `MLFN_MAX_BODY_BYTES`); `stderrLines`: receives each line the instance writes to
 * stderr. Every interface is given under its versioned name (what the `.d.ts` declares)
 * and its bare name (what jco 1.35's generated code looks up).
 */
export function wasiImports({ environment = {}, stderrLines = [] } = {}) {
  const cli = createCli({ environment, stderr: lineCollector(stderrLines) });
  const interfaces = {
    "wasi:cli/environment": cli.environment,
    "wasi:cli/exit": cli.exit,
    "wasi:cli/stderr": cli.stderr,
    "wasi:cli/stdin": cli.stdin,
    "wasi:cli/stdout": cli.stdout,
    "wasi:cli/terminal-input": cli.terminalInput,
    "wasi:cli/terminal-output": cli.terminalOutput,
    "wasi:cli/terminal-stderr": cli.terminalStderr,
    "wasi:cli/terminal-stdin": cli.terminalStdin,
    "wasi:cli/terminal-stdout": cli.terminalStdout,
    "wasi:clocks/monotonic-clock": monotonicClock,
    "wasi:clocks/wall-clock": wallClock,
    "wasi:http/types": httpTypes,
    "wasi:io/error": error,
    "wasi:io/poll": poll,
    "wasi:io/streams": streams,
    // std's filesystem support (linked in by the tokenizer's `from_file`, never called):
    // no directories are open, as under our own host.
    "wasi:filesystem/preopens": { getDirectories: () => [] },
    "wasi:filesystem/types": {
      Descriptor: class Descriptor {},
      DirectoryEntryStream: class DirectoryEntryStream {},
      filesystemErrorCode: () => undefined,
    },
    "wasi:random/insecure-seed": insecureSeed,
    "wasi:random/random": random,
  };
  const imports = {};
  for (const [name, implementation] of Object.entries(interfaces)) {
    imports[name] = implementation;
    imports[`${name}@${WASI_VERSION}`] = implementation;
  }
  return imports;
}
