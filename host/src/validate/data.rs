//! Labelled data for the gate: a CSV file (header row, RFC 4180 quoting) with the model's
//! feature columns and the true target, read into request instances and truths by the
//! types the model's metadata gives its features.

use std::path::Path;

use serde_json::{Map, Value};
use wasmtime::{Result, bail, format_err};

/// A feature as the metadata describes it.
pub struct FeatureColumn {
    pub name: String,
    /// `number`, `integer` or `category`.
    pub kind: String,
}

/// Rows as `/predict` instances, and the target column's values as written.
pub struct Labelled {
    pub instances: Vec<Map<String, Value>>,
    pub truth: Vec<String>,
    pub target: String,
}

/// Rows beyond this are refused: the gate runs every row through the component.
pub const MAX_ROWS: usize = 100_000;

pub fn read_csv(path: &Path, features: &[FeatureColumn], target: Option<&str>) -> Result<Labelled> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format_err!("reading {}: {e}", path.display()))?;
    let mut records = parse(&text).map_err(|e| format_err!("{}: {e}", path.display()))?;
    if records.is_empty() {
        bail!("{} is empty", path.display());
    }
    let header = records.remove(0);
    let column = |name: &str| header.iter().position(|h| h == name);
    let target = match target {
        Some(t) => t.to_string(),
        None => {
            let extra: Vec<&String> = header
                .iter()
                .filter(|h| !features.iter().any(|f| &f.name == *h))
                .collect();
            match extra.as_slice() {
                [one] => (*one).clone(),
                _ => bail!(
                    "{}: cannot tell the target column among {extra:?}; name it with --target",
                    path.display()
                ),
            }
        }
    };
    let target_col = column(&target)
        .ok_or_else(|| format_err!("{} has no column {target:?}", path.display()))?;
    let mut feature_cols = Vec::with_capacity(features.len());
    for f in features {
        feature_cols.push((f, column(&f.name)));
    }
    if records.len() > MAX_ROWS {
        bail!(
            "{} has {} rows; at most {MAX_ROWS}",
            path.display(),
            records.len()
        );
    }
    let mut instances = Vec::with_capacity(records.len());
    let mut truth = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        if record.len() != header.len() {
            bail!(
                "{} line {}: {} fields, the header has {}",
                path.display(),
                i + 2,
                record.len(),
                header.len()
            );
        }
        let mut instance = Map::new();
        for (f, col) in &feature_cols {
            let raw = col.map_or("", |c| record[c].as_str());
            instance.insert(f.name.clone(), cell(raw, &f.kind));
        }
        instances.push(instance);
        truth.push(record[target_col].clone());
    }
    Ok(Labelled {
        instances,
        truth,
        target,
    })
}

/// A cell as JSON: empty (or `nan`, `NA`) is missing; numbers stay numbers (integral ones
/// as JSON integers, which `integer` features require); categories are strings.
fn cell(raw: &str, kind: &str) -> Value {
    if raw.is_empty() || raw.eq_ignore_ascii_case("nan") || raw == "NA" {
        return Value::Null;
    }
    if kind == "category" {
        return Value::String(raw.to_string());
    }
    match raw.parse::<f64>() {
        Ok(x) if kind == "integer" && x.fract() == 0.0 && x.abs() < 9e15 => Value::from(x as i64),
        Ok(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
        // Left as text: validation names the field and the problem.
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Records of RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF).
fn parse(text: &str) -> Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("a quoted field is not closed");
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_missing_values() {
        let r = parse("a,b,c\n1,\"x, \"\"y\"\"\",\r\n").unwrap();
        assert_eq!(r[1], vec!["1", "x, \"y\"", ""]);
        assert_eq!(cell("", "number"), Value::Null);
        assert_eq!(cell("3", "integer"), Value::from(3));
        assert_eq!(cell("3.5", "number"), serde_json::json!(3.5));
        assert_eq!(cell("Biscoe", "category"), Value::from("Biscoe"));
    }
}
