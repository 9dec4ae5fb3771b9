//! A loaded component, pre-instantiated (`InstancePre`) once; every call and every HTTP
//! request then gets a fresh instance in a fresh `Store`, as under Spin.

use std::path::Path;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::component::{self, Loaded};
use crate::engine::{self, PoolLimits};
use crate::package::{self, BundleInfo};
use crate::state::InstanceState;
use crate::typed::{
    Feature, FeatureValue, InferenceFunction, InferenceFunctionPre, ModelInfo, PredictError,
    Prediction, RowPredictions,
};

pub struct Runtime {
    engine: Engine,
    component: Component,
    proxy: ProxyPre<InstanceState>,
    /// The same, from a second copy of the component, for requests with large bodies
    /// (`proxy_pre_for`); `None` for components too large to keep twice.
    large_bodies: Option<ProxyPre<InstanceState>>,
    /// `None` for a component without the typed export (HTTP only).
    typed: Option<InferenceFunctionPre<InstanceState>>,
    /// How the component was loaded and how long that took.
    pub loaded: Loaded,
    /// The bundle a packaged `.wasm` carries (its `mlfn-bundle` section).
    pub bundle: Option<BundleInfo>,
    pub load_time: Duration,
    memory_cap: usize,
    /// Every instance's environment: `instance_env` of what the operator passes.
    env: Vec<(String, String)>,
}

impl Runtime {
    /// Engine + component (from `.wasm` via the compile cache, or `.cwasm`) + linker
    /// with WASI and wasi:http + `InstancePre`.
    pub async fn load(path: &Path, limits: PoolLimits) -> Result<Self> {
        let engine = engine::engine(limits)?;
        Self::load_with(engine, limits.max_memory_bytes, path).await
    }

    /// With an engine of the caller's (benchmarks compare engine configurations).
    pub async fn load_with(engine: Engine, memory_cap: usize, path: &Path) -> Result<Self> {
        let t = Instant::now();
        let (component, loaded) = component::load(&engine, path)?;
        let bundle = if loaded == Loaded::Precompiled {
            None
        } else {
            std::fs::read(path)
                .ok()
                .and_then(|b| package::bundle_info(&b))
        };
        let size = std::fs::metadata(path).map_or(usize::MAX, |m| m.len() as usize);
        Self::assemble(
            engine,
            memory_cap,
            component,
            size,
            loaded,
            t.elapsed(),
            bundle,
        )
    }

    /// A component given as `.wasm` bytes (a package made a moment ago).
    pub async fn from_wasm(wasm: &[u8], limits: PoolLimits) -> Result<Self> {
        let engine = engine::engine(limits)?;
        let t = Instant::now();
        let (component, loaded) = component::load_wasm(&engine, wasm)?;
        let bundle = package::bundle_info(wasm);
        Self::assemble(
            engine,
            limits.max_memory_bytes,
            component,
            wasm.len(),
            loaded,
            t.elapsed(),
            bundle,
        )
    }

    fn assemble(
        engine: Engine,
        memory_cap: usize,
        component: Component,
        component_bytes: usize,
        loaded: Loaded,
        load_time: Duration,
        bundle: Option<BundleInfo>,
    ) -> Result<Self> {
        let mut linker = Linker::<InstanceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = linker.instantiate_pre(&component)?;
        let proxy = ProxyPre::new(pre.clone())?;
        let typed = InferenceFunctionPre::new(pre).ok();
        let large_bodies = if component_bytes <= SECOND_COPY_UP_TO {
            // SAFETY: the bytes are what `serialize` made of a component of this engine.
            let copy = unsafe { Component::deserialize(&engine, component.serialize()?)? };
            Some(ProxyPre::new(linker.instantiate_pre(&copy)?)?)
        } else {
            None
        };
        Ok(Runtime {
            engine,
            component,
            proxy,
            large_bodies,
            typed,
            loaded,
            bundle,
            load_time,
            memory_cap,
            env: instance_env(Vec::new()),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn component(&self) -> &Component {
        &self.component
    }

    pub fn proxy_pre(&self) -> &ProxyPre<InstanceState> {
        &self.proxy
    }

    /// What a request with a body of `body_bytes` is instantiated from. Bodies of
    /// `LARGE_BODY_BYTES` or more get the component's second copy: the pool keeps each
    /// slot's memory affine to the module that last used it, so large requests land in
    /// slots of their own. Why: a slot's reset copies back every page any of its
    /// instances touched since the slot was last decommitted (wasmtime's PAGEMAP_SCAN
    /// without userfaultfd write-protection counts every present private page as
    /// written), so one batch of 256 rows made every later small request in that slot
    /// copy 122-185 pages back instead of 21-25 (`bench/slot_pages.sh`), and, after
    /// 48 such batches, small requests at c=8 took 4-26% more of the server's CPU
    /// (`bench/mixed_traffic.sh`).
    pub fn proxy_pre_for(&self, body_bytes: usize) -> &ProxyPre<InstanceState> {
        match &self.large_bodies {
            Some(pre) if body_bytes >= LARGE_BODY_BYTES => pre,
            _ => &self.proxy,
        }
    }

    /// A fresh store with the memory limiter installed; stderr to the host's.
    pub fn new_store(&self) -> Store<InstanceState> {
        self.new_store_with(None)
    }

    /// A fresh store whose stderr goes to `stderr`.
    pub fn new_store_with(&self, stderr: Option<MemoryOutputPipe>) -> Store<InstanceState> {
        let mut store = Store::new(
            &self.engine,
            InstanceState::new(self.memory_cap, stderr, &self.env),
        );
        store.limiter(|s| &mut s.limiter);
        // The engine interrupts on epochs; a store without a deadline would trap at once.
        // Callers with a deadline (the server) set their own.
        store.set_epoch_deadline(NO_DEADLINE);
        store
    }

    /// Environment variables every instance gets: the operator's, and `MLFN_WASM_GEMM`.
    pub fn set_env(&mut self, env: Vec<(String, String)>) {
        self.env = instance_env(env);
    }

    fn typed(&self) -> Result<&InferenceFunctionPre<InstanceState>> {
        self.typed.as_ref().ok_or_else(|| {
            wasmtime::format_err!("the component does not export `mlfn:inference/model`")
        })
    }

    /// A fresh instance of the typed world in `store`.
    pub async fn instantiate_typed(
        &self,
        store: &mut Store<InstanceState>,
    ) -> Result<InferenceFunction> {
        self.typed()?.instantiate_async(store).await
    }

    /// Names of everything the component imports (interfaces, as `wasi:io/streams@0.2.6`).
    pub fn imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// Typed predict in a fresh instance.
    pub async fn predict(
        &self,
        instances: &[Vec<Feature>],
    ) -> Result<Result<Vec<Prediction>, PredictError>> {
        let mut store = self.new_store();
        let f = self.typed()?.instantiate_async(&mut store).await?;
        f.mlfn_inference_model()
            .call_predict(&mut store, instances)
            .await
    }

    /// Typed columnar predict (`predict-table`) in a fresh instance.
    pub async fn predict_table(
        &self,
        columns: &[String],
        values: &[FeatureValue],
    ) -> Result<Result<Vec<Prediction>, PredictError>> {
        let mut store = self.new_store();
        let f = self.typed()?.instantiate_async(&mut store).await?;
        f.mlfn_inference_model()
            .call_predict_table(&mut store, columns, values)
            .await
    }

    /// Typed dense predict (`predict-rows`) in a fresh instance.
    pub async fn predict_rows(
        &self,
        values: &[f64],
    ) -> Result<Result<RowPredictions, PredictError>> {
        let mut store = self.new_store();
        let f = self.typed()?.instantiate_async(&mut store).await?;
        f.mlfn_inference_model()
            .call_predict_rows(&mut store, values)
            .await
    }

    /// The embedded model's metadata, from a fresh instance.
    pub async fn metadata(&self) -> Result<ModelInfo> {
        let mut store = self.new_store();
        let f = self.typed()?.instantiate_async(&mut store).await?;
        f.mlfn_inference_model().call_metadata(&mut store).await
    }
}

/// Request bodies from this size on are instantiated from the component's second copy
/// (`Runtime::proxy_pre_for`): a breast-cancer batch of about 40 rows; one row is ~700
/// bytes.
pub const LARGE_BODY_BYTES: usize = 16 << 10;

/// Components up to this size get the second copy. Each copy has its own memory image,
/// so a copy costs the component's size again; a network's requests touch so much memory
/// that every slot it uses is large anyway.
const SECOND_COPY_UP_TO: usize = 16 << 20;

/// Epoch ticks far enough ahead never to arrive.
const NO_DEADLINE: u64 = 1 << 40;
/// One epoch tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Starts (once per engine) the thread that advances `engine`'s epoch every
/// `EPOCH_TICK`, which is what makes deadlines fire. The thread holds the engine weakly
/// and ends when the engine is dropped, so short-lived engines (packaging, tests) free
/// their pooled memory reservations.
pub fn start_epoch_ticker(engine: &Engine) {
    static TICKING: std::sync::Mutex<Vec<wasmtime::EngineWeak>> = std::sync::Mutex::new(Vec::new());
    let mut ticking = TICKING.lock().unwrap();
    ticking.retain(|w| w.upgrade().is_some());
    if ticking
        .iter()
        .any(|w| w.upgrade().is_some_and(|e| Engine::same(&e, engine)))
    {
        return;
    }
    let weak = engine.weak();
    ticking.push(engine.weak());
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// The operator's variables, and `MLFN_WASM_GEMM=fitted` unless they set it: this host's
/// compiler (vendor/) keeps a loop's vector registers across epoch checks, where the
/// guest's register-fitted GEMM kernel beats tract's (wasm-kernel/src/lib.rs). Other
/// runtimes do not set it, and the guest then runs tract's kernel; both give the same bits.
fn instance_env(mut operator: Vec<(String, String)>) -> Vec<(String, String)> {
    if !operator.iter().any(|(k, _)| k == wasm_kernel::ENV_VAR) {
        operator.push((wasm_kernel::ENV_VAR.into(), wasm_kernel::FITTED.into()));
    }
    operator
}
