//! The wasmtime `Engine` every command shares: component model, pooling instance
//! allocator (with copy-on-write memory images, wasmtime's default) so a fresh instance
//! per request is cheap, as in Spin.

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Result,
};

/// Limits of the pooling allocator. One slot serves one live instance.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    /// Instances alive at once (= requests in flight).
    pub instances: u32,
    /// Largest linear memory one instance may grow to.
    pub max_memory_bytes: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits {
            instances: 64,
            max_memory_bytes: 256 << 20,
        }
    }
}

/// What our build of wasmtime's Cranelift glue changes (vendor/wasmtime-internal-cranelift,
/// `[patch.crates-io]` in Cargo.toml): the epoch check at loop back edges calls
/// `new_epoch` without clobbering registers. wasmtime's compatibility hash cannot tell
/// this build from the stock 48.0.8, so the compile cache's keys include this name: code
/// compiled before the patch is compiled again, not reused.
pub const COMPILER_PATCH: &str = "epoch-check-preserves-registers";

/// How much of a freed instance's memory and tables the pool keeps mapped.
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// The production engine: pooling allocator with copy-on-write memory images.
pub fn engine(limits: PoolLimits) -> Result<Engine> {
    engine_with(limits, Allocator::Pooling, true)
}

/// Instance allocation strategy (a knob `bench` measures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Allocator {
    Pooling,
    OnDemand,
}

/// An engine with the knobs `bench` compares: allocator, and copy-on-write memory images
/// (`memory_init_cow`) for initialising linear memory from the component's data.
pub fn engine_with(limits: PoolLimits, allocator: Allocator, cow: bool) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(limits.instances)
        // A Rust wasip2 component is a few core instances (the program and wasi shims),
        // each with at most one memory and a table or two.
        .total_core_instances(limits.instances * 8)
        .total_memories(limits.instances * 2)
        .total_tables(limits.instances * 8)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_core_instances_per_component(8)
        .max_memory_size(limits.max_memory_bytes)
        // tract's trait objects make a large indirect-call table.
        .table_elements(1 << 16)
        // Reset a freed slot by writing over it rather than by madvise: an instance
        // touches ~2 MiB, and concurrent madvise calls contend on the process's mmap
        // lock (measured: c=8 throughput fell below c=1 without this).
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        // ... and only the pages the slot's instances touched since they were last
        // decommitted (Linux ≥ 6.7's PAGEMAP_SCAN; else the whole kept range). Without
        // userfaultfd write-protection every present private page counts as written, so
        // the set only grows: after one batch of 256 rows, every later request in that
        // slot copied 122-185 pages back instead of 21-25. Hence large requests get
        // slots of their own (runtime::Runtime::proxy_pre_for).
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config.wasm_component_model(true);
    with_function_cache(&mut config)?;
    config.memory_init_cow(cow);
    // Per-request deadlines (see runtime::start_epoch_ticker).
    config.epoch_interruption(true);
    // `MLFN_PROFILE=perfmap`: name the compiled wasm functions for `perf` (/tmp/perf-PID.map;
    // the guest's own names need a build that keeps its name section).
    if std::env::var("MLFN_PROFILE").as_deref() == Ok("perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if allocator == Allocator::Pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config)
}

/// Compiled functions are reused across components through the private cache
/// (cache::FunctionCache), when there is one.
pub fn with_function_cache(config: &mut Config) -> Result<()> {
    if let Some(store) = crate::cache::FunctionCache::open() {
        config.enable_incremental_compilation(store)?;
    }
    Ok(())
}
