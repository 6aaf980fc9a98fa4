//! # csi-blocks: what an analysis says, without saying how it looks
//!
//! Analyses (built-in or third-party plugins) return a [`Report`]: a list of
//! declarative [`Block`]s — headline figures, tables with per-cell flags, chart
//! specifications and markdown findings. The site renders every block with the
//! study's theme, so a plugin's output looks native and a plugin never writes HTML.
//!
//! Blocks cross the plugin boundary as JSON; this crate is their schema (serde),
//! versioned by [`BLOCKS_VERSION`], together with the other JSON messages of the
//! plugin protocol ([`wire`]: the request a plugin receives and the description it
//! gives of itself). Unknown fields are rejected so that a typo in a
//! plugin shows up as an error instead of silently missing output.
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

pub mod wire;

/// Version of the block schema. Additions are backwards compatible within a version.
pub const BLOCKS_VERSION: u32 = 1;

/// Minor version of the block schema: what this crate adds to version 1, each
/// addition optional so that a report of an older minor still parses.
///
/// - 1.1: interval cells ([`Cell::Interval`]), p-value columns
///   ([`ColumnKind::PValue`]), signed columns ([`Column::signed`]), blocks offered to
///   the wave's overview ([`Report::overview`]), named quadrants and highlighted
///   points in scatter charts, ringed points in line charts, a direction, a reference and a legend for heat
///   maps; in the request, the study's precision per kind of figure
///   ([`wire::StudyContext::decimals`]).
/// - 1.2: columns shown inside the previous column's cells on the page
///   ([`Column::with_previous`], e.g. significance letters beside a score); a heat
///   map's colour scale, shared by the maps of a page (`scale`).
/// - 1.3: a signed headline (`signed`: a net score or a change shown `+19.9`).
/// - 1.4: path diagrams ([`ChartKind::PathDiagram`]); in the request, the
///   study's structural model ([`wire::StudyContext::structural`]).
pub const BLOCKS_MINOR: u32 = 4;

/// What an analysis returns for one wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Title of the analysis page (e.g. "Gap analysis").
    #[serde(default)]
    pub title: Option<String>,
    /// The blocks, in display order.
    pub blocks: Vec<Block>,
    /// Blocks the analysis offers to the wave's overview page (since 1.1): a short
    /// finding and at most a chart or table, shown under the headline figure in the
    /// executive overview, before the other analyses' offers, in the study's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overview: Vec<Block>,
}

/// One piece of report content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    /// A headline figure, e.g. an index with its interval.
    Headline {
        /// What the figure is.
        label: String,
        /// The figure.
        value: f64,
        /// Decimals to show.
        #[serde(default = "one")]
        decimals: u8,
        /// A line under the figure (interval, base size, change).
        #[serde(default)]
        note: Option<String>,
        /// Whether the figure is shown with its sign (`+19.9`), as a change or a
        /// net score is (since blocks 1.3).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        signed: bool,
    },
    /// A table.
    Table(Table),
    /// A chart specification.
    Chart(Chart),
    /// Findings in markdown (rendered with the site's markdown options; raw HTML is
    /// escaped for plugin output).
    Markdown {
        /// The markdown text.
        text: String,
    },
}

fn one() -> u8 {
    1
}

/// A flag on a table cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Significantly higher than the comparison.
    SigUp,
    /// Significantly lower than the comparison.
    SigDown,
    /// Base size below the study's low-base threshold.
    LowBase,
    /// A weak cell worth attention (e.g. a segment × indicator shortfall).
    Weak,
}

/// A table cell: a number (formatted by the site), a text, or empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
    /// Nothing.
    Empty(()),
    /// A confidence interval (since 1.1): shown as `[low, high]` on the page, and as
    /// two numeric columns in downloads.
    Interval(Interval),
}

/// The limits of an interval cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    /// Lower limit.
    pub low: f64,
    /// Upper limit.
    pub high: f64,
}

/// How a column's numbers are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Text.
    #[default]
    Text,
    /// A number with `decimals`.
    Number,
    /// A 0–1 share shown as a percentage.
    Percent,
    /// A whole number (base sizes).
    Count,
    /// A p-value (since 1.1): a number in 0–1, shown as the site prints p-values
    /// ([`p_value_text`]: "< 0.001", "0.023", "> 0.99"), a plain number in downloads.
    PValue,
}

/// How a p-value is printed: three decimals, "< 0.001" below that and "> 0.99" above
/// 0.99 (so an adjusted p of 1 never reads as a finding).
pub fn p_value_text(p: f64) -> String {
    p_value_text_with(p, 3)
}

/// A p-value with `decimals` (the study's `decimals.p`; 0 is read as 1, a p-value
/// is never rounded to a whole number): below the last decimal `< 0.001` (`< 0.01`,
/// `< 0.0001` …), near 1 `> 0.99` (`> 0.9` with one decimal), else the value.
pub fn p_value_text_with(p: f64, decimals: u8) -> String {
    let d = usize::from(decimals.max(1));
    if !p.is_finite() {
        return "–".into();
    }
    let last = 10f64.powi(-(d as i32));
    let near = d.min(2);
    let near_one = 1.0 - 10f64.powi(-(near as i32));
    if p < last {
        format!("< {last:.d$}")
    } else if p > near_one {
        format!("> {near_one:.near$}")
    } else {
        format!("{p:.d$}")
    }
}

/// A table column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Header text.
    pub label: String,
    /// How values are shown.
    #[serde(default)]
    pub kind: ColumnKind,
    /// Decimals for numbers and percentages.
    #[serde(default = "one")]
    pub decimals: u8,
    /// A change or difference (since 1.1): numbers and intervals carry a sign on the
    /// page (+2.1, -0.4); downloads keep plain numbers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub signed: bool,
    /// Shown on the page inside the previous column's cells, after its value, with no
    /// header of its own (since 1.2): significance letters beside a score, as survey
    /// tables print them. Downloads keep it as a column of its own, so its label
    /// should name what it holds on its own (e.g. "A higher than").
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_previous: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Column {
    /// A column of `kind` with `decimals`. The constructors below keep a plugin's
    /// source compiling when later minor versions add optional fields.
    pub fn new(label: impl Into<String>, kind: ColumnKind, decimals: u8) -> Self {
        Column {
            label: label.into(),
            kind,
            decimals,
            signed: false,
            with_previous: false,
        }
    }

    /// A text column.
    pub fn text(label: impl Into<String>) -> Self {
        Self::new(label, ColumnKind::Text, 0)
    }

    /// A number column with `decimals`.
    pub fn number(label: impl Into<String>, decimals: u8) -> Self {
        Self::new(label, ColumnKind::Number, decimals)
    }

    /// A column of 0–1 shares shown as percentages with `decimals`.
    pub fn percent(label: impl Into<String>, decimals: u8) -> Self {
        Self::new(label, ColumnKind::Percent, decimals)
    }

    /// A column of whole numbers (base sizes).
    pub fn count(label: impl Into<String>) -> Self {
        Self::new(label, ColumnKind::Count, 0)
    }

    /// A column of p-values.
    pub fn p_value(label: impl Into<String>) -> Self {
        Self::new(label, ColumnKind::PValue, 3)
    }

    /// The same column, with signs on its numbers and intervals (a change, a gap).
    pub fn signed(mut self) -> Self {
        self.signed = true;
        self
    }

    /// The same column, shown on the page inside the previous column's cells
    /// ([`Column::with_previous`]).
    pub fn shown_with_previous(mut self) -> Self {
        self.with_previous = true;
        self
    }
}

/// A table row: its cells, and optional flags per cell (same length or empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// One cell per column.
    pub cells: Vec<Cell>,
    /// Flags per cell; empty for none.
    #[serde(default)]
    pub flags: Vec<Vec<Flag>>,
}

/// A table block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
    /// A note under the table (method, tests used, corrections).
    #[serde(default)]
    pub note: Option<String>,
}

/// A named series of values for a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// One value per category (null for none).
    pub values: Vec<Option<f64>>,
    /// Lower interval limits (optional, same length).
    #[serde(default)]
    pub low: Vec<Option<f64>>,
    /// Upper interval limits (optional, same length).
    #[serde(default)]
    pub high: Vec<Option<f64>>,
    /// Points drawn ringed (since 1.1, line charts), e.g. a significant change from
    /// the previous wave; say what the ring means in the chart's title or a note.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marked: Vec<bool>,
}

/// A labelled point of a scatter chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Label next to the point.
    pub label: String,
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// Drawn emphasised, and named in the chart's legend line (since 1.1), e.g. the
    /// "improve first" points of a priority matrix.
    #[serde(default, skip_serializing_if = "is_false")]
    pub highlight: bool,
}

/// The kinds of chart the site draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChartKind {
    /// Horizontal bars, one series, optional intervals.
    Bar {
        /// Category labels.
        categories: Vec<String>,
        /// The series (the first is drawn).
        series: Vec<Series>,
    },
    /// Grouped bars: several series per category.
    GroupedBar {
        /// Category labels.
        categories: Vec<String>,
        /// The series.
        series: Vec<Series>,
    },
    /// Bars diverging from zero (gaps).
    DivergingBar {
        /// Category labels.
        categories: Vec<String>,
        /// The series (the first is drawn).
        series: Vec<Series>,
    },
    /// Lines across ordered categories (waves), with optional interval bands.
    Line {
        /// Category labels (waves).
        categories: Vec<String>,
        /// The series.
        series: Vec<Series>,
    },
    /// Labelled points with optional quadrant lines.
    Scatter {
        /// The points.
        points: Vec<Point>,
        /// x axis label.
        x_label: String,
        /// y axis label.
        y_label: String,
        /// Vertical quadrant line.
        #[serde(default)]
        x_line: Option<f64>,
        /// Horizontal quadrant line.
        #[serde(default)]
        y_line: Option<f64>,
        /// Names of the four quadrants the lines make (since 1.1), drawn in their
        /// corners: top left, top right, bottom left, bottom right.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quadrants: Option<[String; 4]>,
    },
    /// A matrix of values (rows × columns), e.g. segment × indicator.
    Heatmap {
        /// Row labels.
        rows: Vec<String>,
        /// Column labels.
        columns: Vec<String>,
        /// Values, row-major.
        values: Vec<Vec<Option<f64>>>,
        /// Which way is better, per row (since 1.1): `true` where a higher value is
        /// better, `false` where lower is (minutes, days). Empty: higher is better
        /// everywhere. Cells are coloured by how much better or worse they are than
        /// their row's reference (`centre`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        higher_is_better: Vec<bool>,
        /// The reference each row's cells are coloured against (since 1.1), e.g. the
        /// whole sample's score of that indicator; the mean of the row's cells when
        /// absent. The colour shows how far a cell is above or below it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        centre: Vec<Option<f64>>,
        /// The legend's words for the two ends of the colour scale, e.g. ("below the
        /// rest", "above the rest"); the site's words when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        legend: Option<[String; 2]>,
        /// The distance from the reference at which a cell's colour is full (since
        /// 1.2), in the values' unit. Maps shown together should share one, so that a
        /// colour means the same on each; when absent, the largest distance in this
        /// map (at least 5).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scale: Option<f64>,
    },
    /// A path diagram (since 1.4): boxes joined by arrows, each arrow labelled,
    /// e.g. a structural model's constructs and path coefficients. The arrows must
    /// not form a loop; the boxes are drawn in the order the arrows give them
    /// (causes before effects), the arrows that the block marks `strong` solid and
    /// the others dashed.
    PathDiagram {
        /// The boxes.
        nodes: Vec<DiagramNode>,
        /// The arrows.
        edges: Vec<DiagramEdge>,
    },
}

/// A box of a path diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagramNode {
    /// Its name.
    pub label: String,
    /// A line under the name (e.g. `R² = 0.46`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An arrow of a path diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagramEdge {
    /// The box it leaves (position in `nodes`).
    pub from: usize,
    /// The box it points to.
    pub to: usize,
    /// Its label (e.g. a path coefficient, formatted).
    pub label: String,
    /// Drawn solid (e.g. significant); dashed otherwise.
    #[serde(default)]
    pub strong: bool,
}

/// A chart block. (Unknown fields cannot be rejected here: serde does not combine
/// that with the flattened chart kind.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// What to draw.
    #[serde(flatten)]
    pub spec: ChartKind,
    /// Text alternative; the site derives one from the data when absent.
    #[serde(default)]
    pub alt: Option<String>,
}

impl Report {
    /// A report titled `title` with `blocks` (and nothing offered to the overview).
    pub fn new(title: impl Into<String>, blocks: Vec<Block>) -> Self {
        Report {
            title: Some(title.into()),
            blocks,
            overview: Vec::new(),
        }
    }

    /// Parses a report from JSON, rejecting unknown fields.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let json = r#"{"title":"T","blocks":[
            {"type":"headline","label":"CSI","value":67.2},
            {"type":"markdown","text":"**ok**"},
            {"type":"table","title":"t","columns":[{"label":"a"},{"label":"n","kind":"count"}],
             "rows":[{"cells":["x",12],"flags":[[],["low_base"]]},{"cells":[null,3]}]},
            {"type":"chart","title":"c","kind":"bar","categories":["a"],"series":[{"name":"s","values":[1.5]}]}
        ]}"#;
        let r = Report::from_json(json.as_bytes()).unwrap();
        assert_eq!(r.blocks.len(), 4);
        let again = Report::from_json(serde_json::to_string(&r).unwrap().as_bytes()).unwrap();
        assert_eq!(r, again);
        assert!(
            Report::from_json(br#"{"blocks":[{"type":"headline","label":"x","value":1,"colour":"red"}]}"#).is_err()
        );
        assert!(Report::from_json(br#"{"blocks":[{"type":"video"}]}"#).is_err());
    }
}
