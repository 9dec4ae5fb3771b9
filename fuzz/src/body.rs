//! Request bodies from the fuzzer's bytes. Mostly `/predict` JSON written as text (so
//! numbers can be anything JSON or almost-JSON allows: `1e400`, `-0`, 30-digit integers,
//! `NaN`), built around the bundle's real feature names and categories so validation is
//! reached and passed, then broken in one place: wrong types, values at and past the
//! range, unknown or miscased categories, near-miss and unknown keys, many keys, deep
//! nesting, batches at the limit. Sometimes raw bytes, a corrupted JSON body, or a body
//! at the size limit.

use arbitrary::Unstructured;
use pipeline::MAX_BODY_BYTES;
use pipeline::manifest::FeatureType;

use crate::{FeatureInfo as Feature, Model};

pub fn body(u: &mut Unstructured, m: &Model) -> Vec<u8> {
    match pick(u, 64) {
        0..=7 => u.bytes(u.len()).unwrap_or_default().to_vec(),
        8..=13 => {
            let b = predict(u, m).into_bytes();
            corrupt(u, b)
        }
        14 => {
            let b = predict(u, m).into_bytes();
            pad_to_limit(u, b)
        }
        15..=17 => {
            let mut w = String::new();
            value(u, m, None, 0, &mut w);
            w.into_bytes()
        }
        _ => predict(u, m).into_bytes(),
    }
}

/// 0..n from the input (0 once the input is used up).
fn pick(u: &mut Unstructured, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    u.int_in_range(0..=n - 1).unwrap_or(0)
}

fn flag(u: &mut Unstructured, one_in: u32) -> bool {
    pick(u, one_in) == 0 && !u.is_empty()
}

/// A `/predict` body: `{"features": ..}` or `{"instances": [..]}`, or one of the wrong
/// shapes around them.
pub fn predict(u: &mut Unstructured, m: &Model) -> String {
    let mut w = String::new();
    match pick(u, 24) {
        0..=11 => {
            w.push_str(r#"{"features":"#);
            features(u, m, &mut w);
            w.push('}');
        }
        12..=17 => {
            w.push_str(r#"{"instances":["#);
            let n = pick(u, 9);
            for i in 0..n {
                if i > 0 {
                    w.push(',');
                }
                if flag(u, 16) {
                    value(u, m, None, 1, &mut w);
                } else {
                    features(u, m, &mut w);
                }
            }
            w.push_str("]}");
        }
        18 => {
            // A batch at the limit: the same instance 255..=257 times.
            let mut one = String::new();
            features(u, m, &mut one);
            let n = 255 + pick(u, 3) as usize;
            w.push_str(r#"{"instances":["#);
            w.push_str(&vec![one; n].join(","));
            w.push_str("]}");
        }
        19 => {
            w.push_str(r#"{"features":"#);
            features(u, m, &mut w);
            w.push_str(r#","instances":["#);
            features(u, m, &mut w);
            w.push_str("]}");
        }
        20 => {
            w.push_str(r#"{"features":"#);
            features(u, m, &mut w);
            for _ in 0..=pick(u, 3) {
                w.push(',');
                let k = key(u, m);
                string(&k, &mut w);
                w.push(':');
                value(u, m, None, 1, &mut w);
            }
            w.push('}');
        }
        21 => {
            w.push_str(if flag(u, 2) {
                r#"{"features":"#
            } else {
                r#"{"instances":"#
            });
            value(u, m, None, 1, &mut w);
            w.push('}');
        }
        22 => {
            // The key twice: serde_json keeps the last.
            w.push_str(r#"{"features":"#);
            features(u, m, &mut w);
            w.push_str(r#","features":"#);
            features(u, m, &mut w);
            w.push('}');
        }
        _ => {
            w.push_str(r#"{"instances":[]}"#);
        }
    }
    w
}

/// A feature map: a full valid row with a few entries broken, or a handful of random
/// entries, or thousands of keys.
fn features(u: &mut Unstructured, m: &Model, w: &mut String) {
    w.push('{');
    let mut first = true;
    let mut entry = |w: &mut String, k: &str| {
        if !first {
            w.push(',');
        }
        first = false;
        string(k, w);
        w.push(':');
    };
    match pick(u, 16) {
        0..=9 => {
            // Every feature, in schema order or rotated, most with a valid value.
            let n = m.features.len();
            let start = pick(u, n as u32) as usize;
            let skip_rate = 1 + pick(u, 12);
            for i in 0..n {
                let f = &m.features[(start + i) % n];
                if flag(u, skip_rate * 4) {
                    continue; // missing: fine when optional, 422 when required
                }
                entry(w, &f.name);
                if flag(u, skip_rate) {
                    value(u, m, Some(f), 0, w);
                } else {
                    good(u, f, w);
                }
            }
            for _ in 0..pick(u, 3) {
                let k = key(u, m);
                entry(w, &k);
                value(u, m, None, 1, w);
            }
        }
        10..=13 => {
            for _ in 0..pick(u, 13) {
                let k = key(u, m);
                let f = m.features.iter().find(|f| f.name == k);
                entry(w, &k);
                value(u, m, f, 0, w);
            }
        }
        14 => {
            // Many keys: unknown, or the same real name again and again.
            let n = 50 + pick(u, 3000) as usize;
            let same = flag(u, 2);
            let base = key(u, m);
            for i in 0..n {
                let k = if same {
                    base.clone()
                } else {
                    format!("{base}{i}")
                };
                entry(w, &k);
                w.push('1');
            }
        }
        _ => {
            // One feature whose value nests deeply (serde_json stops at 128 levels).
            let f = &m.features[pick(u, m.features.len() as u32) as usize];
            entry(w, &f.name);
            let depth = 1 + pick(u, 300) as usize;
            let obj = flag(u, 2);
            for _ in 0..depth {
                w.push_str(if obj { r#"{"a":"# } else { "[" });
            }
            w.push('0');
            for _ in 0..depth {
                w.push(if obj { '}' } else { ']' });
            }
        }
    }
    w.push('}');
}

/// A valid value for the feature: a number inside its range (an integer for an integer
/// feature), a known category.
fn good(u: &mut Unstructured, f: &Feature, w: &mut String) {
    match f.kind {
        FeatureType::Category => {
            let c = f
                .categories
                .get(pick(u, f.categories.len() as u32) as usize)
                .map_or("", |s| s.as_str());
            string(c, w);
        }
        kind => {
            let (lo, hi) = f.range.unwrap_or((-10.0, 10.0));
            let t = pick(u, 257) as f64 / 256.0;
            let mut x = lo + (hi - lo) * t;
            if kind == FeatureType::Integer {
                x = x.round().clamp(lo.ceil(), hi.floor());
            }
            float(x, w);
        }
    }
}

/// Any value, weighted towards what a feature's validation must judge.
fn value(u: &mut Unstructured, m: &Model, f: Option<&Feature>, depth: usize, w: &mut String) {
    match pick(u, 32) {
        0..=7 => match f {
            Some(f) => good(u, f, w),
            None => number(u, w),
        },
        8..=9 => match f.and_then(|f| f.range) {
            // At and just past the range's ends.
            Some((lo, hi)) => {
                let x = match pick(u, 6) {
                    0 => lo,
                    1 => hi,
                    2 => f64::from_bits(lo.to_bits().wrapping_sub(1)),
                    3 => hi.next_up(),
                    4 => lo.next_down(),
                    _ => hi + 0.5,
                };
                float(x, w);
            }
            None => number(u, w),
        },
        10..=14 => number(u, w),
        15 => {
            // A non-integer where an integer is expected; a float beyond i64.
            float(
                [197.5, 0.1, -0.5, 4062.25, 9.3e18, 1.5e19][pick(u, 6) as usize],
                w,
            )
        }
        16..=19 => {
            let s = category_like(u, m);
            string(&s, w);
        }
        20 => w.push_str("null"),
        21 => w.push_str(if flag(u, 2) { "true" } else { "false" }),
        22 if depth < 4 => {
            w.push('[');
            for i in 0..pick(u, 4) {
                if i > 0 {
                    w.push(',');
                }
                value(u, m, None, depth + 1, w);
            }
            w.push(']');
        }
        23 if depth < 4 => {
            w.push('{');
            for i in 0..pick(u, 4) {
                if i > 0 {
                    w.push(',');
                }
                let k = key(u, m);
                string(&k, w);
                w.push(':');
                value(u, m, None, depth + 1, w);
            }
            w.push('}');
        }
        24 => {
            let n = 100 + pick(u, 10_000) as usize;
            string(&"x".repeat(n), w);
        }
        25 => {
            // Not JSON: the whole body is a 400.
            let bad = [
                "NaN",
                "Infinity",
                "-Infinity",
                "nan",
                "inf",
                "undefined",
                "0x10",
                "01",
                "+1",
                ".5",
                "1.",
                "1e",
                "--1",
                "'a'",
                "\"\\ud800\"",
                "\"\\x41\"",
                "1_000",
            ];
            w.push_str(bad[pick(u, bad.len() as u32) as usize]);
        }
        _ => number(u, w),
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "-1",
    "1e308",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "1e309",
    "1e400",
    "-1e400",
    "1e-400",
    "4.9e-324",
    "2.2250738585072014e-308",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740993",
    "1E5",
    "1e+5",
    "1e-5",
    "0.1",
    "44.7",
    "197",
    "4062.5",
    "1e2147483648",
    "1e-2147483649",
    "0e999999999",
    "-0e-0",
    "100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
];

/// A JSON number: an edge case, or digits, fraction and exponent from the input.
fn number(u: &mut Unstructured, w: &mut String) {
    if flag(u, 2) {
        w.push_str(NUMBERS[pick(u, NUMBERS.len() as u32) as usize]);
        return;
    }
    if flag(u, 3) {
        w.push('-');
    }
    let digits = 1 + pick(u, 24);
    for i in 0..digits {
        let d = pick(u, 10);
        // No leading zero (not JSON) but for a lone 0.
        let d = if i == 0 && digits > 1 && d == 0 { 1 } else { d };
        w.push(char::from(b'0' + d as u8));
    }
    if flag(u, 2) {
        w.push('.');
        for _ in 0..1 + pick(u, 20) {
            w.push(char::from(b'0' + pick(u, 10) as u8));
        }
    }
    if flag(u, 3) {
        w.push(if flag(u, 2) { 'e' } else { 'E' });
        match pick(u, 3) {
            0 => w.push('-'),
            1 => w.push('+'),
            _ => {}
        }
        for _ in 0..1 + pick(u, 5) {
            w.push(char::from(b'0' + pick(u, 10) as u8));
        }
    }
}

/// A finite f64 in JSON (shortest round-trip form).
fn float(x: f64, w: &mut String) {
    if x.is_finite() {
        w.push_str(&format!("{x:?}"));
    } else {
        w.push_str("0");
    }
}

/// A string near the bundle's categories: one of them, another's case, padded, a
/// number or a word in quotes, unicode, empty.
fn category_like(u: &mut Unstructured, m: &Model) -> String {
    let cat = m
        .categories
        .get(pick(u, m.categories.len().max(1) as u32) as usize)
        .cloned()
        .unwrap_or_default();
    match pick(u, 12) {
        0..=2 => cat,
        3 => cat.to_uppercase(),
        4 => format!(" {cat}"),
        5 => format!("{cat}\u{0}"),
        6 => String::new(),
        7 => ["NaN", "inf", "42", "1e400", "null", "true"][pick(u, 6) as usize].into(),
        8 => "Dreаm".into(), // Cyrillic а
        9 => {
            let n = pick(u, 20) as usize;
            String::from_utf8_lossy(u.bytes(n).unwrap_or(b"")).into_owned()
        }
        10 => cat.chars().rev().collect(),
        _ => format!("{cat}{cat}"),
    }
}

/// An object key: mostly a real feature name, else a near miss or a stranger.
fn key(u: &mut Unstructured, m: &Model) -> String {
    let name = m
        .features
        .get(pick(u, m.features.len() as u32) as usize)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    match pick(u, 20) {
        0..=11 => name,
        12 => name.to_uppercase(),
        13 => {
            // One character dropped, swapped or appended: 'did you mean'.
            let mut c: Vec<char> = name.chars().collect();
            let i = pick(u, c.len().max(1) as u32) as usize;
            match pick(u, 3) {
                0 if !c.is_empty() => {
                    c.remove(i.min(c.len() - 1));
                }
                1 if c.len() > 1 => {
                    let j = i.min(c.len() - 2);
                    c.swap(j, j + 1);
                }
                _ => c.push('_'),
            }
            c.into_iter().collect()
        }
        14 => {
            let n = pick(u, 24) as usize;
            String::from_utf8_lossy(u.bytes(n).unwrap_or(b"")).into_owned()
        }
        15 => String::new(),
        16 => "k".repeat(100 + pick(u, 2000) as usize),
        17 => [
            "features",
            "instances",
            "__proto__",
            "constructor",
            "wasm",
            "backtrace",
        ][pick(u, 6) as usize]
            .into(),
        18 => format!("{name}\n"),
        _ => format!(" {name}"),
    }
}

fn string(s: &str, w: &mut String) {
    w.push_str(&serde_json::to_string(s).expect("a string serializes"));
}

/// Breaks a JSON body in one place: cut short, a byte changed, a byte inserted.
fn corrupt(u: &mut Unstructured, mut b: Vec<u8>) -> Vec<u8> {
    if b.is_empty() {
        return b;
    }
    let i = pick(u, b.len() as u32) as usize;
    let byte = u.arbitrary::<u8>().unwrap_or(0);
    match pick(u, 3) {
        0 => b.truncate(i),
        1 => b[i] = byte,
        _ => b.insert(i, byte),
    }
    b
}

/// The body padded with leading whitespace to just under, at or just over the limit.
fn pad_to_limit(u: &mut Unstructured, b: Vec<u8>) -> Vec<u8> {
    let target = MAX_BODY_BYTES - 1 + pick(u, 3) as usize;
    if b.len() >= target {
        return b;
    }
    let mut out = vec![b' '; target - b.len()];
    out.extend_from_slice(&b);
    out
}
