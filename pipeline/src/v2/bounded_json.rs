//! The V2 request header parsed into a `serde_json::Value` of at most a given number of
//! values. A header that could be answered holds at most `MAX_BATCH` rows of the model's
//! features plus a little framing; a header of half a million numbers or a `parameters`
//! map of 70,000 keys is refused at the first value past the budget, before the tree
//! that would take most of the request's time is built.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The key under which serde_json (with `arbitrary_precision`) hands a number to
/// `deserialize_any`: a one-entry map whose value is the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

#[derive(Debug)]
pub enum BoundedError {
    Json(serde_json::Error),
    /// More than this many values.
    TooMany(usize),
}

/// Parses `bytes` into a `Value` of at most `max_values` values (every scalar, array and
/// object counts one, and so does every map key), trailing bytes being an error as for `from_slice`.
pub fn from_slice(bytes: &[u8], max_values: usize) -> Result<Value, BoundedError> {
    let budget = Budget {
        left: Cell::new(max_values),
        overdrawn: Cell::new(false),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Budgeted { budget: &budget }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if budget.overdrawn.get() => Err(BoundedError::TooMany(max_values)),
        Err(e) => Err(BoundedError::Json(e)),
    }
}

struct Budget {
    left: Cell<usize>,
    /// Set when a value past the budget was met (its error is ours, not the JSON's).
    overdrawn: Cell<bool>,
}

struct Budgeted<'b> {
    budget: &'b Budget,
}

impl Budgeted<'_> {
    /// Counts one value (or map key); an error once the budget is spent.
    fn take<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.left.get() {
            0 => {
                self.budget.overdrawn.set(true);
                Err(E::custom("too many values"))
            }
            n => {
                self.budget.left.set(n - 1);
                Ok(())
            }
        }
    }

    fn inner(&self) -> Self {
        Budgeted {
            budget: self.budget,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.take()?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(self.inner())? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            self.take()?;
            return Ok(Value::Object(Map::new()));
        };
        if first == NUMBER_TOKEN {
            self.take()?;
            let text: String = map.next_value()?;
            return text
                .parse::<Number>()
                .map(Value::Number)
                .map_err(de::Error::custom);
        }
        self.take()?;
        let mut object = Map::new();
        let mut key = Some(first);
        while let Some(k) = key {
            self.take()?;
            let v = map.next_value_seed(self.inner())?;
            object.insert(k, v);
            key = map.next_key()?;
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within the budget the tree is the one `serde_json` builds, numbers included (big,
    /// small, beyond f64: `arbitrary_precision` keeps their text).
    #[test]
    fn within_the_budget_it_is_from_slice() {
        let json = r#"{"id": "a", "inputs": [{"name": "x", "shape": [2], "data": [1, -2.5e-3,
            123456789012345678901234567890, 1e400, null, true, "é\u00e9", [], {}]}],
            "parameters": {"k": {"n": [0.1]}}}"#;
        let want: Value = serde_json::from_str(json).unwrap();
        assert_eq!(from_slice(json.as_bytes(), 1000).unwrap(), want);
        // Every scalar, array, object and map key counts one: 7 here.
        let exact = r#"{"a": [1, 2], "b": {}}"#;
        assert!(from_slice(exact.as_bytes(), 7).is_ok());
        assert!(matches!(
            from_slice(exact.as_bytes(), 6),
            Err(BoundedError::TooMany(6))
        ));
    }

    #[test]
    fn past_the_budget_it_stops() {
        let many = format!("[{}1]", "1,".repeat(100_000));
        assert!(matches!(
            from_slice(many.as_bytes(), 1000),
            Err(BoundedError::TooMany(1000))
        ));
    }

    #[test]
    fn bad_json_is_a_json_error() {
        for bad in ["", "[1,", "{} x", "[1,]"] {
            assert!(
                matches!(from_slice(bad.as_bytes(), 1000), Err(BoundedError::Json(_))),
                "{bad}"
            );
        }
    }
}
