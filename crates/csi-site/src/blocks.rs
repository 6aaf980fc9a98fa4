//! Report blocks to HTML. Everything a plugin says is data: text is escaped, its
//! markdown is rendered with raw HTML escaped, numbers are formatted here.

use std::fmt::Write;

use csi_blocks::{Block, Cell, Chart, ChartKind, Column, ColumnKind, Flag, Report, Table};
use tera::escape_html as esc;

use crate::chart::{self, Layout, Palette};
use crate::downloads::{self, DataTable};

/// The outcome of one analysis for one wave, as the site shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisPage {
    /// The analysis id in the study (also the page's file name).
    pub id: String,
    /// The plugin that ran it.
    pub plugin: String,
    /// The plugin's version, when it was found.
    pub plugin_version: Option<String>,
    /// The report, or why there is none.
    pub outcome: Result<Report, String>,
}

/// Whether a link target is harmless: relative, or http(s)/mailto.
fn safe_url(url: &str) -> bool {
    match url.find(':') {
        None => true,
        Some(i) if url[..i].contains(['/', '?', '#']) => true,
        Some(i) => matches!(url[..i].to_ascii_lowercase().as_str(), "http" | "https" | "mailto"),
    }
}

/// Markdown from a plugin: raw HTML is shown as text, not interpreted, and links
/// or images with other schemes (`javascript:`, `data:`) lose their target.
fn plugin_markdown(text: &str) -> String {
    use pulldown_cmark::{html, CowStr, Event, Parser, Tag};
    let events = Parser::new_ext(text, crate::markdown::options()).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// `x` with `d` decimals, never a negative zero ("-0.0" when a small negative
/// value rounds to zero).
fn fixed(x: f64, d: usize) -> String {
    let text = format!("{x:.d$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|c| c == b'0' || c == b'.') => rest.to_string(),
        _ => text,
    }
}

/// `x` with `d` decimals and a sign when it is a change: "+2.1", "-0.4", "0.0".
pub(crate) fn signed(x: f64, d: usize) -> String {
    let text = fixed(x, d);
    if x > 0.0 && text.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        format!("+{text}")
    } else {
        text
    }
}

/// A number as its column shows it.
fn format_number(x: f64, col: &Column) -> String {
    let d = usize::from(col.decimals);
    let show = |v: f64| if col.signed { signed(v, d) } else { fixed(v, d) };
    match col.kind {
        ColumnKind::Percent => format!("{}%", show(x * 100.0)),
        ColumnKind::Count => fixed(x, 0),
        ColumnKind::PValue => esc(&csi_blocks::p_value_text_with(x, col.decimals)),
        _ => show(x),
    }
}

fn format_cell(cell: &Cell, col: &Column) -> String {
    match cell {
        Cell::Empty(()) => String::new(),
        Cell::Text(t) => esc(t),
        Cell::Number(x) if !x.is_finite() => "–".into(),
        Cell::Number(x) => format_number(*x, col),
        Cell::Interval(i) if !(i.low.is_finite() && i.high.is_finite()) => "–".into(),
        Cell::Interval(i) => format!(
            "<span class=\"ci\">[{},&nbsp;{}]</span>",
            format_number(i.low, col),
            format_number(i.high, col)
        ),
    }
}

fn flag_class(f: Flag) -> &'static str {
    match f {
        Flag::SigUp => "sig-up",
        Flag::SigDown => "sig-down",
        Flag::LowBase => "low-base",
        Flag::Weak => "weak",
    }
}

fn flag_mark(f: Flag) -> &'static str {
    match f {
        Flag::SigUp => "▲",
        Flag::SigDown => "▼",
        Flag::LowBase => "†",
        Flag::Weak => "",
    }
}

/// Tables with this many columns or more are shown on a phone as one card per row
/// (the row's name, then each figure under its column's name), so that no column
/// hides off screen; narrower tables fit as they are.
pub(crate) const CARD_COLUMNS: usize = 4;

/// Tables of at most this many rows print on one page, not split between two.
const SHORT_TABLE_ROWS: usize = 15;

/// Text columns whose longest cell has at most this many characters share a line
/// with another figure on a phone card; longer text takes the card's full width.
const SHORT_TEXT_CHARS: usize = 8;

/// The rendered content of row `r`'s cell `i` (value and flag marks), without the
/// enclosing tag, and its classes.
fn cell_html(t: &Table, r: &csi_blocks::Row, i: usize) -> (String, Vec<&'static str>) {
    let c = &t.columns[i];
    let cell = r.cells.get(i).cloned().unwrap_or(Cell::Empty(()));
    let flags: &[Flag] = r.flags.get(i).map(Vec::as_slice).unwrap_or(&[]);
    let classes: Vec<&str> = flags.iter().map(|f| flag_class(*f)).collect();
    let marks: String = flags.iter().map(|f| flag_mark(*f)).collect();
    let mut html = format_cell(&cell, c);
    if !marks.is_empty() {
        let _ = write!(html, "<sup>{marks}</sup>");
    }
    (html, classes)
}

fn table(t: &Table, out: &mut String, csv: Option<&str>) {
    // Columns shown with the previous one are not columns of their own on the page.
    let shown = |i: usize| i == 0 || !t.columns[i].with_previous;
    let as_cards = (0..t.columns.len()).filter(|&i| shown(i)).count() >= CARD_COLUMNS;
    let short: Vec<bool> = (0..t.columns.len())
        .map(|i| {
            t.rows.iter().all(|r| match r.cells.get(i) {
                Some(Cell::Text(x)) => x.chars().count() <= SHORT_TEXT_CHARS,
                _ => true,
            })
        })
        .collect();
    let _ = write!(
        out,
        "<div class=\"table-scroll{wrap}\"><table class=\"block{cards}\"><caption>{}</caption><thead><tr>",
        esc(&t.title),
        wrap = if as_cards { " cards-wrap" } else { "" },
        cards = match (as_cards, t.rows.len() <= SHORT_TABLE_ROWS) {
            (true, true) => " cards short-table",
            (true, false) => " cards",
            (false, true) => " short-table",
            (false, false) => "",
        },
    );
    for (i, c) in t.columns.iter().enumerate() {
        if !shown(i) {
            continue;
        }
        let class = if c.kind == ColumnKind::Text {
            ""
        } else {
            " class=\"num\""
        };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", esc(&c.label));
    }
    out.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        out.push_str("<tr>");
        for (i, c) in t.columns.iter().enumerate() {
            if !shown(i) {
                continue;
            }
            let (mut html, mut classes) = cell_html(t, r, i);
            // The columns shown with this one follow its value.
            for j in (i + 1..t.columns.len()).take_while(|&j| !shown(j)) {
                let (beside, _) = cell_html(t, r, j);
                if !beside.is_empty() {
                    let _ = write!(html, " <span class=\"beside\">{beside}</span>");
                }
            }
            if c.kind != ColumnKind::Text {
                classes.push("num");
            } else if short[i] {
                classes.push("short");
            }
            let tag = if i == 0 { "th scope=\"row\"" } else { "td" };
            let close = if i == 0 { "th" } else { "td" };
            let label = if i == 0 {
                String::new()
            } else {
                format!(" data-label=\"{}\"", esc(&c.label))
            };
            let _ = write!(out, "<{tag}{label} class=\"{}\">{html}</{close}>", classes.join(" "));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    if let Some(n) = &t.note {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    if let Some(href) = csv {
        let _ = write!(
            out,
            "<p class=\"download\"><a href=\"{}\" download>CSV</a></p>",
            href.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
        );
    }
}

/// A chart's data as a table, shown beside every chart (and instead of kinds the
/// site does not draw yet).
fn chart_data(c: &Chart, words: &Words) -> Option<Table> {
    let number = |label: &str| Column::number(label, 1);
    let text = |label: &str| Column::text(label);
    let (columns, rows): (Vec<Column>, Vec<Vec<Cell>>) = match &c.spec {
        ChartKind::Bar { categories, series }
        | ChartKind::GroupedBar { categories, series }
        | ChartKind::DivergingBar { categories, series }
        | ChartKind::Line { categories, series } => {
            let mut cols = vec![text("")];
            cols.extend(series.iter().map(|s| number(&s.name)));
            let rows = categories
                .iter()
                .enumerate()
                .map(|(i, cat)| {
                    let mut r = vec![Cell::Text(cat.clone())];
                    r.extend(
                        series
                            .iter()
                            .map(|s| s.values.get(i).copied().flatten().map_or(Cell::Empty(()), Cell::Number)),
                    );
                    r
                })
                .collect();
            (cols, rows)
        }
        ChartKind::Scatter {
            points,
            x_label,
            y_label,
            ..
        } => (
            vec![text(""), number(x_label), number(y_label)],
            points
                .iter()
                .map(|p| vec![Cell::Text(p.label.clone()), Cell::Number(p.x), Cell::Number(p.y)])
                .collect(),
        ),
        ChartKind::PathDiagram { nodes, edges } => (
            vec![text(words.arrow_from), text(words.arrow_to), text(words.arrow_label)],
            edges
                .iter()
                .map(|e| {
                    let name = |i: usize| nodes.get(i).map_or(String::new(), |n| n.label.clone());
                    vec![
                        Cell::Text(name(e.from)),
                        Cell::Text(name(e.to)),
                        Cell::Text(e.label.clone()),
                    ]
                })
                .collect(),
        ),
        ChartKind::Heatmap {
            rows, columns, values, ..
        } => {
            let mut cols = vec![text("")];
            cols.extend(columns.iter().map(|c| number(c)));
            let rows = rows
                .iter()
                .zip(values)
                .map(|(r, vs)| {
                    let mut row = vec![Cell::Text(r.clone())];
                    row.extend(vs.iter().map(|v| v.map_or(Cell::Empty(()), Cell::Number)));
                    row
                })
                .collect();
            (cols, rows)
        }
    };
    Some(Table {
        title: c.title.clone(),
        columns,
        rows: rows
            .into_iter()
            .map(|cells| csi_blocks::Row { cells, flags: vec![] })
            .collect(),
        note: None,
    })
}

fn lines(series: &[csi_blocks::Series]) -> Vec<chart::Line> {
    series
        .iter()
        .map(|s| chart::Line {
            name: s.name.clone(),
            values: s.values.clone(),
            low: s.low.clone(),
            high: s.high.clone(),
            marked: s.marked.clone(),
        })
        .collect()
}

/// The bars of a bar chart's series: one per category with a value.
fn bars_of(categories: &[String], s: &csi_blocks::Series) -> Vec<chart::Bar> {
    categories
        .iter()
        .enumerate()
        .filter_map(|(i, cat)| {
            Some(chart::Bar {
                label: cat.clone(),
                value: s.values.get(i).copied().flatten()?,
                low: s.low.get(i).copied().flatten(),
                high: s.high.get(i).copied().flatten(),
            })
        })
        .collect()
}

/// Draws chart `c` in `layout`; `None` for kinds or data the site cannot draw.
fn draw(c: &Chart, palette: Palette, layout: Layout, words: &Words) -> Option<String> {
    match &c.spec {
        ChartKind::Bar { categories, series } => series
            .first()
            .and_then(|s| chart::horizontal_bars(&bars_of(categories, s), None, palette, layout).ok()),
        ChartKind::GroupedBar { categories, series } => {
            chart::grouped_bars(categories, &lines(series), palette, layout).ok()
        }
        ChartKind::DivergingBar { categories, series } => series
            .first()
            .and_then(|s| chart::diverging_bars(categories, &s.values, palette, layout).ok()),
        ChartKind::Line { categories, series } => chart::line_chart(categories, &lines(series), palette, layout).ok(),
        ChartKind::Scatter {
            points,
            x_label,
            y_label,
            x_line,
            y_line,
            quadrants,
        } => {
            let points: Vec<chart::LabelledPoint> = points
                .iter()
                .map(|p| chart::LabelledPoint {
                    label: p.label.clone(),
                    x: p.x,
                    y: p.y,
                    highlight: p.highlight,
                })
                .collect();
            chart::scatter(
                &points,
                x_label,
                y_label,
                *x_line,
                *y_line,
                quadrants.as_ref(),
                palette,
                layout,
            )
            .ok()
        }
        ChartKind::PathDiagram { nodes, edges } => {
            let boxes: Vec<chart::DiagramBox> = nodes
                .iter()
                .map(|n| chart::DiagramBox {
                    label: n.label.clone(),
                    note: n.note.clone(),
                })
                .collect();
            let arrows: Vec<chart::DiagramArrow> = edges
                .iter()
                .map(|e| chart::DiagramArrow {
                    from: e.from,
                    to: e.to,
                    label: e.label.clone(),
                    strong: e.strong,
                })
                .collect();
            chart::path_diagram(&boxes, &arrows, palette, layout).ok()
        }
        ChartKind::Heatmap {
            rows, columns, values, ..
        } => {
            let colours = heat_colours(&c.spec, words)?;
            chart::heatmap(rows, columns, values, &colours, palette, layout, rows).ok()
        }
    }
}

/// How a heat map's cells are coloured, from its spec (the site's legend words
/// where it gives none); `None` for other kinds.
fn heat_colours(spec: &ChartKind, words: &Words) -> Option<chart::HeatColours> {
    let ChartKind::Heatmap {
        higher_is_better,
        centre,
        legend,
        scale,
        ..
    } = spec
    else {
        return None;
    };
    Some(chart::HeatColours {
        scale: *scale,
        higher_is_better: higher_is_better.clone(),
        centre: centre.clone(),
        legend: legend
            .clone()
            .unwrap_or_else(|| [words.heat_worse.to_string(), words.heat_better.to_string()]),
    })
}

/// Charts of more rows than this are printed in parts of at most this many rows,
/// each with its own headings, axis and legend, so that a part fits on a page at a
/// legible size and parts small enough to fill what is left of a page (about a
/// third of one each) keep a tall chart from leaving pages half empty.
const PRINT_ROWS: usize = 12;

/// `n` rows in balanced parts of at most [`PRINT_ROWS`].
fn print_ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    let parts = n.div_ceil(PRINT_ROWS).max(1);
    let size = n.div_ceil(parts).max(1);
    (0..n).step_by(size).map(|a| a..(a + size).min(n)).collect()
}

/// The parts a tall chart is printed in (print layout, shared axis or colour
/// scale); `None` for charts that print whole.
fn print_parts(c: &Chart, palette: Palette, words: &Words) -> Option<Vec<String>> {
    match &c.spec {
        ChartKind::Bar { categories, series } if categories.len() > PRINT_ROWS => {
            let bars = bars_of(categories, series.first()?);
            let from = chart::bar_axis_min(&bars);
            print_ranges(bars.len())
                .into_iter()
                .map(|r| chart::horizontal_bars_from(&bars[r], None, palette, Layout::Print, from, categories).ok())
                .collect()
        }
        ChartKind::Line { categories, series } => chart::line_chart_print_parts(categories, &lines(series), palette),
        ChartKind::DivergingBar { categories, series } if categories.len() > PRINT_ROWS => {
            let values = &series.first()?.values;
            let finite = values.iter().flatten().filter(|v| v.is_finite());
            let span = finite.fold((0.0, 0.0), |(lo, hi): (f64, f64), &v| (lo.min(v), hi.max(v)));
            print_ranges(categories.len())
                .into_iter()
                .map(|r| {
                    let part: Vec<Option<f64>> = r.clone().map(|i| values.get(i).copied().flatten()).collect();
                    chart::diverging_bars_over(&categories[r], &part, Some(span), palette, Layout::Print, categories)
                        .ok()
                })
                .collect()
        }
        ChartKind::Heatmap {
            rows,
            columns,
            values,
            higher_is_better,
            centre,
            ..
        } if rows.len() > PRINT_ROWS => {
            let mut colours = heat_colours(&c.spec, words)?;
            // Every part is coloured on the whole map's scale.
            colours.scale = Some(chart::heat_deviations(values, &colours).1);
            print_ranges(rows.len())
                .into_iter()
                .map(|r| {
                    let part = chart::HeatColours {
                        higher_is_better: r
                            .clone()
                            .map(|i| higher_is_better.get(i).copied().unwrap_or(true))
                            .collect(),
                        centre: r.clone().map(|i| centre.get(i).copied().flatten()).collect(),
                        ..colours.clone()
                    };
                    let vals: Vec<Vec<Option<f64>>> =
                        r.clone().map(|i| values.get(i).cloned().unwrap_or_default()).collect();
                    chart::heatmap(&rows[r], columns, &vals, &part, palette, Layout::Print, rows).ok()
                })
                .collect()
        }
        _ => None,
    }
}

fn chart_block(c: &Chart, palette: Palette, out: &mut String, downloads: &mut Downloads) {
    let wide = draw(c, palette, Layout::Wide, downloads.words);
    let narrow = draw(c, palette, Layout::Narrow, downloads.words);
    let parts = print_parts(c, palette, downloads.words);
    let data = chart_data(c, downloads.words);
    out.push_str(if parts.is_some() {
        "<figure class=\"chart in-parts\">"
    } else {
        "<figure class=\"chart\">"
    });
    let print = parts.or_else(|| draw(c, palette, Layout::Print, downloads.words).map(|p| vec![p]));
    match (wide, narrow, print) {
        (Some(wide), Some(narrow), Some(print)) => {
            let alt = c.alt.clone().unwrap_or_else(|| c.title.clone());
            out.push_str(&crate::chart_layouts(&wide, &narrow, &print, &c.title, &alt));
            // Axes that follow the data say so (they do not start at 0).
            let axis = match &c.spec {
                ChartKind::Line { series, .. } if !chart::line_axis_starts_at_zero(&lines(series)) => {
                    downloads.words.axis_not_zero
                }
                ChartKind::Scatter { .. } => downloads.words.axis_not_zero,
                _ => "",
            };
            let _ = write!(out, "<figcaption>{}{}</figcaption>", esc(&c.title), esc(axis));
            if let Some(t) = data {
                let href = downloads.add(&t);
                let _ = write!(out, "<details><summary>{}</summary>", esc(downloads.words.data));
                table(&t, out, href.as_deref());
                out.push_str("</details>");
            }
        }
        _ => {
            if let Some(t) = data {
                let href = downloads.add(&t);
                table(&t, out, href.as_deref());
            }
        }
    }
    out.push_str("</figure>");
}

/// The site's words that blocks need: the chart-data disclosure, the heat-map
/// legend's default ends, and the download columns' words.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    /// Text of the "data" disclosure under each chart.
    pub data: &'a str,
    /// Heat-map legend, worse end.
    pub heat_worse: &'a str,
    /// Heat-map legend, better end.
    pub heat_better: &'a str,
    /// Said under charts whose axes follow the data.
    pub axis_not_zero: &'a str,
    /// The columns of a path diagram's data: where an arrow starts and ends.
    pub arrow_from: &'a str,
    /// See `arrow_from`.
    pub arrow_to: &'a str,
    /// The column of the arrows' labels.
    pub arrow_label: &'a str,
    /// How download columns and flags are named.
    pub downloads: downloads::DataWords<'a>,
}

impl<'a> Words<'a> {
    /// The words of the site's vocabulary `t` (see `text::strings`).
    pub fn from_strings(t: &std::collections::BTreeMap<&'static str, &'a str>) -> Self {
        Words {
            data: t["data"],
            heat_worse: t["heat_worse"],
            heat_better: t["heat_better"],
            axis_not_zero: t["axis_not_zero"],
            arrow_from: t["arrow_from"],
            arrow_to: t["arrow_to"],
            arrow_label: t["arrow_label"],
            downloads: downloads::DataWords::from_strings(t),
        }
    }
}

/// Collects the tables of a page as downloads and hands out their links.
struct Downloads<'a> {
    /// File stem prefix (the analysis id); `None` collects nothing.
    prefix: Option<&'a str>,
    /// The site's words.
    words: &'a Words<'a>,
    tables: Vec<DataTable>,
}

impl Downloads<'_> {
    /// Registers `t`; returns its CSV link (relative to the wave folder).
    fn add(&mut self, t: &Table) -> Option<String> {
        let prefix = self.prefix?;
        let file = format!("{prefix}-{}", self.tables.len() + 1);
        let table = DataTable::from_block(t, file, &self.words.downloads);
        let href = format!("data/{}", table.csv_name());
        self.tables.push(table);
        Some(href)
    }
}

/// Renders a report's blocks with the site's English words, collecting no downloads.
pub fn render(report: &Report, palette: Palette) -> String {
    let t = crate::text::strings("en");
    render_blocks(&report.blocks, palette, &Words::from_strings(&t))
}

/// Renders blocks (e.g. those an analysis offers to the overview) without
/// collecting downloads.
pub fn render_blocks(blocks: &[Block], palette: Palette, words: &Words) -> String {
    let mut downloads = Downloads {
        prefix: None,
        words,
        tables: Vec::new(),
    };
    render_into(blocks, palette, &mut downloads)
}

/// Renders a report's blocks for the page of analysis `id`, with a CSV link under
/// every table (and every chart's data table); returns the HTML and those tables,
/// named `<id>-1`, `<id>-2`, … in page order.
pub fn render_with_downloads(report: &Report, palette: Palette, id: &str, words: &Words) -> (String, Vec<DataTable>) {
    let mut downloads = Downloads {
        prefix: Some(id),
        words,
        tables: Vec::new(),
    };
    let html = render_into(&report.blocks, palette, &mut downloads);
    (html, downloads.tables)
}

fn render_into(blocks: &[Block], palette: Palette, downloads: &mut Downloads) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Headline {
                label,
                value,
                decimals,
                note,
                signed: with_sign,
            } => {
                let d = usize::from(*decimals);
                let _ = write!(
                    out,
                    "<div class=\"block-headline\"><p class=\"label\">{}</p><p class=\"big\">{}</p>{}</div>",
                    esc(label),
                    if *with_sign {
                        signed(*value, d)
                    } else {
                        fixed(*value, d)
                    },
                    note.as_ref()
                        .map(|n| format!("<p class=\"note\">{}</p>", esc(n)))
                        .unwrap_or_default()
                );
            }
            Block::Table(t) => {
                let href = downloads.add(t);
                table(t, &mut out, href.as_deref());
            }
            Block::Chart(c) => chart_block(c, palette, &mut out, downloads),
            Block::Markdown { text } => {
                let _ = write!(out, "<div class=\"finding\">{}</div>", plugin_markdown(text));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_negative_zero_is_displayed() {
        assert_eq!(super::fixed(-0.04, 1), "0.0");
        assert_eq!(super::fixed(-0.0, 0), "0");
        assert_eq!(super::fixed(-0.06, 1), "-0.1");
        assert_eq!(super::fixed(-10.0, 1), "-10.0");
    }

    use super::*;

    #[test]
    fn plugin_output_is_escaped() {
        let r = Report::from_json(
            br#"{"blocks":[{"type":"markdown","text":"**b** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.org)"},
            {"type":"table","title":"<i>t</i>","columns":[{"label":"<b>"}],"rows":[{"cells":["<img src=x>"]}]}]}"#,
        )
        .unwrap();
        let html = render(&r, Palette::default());
        assert!(
            !html.contains("<script>") && !html.contains("<img") && !html.contains("<i>t"),
            "{html}"
        );
        assert!(html.contains("<strong>b</strong>"));
        assert!(
            !html.contains("javascript:") && html.contains("https://example.org"),
            "{html}"
        );
    }
}
