//! Several models and versions behind one server: the running set (`Deployment`), read
//! from a deployment file (`config`), loaded (`load`), routed by weight, routing key or
//! pin (`router`), mirrored to a shadow (`shadow`), guarded by canary limits
//! (`guardrail`), swapped whole on SIGHUP or `POST /admin/reload` (`reload`), and rolled
//! back by editing the file (`rollback`). `host serve X` is the deployment with one model
//! and one version.
//!
//! A request takes the deployment as it is when the request starts (an `Arc`): a reload
//! swaps in a new one, and requests already running finish on the version they began on.

pub mod config;
pub mod guardrail;
pub mod load;
pub mod metrics;
pub mod reload;
pub mod rollback;
pub mod router;
pub mod shadow;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::runtime::Runtime;
use crate::telemetry::Telemetry;
use config::CanaryLimits;
use guardrail::Window;
use router::Choice;

/// One version of a model, loaded.
pub struct Version {
    pub model: String,
    pub version: String,
    pub runtime: Arc<Runtime>,
    /// Its own metrics and drift window (series labelled with `model` and `version`).
    pub telemetry: Arc<Telemetry>,
    /// The weight the file gives it.
    pub configured_weight: u32,
    /// The weight the router uses: the file's, or 0 once the guardrail rolled it back.
    weight: AtomicU32,
    pub shadow: bool,
    /// Recent requests, kept when the model has canary limits.
    pub window: Option<Window>,
    /// What was loaded (the component's path and SHA-256), so a reload that does not
    /// change a version keeps its runtime and its metrics.
    pub identity: String,
}

impl Version {
    // Each argument is one of the file's fields or one loaded part; a builder would only
    // rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: &str,
        version: &str,
        runtime: Arc<Runtime>,
        telemetry: Arc<Telemetry>,
        weight: u32,
        shadow: bool,
        canary: Option<&CanaryLimits>,
        identity: String,
    ) -> Self {
        Version {
            model: model.to_string(),
            version: version.to_string(),
            runtime,
            telemetry,
            configured_weight: weight,
            weight: AtomicU32::new(weight),
            shadow,
            window: canary.map(|c| Window::new(c.window())),
            identity,
        }
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// Sets the weight to 0; true only for the call that did it (a breach is reported once).
    pub fn withdraw(&self) -> bool {
        self.weight.swap(0, Ordering::Relaxed) != 0
    }
}

/// One model's versions.
pub struct Model {
    pub name: String,
    /// In the file's order.
    pub versions: Vec<Arc<Version>>,
    /// The version unpinned metadata/health/OpenAPI requests reach, and the one a canary
    /// is compared with (config::stable_index).
    pub stable: usize,
    pub canary: Option<CanaryLimits>,
}

/// Why a route found no version.
#[derive(Debug)]
pub enum Missing {
    Model,
    Version,
}

impl Model {
    /// The version `choice` picks; `routing_key` makes a weighted choice sticky.
    pub fn choose(&self, choice: Choice<'_>, routing_key: Option<&[u8]>) -> Option<&Arc<Version>> {
        match choice {
            Choice::Pinned(v) => self.versions.iter().find(|x| x.version == v),
            Choice::Stable => Some(&self.versions[self.stable]),
            Choice::Weighted => {
                let key = routing_key.map_or_else(router::random_key, router::key_hash);
                let weighted = self
                    .versions
                    .iter()
                    .map(|v| (v.version.as_str(), if v.shadow { 0 } else { v.weight() }));
                // Every weight at 0 cannot happen from a file (checked), and the guardrail
                // never withdraws the stable version: still, fall back to it.
                Some(&self.versions[router::pick(key, weighted).unwrap_or(self.stable)])
            }
        }
    }

    pub fn shadow(&self) -> Option<&Arc<Version>> {
        self.versions.iter().find(|v| v.shadow)
    }

    pub fn stable(&self) -> &Arc<Version> {
        &self.versions[self.stable]
    }

    /// A non-shadow version other than the stable one, with traffic from the file.
    pub fn is_canary(&self, v: &Arc<Version>) -> bool {
        !v.shadow && v.configured_weight > 0 && !Arc::ptr_eq(v, self.stable())
    }

    pub fn version_names(&self) -> Vec<&str> {
        self.versions.iter().map(|v| v.version.as_str()).collect()
    }
}

/// The running set: every model and version, as one value swapped whole on reload.
pub struct Deployment {
    /// The first model is the one the single-model paths (`/predict`, `/v2/...`) reach.
    pub models: Vec<Model>,
}

impl Deployment {
    /// One model, one version (`host serve X`).
    pub fn single(version: Version) -> Self {
        Deployment {
            models: vec![Model {
                name: version.model.clone(),
                versions: vec![Arc::new(version)],
                stable: 0,
                canary: None,
            }],
        }
    }

    /// The model `name` names, or the first one.
    pub fn model(&self, name: Option<&str>) -> Option<&Model> {
        match name {
            None => self.models.first(),
            Some(n) => self.models.iter().find(|m| m.name == n),
        }
    }

    /// The version host-level answers (413, 503) are counted under.
    pub fn default_version(&self) -> &Arc<Version> {
        self.models[0].stable()
    }

    pub fn is_single(&self) -> bool {
        self.models.len() == 1 && self.models[0].versions.len() == 1
    }

    pub fn versions(&self) -> impl Iterator<Item = &Arc<Version>> {
        self.models.iter().flat_map(|m| m.versions.iter())
    }

    pub fn model_names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    /// What is running, for logs and the reload answer.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!(
            self.models
                .iter()
                .map(|m| serde_json::json!({
                    "name": m.name,
                    "stable": m.stable().version,
                    "versions": m.versions.iter().map(|v| serde_json::json!({
                        "version": v.version, "weight": v.weight(), "shadow": v.shadow,
                    })).collect::<Vec<_>>(),
                }))
                .collect::<Vec<_>>()
        )
    }
}
