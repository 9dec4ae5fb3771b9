//! The deployment file (`host serve --config deploy.toml`): which models, which versions
//! of each, their traffic weights, an optional shadow and the canary's guardrails. This
//! module only reads and checks the file; loading the components is `load.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use wasmtime::{Result, bail, format_err};

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployFile {
    #[serde(default)]
    pub model: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: String,
    #[serde(default)]
    pub version: Vec<VersionEntry>,
    #[serde(default)]
    pub canary: Option<CanaryLimits>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionEntry {
    pub version: String,
    /// A packaged component (`.wasm`, `.cwasm`) or a bundle directory, relative to the file.
    pub component: PathBuf,
    /// Share of the model's unpinned traffic (any non-negative integers; only ratios count).
    #[serde(default)]
    pub weight: u32,
    /// Gets a copy of the model's unpinned traffic; its answers are compared, never returned.
    #[serde(default)]
    pub shadow: bool,
}

/// Limits the canaries of a model are held to; a breach sets the canary's weight to 0.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryLimits {
    /// Share of 5xx answers in the window above which the canary is rolled back.
    pub max_error_rate: f64,
    /// 99th percentile of the host-seen latency, in milliseconds, above which it is.
    pub max_p99_ms: f64,
    /// No verdict before the window holds this many of the canary's requests.
    pub min_requests: usize,
    /// Requests in the sliding window (the most recent ones); default 1000, at least
    /// `min_requests`.
    #[serde(default)]
    pub window: Option<usize>,
}

impl CanaryLimits {
    pub fn window(&self) -> usize {
        self.window.unwrap_or(1000).max(self.min_requests)
    }
}

/// At most this many shadows per model: each one costs a full extra inference per request.
pub const MAX_SHADOWS_PER_MODEL: usize = 1;

/// One model as checked: which version is stable, which are canaries.
#[derive(Debug, Clone)]
pub struct ModelPlan {
    pub name: String,
    /// Versions in file order, components resolved against the file's directory.
    pub versions: Vec<VersionEntry>,
    /// Index of the stable version: the non-shadow version with the highest weight (the
    /// first in the file on a tie).
    pub stable: usize,
    pub canary: Option<CanaryLimits>,
}

impl ModelPlan {
    /// Non-shadow versions other than the stable one that get traffic.
    pub fn is_canary(&self, i: usize) -> bool {
        i != self.stable && !self.versions[i].shadow && self.versions[i].weight > 0
    }
}

/// Reads and checks `path`; every problem is reported with the file's name.
pub fn read(path: &Path) -> Result<Vec<ModelPlan>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format_err!("reading the deployment file {}: {e}", path.display()))?;
    let file: DeployFile = toml::from_str(&text)
        .map_err(|e| format_err!("{}: {}", path.display(), e.to_string().trim_end()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    check(file, base).map_err(|e| format_err!("{}: {e}", path.display()))
}

/// The checks of a parsed file; components are made relative to `base`.
pub fn check(file: DeployFile, base: &Path) -> Result<Vec<ModelPlan>> {
    if file.model.is_empty() {
        bail!("no [[model]]: the file must name at least one model");
    }
    let mut names = BTreeSet::new();
    let mut plans = Vec::new();
    for mut m in file.model {
        if !valid_name(&m.name) {
            bail!(
                "model name {:?} is not [a-z0-9][a-z0-9._-]* (the bundle's name rule)",
                m.name
            );
        }
        if !names.insert(m.name.clone()) {
            bail!("model {:?} is listed twice", m.name);
        }
        if m.version.is_empty() {
            bail!("model {:?} has no [[model.version]]", m.name);
        }
        let mut versions = BTreeSet::new();
        for v in &mut m.version {
            if v.version.is_empty() || v.version.len() > 64 || v.version.contains('/') {
                bail!(
                    "model {:?}: version {:?} is not a version",
                    m.name,
                    v.version
                );
            }
            if !versions.insert(v.version.clone()) {
                bail!("model {:?}: version {} is listed twice", m.name, v.version);
            }
            if v.shadow && v.weight > 0 {
                bail!(
                    "model {:?}: version {} is a shadow and has weight {}; a shadow gets a \
                     copy of the traffic, never its own share (weight 0 or no weight)",
                    m.name,
                    v.version,
                    v.weight
                );
            }
            if v.component.is_relative() {
                v.component = base.join(&v.component);
            }
        }
        let shadows = m.version.iter().filter(|v| v.shadow).count();
        if shadows > MAX_SHADOWS_PER_MODEL {
            bail!(
                "model {:?} has {shadows} shadow versions; at most {MAX_SHADOWS_PER_MODEL} \
                 (each one costs a full extra inference per request)",
                m.name
            );
        }
        let total: u64 = m.version.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            bail!(
                "model {:?}: the weights of its non-shadow versions sum to 0; at least one \
                 version must get traffic",
                m.name
            );
        }
        if let Some(c) = &m.canary {
            if !(0.0..=1.0).contains(&c.max_error_rate) {
                bail!(
                    "model {:?}: canary.max_error_rate {} is not in [0, 1]",
                    m.name,
                    c.max_error_rate
                );
            }
            if !(c.max_p99_ms > 0.0 && c.max_p99_ms.is_finite()) {
                bail!(
                    "model {:?}: canary.max_p99_ms {} is not a positive number",
                    m.name,
                    c.max_p99_ms
                );
            }
            if c.min_requests == 0 {
                bail!("model {:?}: canary.min_requests must be at least 1", m.name);
            }
            if c.window() > 100_000 {
                bail!(
                    "model {:?}: canary.window {} is over 100000 requests",
                    m.name,
                    c.window()
                );
            }
        }
        let stable = stable_index(&m.version).expect("a version with weight > 0 exists");
        plans.push(ModelPlan {
            name: m.name,
            versions: m.version,
            stable,
            canary: m.canary,
        });
    }
    Ok(plans)
}

/// The non-shadow version with the highest weight, the first in the file on a tie.
pub fn stable_index(versions: &[VersionEntry]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, v) in versions.iter().enumerate() {
        if v.shadow || v.weight == 0 {
            continue;
        }
        if best.is_none_or(|b| v.weight > versions[b].weight) {
            best = Some(i);
        }
    }
    best
}

/// The manifest's name rule: `[a-z0-9][a-z0-9._-]*`.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'0'..=b'9'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        && name.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ModelPlan>> {
        check(toml::from_str(text)?, Path::new("/deploy"))
    }

    #[test]
    fn the_stable_version_is_the_heaviest_and_components_are_relative_to_the_file() {
        let plans = parse(
            r#"
            [[model]]
            name = "m"
            [[model.version]]
            version = "1.0.0"
            component = "a.wasm"
            weight = 90
            [[model.version]]
            version = "1.1.0"
            component = "/abs/b.wasm"
            weight = 10
            [[model.version]]
            version = "2.0.0"
            component = "c"
            shadow = true
            "#,
        )
        .unwrap();
        assert_eq!(plans[0].stable, 0);
        assert!(plans[0].is_canary(1) && !plans[0].is_canary(2));
        assert_eq!(plans[0].versions[0].component, Path::new("/deploy/a.wasm"));
        assert_eq!(plans[0].versions[1].component, Path::new("/abs/b.wasm"));
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let v = |extra: &str| {
            format!(
                "[[model]]\nname = \"m\"\n[[model.version]]\nversion = \"1\"\ncomponent = \"a\"\n{extra}"
            )
        };
        let err = |t: &str| format!("{:#}", parse(t).unwrap_err());
        assert!(err(&v("weight = 0")).contains("sum to 0"));
        assert!(err(&v("weight = 1\nshadow = true")).contains("is a shadow"));
        assert!(err(&v("weight = 1\nbogus = 1")).contains("bogus"));
        assert!(err("").contains("at least one model"));
        let twice = format!(
            "{}\n[[model.version]]\nversion = \"1\"\ncomponent = \"b\"",
            v("weight = 1")
        );
        assert!(err(&twice).contains("listed twice"));
        let canary = format!(
            "{}\n[model.canary]\nmax_error_rate = 2\nmax_p99_ms = 5\nmin_requests = 10",
            v("weight = 1")
        );
        assert!(err(&canary).contains("max_error_rate"));
    }
}
