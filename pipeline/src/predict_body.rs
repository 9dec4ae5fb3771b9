//! The `/predict` body read in one pass: each instance is validated as the parser reaches
//! it, and whatever cannot be an answer (unknown keys' values, instances past the batch
//! limit, values of a wrong shape) is skipped without being built. No JSON tree is made,
//! so a hostile body costs a scan, not a `serde_json::Value` per number (with
//! `arbitrary_precision` each number is a heap string) and a map entry per key.
//!
//! The answers are those of validating a parsed `Value`: the same problems, in the same
//! order, with the same precedence between them (see `api::parse_predict_body`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::api::MAX_BATCH;
use crate::schema::{FeatureValue, FieldProblem, Problems, Row, Schema};

/// The key under which serde_json (with `arbitrary_precision`) hands a number to
/// `deserialize_any`: a one-entry map whose value is the number's text. Pinned by
/// `numbers_arrive_whatever_their_size` below.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The top-level object, as far as it decides the answer.
#[derive(Default)]
pub(crate) struct Body {
    /// Keys other than `features` and `instances`.
    pub unknown: Problems,
    pub features: Option<Features>,
    pub instances: Option<Instances>,
}

pub(crate) enum Features {
    Valid(Row),
    Invalid(Problems),
    /// Not an object; names what it was.
    Not(&'static str),
}

pub(crate) enum Instances {
    Valid(Vec<Row>),
    Invalid(Problems),
    /// More than `MAX_BATCH`: how many.
    TooMany(usize),
    Empty,
    /// Not an array; names what it was.
    Not(&'static str),
}

/// The top level: an object, or what it was instead.
pub(crate) enum Top {
    Object(Body),
    Not(&'static str),
}

/// Reads a whole `/predict` body (trailing bytes are an error, as for `from_slice`).
pub(crate) fn read(body: &[u8], schema: &Schema) -> Result<Top, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = Shallow(TopSeed { schema }).deserialize(&mut de)?;
    de.end()?;
    Ok(top)
}

/// What a value was expected to be. `Shallow` sorts the JSON value it meets into the
/// three cases; a value of another shape reaches `scalar` as its kind, already skipped.
trait Expect<'de>: Sized {
    type Out;
    fn object<A: MapAccess<'de>>(self, first_key: Key<'de>, map: A) -> Result<Self::Out, A::Error> {
        skip_map(map, first_key)?;
        Ok(self.scalar(FeatureValue::Other("an object")))
    }
    fn array<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Out, A::Error> {
        skip_seq(seq)?;
        Ok(self.scalar(FeatureValue::Other("an array")))
    }
    /// An empty object (there is no first key to hand `object`).
    fn empty_object(self) -> Self::Out {
        self.scalar(FeatureValue::Other("an object"))
    }
    fn scalar(self, value: FeatureValue) -> Self::Out;
}

/// A map key, borrowed from the body unless it had escapes.
type Key<'de> = Cow<'de, str>;

fn skip_map<'de, A: MapAccess<'de>>(mut map: A, first_key: Key<'de>) -> Result<(), A::Error> {
    drop(first_key);
    map.next_value_seed(Skip)?;
    Skip.visit_map(map)
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<usize, A::Error> {
    let mut n = 0;
    while seq.next_element_seed(Skip)?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Reads past one value exactly as parsing it into a `serde_json::Value` would — the same
/// errors at the same positions, the same depth limit — without building it. serde's
/// `IgnoredAny` takes serde_json's own skipping path instead, which reports some errors a
/// column earlier (`["\0` — found by the oracle proptest in pipeline/tests/fuzz_requests.rs).
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<Er>(self) -> Result<(), Er> {
        Ok(())
    }
    fn visit_bool<Er>(self, _: bool) -> Result<(), Er> {
        Ok(())
    }
    fn visit_i64<Er>(self, _: i64) -> Result<(), Er> {
        Ok(())
    }
    fn visit_u64<Er>(self, _: u64) -> Result<(), Er> {
        Ok(())
    }
    fn visit_f64<Er>(self, _: f64) -> Result<(), Er> {
        Ok(())
    }
    fn visit_str<Er>(self, _: &str) -> Result<(), Er> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

struct Shallow<E>(E);

impl<'de, E: Expect<'de>> DeserializeSeed<'de> for Shallow<E> {
    type Value = E::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<E::Out, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: Expect<'de>> Visitor<'de> for Shallow<E> {
    type Value = E::Out;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<Er>(self) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Missing))
    }
    fn visit_bool<Er>(self, _: bool) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Other("a boolean")))
    }
    fn visit_i64<Er>(self, v: i64) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Integer(v)))
    }
    fn visit_u64<Er>(self, v: u64) -> Result<E::Out, Er> {
        Ok(self.0.scalar(match i64::try_from(v) {
            Ok(i) => FeatureValue::Integer(i),
            Err(_) => FeatureValue::Number(v as f64),
        }))
    }
    fn visit_f64<Er>(self, v: f64) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Number(v)))
    }
    fn visit_str<Er>(self, v: &str) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Category(v.into())))
    }
    fn visit_string<Er>(self, v: String) -> Result<E::Out, Er> {
        Ok(self.0.scalar(FeatureValue::Category(v.into_boxed_str())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<E::Out, A::Error> {
        self.0.array(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<E::Out, A::Error> {
        let Some(first_key) = map.next_key_seed(KeySeed)? else {
            return Ok(self.0.empty_object());
        };
        if first_key == NUMBER_TOKEN {
            let text: Cow<'de, str> = map.next_value_seed(KeySeed)?;
            return Ok(self.0.scalar(number(&text)));
        }
        self.0.object(first_key, map)
    }
}

/// A number's text → value: as `FeatureValue::from_json` reads a `serde_json::Number`
/// (an integer that fits i64 stays one; beyond f64, `1e400`, is infinite, which
/// validation names as not finite).
fn number(text: &str) -> FeatureValue {
    match text.parse::<i64>() {
        Ok(i) => FeatureValue::Integer(i),
        Err(_) => FeatureValue::Number(text.parse::<f64>().unwrap_or(f64::INFINITY)),
    }
}

/// Reads a string, borrowing it from the body when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Cow::Owned(v))
    }
}

/// A feature's value: any JSON value, arrays and objects only by kind.
struct ValueSeed;

impl<'de> Expect<'de> for ValueSeed {
    type Out = FeatureValue;
    fn scalar(self, value: FeatureValue) -> FeatureValue {
        value
    }
}

/// An object's entries as names and values, in order (two lists, so the values can be
/// moved out while the names are borrowed).
struct Pairs<'de> {
    names: Vec<Key<'de>>,
    values: Vec<FeatureValue>,
}

/// Reads an object's entries, `first_key` and the rest.
fn pairs<'de, A: MapAccess<'de>>(first_key: Key<'de>, mut map: A) -> Result<Pairs<'de>, A::Error> {
    let capacity = map.size_hint().unwrap_or(32).min(1024);
    let mut pairs = Pairs {
        names: Vec::with_capacity(capacity),
        values: Vec::with_capacity(capacity),
    };
    let mut key = Some(first_key);
    while let Some(k) = key {
        pairs.values.push(map.next_value_seed(Shallow(ValueSeed))?);
        pairs.names.push(k);
        key = map.next_key_seed(KeySeed)?;
    }
    Ok(pairs)
}

/// Validates one instance object's pairs into `problems`.
fn validate(
    schema: &Schema,
    pairs: Pairs<'_>,
    prefix: impl Fn() -> String,
    problems: &mut Problems,
) -> Option<Row> {
    let inputs = pairs.names.iter().map(|k| k.as_ref()).zip(pairs.values);
    schema.validate_into(inputs, prefix, problems)
}

/// `features`: one instance.
struct FeaturesSeed<'s> {
    schema: &'s Schema,
}

impl<'de> Expect<'de> for FeaturesSeed<'_> {
    type Out = Features;
    fn object<A: MapAccess<'de>>(self, first_key: Key<'de>, map: A) -> Result<Features, A::Error> {
        let pairs = pairs(first_key, map)?;
        let mut problems = Problems::new();
        Ok(
            match validate(self.schema, pairs, || "features".into(), &mut problems) {
                Some(row) => Features::Valid(row),
                None => Features::Invalid(problems),
            },
        )
    }
    fn empty_object(self) -> Features {
        let mut problems = Problems::new();
        match validate(
            self.schema,
            Pairs {
                names: Vec::new(),
                values: Vec::new(),
            },
            || "features".into(),
            &mut problems,
        ) {
            Some(row) => Features::Valid(row),
            None => Features::Invalid(problems),
        }
    }
    fn scalar(self, value: FeatureValue) -> Features {
        Features::Not(value.kind())
    }
}

/// `instances`: a batch. Past `MAX_BATCH` elements are only counted.
struct InstancesSeed<'s> {
    schema: &'s Schema,
}

impl<'de> Expect<'de> for InstancesSeed<'_> {
    type Out = Instances;
    fn array<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Instances, A::Error> {
        let mut rows = Vec::new();
        let mut problems = Problems::new();
        let mut i = 0;
        while let Some(instance) = seq.next_element_seed(Shallow(InstanceSeed {
            schema: self.schema,
            index: i,
            problems: &mut problems,
        }))? {
            if let Some(row) = instance {
                rows.push(row);
            }
            i += 1;
            if i == MAX_BATCH {
                let more = skip_seq(seq)?;
                if more > 0 {
                    return Ok(Instances::TooMany(MAX_BATCH + more));
                }
                break;
            }
        }
        Ok(if i == 0 {
            Instances::Empty
        } else if problems.is_empty() {
            Instances::Valid(rows)
        } else {
            Instances::Invalid(problems)
        })
    }
    fn scalar(self, value: FeatureValue) -> Instances {
        Instances::Not(value.kind())
    }
}

/// One element of `instances`: validated into the batch's problems.
struct InstanceSeed<'s, 'p> {
    schema: &'s Schema,
    index: usize,
    problems: &'p mut Problems,
}

impl InstanceSeed<'_, '_> {
    fn prefix(index: usize) -> impl Fn() -> String {
        move || format!("instances[{index}]")
    }
}

impl<'de> Expect<'de> for InstanceSeed<'_, '_> {
    type Out = Option<Row>;
    fn object<A: MapAccess<'de>>(
        self,
        first_key: Key<'de>,
        map: A,
    ) -> Result<Option<Row>, A::Error> {
        let pairs = pairs(first_key, map)?;
        Ok(validate(
            self.schema,
            pairs,
            Self::prefix(self.index),
            self.problems,
        ))
    }
    fn empty_object(self) -> Option<Row> {
        validate(
            self.schema,
            Pairs {
                names: Vec::new(),
                values: Vec::new(),
            },
            Self::prefix(self.index),
            self.problems,
        )
    }
    fn scalar(self, value: FeatureValue) -> Option<Row> {
        let prefix = Self::prefix(self.index);
        self.problems.push(|| {
            FieldProblem::new(
                prefix(),
                format!("expected an object of feature values, got {}", value.kind()),
            )
        });
        None
    }
}

/// The top level: `{"features": ..}` or `{"instances": [..]}`, other keys only named.
struct TopSeed<'s> {
    schema: &'s Schema,
}

impl<'de> Expect<'de> for TopSeed<'_> {
    type Out = Top;
    fn object<A: MapAccess<'de>>(self, first_key: Key<'de>, mut map: A) -> Result<Top, A::Error> {
        let mut body = Body::default();
        let mut key = Some(first_key);
        while let Some(k) = key {
            match k.as_ref() {
                "features" => {
                    body.features = Some(map.next_value_seed(Shallow(FeaturesSeed {
                        schema: self.schema,
                    }))?)
                }
                "instances" => {
                    body.instances = Some(map.next_value_seed(Shallow(InstancesSeed {
                        schema: self.schema,
                    }))?)
                }
                _ => {
                    map.next_value_seed(Skip)?;
                    body.unknown.push(|| {
                        FieldProblem::new(
                            k.into_owned(),
                            "unknown field; expected `features` or `instances`",
                        )
                    });
                }
            }
            key = map.next_key_seed(KeySeed)?;
        }
        Ok(Top::Object(body))
    }
    fn empty_object(self) -> Top {
        Top::Object(Body::default())
    }
    fn scalar(self, value: FeatureValue) -> Top {
        Top::Not(value.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn value_of(json: &str) -> FeatureValue {
        let mut de = serde_json::Deserializer::from_str(json);
        let v = Shallow(ValueSeed).deserialize(&mut de).unwrap();
        de.end().unwrap();
        v
    }

    /// Every number reaches us, with `arbitrary_precision` through serde_json's private
    /// map token: if serde_json ever changes it, this fails instead of every number
    /// silently turning into "an object".
    #[test]
    fn numbers_arrive_whatever_their_size() {
        assert_eq!(value_of("3"), FeatureValue::Integer(3));
        assert_eq!(
            value_of("-9223372036854775808"),
            FeatureValue::Integer(i64::MIN)
        );
        assert_eq!(
            value_of("18446744073709551616"),
            FeatureValue::Number(18446744073709551616.0)
        );
        assert_eq!(value_of("2.5e-3"), FeatureValue::Number(2.5e-3));
        assert_eq!(value_of("1e400"), FeatureValue::Number(f64::INFINITY));
        assert_eq!(value_of("-0.0"), FeatureValue::Number(-0.0));
        assert_eq!(value_of(r#""a\"b""#), FeatureValue::Category("a\"b".into()));
        assert_eq!(value_of("null"), FeatureValue::Missing);
        assert_eq!(value_of("[1, [2]]"), FeatureValue::Other("an array"));
        assert_eq!(
            value_of(r#"{"x": {"y": 1}}"#),
            FeatureValue::Other("an object")
        );
        assert_eq!(value_of("{}"), FeatureValue::Other("an object"));
        assert_eq!(value_of("true"), FeatureValue::Other("a boolean"));
    }

    /// The streaming reader and `FeatureValue::from_json` over a parsed `Value` agree
    /// on every kind of value.
    #[test]
    fn values_read_as_from_json_reads_them() {
        for json in [
            "0",
            "-1",
            "1.0",
            "1e2",
            "123456789012345678901234567890",
            "-1e400",
            "\"\"",
            "\"é\\u00e9\"",
            "null",
            "false",
            "[]",
            "{}",
            "{\"a\": [1, {}]}",
        ] {
            let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(value_of(json), FeatureValue::from_json(&parsed), "{json}");
        }
    }

    #[test]
    fn instances_past_the_limit_are_counted_not_validated() {
        let body = format!(r#"{{"instances": [{}{{}}]}}"#, "{},".repeat(MAX_BATCH + 9));
        let Top::Object(body) = read(body.as_bytes(), &testdata::schema()).unwrap() else {
            panic!("an object");
        };
        assert!(matches!(body.instances, Some(Instances::TooMany(n)) if n == MAX_BATCH + 10));
    }

    #[test]
    fn trailing_bytes_and_bad_json_are_errors() {
        let schema = testdata::schema();
        assert!(read(b"{} x", &schema).is_err());
        assert!(read(br#"{"features": {"a": 1,}}"#, &schema).is_err());
        assert!(read(b"", &schema).is_err());
    }
}
