#!/usr/bin/env bash
# Builds the fuzz targets once (libFuzzer, AddressSanitizer) and runs each for a bounded
# time from a scratch corpus seeded with fuzz/seeds/<target>/, then writes a summary
# (executions, exec/s, time, crashes) to bench/results/fuzz.txt. Exits non-zero if any
# target found something; its reproducer is under $FUZZ_WORK/artifacts/<target>/.
#
# Works on the repository's pinned stable toolchain (rust-toolchain.toml): cargo-fuzz
# needs nightly-only flags (-Zsanitizer, sancov), which RUSTC_BOOTSTRAP=1 unlocks.
#
#   fuzz/run.sh                          # both targets, FUZZ_SECONDS each (default 1800)
#   FUZZ_SECONDS=60 fuzz/run.sh differential
#
# Environment (defaults in brackets):
#   FUZZ_SECONDS    seconds per target [1800]
#   FUZZ_SEED       libFuzzer -seed [1]
#   FUZZ_RSS_MB     libFuzzer -rss_limit_mb [4096]
#   FUZZ_TIMEOUT    libFuzzer -timeout, seconds per input: a hang [10]
#   FUZZ_MAX_LEN    libFuzzer -max_len [16384]
#   FUZZ_SANITIZER  address | none [address]
#   FUZZ_TOOLCHAIN  e.g. nightly; empty = the pinned one with RUSTC_BOOTSTRAP=1 []
#   FUZZ_WORK       scratch dir (corpus, artifacts, logs) [fuzz/target/run]
#   FUZZ_RESULTS    summary file [bench/results/fuzz.txt]; empty to skip writing it
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${FUZZ_SECONDS:-1800}
SEED=${FUZZ_SEED:-1}
RSS_MB=${FUZZ_RSS_MB:-4096}
TIMEOUT=${FUZZ_TIMEOUT:-10}
MAX_LEN=${FUZZ_MAX_LEN:-16384}
SANITIZER=${FUZZ_SANITIZER:-address}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-}
WORK=${FUZZ_WORK:-$ROOT/fuzz/target/run}
RESULTS=${FUZZ_RESULTS-$ROOT/bench/results/fuzz.txt}
CARGO_FUZZ_VERSION=0.13.1
# The instrumented build: coverage and the sanitizer only on the project's crates
# (rustc-wrapper.sh says why), 16 codegen units (cargo-fuzz's default of 1 makes the
# build several times longer), in a target dir of its own (cargo does not rebuild when
# only the wrapper changes).
TARGET_DIR=$ROOT/fuzz/target/selective
BUILD_FLAGS=(-s "$SANITIZER" --codegen-units 16 --target-dir "$TARGET_DIR")
export RUSTC_WRAPPER=$ROOT/fuzz/rustc-wrapper.sh
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(component_http differential)
# The machine is shared: every build and run at the lowest priority.
NICE=(nice -n 19)

if [ -n "$TOOLCHAIN" ]; then
    CARGO=(cargo "+$TOOLCHAIN")
    RUSTC=(rustc "+$TOOLCHAIN")
else
    CARGO=(cargo)
    RUSTC=(rustc)
fi
if ! "${RUSTC[@]}" --version 2>/dev/null | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    "${NICE[@]}" cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

echo "== building ${TARGETS[*]} (sanitizer: $SANITIZER)"
for t in "${TARGETS[@]}"; do
    "${NICE[@]}" "${CARGO[@]}" fuzz build "${BUILD_FLAGS[@]}" "$t"
done
BIN_DIR=$TARGET_DIR/x86_64-unknown-linux-gnu/release

mkdir -p "$WORK"
summary=$WORK/summary.txt
: > "$summary"
total_runs=0
total_secs=0
failed=0
for t in "${TARGETS[@]}"; do
    corpus=$WORK/corpus/$t
    artifacts=$WORK/artifacts/$t
    log=$WORK/$t.log
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    cp "$ROOT/fuzz/seeds/$t/"* "$corpus/"
    echo "== $t: ${SECONDS_PER_TARGET}s, seed $SEED, corpus $corpus"
    start=$(date +%s)
    set +e
    # detect_leaks=0: the packaged components and the tokio runtime live in a static
    # for the whole process (LeakSanitizer would report them at exit).
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "${NICE[@]}" "$BIN_DIR/$t" "$corpus" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" -seed="$SEED" \
        -timeout="$TIMEOUT" -max_len="$MAX_LEN" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" > "$log" 2>&1
    rc=$?
    set -e
    secs=$(( $(date +%s) - start ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$log" | tail -1 || true)
    crashes=$(find "$artifacts" -type f | wc -l)
    runs=${runs:-0}
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        echo "!! $t failed (exit $rc); reproducers in $artifacts; log $log"
        grep -m1 -A12 -E "panicked|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" || tail -30 "$log"
    fi
    line=$(printf '%-15s %10s executions  %6s exec/s  %5ss  crashes %s  exit %s  peak RSS %s MB  %s' \
        "$t" "$runs" "${per_sec:-?}" "$secs" "$crashes" "$rc" "${rss:-?}" "$cov")
    echo "$line" | tee -a "$summary"
    total_runs=$((total_runs + runs))
    total_secs=$((total_secs + secs))
done
echo "total           $total_runs executions in ${total_secs}s" | tee -a "$summary"

if [ -n "$RESULTS" ]; then
    commit=$(git rev-parse --short HEAD)
    dirty=$(git diff --quiet HEAD -- . && echo "" || echo " (with uncommitted changes)")
    lock_version() {
        awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' \
            "$ROOT/fuzz/Cargo.lock"
    }
    {
        echo "# fuzz/run.sh: the request path inside the packaged component (fuzz/README.md)"
        echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "commit:     $commit$dirty"
        echo "command:    FUZZ_SECONDS=$SECONDS_PER_TARGET FUZZ_SEED=$SEED fuzz/run.sh ${TARGETS[*]}"
        echo "libFuzzer:  -max_total_time=$SECONDS_PER_TARGET -seed=$SEED -rss_limit_mb=$RSS_MB -timeout=$TIMEOUT -max_len=$MAX_LEN"
        echo "toolchain:  $("${RUSTC[@]}" --version)${RUSTC_BOOTSTRAP:+ with RUSTC_BOOTSTRAP=1}"
        echo "cargo-fuzz: $(cargo fuzz --version | awk '{print $2}'), libfuzzer-sys $(lock_version libfuzzer-sys), wasmtime $(lock_version wasmtime), wasmtime-wasi-http $(lock_version wasmtime-wasi-http)"
        echo "build:      sanitizer $SANITIZER and coverage on pipeline, host, serde_json and the fuzz crate only (fuzz/rustc-wrapper.sh), codegen units 16"
        echo "machine:    $(nproc) cores ($(uname -m)), shared, every build and run under nice -n 19"
        echo "bundles:    penguins, breast-cancer (each request picks one)"
        echo
        cat "$summary"
    } > "$RESULTS"
    echo "== wrote $RESULTS"
fi
exit "$failed"
