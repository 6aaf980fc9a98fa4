//! The JSON messages of the plugin protocol besides the report: what a plugin says
//! about itself ([`Description`]) and what it is asked to do ([`Request`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the request/description messages.
pub const PROTOCOL_VERSION: u32 = 1;

/// Minor version of the messages, for additions that older plugins need not
/// know: 1 added the option types that name things in the study (`integer`,
/// `node`, `node_list`, `segment`, `segment_list`, `cell`, `wave`) and an option's
/// `allowed` values and `minimum`/`maximum`. A description without
/// `protocol_minor` is 1.0 and keeps loading.
pub const PROTOCOL_MINOR: u32 = 1;

/// Which inputs a plugin needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Inputs {
    /// The host's precomputed statistics only (one streaming pass serves all such
    /// plugins).
    #[default]
    Statistics,
    /// Respondent rows only.
    Rows,
    /// Both.
    Both,
}

impl Inputs {
    /// Whether the statistics stream is wanted.
    pub fn statistics(self) -> bool {
        matches!(self, Inputs::Statistics | Inputs::Both)
    }
    /// Whether the rows stream is wanted.
    pub fn rows(self) -> bool {
        matches!(self, Inputs::Rows | Inputs::Both)
    }
}

/// The type of an option value, in YAML terms. The types that name something in
/// the study (a node, a segment, a cell, a wave) are texts whose value the host
/// also checks against the study (protocol minor 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    /// A text.
    String,
    /// A number.
    Number,
    /// A whole number (minor 1).
    Integer,
    /// true / false.
    Boolean,
    /// A list of texts.
    StringList,
    /// The id of a node of the study: the index (`index`), a category, an
    /// indicator or an overall item (minor 1).
    Node,
    /// A list of node ids (minor 1).
    NodeList,
    /// The id of one of the study's segments (minor 1).
    Segment,
    /// A list of segment ids (minor 1).
    SegmentList,
    /// A cell: `all`, or a segment group as `<segment>=<code>` (minor 1).
    Cell,
    /// The id of one of the study's waves (minor 1).
    Wave,
}

impl OptionType {
    /// Whether `v` has this type (its shape; references are checked against the
    /// study by the host).
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        let texts = |v: &serde_json::Value| v.as_array().is_some_and(|a| a.iter().all(|x| x.is_string()));
        match self {
            OptionType::String | OptionType::Node | OptionType::Segment | OptionType::Cell | OptionType::Wave => {
                v.is_string()
            }
            OptionType::Number => v.is_number(),
            OptionType::Integer => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0),
            OptionType::Boolean => v.is_boolean(),
            OptionType::StringList | OptionType::NodeList | OptionType::SegmentList => texts(v),
        }
    }

    /// The type in a study author's words, for messages and documentation.
    pub fn in_words(self) -> &'static str {
        match self {
            OptionType::String => "a text",
            OptionType::Number => "a number",
            OptionType::Integer => "a whole number",
            OptionType::Boolean => "true or false",
            OptionType::StringList => "a list of texts, such as [a, b]",
            OptionType::Node => "the id of an indicator, a category, an overall item or `index`",
            OptionType::NodeList => "a list of indicator or category ids, such as [network, billing]",
            OptionType::Segment => "a segment id",
            OptionType::SegmentList => "a list of segment ids, such as [customer_type, region]",
            OptionType::Cell => "`all` or a segment group such as `customer_type=2`",
            OptionType::Wave => "a wave id",
        }
    }
}

/// One option a plugin accepts from the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: OptionType,
    /// What it does.
    pub description: String,
    /// Whether the study must give it.
    #[serde(default)]
    pub required: bool,
    /// The value used when the study does not give it.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// The only values accepted, if the option is a choice (minor 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
    /// The smallest value accepted, for numbers (minor 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// The largest value accepted, for numbers (minor 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
}

/// What a plugin says about itself from `describe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Protocol version the plugin speaks.
    pub protocol: u32,
    /// Its minor version ([`PROTOCOL_MINOR`]); absent in descriptions of 1.0.
    #[serde(default)]
    pub protocol_minor: u32,
    /// The inputs it needs.
    #[serde(default)]
    pub inputs: Inputs,
    /// The options it accepts, by name.
    #[serde(default)]
    pub options: BTreeMap<String, OptionSpec>,
}

impl Description {
    /// A description asking for statistics only, with no options.
    pub fn statistics() -> Self {
        Description {
            protocol: PROTOCOL_VERSION,
            protocol_minor: PROTOCOL_MINOR,
            inputs: Inputs::Statistics,
            options: BTreeMap::new(),
        }
    }

    /// Adds an option.
    pub fn option(
        mut self,
        name: &str,
        kind: OptionType,
        description: &str,
        default: Option<serde_json::Value>,
    ) -> Self {
        self.options.insert(
            name.to_string(),
            OptionSpec {
                kind,
                description: description.to_string(),
                required: false,
                default,
                allowed: None,
                minimum: None,
                maximum: None,
            },
        );
        self
    }

    /// Restricts option `name` (added before) to the values `allowed`.
    pub fn allowed<V: Into<serde_json::Value>>(mut self, name: &str, allowed: impl IntoIterator<Item = V>) -> Self {
        if let Some(o) = self.options.get_mut(name) {
            o.allowed = Some(allowed.into_iter().map(Into::into).collect());
        }
        self
    }

    /// Restricts the number option `name` (added before) to `minimum..=maximum`
    /// (either may be open).
    pub fn range(mut self, name: &str, minimum: Option<f64>, maximum: Option<f64>) -> Self {
        if let Some(o) = self.options.get_mut(name) {
            o.minimum = minimum;
            o.maximum = maximum;
        }
        self
    }

    /// Makes option `name` (added before) one the study must give.
    pub fn required(mut self, name: &str) -> Self {
        if let Some(o) = self.options.get_mut(name) {
            o.required = true;
        }
        self
    }
}

/// A node of the indicator tree (or an overall item) as plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Node id (`index` for the root).
    pub id: String,
    /// Label in the study's language.
    pub label: String,
    /// `index`, `category`, `indicator` or `overall`.
    pub kind: String,
    /// 0 for the index and overall items.
    pub depth: usize,
    /// Parent id.
    pub parent: Option<String>,
    /// Weight among siblings (normalised).
    pub weight: f64,
    /// Optional grouping (e.g. SERVQUAL dimension).
    pub dimension: Option<String>,
    /// Unit for non-scale measures.
    pub unit: Option<String>,
    /// Whether lower raw values are better.
    pub lower_is_better: bool,
    /// Whether the indicator has an expectation column.
    pub has_expectation: bool,
    /// The measure's scale `[min, max]` in its own unit, for indicators and overall
    /// items: a 0–100 score difference `d` is `d × (max − min) / 100` in the unit
    /// (negated when lower is better).
    #[serde(default)]
    pub scale: Option<[f64; 2]>,
}

/// One group of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The cell id used in the statistics table (`customer_type=2`).
    pub cell: String,
    /// Label.
    pub label: String,
}

/// A segment as plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// Segment id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Groups in order.
    pub groups: Vec<GroupInfo>,
}

/// A wave as plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveInfo {
    /// Wave id.
    pub id: String,
    /// Label.
    pub label: String,
}

/// A benchmark as plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkInfo {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// `competitor` or `industry`.
    pub kind: String,
    /// Index value by wave id.
    pub values: BTreeMap<String, f64>,
}

/// How many decimals the report shows for each kind of figure (the study's
/// `settings.decimals`; since blocks 1.1). A plugin uses them for its columns'
/// `decimals` and for the numbers it writes in text; base sizes stay whole numbers.
/// Missing keys take the defaults, so a partial object parses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Decimals {
    /// 0–100 scores and their intervals (default 1).
    pub score: u8,
    /// Percentages shown for 0–1 shares (default 1).
    pub share: u8,
    /// Changes, gaps and differences (default 1).
    pub change: u8,
    /// Regression coefficients and R² (default 3).
    pub coefficient: u8,
    /// p-values written in text (default 3); p-value columns are printed by the site.
    pub p: u8,
}

impl Default for Decimals {
    fn default() -> Self {
        Decimals {
            score: 1,
            share: 1,
            change: 1,
            coefficient: 3,
            p: 3,
        }
    }
}

/// The study as plugins see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyContext {
    /// Study id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Language of labels.
    pub language: String,
    /// The index, the tree in pre-order, then overall items.
    pub nodes: Vec<NodeInfo>,
    /// Segments.
    pub segments: Vec<SegmentInfo>,
    /// All waves of the study, in order.
    pub waves: Vec<WaveInfo>,
    /// Benchmarks.
    pub benchmarks: Vec<BenchmarkInfo>,
    /// Confidence level for intervals and tests.
    pub confidence: f64,
    /// Low-base threshold.
    pub low_base: u64,
    /// Decimals per kind of figure (since blocks 1.1). A request from an older host
    /// has none; it then parses with the defaults ([`Decimals::default`]).
    #[serde(default)]
    pub decimals: Decimals,
    /// The study's structural (PLS path) model, when it declares one (since
    /// blocks 1.4; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structural: Option<StructuralInfo>,
}

/// A structural (PLS path) model as plugins see it: the study's `structural:`
/// section, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuralInfo {
    /// The constructs, in the order declared.
    pub constructs: Vec<ConstructInfo>,
    /// The paths, `[from, to]` by construct id, from cause to effect.
    pub paths: Vec<[String; 2]>,
    /// The inner weighting scheme: `path`, `centroid` or `factorial`.
    pub scheme: String,
    /// The most iterations of the algorithm.
    pub max_iterations: u64,
    /// Convergence: the outer weights' total absolute change below this.
    pub tolerance: f64,
    /// Bootstrap replicates (0: none).
    pub replicates: u64,
    /// The bootstrap's seed.
    pub seed: u64,
    /// The id of the construct whose drivers the importance–performance map shows.
    pub target: String,
}

/// A construct of the structural model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstructInfo {
    /// Id.
    pub id: String,
    /// Label in the study's language.
    pub label: String,
    /// `A` (reflective) or `B` (formative).
    pub mode: String,
    /// Its indicators: node ids of indicators or overall items.
    pub items: Vec<String>,
}

/// What a plugin is asked to do: analyse `wave` of `study` with `options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version.
    pub protocol: u32,
    /// The analysis id in the study.
    pub analysis: String,
    /// The wave to analyse.
    pub wave: String,
    /// The study.
    pub study: StudyContext,
    /// Options from the study, with the plugin's defaults filled in.
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Columns of the statistics table a plugin receives: one row per wave × cell ×
/// series × measure, `cell` being `all` or `<segment>=<group>`.
///
/// `measure` is `score` (0–100), `top_box` (0–1, with a Korn–Graubard interval),
/// `expectation` (0–100), `paired_score` (performance over the same base as the
/// expectation and the gap, so `paired_score − expectation = gap`), `gap`
/// (paired performance − expectation, 0–100 points), `raw` (the mean in the
/// measure's own unit), or, for composites whose questions differ from the
/// previous / next wave's, `score_common_previous` / `score_common_next` (the
/// score on the questions both waves asked: the like-for-like side of a change);
/// these rows fill `n` … `effective_n`, and the raw sums about
/// `shift` (`d = x − shift`): `sum_wd` = Σw·d, `sum_wd2` = Σw·d², `sum_w2d` = Σw²·d,
/// `sum_w2d2` = Σw²·d² — with `n`, `sum_w` and `sum_w2`, the sufficient statistics
/// of the mean and its standard error, additive over respondents, so a plugin can
/// merge cells or take one from another (a group against the rest of the sample)
/// exactly (`csi_stats::MomentSums`).
///
/// `measure` = `cross` rows carry the co-moments of the scores of `node` and `with`
/// over the respondents who have both: `n`, `sum_w`, `mean` (of `node`),
/// `mean_with`, `ss` = Σw(x − x̄)², `ss_with` = Σw(y − ȳ)² and `sp` =
/// Σw(x − x̄)(y − ȳ). Pairs: siblings with each other and their parent, and every
/// series with the index and the overall items — enough for covariance matrices,
/// correlations and regressions of any driver analysis. `measure` = `cross_group`
/// rows carry the same co-moments for the pairs among the index, first-level
/// categories and overall items within each random group of respondents (`group`,
/// cell `all`), for bootstrapping derived importance.
///
/// One `measure` = `design` row per wave (cell `all`, node `index`): `n` is the
/// wave's sample size (the `n` of every standard error's n/(n−1) factor),
/// `sum_w` the weight of the respondents with an index score, `mean` the
/// population size the study declares (null: a large population, no finite
/// population correction) and `group` the number of random groups.
///
/// Columns are only ever appended (`group` is the latest); read them by
/// name.
pub const STATISTICS_COLUMNS: [&str; 23] = [
    "wave",
    "cell",
    "node",
    "measure",
    "n",
    "sum_w",
    "sum_w2",
    "mean",
    "se",
    "ci_low",
    "ci_high",
    "effective_n",
    "with",
    "mean_with",
    "ss",
    "ss_with",
    "sp",
    "shift",
    "sum_wd",
    "sum_wd2",
    "sum_w2d",
    "sum_w2d2",
    "group",
];

#[cfg(test)]
mod tests {
    use super::{Decimals, StudyContext};

    #[test]
    fn a_context_without_decimals_parses_with_the_defaults() {
        let old = serde_json::json!({
            "id": "s", "title": "S", "language": "en", "nodes": [], "segments": [],
            "waves": [], "benchmarks": [], "confidence": 0.95, "low_base": 30
        });
        let ctx: StudyContext = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(ctx.decimals, Decimals::default());
        assert_eq!((ctx.decimals.score, ctx.decimals.share, ctx.decimals.change), (1, 1, 1));
        assert_eq!((ctx.decimals.coefficient, ctx.decimals.p), (3, 3));
        // A partial object keeps the defaults of the kinds it does not name.
        let mut partial = old;
        partial["decimals"] = serde_json::json!({"score": 2, "change": 0});
        let ctx: StudyContext = serde_json::from_value(partial).unwrap();
        assert_eq!(
            ctx.decimals,
            Decimals {
                score: 2,
                change: 0,
                ..Decimals::default()
            }
        );
        let back = serde_json::to_value(&ctx).unwrap();
        assert_eq!(back["decimals"]["coefficient"], 3);
    }
}
