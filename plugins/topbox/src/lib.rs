//! An example analysis plugin: the top-box share ("% satisfied", the share of
//! answers in the scale's top box) of every indicator, for all respondents,
//! weakest first, with its base size and interval, and a finding naming the weakest.
//!
//! The shares come from the host's statistics table, so they are the study's top
//! box (its scale's `top_box`). The plugin also asks for the respondent rows, but
//! reads only their schema: its `csi.top` metadata says where each indicator's top
//! box starts, so the page names the definition in place ("高分段 = 1–10 量表的最高
//! 2 档（9–10）") instead of leaving the reader to guess. It is built as a
//! `cdylib` and loaded by csi like any third-party plugin.

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::{Float64Type, UInt64Type};
use csi_plugin_sdk::arrow_array::Array;
use csi_plugin_sdk::csi_blocks::Interval;
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words;

/// The plugin.
#[derive(Default)]
pub struct TopBox;

struct Share {
    label: String,
    /// The top box's definition from the rows' schema, when the host sent it.
    definition: Option<String>,
    n: u64,
    mean: f64,
    low: f64,
    high: f64,
}

/// Each answer column's top-box definition by node id, from the rows' schema
/// metadata (`csi.min`, `csi.max`, `csi.top`, `csi.direction`).
fn definitions(rows: Option<&csi_plugin_sdk::Batches>, zh: bool) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    let Some(rows) = rows else { return out };
    for f in rows.schema().fields() {
        let m = f.metadata();
        let num = |k: &str| m.get(k).and_then(|v| v.parse::<f64>().ok());
        if m.get("csi.role").map(String::as_str) != Some("answer") {
            continue;
        }
        let (Some(node), Some(min), Some(max), Some(top)) =
            (m.get("csi.node"), num("csi.min"), num("csi.max"), num("csi.top"))
        else {
            continue;
        };
        let lower = m.get("csi.direction").map(String::as_str) == Some("lower_is_better");
        out.entry(node.clone())
            .or_insert_with(|| words::top_box_definition(min, max, top, lower, zh));
    }
    out
}

/// The respondents of `cell` in words: all respondents, or a segment's group by
/// its labels (never the cell id).
fn cell_label(request: &Request, cell: &str, zh: bool) -> String {
    if cell == "all" {
        return if zh { "全部受访者" } else { "all respondents" }.into();
    }
    request
        .study
        .segments
        .iter()
        .find_map(|s| {
            let g = s.groups.iter().find(|g| g.cell == cell)?;
            Some(if zh {
                format!("{}：{}", s.label, g.label)
            } else {
                format!("{}: {}", s.label, g.label)
            })
        })
        .unwrap_or_else(|| cell.to_string())
}

impl Analysis for TopBox {
    fn describe(&self) -> Description {
        let mut d = Description::statistics()
            .option(
                "limit",
                OptionType::Integer,
                "How many indicators to list (0 = all).",
                Some(0.into()),
            )
            .range("limit", Some(0.0), None)
            .option(
                "cell",
                OptionType::Cell,
                "Which cell to report: `all` or a segment group such as `customer_type=2`.",
                Some("all".into()),
            );
        // The rows' schema says where each top box starts; the rows themselves are
        // never read.
        d.inputs = Inputs::Both;
        d
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let cell = request
            .options
            .get("cell")
            .and_then(|v| v.as_str())
            .unwrap_or("all")
            .to_string();
        let limit = request.options.get("limit").and_then(|v| v.as_f64()).unwrap_or(0.0) as usize;
        let zh = request.study.language.starts_with("zh");
        let share = request.study.decimals.share;
        let t = |zh_text: &'static str, en: &'static str| if zh { zh_text } else { en };
        // Only the schema: dropping the rows stops the host reading the data file.
        let definitions = definitions(input.rows.take().as_ref(), zh);
        // Indicators only: not the index, categories or overall items.
        let labels: std::collections::HashMap<&str, &str> = request
            .study
            .nodes
            .iter()
            .filter(|n| n.kind == "indicator")
            .map(|n| (n.id.as_str(), n.label.as_str()))
            .collect();
        let mut shares = Vec::new();
        for batch in input.statistics_batches()? {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| format!("statistics lack `{name}`"))
            };
            // The table holds this wave and the waves before it: keep this wave.
            let waves = col("wave")?.as_string::<i32>();
            let (cells, nodes, measures) = (
                col("cell")?.as_string::<i32>(),
                col("node")?.as_string::<i32>(),
                col("measure")?.as_string::<i32>(),
            );
            let n = col("n")?.as_primitive::<UInt64Type>();
            let (mean, low, high) = (
                col("mean")?.as_primitive::<Float64Type>(),
                col("ci_low")?.as_primitive::<Float64Type>(),
                col("ci_high")?.as_primitive::<Float64Type>(),
            );
            for i in 0..batch.num_rows() {
                if waves.value(i) != request.wave
                    || cells.value(i) != cell
                    || measures.value(i) != "top_box"
                    || mean.is_null(i)
                {
                    continue;
                }
                let Some(label) = labels.get(nodes.value(i)) else {
                    continue;
                };
                shares.push(Share {
                    label: label.to_string(),
                    definition: definitions.get(nodes.value(i)).cloned(),
                    n: n.value(i),
                    mean: mean.value(i),
                    low: if low.is_null(i) { f64::NAN } else { low.value(i) },
                    high: if high.is_null(i) { f64::NAN } else { high.value(i) },
                });
            }
        }
        if shares.is_empty() {
            return Err(format!(
                "no top-box shares for cell `{cell}`: no indicator has a scale with a top box"
            ));
        }
        shares.sort_by(|a, b| a.mean.total_cmp(&b.mean).then(a.label.cmp(&b.label)));
        // Listing the weakest `limit` only: the title says so, with how many there are.
        let total = shares.len();
        if limit > 0 {
            shares.truncate(limit);
        }
        let limited = shares.len() < total;
        // No interval column when no share has an interval (a column is never
        // empty in every row).
        let with_interval = shares.iter().any(|s| s.low.is_finite() && s.high.is_finite());
        let rows = shares
            .iter()
            .map(|s| {
                let mut cells = vec![Cell::Text(s.label.clone()), Cell::Number(s.mean)];
                if with_interval {
                    cells.push(if s.low.is_finite() && s.high.is_finite() {
                        Cell::Interval(Interval {
                            low: s.low,
                            high: s.high,
                        })
                    } else {
                        Cell::Empty(())
                    });
                }
                cells.push(Cell::Number(s.n as f64));
                let mut flags = vec![vec![]; cells.len()];
                if s.n < request.study.low_base {
                    flags[cells.len() - 1].push(Flag::LowBase);
                } else {
                    flags.clear();
                }
                Row { cells, flags }
            })
            .collect();
        let weakest = &shares[0];
        // The definition, stated once per distinct scale among the rows shown.
        let mut defined: Vec<&str> = Vec::new();
        for s in &shares {
            if let Some(d) = s.definition.as_deref() {
                if !defined.contains(&d) {
                    defined.push(d);
                }
            }
        }
        let definition = if defined.is_empty() {
            t(
                "高分段：各指标量表在研究中设定的最高几档。",
                "Top box: the top points of each indicator's scale, as the study sets them.",
            )
            .to_string()
        } else if zh {
            format!("{}。", defined.join("；"))
        } else {
            format!("{}.", capitalised(&defined.join("; ")))
        };
        let finding = if zh {
            format!(
                "{}最低的指标：**{}**，{}（n = {}）。{definition}",
                words::top_box_share(true),
                weakest.label,
                words::percent(weakest.mean, share),
                weakest.n
            )
        } else {
            format!(
                "The weakest indicator by top-box share is **{}**: {} (n = {}). {definition}",
                weakest.label,
                words::percent(weakest.mean, share),
                weakest.n
            )
        };
        let who = cell_label(request, &cell, zh);
        let column = |label: &str, kind: ColumnKind, decimals: u8| Column::new(label, kind, decimals);
        let title = match (limited, zh) {
            (false, true) => format!("各指标高分段比例（由低到高，{who}）"),
            (false, false) => format!("Top-box share by indicator, weakest first ({who})"),
            (true, true) => format!(
                "高分段比例最低的 {} 项指标（共 {total} 项，由低到高，{who}）",
                shares.len()
            ),
            (true, false) => format!(
                "The {} indicators with the lowest top-box share, of {total} (weakest first, {who})",
                shares.len()
            ),
        };
        Ok(Report {
            overview: Vec::new(),
            title: Some(t("高分段比例", "Top-box shares").into()),
            blocks: vec![
                Block::Markdown { text: finding },
                Block::Table(Table {
                    title,
                    columns: [
                        Some(column(t("指标", "Indicator"), ColumnKind::Text, 0)),
                        Some(column(t("高分段比例", "Top-box share"), ColumnKind::Percent, share)),
                        with_interval.then(|| {
                            column(
                                &format!("{:.0}% {}", request.study.confidence * 100.0, t("置信区间", "CI")),
                                ColumnKind::Percent,
                                share,
                            )
                        }),
                        Some(column("n", ColumnKind::Count, 0)),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    rows,
                    note: Some(if zh {
                        format!("{definition}加权占比；置信区间按加权后的有效样本量以二项分布精确计算（Korn–Graubard 法），不会超出 0–100%。")
                    } else {
                        format!("{definition} Weighted shares; Korn–Graubard intervals (Clopper–Pearson at the effective base implied by the linearised standard error), which stay within 0–100 %.")
                    }),
                }),
            ],
        })
    }
}

/// `text` with its first letter in upper case (a definition opening a sentence).
fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

csi_plugin_sdk::export_plugin!(
    TopBox,
    name = "topbox",
    version = env!("CARGO_PKG_VERSION"),
    description = "Top-box shares of every indicator, weakest first"
);
