//! An HTTP request from the fuzzer's bytes, sent into a fresh instance of the packaged
//! component (wasmtime + wasmtime-wasi-http, in process): it must never trap or fail,
//! never answer 5xx, always answer JSON in the project's contract (fuzz/README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mlfn_fuzz::{HARNESS, Request, check_contract, feedback};

fuzz_target!(
    // Packaging (an instrumented cranelift) takes seconds: before libFuzzer's timer.
    init: {
        std::sync::LazyLock::force(&HARNESS);
    },
    |data: &[u8]| {
    let h = &*HARNESS;
    let req = Request::from_bytes(data);
    let answer = h.component(&req);
    let v = check_contract(h.model(&req), &req, &answer);
    feedback(&req, answer.status, &v);
    }
);
