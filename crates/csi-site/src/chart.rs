//! Charts as SVG text, drawn with plotters' SVG backend. Text is left to the browser
//! (no font files are read), which is what lets Chinese labels render anywhere.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One horizontal bar with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Axis label.
    pub label: String,
    /// Bar length (0–100 score).
    pub value: f64,
    /// Lower confidence limit.
    pub low: Option<f64>,
    /// Upper confidence limit.
    pub high: Option<f64>,
}

/// Colours of a chart, from the theme.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    /// Bar fill.
    pub bar: RGBColor,
    /// Interval whiskers.
    pub whisker: RGBColor,
    /// Axis and label text.
    pub ink: RGBColor,
    /// Reference line (e.g. the index).
    pub reference: RGBColor,
}

impl Default for Palette {
    fn default() -> Self {
        Self {
            bar: RGBColor(0x4a, 0x86, 0xc8),
            whisker: RGBColor(0x1f, 0x24, 0x30),
            ink: RGBColor(0x1f, 0x24, 0x30),
            reference: RGBColor(0xb3, 0x26, 0x1e),
        }
    }
}

/// Display width of a label in pixels at `size` (CJK characters count double).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().map(|c| if c.is_ascii() { 0.55 } else { 1.0 }).sum::<f64>() * size
}

/// A horizontal bar chart with confidence whiskers, bar values printed at the bar
/// ends, and an optional labelled vertical reference line (e.g. the overall index).
pub fn horizontal_bars(bars: &[Bar], reference: Option<(&str, f64)>, palette: Palette) -> Result<String, String> {
    let font = 14.0;
    let label_width = bars.iter().map(|b| text_width(&b.label, font)).fold(60.0, f64::max) + 16.0;
    let row = 34u32;
    let width = 900u32;
    let height = row * bars.len() as u32 + 70;
    let lo = bars
        .iter()
        .filter_map(|b| b.low.or(Some(b.value)))
        .fold(100.0, f64::min);
    let x_min = ((lo - 10.0) / 10.0).floor().clamp(0.0, 10.0) * 10.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = bars.len() as i32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_top(28)
            .margin_right(40)
            .x_label_area_size(30)
            .y_label_area_size(label_width as u32)
            .build_cartesian_2d(x_min..100.0, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(RGBColor(0xee, 0xf0, 0xf4))
            .bold_line_style(RGBColor(0xd9, 0xdd, 0xe5))
            .axis_style(palette.ink)
            .label_style(("sans-serif", font).into_font().color(&palette.ink))
            .y_label_formatter(&|v| match v {
                // Row 0 is drawn at the top: plotters counts upwards.
                SegmentValue::CenterOf(i) if (0..n).contains(i) => labels[(n - 1 - *i) as usize].clone(),
                _ => String::new(),
            })
            .y_labels(bars.len())
            .x_labels(6)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(|e| e.to_string())?;
        // Bars as rectangles in a fixed order (plotters' Histogram orders them through a
        // HashMap, which would make the SVG differ from build to build).
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let row = n - 1 - i as i32;
                let mut bar = Rectangle::new(
                    [
                        (b.value.max(x_min), SegmentValue::Exact(row)),
                        (x_min, SegmentValue::Exact(row + 1)),
                    ],
                    palette.bar.filled(),
                );
                bar.set_margin(7, 7, 0, 0);
                bar
            }))
            .map_err(|e| e.to_string())?;
        for (i, b) in bars.iter().enumerate() {
            let y = SegmentValue::CenterOf(n - 1 - i as i32);
            if let (Some(l), Some(h)) = (b.low, b.high) {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(l.max(x_min), y.clone()), (h.min(100.0), y.clone())],
                        palette.whisker.stroke_width(2),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            let style = TextStyle::from(("sans-serif", 13).into_font())
                .color(&palette.ink)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let at = b.high.unwrap_or(b.value) + (100.0 - x_min) * 0.008;
            chart
                .draw_series(std::iter::once(Text::new(format!("{:.1}", b.value), (at, y), style)))
                .map_err(|e| e.to_string())?;
        }
        if let Some((name, x)) = reference {
            let top = SegmentValue::Exact(n);
            let bottom = SegmentValue::Exact(0);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, bottom), (x, top.clone())],
                    palette.reference.stroke_width(2),
                )))
                .map_err(|e| e.to_string())?;
            let style = TextStyle::from(("sans-serif", 12).into_font())
                .color(&palette.reference)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(std::iter::once(Text::new(format!("{name} {x:.1}"), (x, top), style)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Colours of the series of multi-series charts, in order (colour-blind safe).
const SERIES: [RGBColor; 8] = [
    RGBColor(0x4a, 0x86, 0xc8),
    RGBColor(0xe0, 0x7b, 0x39),
    RGBColor(0x3a, 0x9e, 0x6e),
    RGBColor(0xb3, 0x26, 0x1e),
    RGBColor(0x7a, 0x5c, 0xb0),
    RGBColor(0x8c, 0x6d, 0x31),
    RGBColor(0xd4, 0x5d, 0x9b),
    RGBColor(0x5f, 0x6b, 0x7a),
];
/// Bars above zero (better) and below (worse) in diverging charts.
const GOOD: RGBColor = RGBColor(0x3a, 0x9e, 0x6e);
const BAD: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const GRID: RGBColor = RGBColor(0xe4, 0xe7, 0xec);
const FONT: f64 = 13.0;

/// A named series of values, with optional interval limits (same length).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend label.
    pub name: String,
    /// One value per category (`None` for a gap).
    pub values: Vec<Option<f64>>,
    /// Lower limits, or empty.
    pub low: Vec<Option<f64>>,
    /// Upper limits, or empty.
    pub high: Vec<Option<f64>>,
}

/// A labelled point.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPoint {
    /// Label drawn beside the point.
    pub label: String,
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
}

/// Shortens `text` to about `max` pixels at `size`, with an ellipsis.
fn fit(text: &str, max: f64, size: f64) -> String {
    if text_width(text, size) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if text_width(&out, size) + size > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Round tick positions covering `[lo, hi]`: (ticks, new lo, new hi).
fn ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64, f64) {
    let (lo, hi) = if hi - lo < 1e-9 { (lo - 1.0, hi + 1.0) } else { (lo, hi) };
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = ((end - start) / step).round() as usize;
    ((0..=n).map(|i| start + i as f64 * step).collect(), start, end)
}

fn tick_text(v: f64, step: f64) -> String {
    // As many decimals as the step needs (2.5 → 1, 0.25 → 2), at most 3.
    let decimals = (0..3)
        .find(|d| {
            let scaled = step * 10f64.powi(*d as i32);
            (scaled - scaled.round()).abs() < 1e-9
        })
        .unwrap_or(3);
    let s = format!("{v:.decimals$}");
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Drawing on an SVG string in pixel coordinates.
struct Canvas<'a> {
    area: DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
}

type Px = (i32, i32);

impl Canvas<'_> {
    fn rect(&self, a: Px, b: Px, style: ShapeStyle) -> Result<(), String> {
        self.area
            .draw(&Rectangle::new([a, b], style))
            .map_err(|e| e.to_string())
    }
    fn line(&self, points: Vec<Px>, style: ShapeStyle) -> Result<(), String> {
        self.area
            .draw(&PathElement::new(points, style))
            .map_err(|e| e.to_string())
    }
    fn dashed(&self, a: Px, b: Px, colour: RGBColor) -> Result<(), String> {
        let len = (((b.0 - a.0).pow(2) + (b.1 - a.1).pow(2)) as f64).sqrt();
        let n = (len / 8.0).floor() as i32;
        for i in (0..n).step_by(2) {
            let at = |t: i32| {
                let f = t as f64 / n as f64;
                (
                    a.0 + ((b.0 - a.0) as f64 * f) as i32,
                    a.1 + ((b.1 - a.1) as f64 * f) as i32,
                )
            };
            self.line(vec![at(i), at(i + 1)], colour.stroke_width(1))?;
        }
        Ok(())
    }
    fn text(&self, s: &str, at: Px, size: f64, colour: RGBColor, h: HPos, v: VPos) -> Result<(), String> {
        let style = TextStyle::from(("sans-serif", size).into_font())
            .color(&colour)
            .pos(Pos::new(h, v));
        self.area
            .draw(&Text::new(s.to_string(), at, style))
            .map_err(|e| e.to_string())
    }
    /// Vertical grid lines at `marks` between `top` and `bottom`, labelled below.
    fn x_grid(
        &self,
        marks: &[f64],
        step: f64,
        x: &dyn Fn(f64) -> i32,
        (top, bottom): (i32, i32),
        ink: RGBColor,
    ) -> Result<(), String> {
        for m in marks {
            self.line(vec![(x(*m), top), (x(*m), bottom)], GRID.stroke_width(1))?;
            self.text(
                &tick_text(*m, step),
                (x(*m), bottom + 6),
                FONT - 1.0,
                ink,
                HPos::Center,
                VPos::Top,
            )?;
        }
        Ok(())
    }

    fn circle(&self, at: Px, r: i32, style: ShapeStyle) -> Result<(), String> {
        self.area.draw(&Circle::new(at, r, style)).map_err(|e| e.to_string())
    }
}

/// Runs `draw` on a white canvas of `width` × `height` and returns the SVG.
fn canvas(width: u32, height: u32, draw: impl FnOnce(&Canvas<'_>) -> Result<(), String>) -> Result<String, String> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let c = Canvas { area };
        draw(&c)?;
        c.area.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Legend items laid out from `x0`, wrapping before `max_x`: (x, row) per item.
fn legend_layout(names: &[&str], x0: i32, max_x: i32) -> Vec<(i32, i32, String)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (x0, 0);
    for name in names {
        let label = fit(name, 220.0, FONT - 1.0);
        let w = 19 + text_width(&label, FONT - 1.0) as i32 + 18;
        if x > x0 && x + w > max_x {
            x = x0;
            row += 1;
        }
        out.push((x, row, label));
        x += w;
    }
    out
}

/// How many legend rows `names` take.
fn legend_rows(names: &[&str], x0: i32, max_x: i32) -> i32 {
    legend_layout(names, x0, max_x).last().map_or(0, |l| l.1 + 1)
}

/// The legend at the top: a swatch and the name of each series, wrapped.
fn legend(c: &Canvas<'_>, names: &[&str], x0: i32, max_x: i32, y: i32, ink: RGBColor) -> Result<(), String> {
    for (i, (x, row, label)) in legend_layout(names, x0, max_x).into_iter().enumerate() {
        let y = y + row * 20;
        c.rect((x, y - 5), (x + 14, y + 5), SERIES[i % SERIES.len()].filled())?;
        c.text(&label, (x + 19, y), FONT - 1.0, ink, HPos::Left, VPos::Center)?;
    }
    Ok(())
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Horizontal bars from a zero line: below zero in the "worse" colour, above in
/// the "better" one, each with its value. For gaps and net scores.
pub fn diverging_bars(categories: &[String], values: &[Option<f64>], palette: Palette) -> Result<String, String> {
    let rows: Vec<(&String, f64)> = categories
        .iter()
        .zip(values)
        .filter_map(|(c, v)| Some((c, finite(*v)?)))
        .collect();
    if rows.is_empty() {
        return Err("no values".into());
    }
    let lo = rows.iter().map(|r| r.1).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let (marks, lo, hi) = ticks(lo, hi, 6);
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    let label_w = rows
        .iter()
        .map(|r| text_width(&fit(r.0, 300.0, FONT), FONT))
        .fold(60.0, f64::max) as i32
        + 16;
    let (width, row) = (900, 30);
    let (left, right, top) = (label_w + 12, width - 56, 16);
    let height = top + row * rows.len() as i32 + 36;
    let x = |v: f64| left + ((v - lo) / (hi - lo) * (right - left) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        let bottom = top + row * rows.len() as i32;
        c.x_grid(&marks, step, &x, (top, bottom), palette.ink)?;
        for (i, (label, v)) in rows.iter().enumerate() {
            let y = top + row * i as i32;
            let colour = if *v < 0.0 { BAD } else { GOOD };
            let (a, b) = (x(0.0).min(x(*v)), x(0.0).max(x(*v)));
            c.rect((a, y + 6), (b.max(a + 1), y + row - 6), colour.filled())?;
            c.text(
                &fit(label, 300.0, FONT),
                (left - 10, y + row / 2),
                FONT,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
            let (at, h) = if *v < 0.0 {
                (a - 4, HPos::Right)
            } else {
                (b + 4, HPos::Left)
            };
            let at = if *v < 0.0 && at < left + 30 { b + 4 } else { at };
            let h = if *v < 0.0 && a - 4 < left + 30 { HPos::Left } else { h };
            c.text(
                &format!("{v:+.1}"),
                (at, y + row / 2),
                FONT - 1.0,
                palette.ink,
                h,
                VPos::Center,
            )?;
        }
        c.line(
            vec![(x(0.0), top - 4), (x(0.0), bottom + 2)],
            palette.ink.stroke_width(2),
        )
    })
}

/// Horizontal grouped bars: one bar per series within each category, with
/// interval whiskers where given and a legend.
pub fn grouped_bars(categories: &[String], series: &[Line], palette: Palette) -> Result<String, String> {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.low).chain(&s.high))
        .filter_map(|v| finite(*v))
        .collect();
    if all.is_empty() || categories.is_empty() {
        return Err("no values".into());
    }
    let lo = all.iter().copied().fold(0.0, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let (marks, lo, hi) = ticks(lo, hi, 6);
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    let k = series.len().max(1) as i32;
    let bar = 12;
    let row = bar * k + 14;
    let label_w = categories
        .iter()
        .map(|c| text_width(&fit(c, 300.0, FONT), FONT))
        .fold(60.0, f64::max) as i32
        + 16;
    let width = 900;
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let top = 16 + 20 * legend_rows(&names, label_w + 12, width - 20);
    let (left, right) = (label_w + 12, width - 56);
    let height = top + row * categories.len() as i32 + 36;
    let x = |v: f64| left + ((v - lo) / (hi - lo) * (right - left) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        let bottom = top + row * categories.len() as i32;
        legend(c, &names, left, width - 20, 14, palette.ink)?;
        c.x_grid(&marks, step, &x, (top, bottom), palette.ink)?;
        for (i, cat) in categories.iter().enumerate() {
            let y0 = top + row * i as i32 + 7;
            c.text(
                &fit(cat, 300.0, FONT),
                (left - 10, y0 + bar * k / 2),
                FONT,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
            for (j, s) in series.iter().enumerate() {
                let Some(v) = finite(s.values.get(i).copied().flatten()) else {
                    continue;
                };
                let y = y0 + bar * j as i32;
                let (a, b) = (x(0.0).min(x(v)), x(0.0).max(x(v)));
                c.rect(
                    (a, y + 1),
                    (b.max(a + 1), y + bar - 1),
                    SERIES[j % SERIES.len()].filled(),
                )?;
                let (l, h) = (
                    finite(s.low.get(i).copied().flatten()),
                    finite(s.high.get(i).copied().flatten()),
                );
                if let (Some(l), Some(h)) = (l, h) {
                    c.line(
                        vec![(x(l), y + bar / 2), (x(h), y + bar / 2)],
                        palette.whisker.stroke_width(1),
                    )?;
                }
            }
        }
        c.line(vec![(x(0.0), top), (x(0.0), bottom)], palette.ink.stroke_width(1))
    })
}

/// Lines across ordered categories (waves) with point markers, a shaded band
/// between the interval limits where given, and a legend. The y range follows
/// the data (it does not start at zero).
pub fn line_chart(categories: &[String], series: &[Line], palette: Palette) -> Result<String, String> {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.low).chain(&s.high))
        .filter_map(|v| finite(*v))
        .collect();
    if all.is_empty() || categories.is_empty() {
        return Err("no values".into());
    }
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let pad = ((hi - lo) * 0.1).max(0.5);
    let (marks, lo, hi) = ticks(lo - pad, hi + pad, 5);
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let rows = legend_rows(&names, 56, 880);
    let (width, height) = (900, 356 + 20 * rows);
    let (left, right, top, bottom) = (56, width - 40, 24 + 20 * rows, height - 40);
    let n = categories.len();
    let x = |i: usize| {
        if n == 1 {
            (left + right) / 2
        } else {
            left + 30 + ((right - left - 60) as f64 * i as f64 / (n - 1) as f64).round() as i32
        }
    };
    let y = |v: f64| bottom - ((v - lo) / (hi - lo) * (bottom - top) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        legend(c, &names, left, 880, 16, palette.ink)?;
        for m in &marks {
            c.line(vec![(left, y(*m)), (right, y(*m))], GRID.stroke_width(1))?;
            c.text(
                &tick_text(*m, step),
                (left - 8, y(*m)),
                FONT - 1.0,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
        }
        // Many waves: label every k-th (and the last) so labels never overlap, and
        // write values only where there is room.
        let spacing = if n > 1 {
            f64::from(right - left - 60) / (n - 1) as f64
        } else {
            f64::INFINITY
        };
        let widest = categories
            .iter()
            .map(|c| text_width(&fit(c, 140.0, FONT), FONT))
            .fold(0.0, f64::max);
        let every = ((widest + 10.0) / spacing).ceil().max(1.0) as usize;
        let labelled = |i: usize| i == n - 1 || (i % every == 0 && n - 1 - i >= every);
        let room_for_values = spacing >= 34.0;
        for (i, cat) in categories.iter().enumerate().filter(|(i, _)| labelled(*i)) {
            c.text(
                &fit(cat, 140.0, FONT),
                (x(i), bottom + 8),
                FONT,
                palette.ink,
                HPos::Center,
                VPos::Top,
            )?;
        }
        c.line(vec![(left, bottom), (right, bottom)], palette.ink.stroke_width(1))?;
        for (j, s) in series.iter().enumerate() {
            let colour = SERIES[j % SERIES.len()];
            // The band: a polygon over each run of consecutive waves with limits.
            let limits: Vec<Option<(f64, f64)>> = (0..n)
                .map(|i| {
                    Some((
                        finite(s.low.get(i).copied().flatten())?,
                        finite(s.high.get(i).copied().flatten())?,
                    ))
                })
                .collect();
            let mut i = 0;
            while i < n {
                let start = i;
                while i < n && limits[i].is_some() {
                    i += 1;
                }
                if i - start >= 2 {
                    let mut poly: Vec<Px> = (start..i).map(|k| (x(k), y(limits[k].expect("run").1))).collect();
                    poly.extend((start..i).rev().map(|k| (x(k), y(limits[k].expect("run").0))));
                    c.area
                        .draw(&Polygon::new(poly, colour.mix(0.15).filled()))
                        .map_err(|e| e.to_string())?;
                } else if i - start == 1 {
                    let (l, h) = limits[start].expect("run");
                    c.line(
                        vec![(x(start), y(l)), (x(start), y(h))],
                        colour.mix(0.5).stroke_width(3),
                    )?;
                }
                i += 1;
            }
            let points: Vec<Option<Px>> = (0..n)
                .map(|i| finite(s.values.get(i).copied().flatten()).map(|v| (x(i), y(v))))
                .collect();
            for pair in points.windows(2) {
                if let [Some(a), Some(b)] = pair {
                    c.line(vec![*a, *b], colour.stroke_width(2))?;
                }
            }
            for (i, p) in points.iter().enumerate() {
                if let Some(p) = p {
                    c.circle(*p, if room_for_values { 4 } else { 2 }, colour.filled())?;
                    if (j == 0 || series.len() <= 3) && (room_for_values || i == n - 1) {
                        let v = s.values[i].unwrap_or_default();
                        c.text(
                            &format!("{v:.1}"),
                            (p.0, p.1 - 8),
                            FONT - 2.0,
                            colour,
                            HPos::Center,
                            VPos::Bottom,
                        )?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// Labelled points with axis labels and dashed quadrant lines (e.g. the
/// importance–performance matrix).
pub fn scatter(
    points: &[LabelledPoint],
    x_label: &str,
    y_label: &str,
    x_line: Option<f64>,
    y_line: Option<f64>,
    palette: Palette,
) -> Result<String, String> {
    let pts: Vec<&LabelledPoint> = points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).collect();
    if pts.is_empty() {
        return Err("no points".into());
    }
    let xs = pts.iter().map(|p| p.x).chain(x_line.filter(|v| v.is_finite()));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let ys = pts.iter().map(|p| p.y).chain(y_line.filter(|v| v.is_finite()));
    let (y_lo, y_hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let (xm, x_lo, x_hi) = ticks(x_lo - (x_hi - x_lo) * 0.08, x_hi + (x_hi - x_lo) * 0.08, 6);
    let (ym, y_lo, y_hi) = ticks(y_lo - (y_hi - y_lo) * 0.08, y_hi + (y_hi - y_lo) * 0.08, 6);
    let (xs_step, ys_step) = (
        xm.get(1).map_or(1.0, |m| m - xm[0]),
        ym.get(1).map_or(1.0, |m| m - ym[0]),
    );
    let (width, height) = (900, 560);
    let (left, right, top, bottom) = (70, width - 30, 20, height - 56);
    let x = |v: f64| left + ((v - x_lo) / (x_hi - x_lo) * (right - left) as f64).round() as i32;
    let y = |v: f64| bottom - ((v - y_lo) / (y_hi - y_lo) * (bottom - top) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        c.x_grid(&xm, xs_step, &x, (top, bottom), palette.ink)?;
        for m in &ym {
            c.line(vec![(left, y(*m)), (right, y(*m))], GRID.stroke_width(1))?;
            c.text(
                &tick_text(*m, ys_step),
                (left - 8, y(*m)),
                FONT - 1.0,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
        }
        c.line(vec![(left, bottom), (right, bottom)], palette.ink.stroke_width(1))?;
        c.line(vec![(left, top), (left, bottom)], palette.ink.stroke_width(1))?;
        c.text(
            &fit(x_label, 700.0, FONT),
            ((left + right) / 2, height - 8),
            FONT,
            palette.ink,
            HPos::Center,
            VPos::Bottom,
        )?;
        let style = TextStyle::from(("sans-serif", FONT).into_font().transform(FontTransform::Rotate270))
            .color(&palette.ink)
            .pos(Pos::new(HPos::Center, VPos::Top));
        c.area
            .draw(&Text::new(fit(y_label, 460.0, FONT), (10, (top + bottom) / 2), style))
            .map_err(|e| e.to_string())?;
        if let Some(v) = x_line.filter(|v| v.is_finite()) {
            c.dashed((x(v), top), (x(v), bottom), palette.reference)?;
        }
        if let Some(v) = y_line.filter(|v| v.is_finite()) {
            c.dashed((left, y(v)), (right, y(v)), palette.reference)?;
        }
        // Labels: the first of a few positions around its point that stays in the
        // plot and overlaps neither another label nor a point (greedy, in point order,
        // so the result is deterministic).
        let size = FONT - 1.0;
        let at: Vec<Px> = pts.iter().map(|p| (x(p.x), y(p.y))).collect();
        let mut taken: Vec<(f64, f64, f64, f64)> = at
            .iter()
            .map(|&(px, py)| {
                (
                    f64::from(px) - 5.0,
                    f64::from(py) - 5.0,
                    f64::from(px) + 5.0,
                    f64::from(py) + 5.0,
                )
            })
            .collect();
        let overlaps =
            |a: &(f64, f64, f64, f64), b: &(f64, f64, f64, f64)| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
        for (p, &(px, py)) in pts.iter().zip(&at) {
            c.circle((px, py), 5, palette.bar.filled())?;
            let label = fit(&p.label, 180.0, size);
            let w = text_width(&label, size);
            let h = size + 2.0;
            let (fx, fy) = (f64::from(px), f64::from(py));
            // (anchor x offset, anchor y offset, horizontal alignment, vertical alignment)
            let candidates = [
                (8, 0, HPos::Left, VPos::Center),
                (-8, 0, HPos::Right, VPos::Center),
                (6, -10, HPos::Left, VPos::Bottom),
                (6, 10, HPos::Left, VPos::Top),
                (-6, -10, HPos::Right, VPos::Bottom),
                (-6, 10, HPos::Right, VPos::Top),
                (0, -10, HPos::Center, VPos::Bottom),
                (0, 10, HPos::Center, VPos::Top),
            ];
            let boxed = |&(dx, dy, hp, vp): &(i32, i32, HPos, VPos)| {
                let ax = fx + f64::from(dx);
                let ay = fy + f64::from(dy);
                let x0 = match hp {
                    HPos::Left => ax,
                    HPos::Right => ax - w,
                    HPos::Center => ax - w / 2.0,
                };
                let y0 = match vp {
                    VPos::Top => ay,
                    VPos::Bottom => ay - h,
                    VPos::Center => ay - h / 2.0,
                };
                (x0, y0, x0 + w, y0 + h)
            };
            let inside = |b: &(f64, f64, f64, f64)| {
                b.0 >= f64::from(left) && b.2 <= f64::from(right) && b.1 >= f64::from(top) && b.3 <= f64::from(bottom)
            };
            let own = (fx - 5.0, fy - 5.0, fx + 5.0, fy + 5.0);
            let choice = candidates
                .iter()
                .find(|cand| {
                    let b = boxed(cand);
                    inside(&b) && !taken.iter().any(|t| *t != own && overlaps(t, &b))
                })
                .or_else(|| candidates.iter().find(|cand| inside(&boxed(cand))))
                .unwrap_or(&candidates[0]);
            taken.push(boxed(choice));
            let (dx, dy, hp, vp) = *choice;
            c.text(&label, (px + dx, py + dy), size, palette.ink, hp, vp)?;
        }
        Ok(())
    })
}

/// Interpolates from the "worse" colour (low) through white to the "better"
/// colour (high) around the midpoint of the range.
fn heat(v: f64, lo: f64, hi: f64) -> RGBColor {
    let mid = (lo + hi) / 2.0;
    let (to, t) = if v < mid {
        (BAD, if mid > lo { (mid - v) / (mid - lo) } else { 0.0 })
    } else {
        (GOOD, if hi > mid { (v - mid) / (hi - mid) } else { 0.0 })
    };
    let t = t.clamp(0.0, 1.0) * 0.75;
    let mix = |a: u8| (255.0 + (a as f64 - 255.0) * t).round() as u8;
    RGBColor(mix(to.0), mix(to.1), mix(to.2))
}

/// A rows × columns grid of values coloured from worse (low) to better (high),
/// each cell showing its value; missing cells grey.
pub fn heatmap(
    rows: &[String],
    columns: &[String],
    values: &[Vec<Option<f64>>],
    palette: Palette,
) -> Result<String, String> {
    let all: Vec<f64> = values.iter().flatten().filter_map(|v| finite(*v)).collect();
    if all.is_empty() || rows.is_empty() || columns.is_empty() {
        return Err("no values".into());
    }
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let label_w = rows
        .iter()
        .map(|r| text_width(&fit(r, 260.0, FONT), FONT))
        .fold(60.0, f64::max) as i32
        + 16;
    let cell_w = ((860 - label_w) / columns.len() as i32).clamp(44, 120);
    let cell_h = 28;
    let head = 40;
    let width = label_w + cell_w * columns.len() as i32 + 20;
    let height = head + cell_h * rows.len() as i32 + 10;
    canvas(width as u32, height as u32, |c| {
        for (j, col) in columns.iter().enumerate() {
            let cx = label_w + cell_w * j as i32 + cell_w / 2;
            c.text(
                &fit(col, cell_w as f64 - 6.0, FONT - 1.0),
                (cx, head - 8),
                FONT - 1.0,
                palette.ink,
                HPos::Center,
                VPos::Bottom,
            )?;
        }
        for (i, row) in rows.iter().enumerate() {
            let y = head + cell_h * i as i32;
            c.text(
                &fit(row, 260.0, FONT),
                (label_w - 10, y + cell_h / 2),
                FONT,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
            for j in 0..columns.len() {
                let x0 = label_w + cell_w * j as i32;
                let v = finite(values.get(i).and_then(|r| r.get(j)).copied().flatten());
                let fill = v.map_or(RGBColor(0xee, 0xee, 0xee), |v| heat(v, lo, hi));
                c.rect((x0 + 1, y + 1), (x0 + cell_w - 1, y + cell_h - 1), fill.filled())?;
                if let Some(v) = v {
                    c.text(
                        &format!("{v:.1}"),
                        (x0 + cell_w / 2, y + cell_h / 2),
                        FONT - 1.0,
                        palette.ink,
                        HPos::Center,
                        VPos::Center,
                    )?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_are_round_and_labelled_with_the_decimals_they_need() {
        let (t, lo, hi) = super::ticks(-8.2, 4.0, 6);
        assert_eq!((lo, hi), (-10.0, 5.0));
        assert_eq!(t.len(), 7);
        let labels: Vec<String> = t.iter().map(|v| super::tick_text(*v, 2.5)).collect();
        assert_eq!(labels, ["-10.0", "-7.5", "-5.0", "-2.5", "0.0", "2.5", "5.0"]);
        assert_eq!(super::tick_text(60.0, 5.0), "60");
        assert!(super::ticks(5.0, 5.0, 4).0.len() >= 2);
    }
}
