//! Which model and version a request goes to, and the path the guest sees.
//!
//! The guest only knows its own routes (`/predict`, `/v2/...`, `/health`, `/metadata`,
//! `/openapi.json`); the host's `/models/{name}[/versions/{v}]/...` prefix is stripped.
//! V2 paths already name the model (and maybe the version) and reach the guest unchanged:
//! the deployment file's names match the components' own, checked at load.
//!
//! Unpinned predictions are split by weight with weighted rendezvous hashing: each
//! version scores `w / -ln(u)` with `u` a hash of (key, version) in (0, 1), the highest
//! wins. The chance of a version is its weight's share, a given `x-routing-key` always
//! lands on the same version, and changing one weight only moves the keys that must move.
//! A request without a key gets a random one.

/// How the version is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<'a> {
    /// By weight (predictions); these are the requests a shadow gets a copy of.
    Weighted,
    /// The model's stable version (metadata, health, OpenAPI of an unpinned path).
    Stable,
    /// That version (`/versions/{v}/`).
    Pinned(&'a str),
}

/// Where a request goes, before the deployment is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// `None`: the deployment's first model (the single-model paths `/predict`, `/v2/...`).
    pub model: Option<&'a str>,
    pub choice: Choice<'a>,
    /// The path the guest gets (without the query).
    pub guest_path: String,
    /// An answer about this route is a V2 one (`{"error": "message"}`).
    pub v2: bool,
}

/// Reads `path` (without the query).
pub fn route(path: &str) -> Route<'_> {
    if let Some(rest) = path.strip_prefix("/models/") {
        let (model, rest) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some(pinned) = rest.strip_prefix("versions/") {
            let (version, tail) = pinned.split_once('/').unwrap_or((pinned, ""));
            return Route {
                model: Some(model),
                choice: Choice::Pinned(version),
                guest_path: format!("/{tail}"),
                v2: false,
            };
        }
        let choice = if rest == "predict" {
            Choice::Weighted
        } else {
            Choice::Stable
        };
        return Route {
            model: Some(model),
            choice,
            guest_path: format!("/{rest}"),
            v2: false,
        };
    }
    if let Some(rest) = path.strip_prefix("/v2/models/") {
        let (model, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let choice = match rest.strip_prefix("versions/") {
            Some(pinned) => Choice::Pinned(pinned.split_once('/').map_or(pinned, |(v, _)| v)),
            None if rest == "infer" => Choice::Weighted,
            None => Choice::Stable,
        };
        return Route {
            model: Some(model),
            choice,
            guest_path: path.to_string(),
            v2: true,
        };
    }
    Route {
        model: None,
        choice: if path == "/predict" {
            Choice::Weighted
        } else {
            Choice::Stable
        },
        guest_path: path.to_string(),
        v2: path == "/v2" || path.starts_with("/v2/"),
    }
}

/// The index of the version `key` lands on among `(version, weight)`; `None` when every
/// weight is 0.
pub fn pick<'a>(key: u64, versions: impl Iterator<Item = (&'a str, u32)>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (version, weight)) in versions.enumerate() {
        if weight == 0 {
            continue;
        }
        let h = mix(key ^ fnv1a(version.as_bytes()));
        // 53 random bits, strictly inside (0, 1).
        let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let score = f64::from(weight) / -u.ln();
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

/// A routing key's hash (stable across runs and builds: a user stays on their version
/// over restarts too).
pub fn key_hash(key: &[u8]) -> u64 {
    mix(fnv1a(key))
}

/// A fresh random key for a request without `x-routing-key`.
pub fn random_key() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    mix(seed.wrapping_add(NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// splitmix64's finaliser: every input bit moves every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_rewritten_to_the_guests_own() {
        let r = route("/models/bc/predict");
        assert_eq!(
            (r.model, r.choice, r.guest_path.as_str()),
            (Some("bc"), Choice::Weighted, "/predict")
        );
        let r = route("/models/bc/versions/1.1.0/predict");
        assert_eq!(
            (r.model, r.choice, r.guest_path.as_str()),
            (Some("bc"), Choice::Pinned("1.1.0"), "/predict")
        );
        let r = route("/models/bc/versions/1.1.0/metadata");
        assert_eq!(r.guest_path, "/metadata");
        let r = route("/v2/models/bc/versions/2.0.0/infer");
        assert_eq!(
            (r.model, r.choice, r.v2),
            (Some("bc"), Choice::Pinned("2.0.0"), true)
        );
        assert_eq!(r.guest_path, "/v2/models/bc/versions/2.0.0/infer");
        assert_eq!(route("/v2/models/bc/infer").choice, Choice::Weighted);
        assert_eq!(route("/v2/models/bc/ready").choice, Choice::Stable);
        let r = route("/predict");
        assert_eq!((r.model, r.choice), (None, Choice::Weighted));
        assert_eq!(route("/metadata").choice, Choice::Stable);
    }

    #[test]
    fn weights_split_traffic_and_keys_stick() {
        let versions = [("1.0.0", 90), ("1.1.0", 10), ("2.0.0", 0)];
        let n = 100_000;
        let mut counts = [0usize; 3];
        for k in 0..n as u64 {
            counts[pick(key_hash(&k.to_le_bytes()), versions.iter().copied()).unwrap()] += 1;
        }
        // Binomial(100000, 0.1): sd ~95; 5 sd.
        assert!((counts[1] as i64 - 10_000).abs() < 500, "{counts:?}");
        assert_eq!(counts[2], 0);
        let k = key_hash(b"user-42");
        let first = pick(k, versions.iter().copied());
        assert!((0..100).all(|_| pick(k, versions.iter().copied()) == first));
        assert_eq!(pick(1, [("a", 0)].into_iter()), None);
    }
}
