//! What analyses receive: the study as a [`StudyContext`] and a wave's figures as
//! the Arrow statistics table (`csi_blocks::wire::STATISTICS_COLUMNS`).

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use csi_blocks::wire::{
    BenchmarkInfo, ConstructInfo, Decimals, GroupInfo, NodeInfo, SegmentInfo, StructuralInfo, StudyContext, WaveInfo,
};
use csi_stats::{CoMomentsSummary, Direction, Estimate};
use csi_study::{BenchmarkKind, Study};

use crate::{flat, NodeKind, WaveResult, INDEX_ID};

/// The study as plugins see it (labels in the study's language).
pub fn study_context(study: &Study) -> StudyContext {
    let nodes = flat::flatten(study);
    let node_infos = nodes
        .iter()
        .map(|n| NodeInfo {
            id: n.id.clone(),
            label: study.text(&n.label).to_string(),
            kind: match n.kind {
                NodeKind::Index => "index",
                NodeKind::Category => "category",
                NodeKind::Indicator => "indicator",
                NodeKind::Overall => "overall",
            }
            .to_string(),
            depth: n.depth,
            parent: n.parent.map(|p| nodes[p].id.clone()),
            weight: n.weight,
            dimension: n.dimension.clone(),
            unit: n.leaf.as_ref().and_then(|l| l.unit.clone()),
            lower_is_better: n.leaf.as_ref().is_some_and(|l| l.direction == Direction::LowerIsBetter),
            has_expectation: n.leaf.as_ref().is_some_and(|l| l.expectation_name.is_some()),
            scale: n.leaf.as_ref().map(|l| [l.min, l.max]),
        })
        .collect();
    let segments = study
        .segments
        .iter()
        .map(|s| SegmentInfo {
            id: s.id.clone(),
            label: study.text(&s.label).to_string(),
            groups: crate::segment_cells(s)
                .into_iter()
                .map(|(cell, label)| GroupInfo {
                    cell,
                    label: study.text(label).to_string(),
                })
                .collect(),
        })
        .collect();
    StudyContext {
        id: study.id.clone(),
        title: study.text(&study.title).to_string(),
        language: study.language.clone(),
        nodes: node_infos,
        segments,
        waves: study
            .waves
            .iter()
            .map(|w| WaveInfo {
                id: w.id.clone(),
                label: study.text(&w.label).to_string(),
            })
            .collect(),
        benchmarks: study
            .benchmarks
            .iter()
            .map(|b| BenchmarkInfo {
                id: b.id.clone(),
                label: study.text(&b.label).to_string(),
                kind: match b.kind {
                    BenchmarkKind::Competitor => "competitor",
                    BenchmarkKind::Industry => "industry",
                }
                .to_string(),
                values: b.values.clone(),
            })
            .collect(),
        confidence: study.settings.confidence,
        low_base: study.settings.low_base,
        decimals: decimals(&study.settings.decimals),
        structural: study.structural.as_ref().map(|m| StructuralInfo {
            constructs: m
                .constructs
                .iter()
                .map(|c| ConstructInfo {
                    id: c.id.clone(),
                    label: study.text(&c.label).to_string(),
                    mode: c.mode.clone(),
                    items: c.items.clone(),
                })
                .collect(),
            paths: m
                .paths
                .iter()
                .map(|&(f, t)| [m.constructs[f].id.clone(), m.constructs[t].id.clone()])
                .collect(),
            scheme: m.scheme.clone(),
            max_iterations: m.max_iterations,
            tolerance: m.tolerance,
            replicates: m.replicates,
            seed: m.seed,
            target: m.constructs[m.target].id.clone(),
        }),
    }
}

/// The study's precision per kind of figure, as the plugin protocol carries it.
fn decimals(d: &csi_study::Decimals) -> Decimals {
    Decimals {
        score: d.score,
        share: d.share,
        change: d.change,
        coefficient: d.coefficient,
        p: d.p,
    }
}

/// The schema of the statistics table.
pub fn statistics_schema() -> SchemaRef {
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    let num = |n: &str| Field::new(n, DataType::Float64, true);
    Arc::new(Schema::new(vec![
        text("wave"),
        text("cell"),
        text("node"),
        text("measure"),
        Field::new("n", DataType::UInt64, false),
        num("sum_w"),
        num("sum_w2"),
        num("mean"),
        num("se"),
        num("ci_low"),
        num("ci_high"),
        num("effective_n"),
        Field::new("with", DataType::Utf8, true),
        num("mean_with"),
        num("ss"),
        num("ss_with"),
        num("sp"),
        num("shift"),
        num("sum_wd"),
        num("sum_wd2"),
        num("sum_w2d"),
        num("sum_w2d2"),
        Field::new("group", DataType::UInt32, true),
    ]))
}

/// A wave's figures as one Arrow batch: a row per cell × series × measure, the
/// like-for-like scores (`score_common_previous`, `score_common_next`), one
/// `design` row, then a `cross` row per cell × pair of [`crate::cross_pairs`] and
/// a `cross_group` row per random group × importance pair.
pub fn statistics_batch(result: &WaveResult) -> RecordBatch {
    let mut wave = StringBuilder::new();
    let mut cell = StringBuilder::new();
    let mut node = StringBuilder::new();
    let mut measure = StringBuilder::new();
    let mut n = UInt64Builder::new();
    let mut nums: Vec<Float64Builder> = (0..7).map(|_| Float64Builder::new()).collect();
    let mut with = StringBuilder::new();
    let mut pair: Vec<Float64Builder> = (0..4).map(|_| Float64Builder::new()).collect();
    let mut raw: Vec<Float64Builder> = (0..5).map(|_| Float64Builder::new()).collect();
    let mut group = UInt32Builder::new();
    let mut push = |c: &str, id: &str, m: &str, e: &Estimate, g: Option<u32>| {
        wave.append_value(&result.wave);
        cell.append_value(c);
        node.append_value(id);
        measure.append_value(m);
        with.append_null();
        group.append_option(g);
        for b in pair.iter_mut() {
            b.append_null();
        }
        n.append_value(e.n);
        match e.sums {
            Some(sums) => {
                for (b, v) in raw
                    .iter_mut()
                    .zip([sums.shift, sums.sum_wd, sums.sum_wd2, sums.sum_w2d, sums.sum_w2d2])
                {
                    b.append_value(v);
                }
            }
            None => raw.iter_mut().for_each(|b| b.append_null()),
        }
        let sum_w2 = e.sums.map(|s| s.sum_w2);
        for (b, v) in nums.iter_mut().zip([
            Some(e.sum_w),
            sum_w2,
            e.mean,
            e.se,
            e.ci_low,
            e.ci_high,
            Some(e.effective_n),
        ]) {
            b.append_option(v);
        }
    };
    for s in &result.series {
        for (ci, c) in result.cells.iter().enumerate() {
            let v = &s.values[ci];
            push(&c.id, &s.node.id, "score", &v.score, None);
            for (m, e) in [
                ("top_box", &v.top_box),
                ("expectation", &v.expectation),
                ("paired_score", &v.paired_score),
                ("gap", &v.gap),
                ("raw", &v.raw),
            ] {
                if let Some(e) = e {
                    push(&c.id, &s.node.id, m, e, None);
                }
            }
        }
    }
    for x in &result.comparable {
        for (ci, c) in result.cells.iter().enumerate() {
            push(&c.id, &x.node, x.against.measure(), &x.values[ci], None);
        }
    }
    // The design: the wave's sample size, the weight of those with an index
    // score, in `mean` the population size when the study declares one, and in
    // `group` the number of random groups of the bootstrap.
    let all = result.series(INDEX_ID).map(|s| s.values[0].score);
    push(
        "all",
        INDEX_ID,
        "design",
        &Estimate {
            n: result.design.n,
            sum_w: all.map_or(0.0, |e| e.sum_w),
            effective_n: 0.0,
            mean: result.design.population,
            se: None,
            ci_low: None,
            ci_high: None,
            sums: None,
        },
        Some(crate::groups::BOOTSTRAP_GROUPS as u32),
    );
    let mut push_cross = |c: &str, x: &str, y: &str, m: &str, g: Option<u32>, v: &CoMomentsSummary| {
        wave.append_value(&result.wave);
        cell.append_value(c);
        node.append_value(x);
        measure.append_value(m);
        n.append_value(v.n);
        for (b, value) in nums
            .iter_mut()
            .zip([Some(v.sum_w), None, Some(v.mean_x), None, None, None, None])
        {
            b.append_option(value);
        }
        with.append_value(y);
        for (b, value) in pair.iter_mut().zip([v.mean_y, v.ss_x, v.ss_y, v.sp]) {
            b.append_value(value);
        }
        for b in raw.iter_mut() {
            b.append_null();
        }
        group.append_option(g);
    };
    for x in &result.cross {
        for (ci, c) in result.cells.iter().enumerate() {
            if let Some(v) = &x.values[ci] {
                push_cross(&c.id, &x.x, &x.y, "cross", None, v);
            }
        }
    }
    for x in &result.groups {
        for (g, v) in x.values.iter().enumerate() {
            if let Some(v) = v {
                push_cross("all", &x.x, &x.y, "cross_group", Some(g as u32), v);
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(wave.finish()),
        Arc::new(cell.finish()),
        Arc::new(node.finish()),
        Arc::new(measure.finish()),
        Arc::new(n.finish()),
    ];
    columns.extend(nums.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(with.finish()));
    columns.extend(pair.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(raw.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(group.finish()));
    RecordBatch::try_new(statistics_schema(), columns).expect("columns follow the schema")
}
