//! From a checked deployment file to a running `Deployment`: each version's component
//! loaded (a bundle directory is packaged and verified, through the cache), its metadata
//! checked against the file, its telemetry made. A version whose component did not change
//! since the running deployment (same path, same SHA-256) keeps its runtime and metrics.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

use super::config::ModelPlan;
use super::{Deployment, Model, Version};
use crate::cache::hex;
use crate::engine::PoolLimits;
use crate::runtime::{self, Runtime};
use crate::telemetry::{DriftConfig, Telemetry};

/// How every version is loaded (the same for the first load and every reload).
#[derive(Clone)]
pub struct Loader {
    pub pool: PoolLimits,
    /// Environment of every instance (`ServeLimits::guest_env`, raw-input logging).
    pub env: Vec<(String, String)>,
    pub drift: DriftConfig,
    /// The model-less guest bundles are packaged into (`None`: the one for each
    /// bundle's kind, `guests::for_bundle`).
    pub guest: Option<PathBuf>,
}

impl Loader {
    /// Loads every version of `plans`, reusing the unchanged ones of `running`.
    pub async fn load(
        &self,
        plans: &[ModelPlan],
        running: Option<&Deployment>,
    ) -> Result<Deployment> {
        let mut models = Vec::with_capacity(plans.len());
        for plan in plans {
            let mut versions = Vec::with_capacity(plan.versions.len());
            for entry in &plan.versions {
                let what = format!("model {} version {}", plan.name, entry.version);
                let (runtime, telemetry, identity) = self
                    .version(&plan.name, &entry.version, &entry.component, running)
                    .await
                    .with_context(|| what.clone())?;
                versions.push(Arc::new(Version::new(
                    &plan.name,
                    &entry.version,
                    runtime,
                    telemetry,
                    entry.weight,
                    entry.shadow,
                    plan.canary.as_ref(),
                    identity,
                )));
            }
            models.push(Model {
                name: plan.name.clone(),
                versions,
                stable: plan.stable,
                canary: plan.canary,
            });
        }
        Ok(Deployment { models })
    }

    async fn version(
        &self,
        model: &str,
        version: &str,
        component: &Path,
        running: Option<&Deployment>,
    ) -> Result<(Arc<Runtime>, Arc<Telemetry>, String)> {
        let identity = identity(component)?;
        if let Some(v) = running
            .into_iter()
            .flat_map(|d| d.versions())
            .find(|v| v.model == model && v.version == version && v.identity == identity)
        {
            return Ok((v.runtime.clone(), v.telemetry.clone(), identity));
        }
        let mut runtime = self.runtime(component).await?;
        runtime.set_env(self.env.clone());
        // A component with the typed interface says what it is; one without (HTTP only)
        // cannot be checked and is taken under the file's names.
        let metadata = match runtime.metadata().await {
            Ok(meta) => {
                if meta.name != model || meta.version != version {
                    bail!(
                        "{} is model {} version {}, not what the file says ({model} {version})",
                        component.display(),
                        meta.name,
                        meta.version
                    );
                }
                Some(meta.metadata_json)
            }
            Err(e) => {
                tracing::warn!(component = %component.display(), error = %e, "no model metadata: serving it unchecked under the file's name and version");
                None
            }
        };
        let telemetry = Telemetry::for_version(metadata.as_deref(), model, version, self.drift)?;
        runtime::start_epoch_ticker(runtime.engine());
        Ok((Arc::new(runtime), Arc::new(telemetry), identity))
    }

    async fn runtime(&self, component: &Path) -> Result<Runtime> {
        if !component.is_dir() {
            return Runtime::load(component, self.pool).await;
        }
        let guest = self
            .guest
            .clone()
            .unwrap_or_else(|| crate::guests::for_bundle(component).into());
        let guest = std::fs::read(&guest)
            .with_context(|| format!("reading the guest {}", guest.display()))?;
        let t = std::time::Instant::now();
        let packaged = crate::package::package_dir(&guest, component, self.pool).await?;
        tracing::info!(bundle = %component.display(), ms = t.elapsed().as_millis() as u64, cached = packaged.verdict.is_none(), "packaged and verified");
        Ok(packaged.runtime)
    }
}

/// The component's path and the SHA-256 of its bytes (of every file, for a directory).
fn identity(component: &Path) -> Result<String> {
    let mut h = Sha256::new();
    if component.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(component)
            .with_context(|| format!("reading {}", component.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for p in names {
            h.update(p.file_name().unwrap_or_default().as_encoded_bytes());
            h.update(std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?);
        }
    } else {
        h.update(
            std::fs::read(component).with_context(|| format!("reading {}", component.display()))?,
        );
    }
    Ok(format!("{}@{}", component.display(), hex(&h.finalize())))
}
