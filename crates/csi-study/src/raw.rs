//! The study file as written: serde structures mirroring the YAML, before
//! validation. Every field is optional or defaulted so that validation, not serde,
//! decides what is missing and can report all such problems at once.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::model::{BenchmarkKind, DataPolicy, Isolation, Label};
use csi_stats::Direction;

/// Accepts a string or a number (wave ids like `2024` are natural unquoted).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a text or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A list of texts, each possibly written as a number (`waves: [2001, 2002]`).
fn strings_or_numbers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v: Option<Vec<serde_yaml::Value>> = Option::deserialize(d)?;
    let Some(v) = v else { return Ok(None) };
    v.into_iter()
        .map(|x| match x {
            serde_yaml::Value::String(s) => Ok(s),
            serde_yaml::Value::Number(n) => Ok(n.to_string()),
            other => Err(de::Error::custom(format!("expected a wave id, found {other:?}"))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Map keys that may be written as numbers (`1: 非常不满意`, `2000: 63`).
fn keyed<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Vec<(String, T)>>, D::Error> {
    let m: Option<serde_yaml::Mapping> = Option::deserialize(d)?;
    let Some(m) = m else { return Ok(None) };
    let mut out = Vec::with_capacity(m.len());
    for (k, v) in m {
        let key = match k {
            serde_yaml::Value::String(s) => s,
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            other => {
                return Err(de::Error::custom(format!(
                    "a key must be a text or a number, found {other:?}"
                )))
            }
        };
        let value = T::deserialize(v).map_err(|e| de::Error::custom(format!("under key `{key}`: {e}")))?;
        out.push((key, value));
    }
    Ok(Some(out))
}

#[derive(Debug, Deserialize, Default)]
pub struct RawStudy {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub title: Option<Label>,
    pub client: Option<Label>,
    pub language: Option<String>,
    pub description: Option<Label>,
    pub index: Option<RawIndex>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub respondent_id: Option<String>,
    pub scale: Option<RawScale>,
    #[serde(default)]
    pub scales: BTreeMap<String, RawScale>,
    pub settings: Option<RawSettings>,
    pub data_policy: Option<DataPolicy>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub wave_column: Option<String>,
    #[serde(default)]
    pub waves: Vec<RawWave>,
    #[serde(default)]
    pub tree: Vec<RawNode>,
    #[serde(default)]
    pub overall: Vec<RawNode>,
    #[serde(default)]
    pub segments: Vec<RawSegment>,
    #[serde(default)]
    pub benchmarks: Vec<RawBenchmark>,
    #[serde(default)]
    pub analyses: Vec<RawAnalysis>,
    pub narrative: Option<RawNarrative>,
    pub theme: Option<String>,
    pub structural: Option<RawStructural>,
}

/// `structural:`: a PLS path model over the study's items.
#[derive(Debug, Deserialize)]
pub struct RawStructural {
    #[serde(default)]
    pub constructs: Vec<RawConstruct>,
    #[serde(default)]
    pub paths: Vec<RawPath>,
    pub scheme: Option<String>,
    pub max_iterations: Option<u64>,
    pub tolerance: Option<f64>,
    pub bootstrap: Option<RawBootstrap>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub target: Option<String>,
}

/// A construct of the path model.
#[derive(Debug, Deserialize)]
pub struct RawConstruct {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub label: Option<Label>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub node: Option<String>,
    #[serde(default, deserialize_with = "strings_or_numbers")]
    pub items: Option<Vec<String>>,
    pub mode: Option<String>,
}

/// A path: `{from: a, to: b}`.
#[derive(Debug, Deserialize)]
pub struct RawPath {
    #[serde(default, deserialize_with = "string_or_number")]
    pub from: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub to: Option<String>,
}

/// `structural.bootstrap`.
#[derive(Debug, Deserialize)]
pub struct RawBootstrap {
    pub replicates: Option<u64>,
    pub seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct RawIndex {
    pub label: Option<Label>,
}

#[derive(Debug, Deserialize, Clone, Default)]
pub struct RawScale {
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default, deserialize_with = "keyed")]
    pub labels: Option<Vec<(String, Label)>>,
    pub missing: Option<Vec<f64>>,
    pub top_box: Option<u32>,
}

/// An item's scale: the name of a scale under `scales:`, or an inline override.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawScaleRef {
    Named(String),
    Inline(RawScale),
}

#[derive(Debug, Deserialize)]
pub struct RawSettings {
    pub confidence: Option<f64>,
    pub low_base: Option<u64>,
    pub population: Option<f64>,
    pub decimals: Option<RawDecimals>,
}

/// `settings.decimals`: read as any integer, so that validation can say which
/// range is allowed.
#[derive(Debug, Deserialize)]
pub struct RawDecimals {
    pub score: Option<i64>,
    pub share: Option<i64>,
    pub change: Option<i64>,
    pub coefficient: Option<i64>,
    pub p: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct RawWave {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub label: Option<Label>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub fieldwork: Option<String>,
    pub data: Option<String>,
    pub encoding: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub sheet: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub weight: Option<String>,
    /// `where: {column: value}` or `{column: [values]}`: kept as written, checked
    /// in validation.
    #[serde(rename = "where")]
    pub filter: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
pub struct RawNode {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub label: Option<Label>,
    pub weight: Option<f64>,
    pub dimension: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub column: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub expectation: Option<String>,
    pub scale: Option<RawScaleRef>,
    pub unit: Option<String>,
    pub direction: Option<Direction>,
    #[serde(default, deserialize_with = "strings_or_numbers")]
    pub waves: Option<Vec<String>>,
    pub children: Option<Vec<RawNode>>,
}

#[derive(Debug, Deserialize)]
pub struct RawBand {
    pub label: Option<Label>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct RawSegment {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub label: Option<Label>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub column: Option<String>,
    #[serde(default, deserialize_with = "keyed")]
    pub values: Option<Vec<(String, Label)>>,
    pub bands: Option<Vec<RawBand>>,
}

#[derive(Debug, Deserialize)]
pub struct RawBenchmark {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub label: Option<Label>,
    pub kind: Option<BenchmarkKind>,
    #[serde(default, deserialize_with = "keyed")]
    pub values: Option<Vec<(String, f64)>>,
}

#[derive(Debug, Deserialize)]
pub struct RawAnalysis {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    pub plugin: Option<String>,
    pub options: Option<serde_json::Value>,
    pub isolation: Option<Isolation>,
    pub timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct RawNarrative {
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "keyed")]
    pub waves: Option<Vec<(String, String)>>,
}

/// The field names serde accepts for `T`, read from its `Deserialize` impl so that
/// the unknown-key check can never drift from the structures above.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Capture(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Capture {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut c = Capture(None);
    let _ = T::deserialize(&mut c);
    c.0.unwrap_or(&[])
}
