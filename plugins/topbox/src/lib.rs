//! An example analysis plugin: the top-box share ("% satisfied", the share of
//! answers in the scale's top box) of every indicator, for all respondents,
//! weakest first, with its base size and interval, and a finding naming the weakest.
//!
//! It reads only the host's statistics table, so it costs no extra pass over the
//! data. It is built as a `cdylib` and loaded by csi like any third-party plugin.

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::{Float64Type, UInt64Type};
use csi_plugin_sdk::arrow_array::Array;
use csi_plugin_sdk::prelude::*;

/// The plugin.
#[derive(Default)]
pub struct TopBox;

struct Share {
    label: String,
    n: u64,
    mean: f64,
    low: f64,
    high: f64,
}

impl Analysis for TopBox {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "limit",
                OptionType::Number,
                "How many indicators to list (0 = all).",
                Some(0.into()),
            )
            .option(
                "cell",
                OptionType::String,
                "Which cell to report: `all` or a segment group such as `customer_type=2`.",
                Some("all".into()),
            )
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let cell = request
            .options
            .get("cell")
            .and_then(|v| v.as_str())
            .unwrap_or("all")
            .to_string();
        let limit = request.options.get("limit").and_then(|v| v.as_f64()).unwrap_or(0.0) as usize;
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
        if limit > 0 {
            shares.truncate(limit);
        }
        let rows = shares
            .iter()
            .map(|s| {
                let flags = if s.n < request.study.low_base {
                    vec![vec![], vec![], vec![], vec![Flag::LowBase]]
                } else {
                    vec![]
                };
                Row {
                    cells: vec![
                        Cell::Text(s.label.clone()),
                        Cell::Number(s.mean),
                        Cell::Text(format!("{:.1}–{:.1}%", s.low * 100.0, s.high * 100.0)),
                        Cell::Number(s.n as f64),
                    ],
                    flags,
                }
            })
            .collect();
        let weakest = &shares[0];
        let zh = request.study.language.starts_with("zh");
        let t = |zh_text: &'static str, en: &'static str| if zh { zh_text } else { en };
        let finding = if zh {
            format!(
                "顶框（最满意选项）占比最低的指标是 **{}**：{:.1}%（n = {}）。",
                weakest.label,
                weakest.mean * 100.0,
                weakest.n
            )
        } else {
            format!(
                "The weakest indicator by share of top-box answers is **{}**: {:.1}% (n = {}).",
                weakest.label,
                weakest.mean * 100.0,
                weakest.n
            )
        };
        Ok(Report {
            overview: Vec::new(),
            title: Some(t("顶框占比", "Top-box shares").into()),
            blocks: vec![
                Block::Markdown { text: finding },
                Block::Table(Table {
                    title: format!(
                        "{} ({cell})",
                        t(
                            "各指标顶框占比（由低到高）",
                            "Top-box share by indicator, weakest first"
                        )
                    ),
                    columns: vec![
                        Column {
                            label: t("指标", "Indicator").into(),
                            kind: ColumnKind::Text,
                            decimals: 0,
                            signed: false,
                        },
                        Column {
                            label: t("顶框占比", "Top box").into(),
                            kind: ColumnKind::Percent,
                            decimals: 1,
                            signed: false,
                        },
                        Column {
                            label: format!("{:.0}% {}", request.study.confidence * 100.0, t("置信区间", "CI")),
                            kind: ColumnKind::Text,
                            decimals: 0,
                            signed: false,
                        },
                        Column {
                            label: "n".into(),
                            kind: ColumnKind::Count,
                            decimals: 0,
                            signed: false,
                        },
                    ],
                    rows,
                    note: Some(
                        t(
                            "加权占比；置信区间为 Korn–Graubard 区间（按有效样本量的 Clopper–Pearson 区间，有效样本量由线性化标准误得出），不会超出 0–100%。",
                            "Weighted shares; Korn–Graubard intervals (Clopper–Pearson at the effective base implied by the linearised standard error), which stay within 0–100 %.",
                        )
                        .into(),
                    ),
                }),
            ],
        })
    }
}

csi_plugin_sdk::export_plugin!(
    TopBox,
    name = "topbox",
    version = env!("CARGO_PKG_VERSION"),
    description = "Top-box shares of every indicator, weakest first"
);
