#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build (fuzz/run.sh): coverage instrumentation,
# AddressSanitizer, debug assertions and cfg(fuzzing) only for the crates that decide
# answers (pipeline, host, serde_json) and the fuzz crate itself. Everything else —
# wasmtime, cranelift, tokio, hyper — is built as in production. Instrumenting all of it
# gives libFuzzer 1.6 million counters to scan per input and runs wasmtime under ASan:
# measured 57-64 exec/s instead of the hundreds or thousands here; and wasmtime's JIT code
# (the guest itself) is invisible to coverage either way.
rustc=$1
shift
name=
prev=
for a in "$@"; do
    [ "$prev" = "--crate-name" ] && name=$a
    prev=$a
done
case "$name" in
    pipeline | host | serde_json | mlfn_fuzz | component_http | differential | "")
        exec "$rustc" "$@"
        ;;
esac
args=()
for a in "$@"; do
    case "$a" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-* | \
            -Cllvm-args=-simplifycfg-branch-fold-threshold=0 | -Zsanitizer=* | \
            -Cdebug-assertions) ;;
        *) args+=("$a") ;;
    esac
done
# `--cfg fuzzing` is two arguments.
out=()
skip=
for a in "${args[@]}"; do
    if [ -n "$skip" ]; then
        skip=
        if [ "$a" = "fuzzing" ]; then
            continue
        fi
        out+=(--cfg)
    fi
    if [ "$a" = "--cfg" ]; then
        skip=1
        continue
    fi
    out+=("$a")
done
[ -n "$skip" ] && out+=(--cfg)
exec "$rustc" "${out[@]}"
