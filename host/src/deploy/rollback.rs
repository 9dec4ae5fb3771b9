//! `host rollback --config deploy.toml MODEL`: the model's traffic back to its previous
//! stable version, written into the deployment file (comments and layout kept, with
//! `toml_edit`), then the running server told to reload.
//!
//! "Previous stable" is read from the file alone, so the rule needs no history: the
//! versions are semantic versions, and the *current* one is the newest non-shadow version
//! that gets traffic. The previous stable version is, among the non-shadow versions older
//! than it, the one with the highest weight (the newest of them on a tie). It gets weight
//! 100 and every other non-shadow version 0; shadows are left alone. With a canary at 10%
//! that is "back to the version with 90%"; after a promotion that left the old version in
//! the file at weight 0, it is that old version. A second rollback goes one version further
//! back, and fails when nothing older is listed.

use std::cmp::Ordering;
use std::path::Path;

use toml_edit::{DocumentMut, Item, Value};
use wasmtime::{Result, bail, format_err};

/// What a rollback changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub model: String,
    /// The newest version that had traffic.
    pub from: String,
    /// The version that now gets it all.
    pub to: String,
}

/// Rewrites `path` so `model`'s traffic goes to its previous stable version, and checks
/// the result is still a valid deployment file before writing it.
pub fn rollback_file(path: &Path, model: &str) -> Result<RolledBack> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format_err!("reading {}: {e}", path.display()))?;
    let (edited, done) = rollback_text(&text, model)?;
    let base = path.parent().unwrap_or(Path::new("."));
    super::config::check(toml::from_str(&edited)?, base)
        .map_err(|e| format_err!("the rolled-back file would not load: {e:#}"))?;
    crate::cache::write_atomically(path, edited.as_bytes())?;
    Ok(done)
}

/// The edit itself, on the file's text.
pub fn rollback_text(text: &str, model: &str) -> Result<(String, RolledBack)> {
    let mut doc: DocumentMut = text.parse()?;
    let models = doc
        .get_mut("model")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| format_err!("the file has no [[model]]"))?;
    let Some(table) = models
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(model))
    else {
        bail!("the file has no model {model:?}");
    };
    let versions = table
        .get_mut("version")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| format_err!("model {model:?} has no [[model.version]]"))?;
    // (index, version, weight) of the non-shadow versions.
    let candidates: Vec<(usize, String, i64)> = versions
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.get("shadow").and_then(Item::as_bool).unwrap_or(false))
        .filter_map(|(i, v)| {
            let version = v.get("version")?.as_str()?.to_string();
            let weight = v.get("weight").and_then(Item::as_integer).unwrap_or(0);
            Some((i, version, weight))
        })
        .collect();
    let current = candidates
        .iter()
        .filter(|(_, _, w)| *w > 0)
        .max_by(|a, b| compare_versions(&a.1, &b.1))
        .ok_or_else(|| format_err!("model {model:?} has no version with traffic"))?
        .clone();
    let target = candidates
        .iter()
        .filter(|(_, v, _)| compare_versions(v, &current.1) == Ordering::Less)
        .max_by(|a, b| a.2.cmp(&b.2).then_with(|| compare_versions(&a.1, &b.1)))
        .ok_or_else(|| {
            format_err!(
                "model {model:?}: no version older than {} is listed; nothing to roll back to",
                current.1
            )
        })?
        .clone();
    for (i, _, weight) in &candidates {
        let new = if *i == target.0 { 100 } else { 0 };
        if *weight == new && versions.get(*i).is_some_and(|t| t.contains_key("weight")) {
            continue;
        }
        if new == 0 && *weight == 0 {
            continue;
        }
        let t = versions.get_mut(*i).expect("indexed above");
        set_keeping_comments(t, "weight", new);
    }
    Ok((
        doc.to_string(),
        RolledBack {
            model: model.to_string(),
            from: current.1,
            to: target.1,
        },
    ))
}

/// Sets `key` to `value`, keeping the comment and spacing around the old value.
fn set_keeping_comments(table: &mut toml_edit::Table, key: &str, value: i64) {
    let mut new = Value::from(value);
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(key, Item::Value(new));
}

/// Semantic-version order (`1.10.0` after `1.9.0`; a pre-release before its release);
/// anything else compares as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> Option<(Vec<u64>, Option<&str>)> {
        let (core, pre) = match v.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (v.split('+').next().unwrap_or(v), None),
        };
        let numbers = core
            .split('.')
            .map(|n| n.parse().ok())
            .collect::<Option<Vec<u64>>>()?;
        Some((numbers, pre))
    }
    match (parse(a), parse(b)) {
        (Some((na, pa)), Some((nb, pb))) => na.cmp(&nb).then_with(|| match (pa, pb) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        }),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# our deployment
[[model]]
name = "bc"

[[model.version]]
version = "1.0.0"
component = "a.wasm"
weight = 90   # stable

[[model.version]]
version = "1.1.0"
component = "b.wasm"
weight = 10   # canary

[[model.version]]
version = "2.0.0"
component = "c.wasm"
shadow = true
"#;

    #[test]
    fn a_canary_is_rolled_back_to_the_stable_version_with_comments_kept() {
        let (out, done) = rollback_text(FILE, "bc").unwrap();
        assert_eq!((done.from.as_str(), done.to.as_str()), ("1.1.0", "1.0.0"));
        assert!(out.contains("weight = 100   # stable"), "{out}");
        assert!(out.contains("weight = 0   # canary"), "{out}");
        assert!(out.starts_with("# our deployment"));
        assert!(out.contains("shadow = true"));
        // Nothing older than 1.0.0: a second rollback is refused.
        let err = rollback_text(&out, "bc").unwrap_err().to_string();
        assert!(err.contains("nothing to roll back to"), "{err}");
    }

    #[test]
    fn after_a_promotion_the_older_version_comes_back() {
        let promoted = FILE
            .replace("weight = 90", "weight = 0")
            .replace("weight = 10", "weight = 100");
        let (_, done) = rollback_text(&promoted, "bc").unwrap();
        assert_eq!(done.to, "1.0.0");
        assert!(rollback_text(FILE, "other").is_err());
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("2.0.0-rc1", "2.0.0"), Ordering::Less);
    }
}
