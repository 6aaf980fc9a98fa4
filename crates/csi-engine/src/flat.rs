//! The indicator tree flattened into a pre-order list (index first), so that scoring
//! is a reverse loop over a vector and results keep a stable, readable order.

use serde::Serialize;

use csi_stats::Direction;
use csi_study::{Label, Measure, Node, Study};

use crate::INDEX_ID;

/// What a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// The overall index (root of the tree).
    Index,
    /// A category combining its children.
    Category,
    /// A measured indicator (leaf).
    Indicator,
    /// An overall-satisfaction item outside the tree.
    Overall,
}

/// How a leaf reads and rescales its column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaf {
    /// Column name.
    pub column_name: String,
    /// Expectation column name.
    pub expectation_name: Option<String>,
    /// Scale minimum.
    pub min: f64,
    /// Scale maximum.
    pub max: f64,
    /// Missing codes.
    pub missing: Vec<f64>,
    /// Direction of goodness.
    pub direction: Direction,
    /// Unit for non-scale measures.
    pub unit: Option<String>,
    /// Raw value from which an answer is in the top box.
    pub top_threshold: Option<f64>,
    /// The waves the question was asked in (`None`: all).
    pub waves: Option<Vec<String>>,
    /// Whether it was asked in the wave being planned (set when planning).
    #[serde(skip)]
    pub asked: bool,
    /// Position of the column in the read plan (set when planning; meaningful
    /// only when `asked`).
    #[serde(skip)]
    pub column: usize,
    /// Position of the expectation column in the read plan.
    #[serde(skip)]
    pub expectation: Option<usize>,
}

/// One node of the flattened tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlatNode {
    /// Node id ([`INDEX_ID`] for the root).
    pub id: String,
    /// Display label.
    pub label: Label,
    /// Series kind.
    pub kind: NodeKind,
    /// Depth: 0 for the index and overall items, 1 for first-level categories.
    pub depth: usize,
    /// Parent position in the flat list.
    pub parent: Option<usize>,
    /// Positions of the children.
    pub children: Vec<usize>,
    /// Weight among siblings (normalised to sum to 1).
    pub weight: f64,
    /// Grouping such as a SERVQUAL dimension.
    pub dimension: Option<String>,
    /// Column and scale for indicators and overall items.
    pub leaf: Option<Leaf>,
}

fn leaf(m: &Measure) -> Leaf {
    Leaf {
        column_name: m.column.name.clone(),
        expectation_name: m.expectation.as_ref().map(|e| e.name.clone()),
        min: m.scale.min,
        max: m.scale.max,
        missing: m.scale.missing.clone(),
        direction: m.direction,
        unit: m.unit.clone(),
        top_threshold: m.scale.top_box_threshold(m.direction),
        waves: m.waves.clone(),
        asked: true,
        column: 0,
        expectation: None,
    }
}

fn push(out: &mut Vec<FlatNode>, node: &Node, parent: usize, depth: usize) -> usize {
    let me = out.len();
    out.push(FlatNode {
        id: node.id.clone(),
        label: node.label.clone(),
        kind: if node.is_indicator() {
            NodeKind::Indicator
        } else {
            NodeKind::Category
        },
        depth,
        parent: Some(parent),
        children: Vec::new(),
        weight: node.weight,
        dimension: node.dimension.clone(),
        leaf: node.measure.as_ref().map(leaf),
    });
    for c in &node.children {
        let ci = push(out, c, me, depth + 1);
        out[me].children.push(ci);
    }
    me
}

/// The index, the tree in pre-order, then the overall items.
pub fn flatten(study: &Study) -> Vec<FlatNode> {
    let mut out = vec![FlatNode {
        id: INDEX_ID.to_string(),
        label: study.index_label.clone(),
        kind: NodeKind::Index,
        depth: 0,
        parent: None,
        children: Vec::new(),
        weight: 1.0,
        dimension: None,
        leaf: None,
    }];
    for n in &study.tree {
        let i = push(&mut out, n, 0, 1);
        out[0].children.push(i);
    }
    for o in &study.overall {
        out.push(FlatNode {
            id: o.id.clone(),
            label: o.label.clone(),
            kind: NodeKind::Overall,
            depth: 0,
            parent: None,
            children: Vec::new(),
            weight: 1.0,
            dimension: None,
            leaf: Some(leaf(&o.measure)),
        });
    }
    out
}
