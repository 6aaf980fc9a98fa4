//! The validated, typed study model. Everything here has passed validation: ids are
//! unique, weights are positive and normalised among siblings, scales are sound.

use std::collections::BTreeMap;
use std::path::PathBuf;

use csi_stats::Direction;
use serde::{Deserialize, Serialize};

use crate::source::Location;

/// A text in one or several languages, e.g. `{zh: 网络服务, en: Network service}`.
/// Numbers are accepted as text (`label: 2024`, `{zh: 2000年度, en: 2000}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Label {
    /// One text for every language.
    Text(String),
    /// Texts by language code (`zh`, `en`, `zh-CN`, …).
    Translations(BTreeMap<String, String>),
}

/// A scalar written as text, or a number read as text.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl From<TextOrNumber> for String {
    fn from(v: TextOrNumber) -> Self {
        match v {
            TextOrNumber::Text(t) => t,
            TextOrNumber::Integer(i) => i.to_string(),
            TextOrNumber::Float(f) => f.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(TextOrNumber),
            Many(BTreeMap<String, TextOrNumber>),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a label is a text, or texts by language such as `{zh: 网络服务, en: Network service}`",
            )
        })? {
            Raw::One(t) => Ok(Label::Text(t.into())),
            Raw::Many(m) => Ok(Label::Translations(m.into_iter().map(|(k, v)| (k, v.into())).collect())),
        }
    }
}

impl Label {
    /// The text for `language` (`zh-CN` also matches `zh`), else the first one given.
    pub fn get(&self, language: &str) -> &str {
        match self {
            Label::Text(t) => t,
            Label::Translations(map) => {
                let primary = language.split(['-', '_']).next().unwrap_or(language);
                map.get(language)
                    .or_else(|| map.get(primary))
                    .or_else(|| map.values().next())
                    .map(String::as_str)
                    .unwrap_or("")
            }
        }
    }

    /// A secondary text: the first translation in another language than `language`.
    pub fn other(&self, language: &str) -> Option<&str> {
        match self {
            Label::Text(_) => None,
            Label::Translations(map) => {
                let main = self.get(language);
                map.values().map(String::as_str).find(|t| *t != main)
            }
        }
    }
}

/// A response scale: its range, point labels, missing codes and top-box size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    /// Lowest valid value.
    pub min: f64,
    /// Highest valid value.
    pub max: f64,
    /// Labels of scale points (`1: 非常不满意`).
    pub labels: BTreeMap<String, Label>,
    /// Codes that mean "no answer" or "don't know" (99, −99, 0 …); they become missing.
    pub missing: Vec<f64>,
    /// How many top points make the top-box share (2 = top-two-box); `None` for
    /// measures without discrete points (minutes, percentages).
    pub top_box: Option<u32>,
}

impl Scale {
    /// Whether `x` is one of the missing codes.
    pub fn is_missing_code(&self, x: f64) -> bool {
        self.missing.contains(&x)
    }

    /// The lowest raw value in the top box (for a top-2 box on 1–10: 9).
    pub fn top_box_threshold(&self, direction: Direction) -> Option<f64> {
        let k = f64::from(self.top_box?);
        Some(match direction {
            Direction::HigherIsBetter => self.max - (k - 1.0),
            Direction::LowerIsBetter => self.min + (k - 1.0),
        })
    }
}

/// A reference to a data column, with where the study file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnRef {
    /// The column name in the data file.
    pub name: String,
    /// Where the study names it (for diagnostics).
    #[serde(skip)]
    pub at: Option<Location>,
}

/// A measured question: a leaf of the indicator tree or an overall-satisfaction item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// The performance (satisfaction) column.
    pub column: ColumnRef,
    /// The expectation column, for gap analysis.
    pub expectation: Option<ColumnRef>,
    /// The response scale of both columns.
    pub scale: Scale,
    /// Unit for non-scale measures (`min`, `%`, `points`).
    pub unit: Option<String>,
    /// Whether higher raw values are better.
    pub direction: Direction,
    /// The waves the question was asked in (`None`: every wave). In other waves its
    /// column is not read and its parent combines the children that were asked.
    pub waves: Option<Vec<String>>,
}

impl Measure {
    /// Whether the question was asked in wave `wave`.
    pub fn asked_in(&self, wave: &str) -> bool {
        self.waves.as_ref().is_none_or(|w| w.iter().any(|x| x == wave))
    }
}

/// A node of the indicator tree: a category with children, or an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Unique id (used in file names and by analyses).
    pub id: String,
    /// Display label.
    pub label: Label,
    /// Weight among its siblings, normalised so siblings sum to 1.
    pub weight: f64,
    /// Optional grouping, e.g. a SERVQUAL dimension (`reliability`).
    pub dimension: Option<String>,
    /// Children for categories; empty for indicators.
    pub children: Vec<Node>,
    /// The measured question, for indicators (leaves).
    pub measure: Option<Measure>,
}

impl Node {
    /// Whether this node is a leaf indicator.
    pub fn is_indicator(&self) -> bool {
        self.measure.is_some()
    }
}

/// An overall-satisfaction (or loyalty) item measured beside the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverallItem {
    /// Unique id.
    pub id: String,
    /// Display label.
    pub label: Label,
    /// The measured question.
    pub measure: Measure,
}

/// One wave (fieldwork round) of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wave {
    /// Id such as `2024` or `2024-Q3`.
    pub id: String,
    /// Display label.
    pub label: Label,
    /// Fieldwork date or period, as written.
    pub fieldwork: Option<String>,
    /// The data file, resolved against the study folder.
    pub data: PathBuf,
    /// The data file as written in the study (relative), for display.
    pub data_as_written: String,
    /// Where the study names the data file.
    #[serde(skip)]
    pub data_at: Option<Location>,
    /// The text encoding of a CSV data file, by its canonical name (`GB18030`,
    /// `UTF-16LE`...), when the study declares one; else UTF-8. A byte-order mark
    /// in the file wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The sheet of a workbook data file (`.xlsx`, `.xls`, `.ods`...), when the
    /// study names one; else its first sheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The respondent weight column, if the wave is weighted.
    pub weight: Option<ColumnRef>,
    /// When the data file holds several waves: the rows that are this wave's
    /// (`where:`, or the study's `wave_column`); `None` reads every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<RowFilter>,
}

impl Wave {
    /// Whether this wave and `other` take their rows of one file by one column's
    /// values (the same file, however its path is written, read the same way):
    /// such waves are read together, in one pass over the file.
    pub fn shares_rows_with(&self, other: &Wave) -> bool {
        let same_file = || {
            let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            self.data == other.data || real(&self.data) == real(&other.data)
        };
        match (&self.filter, &other.filter) {
            (Some(a), Some(b)) => {
                a.column.name == b.column.name
                    && self.encoding == other.encoding
                    && self.sheet == other.sheet
                    && same_file()
            }
            _ => false,
        }
    }
}

/// The rows of a data file that belong to one wave: those whose `column` holds
/// one of `values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowFilter {
    /// The column that says a row's wave.
    pub column: ColumnRef,
    /// The values of the wave's rows, as written (compared as segment codes
    /// are, so `2002` and `2002.0` are one value).
    pub values: Vec<String>,
}

impl RowFilter {
    /// The filter as the client reads it: `wave = 2002`, `quarter = Q1 or Q2`.
    pub fn text(&self) -> String {
        format!("{} = {}", self.column.name, self.values.join(" or "))
    }
}

/// One band of a banded numeric segment: `min <= x <= max` (either side open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Display label (`1996–1998`).
    pub label: Label,
    /// Inclusive lower bound.
    pub min: Option<f64>,
    /// Inclusive upper bound.
    pub max: Option<f64>,
}

impl Band {
    /// Whether `x` falls into the band.
    pub fn contains(&self, x: f64) -> bool {
        self.min.is_none_or(|m| x >= m) && self.max.is_none_or(|m| x <= m)
    }
}

/// How a segment assigns respondents to groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Codes in the column, each with a label; in the order given.
    Categorical {
        /// (code, label) pairs.
        values: Vec<(String, Label)>,
    },
    /// A numeric column cut into bands.
    Banded {
        /// The bands, in order; they must not overlap.
        bands: Vec<Band>,
    },
}

/// A way of splitting respondents (customer type, tenure cohort, region …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Unique id.
    pub id: String,
    /// Display label.
    pub label: Label,
    /// The data column.
    pub column: ColumnRef,
    /// Categorical codes or numeric bands.
    pub kind: SegmentKind,
}

impl Segment {
    /// Number of groups.
    pub fn len(&self) -> usize {
        match &self.kind {
            SegmentKind::Categorical { values } => values.len(),
            SegmentKind::Banded { bands } => bands.len(),
        }
    }

    /// Whether the segment has no groups (never true after validation).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Labels of the groups, in order.
    pub fn group_labels(&self) -> Vec<&Label> {
        match &self.kind {
            SegmentKind::Categorical { values } => values.iter().map(|(_, l)| l).collect(),
            SegmentKind::Banded { bands } => bands.iter().map(|b| &b.label).collect(),
        }
    }
}

/// What kind of benchmark a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkKind {
    /// A competitor's index.
    #[default]
    Competitor,
    /// An industry index (e.g. ACSI for the sector).
    Industry,
}

/// An external index to compare with, per wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    /// Unique id.
    pub id: String,
    /// Display label.
    pub label: Label,
    /// Competitor or industry.
    pub kind: BenchmarkKind,
    /// Index value (0–100) by wave id.
    pub values: BTreeMap<String, f64>,
}

/// Whether an analysis plugin runs inside the csi process or in a child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Decide by origin: in process for plugins shipped with csi, isolated otherwise.
    #[default]
    Auto,
    /// Load into the csi process.
    InProcess,
    /// Run in a child process.
    Process,
}

/// An analysis to run on every wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSpec {
    /// Unique id within the study (defaults to the plugin name).
    pub id: String,
    /// Plugin name (`gap`, `driver`, `segment`, `trend`, or a third-party name).
    pub plugin: String,
    /// Plugin options, passed through as JSON and validated by the plugin.
    pub options: serde_json::Value,
    /// How to isolate the plugin.
    pub isolation: Isolation,
    /// Seconds an isolated run may take before it is stopped.
    pub timeout_seconds: f64,
    /// Where the study names the plugin (for diagnostics).
    #[serde(skip)]
    pub at: Option<Location>,
    /// Where the study gives each option, by name (for diagnostics).
    #[serde(skip)]
    pub option_at: BTreeMap<String, Location>,
}

/// The default time limit of an isolated analysis run, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 300.0;

/// Narrative markdown files.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Narrative {
    /// About the study as a whole, shown on its landing page (resolved path).
    pub summary: Option<PathBuf>,
    /// Each wave's executive summary by wave id (resolved paths).
    pub waves: BTreeMap<String, PathBuf>,
}

/// What to do with a kind of bad data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Stop: the wave is not built and every offending row is reported.
    #[default]
    Error,
    /// Treat the offending value as missing (or drop the offending respondent, for
    /// weights and duplicate ids) and report counts as a warning.
    Exclude,
}

/// The handling of bad data, per kind of problem. Everything defaults to `error`;
/// a study lists only the kinds it wants handled otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DataPolicy {
    /// A cell that is not a number in a numeric column.
    pub non_numeric: Policy,
    /// A value outside the declared scale that is not a missing code.
    pub out_of_range: Policy,
    /// A weight that is zero, negative, missing or not a number.
    pub invalid_weight: Policy,
    /// A respondent id seen before in the same file.
    pub duplicate_id: Policy,
    /// A segment code with no label in the study.
    pub unknown_segment: Policy,
}

/// The precision of the report: how many decimals each kind of figure is shown
/// with (`settings.decimals`), each 0–4. Analyses use it for their tables and for
/// the numbers in their text; base sizes are always whole numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decimals {
    /// 0–100 scores and their intervals (default 1).
    pub score: u8,
    /// Percentages shown for 0–1 shares, such as top-box shares and shares of R²
    /// (default 1).
    pub share: u8,
    /// Changes, gaps and differences, in points (default 1).
    pub change: u8,
    /// Regression coefficients and R² (default 3).
    pub coefficient: u8,
    /// p-values written in text (default 3).
    pub p: u8,
}

/// The largest number of decimals a figure may be given.
pub const MAX_DECIMALS: u8 = 4;

impl Default for Decimals {
    fn default() -> Self {
        Self {
            score: 1,
            share: 1,
            change: 1,
            coefficient: 3,
            p: 3,
        }
    }
}

impl Decimals {
    /// Whether every kind has its default precision.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Report-wide statistical settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Two-sided confidence level for intervals and tests (default 0.95).
    pub confidence: f64,
    /// Base sizes below this are flagged as low (default 30).
    pub low_base: u64,
    /// Size of the population each wave samples (customers, accounts), when the
    /// sample is a noticeable share of it: standard errors then carry the finite
    /// population correction `sqrt(1 − n/N)`. `None`: a large population.
    pub population: Option<f64>,
    /// Decimals per kind of figure. Left out of the serialised study when all are
    /// the defaults, so that the definition's content hash (a published wave's
    /// provenance) is the same as before the setting existed.
    #[serde(default, skip_serializing_if = "Decimals::is_default")]
    pub decimals: Decimals,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            confidence: 0.95,
            low_base: 30,
            population: None,
            decimals: Decimals::default(),
        }
    }
}

/// A structural model: constructs measured by the study's items and the paths
/// between them, estimated by PLS path modelling (the ACSI/ECSI method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Structural {
    /// The constructs, in the order declared.
    pub constructs: Vec<StructuralConstruct>,
    /// The paths, as positions in `constructs`, from cause to effect.
    pub paths: Vec<(usize, usize)>,
    /// The inner weighting scheme: `path`, `centroid` or `factorial`.
    pub scheme: String,
    /// The most iterations of the algorithm.
    pub max_iterations: u64,
    /// Convergence: the outer weights' total absolute change below this.
    pub tolerance: f64,
    /// Bootstrap replicates for standard errors and intervals (0: none).
    pub replicates: u64,
    /// The bootstrap's seed (with the wave id, so each wave draws its own).
    pub seed: u64,
    /// The construct whose drivers the importance–performance map shows
    /// (position in `constructs`).
    pub target: usize,
}

/// A construct of a structural model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuralConstruct {
    /// Id, unique among the constructs.
    pub id: String,
    /// Display label.
    pub label: Label,
    /// Its indicators: ids of tree indicators or overall items.
    pub items: Vec<String>,
    /// `A` (reflective) or `B` (formative).
    pub mode: String,
    /// The tree node it stands for, when declared with `node:`.
    pub node: Option<String>,
}

/// A validated study definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// Unique id (used as the site folder name).
    pub id: String,
    /// Title.
    pub title: Label,
    /// Client the study is for.
    pub client: Option<Label>,
    /// A short description of the study.
    pub description: Option<Label>,
    /// Primary language of labels (`zh-CN`, `en`).
    pub language: String,
    /// The study file.
    pub file: PathBuf,
    /// The folder of the study file; data and narrative paths are relative to it.
    pub dir: PathBuf,
    /// Label of the overall index (root of the tree).
    pub index_label: Label,
    /// Respondent id column, if any.
    pub respondent_id: Option<ColumnRef>,
    /// Waves in chronological order, as listed.
    pub waves: Vec<Wave>,
    /// First-level categories of the indicator tree.
    pub tree: Vec<Node>,
    /// Overall satisfaction items.
    pub overall: Vec<OverallItem>,
    /// Segments.
    pub segments: Vec<Segment>,
    /// Benchmarks.
    pub benchmarks: Vec<Benchmark>,
    /// Analyses to run.
    pub analyses: Vec<AnalysisSpec>,
    /// Narrative files.
    pub narrative: Narrative,
    /// Statistical settings.
    pub settings: Settings,
    /// Bad-data handling.
    pub data_policy: DataPolicy,
    /// The theme folder the study selects (resolved against the study folder), if
    /// any. Templates in the study's own `templates/` folder override it.
    pub theme: Option<PathBuf>,
    /// The structural (PLS path) model, when the study declares one. Left out of
    /// the serialised definition when absent, so that the definition's hash (which
    /// keys kept sums and marks a changed definition) of a study without one is
    /// what it was before the section existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structural: Option<Structural>,
    /// What the study left for its data file to say, for an SPSS file's
    /// dictionary to fill (labels it did not write, segments without `values`).
    #[serde(skip)]
    pub from_data: FromData,
}

/// What a study leaves for its data file's dictionary (an SPSS file's variable
/// and value labels) to say; the YAML always wins where it says something.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FromData {
    /// Ids of the nodes and overall items written without a `label`.
    pub node_labels: std::collections::BTreeSet<String>,
    /// Ids of the segments written without a `label`.
    pub segment_labels: std::collections::BTreeSet<String>,
    /// Ids of the segments written without `values` or `bands` (their codes and
    /// labels come from the column's value labels).
    pub segment_values: std::collections::BTreeSet<String>,
    /// Whether the default scale was written without point `labels`.
    pub scale_labels: bool,
}

impl Study {
    /// A label in the study's language.
    pub fn text<'a>(&self, label: &'a Label) -> &'a str {
        label.get(&self.language)
    }

    /// All indicators (leaves) in tree order.
    pub fn indicators(&self) -> Vec<&Node> {
        fn walk<'a>(nodes: &'a [Node], out: &mut Vec<&'a Node>) {
            for n in nodes {
                if n.is_indicator() {
                    out.push(n);
                }
                walk(&n.children, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.tree, &mut out);
        out
    }

    /// Every column the study reads for `wave`, with where it is named.
    pub fn columns_for<'a>(&'a self, wave: &'a Wave) -> Vec<&'a ColumnRef> {
        let mut cols: Vec<&ColumnRef> = Vec::new();
        for n in self.indicators() {
            let m = n.measure.as_ref().expect("indicator");
            if !m.asked_in(&wave.id) {
                continue;
            }
            cols.push(&m.column);
            cols.extend(m.expectation.as_ref());
        }
        for o in &self.overall {
            cols.push(&o.measure.column);
            cols.extend(o.measure.expectation.as_ref());
        }
        cols.extend(self.segments.iter().map(|s| &s.column));
        cols.extend(wave.weight.as_ref());
        cols.extend(self.respondent_id.as_ref());
        cols.extend(wave.filter.as_ref().map(|f| &f.column));
        cols
    }
}
