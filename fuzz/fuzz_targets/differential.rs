//! The same request answered natively (`pipeline::route` + `Service::respond_with_outcome`,
//! as guest/src/http.rs calls them) and by the packaged component: same status, same
//! headers but the request id, the same body byte for byte; and the component's answer
//! keeps the contract `component_http` checks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mlfn_fuzz::{HARNESS, Request, check_contract, check_same, feedback, native};

fuzz_target!(
    // Packaging (an instrumented cranelift) takes seconds: before libFuzzer's timer.
    init: {
        std::sync::LazyLock::force(&HARNESS);
    },
    |data: &[u8]| {
    let h = &*HARNESS;
    let req = Request::from_bytes(data);
    let want = native(h.model(&req), &req);
    let got = h.component(&req);
    check_same(&req, &want, &got);
    let v = check_contract(h.model(&req), &req, &got);
    feedback(&req, got.status, &v);
    }
);
