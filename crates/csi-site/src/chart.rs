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
pub fn horizontal_bars(
    bars: &[Bar],
    reference: Option<(&str, f64)>,
    palette: Palette,
    layout: Layout,
) -> Result<String, String> {
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    horizontal_bars_from(bars, reference, palette, layout, bar_axis_min(bars), &labels)
}

/// [`horizontal_bars`] on an axis from `x_min` to 100, its label column as wide as
/// the widest of `all_labels`: the parts of a chart printed in parts share their
/// whole chart's axis and label column, so the bars start at the same place on
/// every page.
pub fn horizontal_bars_from(
    bars: &[Bar],
    reference: Option<(&str, f64)>,
    palette: Palette,
    layout: Layout,
    x_min: f64,
    all_labels: &[String],
) -> Result<String, String> {
    if layout == Layout::Narrow {
        return horizontal_bars_narrow(bars, reference, palette, x_min);
    }
    let font = FONT + 1.0;
    let label_width = all_labels
        .iter()
        .chain(bars.iter().map(|b| &b.label))
        .map(|l| text_width(l, font))
        .fold(60.0, f64::max)
        + 16.0;
    let row = 34u32;
    let width = layout.width() as u32;
    let height = row * bars.len() as u32 + 70;
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
        let (px_range, _) = chart.plotting_area().get_pixel_range();
        let units_per_px = (100.0 - x_min) / f64::from((px_range.end - px_range.start).max(1));
        if let Some((name, x)) = reference {
            let top = SegmentValue::Exact(n);
            let bottom = SegmentValue::Exact(0);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, bottom), (x, top.clone())],
                    palette.reference.stroke_width(2),
                )))
                .map_err(|e| e.to_string())?;
            let style = TextStyle::from(("sans-serif", FONT - 1.0).into_font())
                .color(&palette.reference)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(std::iter::once(Text::new(format!("{name} {x:.1}"), (x, top), style)))
                .map_err(|e| e.to_string())?;
        }
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
            let style = TextStyle::from(("sans-serif", FONT).into_font())
                .color(&palette.ink)
                .pos(Pos::new(HPos::Left, VPos::Center));
            let at = b.high.unwrap_or(b.value) + (100.0 - x_min) * 0.008;
            // A white ground keeps the value readable where the reference line
            // crosses it.
            let value = format!("{:.1}", b.value);
            let w = text_width(&value, FONT) / PX * units_per_px;
            let mut ground = Rectangle::new(
                [
                    (at, SegmentValue::Exact(n - 1 - i as i32)),
                    (at + w, SegmentValue::Exact(n - i as i32)),
                ],
                WHITE.filled(),
            );
            ground.set_margin(9, 9, 0, 0);
            chart.draw_series(std::iter::once(ground)).map_err(|e| e.to_string())?;
            chart
                .draw_series(std::iter::once(Text::new(format!("{:.1}", b.value), (at, y), style)))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The lower end of a 0–100 bar axis: a round ten below the lowest limit (the
/// caption says so when it is not 0).
pub fn bar_axis_min(bars: &[Bar]) -> f64 {
    let lo = bars
        .iter()
        .filter_map(|b| b.low.or(Some(b.value)))
        .fold(100.0, f64::min);
    ((lo - 10.0) / 10.0).floor().clamp(0.0, 10.0) * 10.0
}

/// The narrow layout of [`horizontal_bars`]: each label on its own line above its
/// bar, so the bars keep the full width.
fn horizontal_bars_narrow(
    bars: &[Bar],
    reference: Option<(&str, f64)>,
    palette: Palette,
    x_min: f64,
) -> Result<String, String> {
    let (marks, _, _) = ticks(x_min, 100.0, 4);
    let marks: Vec<f64> = marks.into_iter().filter(|m| *m >= x_min - 1e-9).collect();
    let step = marks.get(1).map_or(10.0, |m| m - marks[0]);
    let width = NARROW_WIDTH;
    let (left, right) = (6, width - 42);
    let top = if reference.is_some() { 24 } else { 8 };
    let row = 42;
    let bottom = top + row * bars.len() as i32;
    let height = bottom + 28;
    let x =
        |v: f64| left + ((v.clamp(x_min, 100.0) - x_min) / (100.0 - x_min) * f64::from(right - left)).round() as i32;
    canvas(width as u32, height as u32, |c| {
        c.x_grid(&marks, step, &x, (top, bottom), palette.ink, NARROW_FONT)?;
        for (i, b) in bars.iter().enumerate() {
            let y = top + row * i as i32;
            c.text(
                &fit(&b.label, f64::from(width - 12), NARROW_LABEL),
                (left, y + 3),
                NARROW_LABEL,
                palette.ink,
                HPos::Left,
                VPos::Top,
            )?;
            let (y0, y1) = (y + 21, y + 37);
            c.rect((x(x_min), y0), (x(b.value).max(x(x_min) + 1), y1), palette.bar.filled())?;
            if let (Some(l), Some(h)) = (b.low, b.high) {
                let ym = (y0 + y1) / 2;
                c.line(vec![(x(l), ym), (x(h), ym)], palette.whisker.stroke_width(2))?;
            }
        }
        if let Some((_, v)) = reference {
            // The line crosses the bars only, never a label's line.
            c.line(
                vec![(x(v), top - 2), (x(v), top + 19)],
                palette.reference.stroke_width(2),
            )?;
            for i in 0..bars.len() as i32 {
                let y = top + row * i;
                c.line(vec![(x(v), y + 19), (x(v), y + 39)], palette.reference.stroke_width(2))?;
            }
            c.line(
                vec![(x(v), bottom - 3), (x(v), bottom)],
                palette.reference.stroke_width(2),
            )?;
        }
        for (i, b) in bars.iter().enumerate() {
            let y = top + row * i as i32;
            let (y0, y1) = (y + 21, y + 37);
            let end = x(b.high.unwrap_or(b.value).max(b.value));
            let value = format!("{:.1}", b.value);
            let w = text_width(&value, NARROW_FONT) as i32;
            // A white ground keeps the value readable where the reference line crosses it.
            if reference.is_some() {
                c.rect((end + 2, y0 - 1), (end + 6 + w, y1 + 1), WHITE.filled())?;
            }
            c.text(
                &value,
                (end + 4, (y0 + y1) / 2),
                NARROW_FONT,
                palette.ink,
                HPos::Left,
                VPos::Center,
            )?;
        }
        if let Some((name, v)) = reference {
            let label = format!("{} {v:.1}", fit(name, 200.0, NARROW_FONT));
            let w = text_width(&label, NARROW_FONT) as i32;
            let at = (x(v) - w / 2).clamp(2, width - w - 2);
            c.text(
                &label,
                (at, top - 6),
                NARROW_FONT,
                palette.reference,
                HPos::Left,
                VPos::Bottom,
            )?;
        }
        Ok(())
    })
}

/// Colours of the series of multi-series charts, in order: the Okabe–Ito palette
/// (distinguishable with every common colour-vision deficiency), without its yellow,
/// which is too light on white. Orange and vermillion come last: they mean "worse"
/// in diverging bars and heat maps, so a second series (a competitor) is green, not
/// orange.
const SERIES: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0x5f, 0x6b, 0x7a),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0xd5, 0x5e, 0x00),
];
/// Better (blue) and worse (orange) in diverging bars and heat maps: a blue/orange
/// pair stays apart under deuteranopia and protanopia, unlike green/red. Values are
/// also written in every bar and cell, so colour is never the only encoding.
const GOOD: RGBColor = RGBColor(0x00, 0x72, 0xb2);
const BAD: RGBColor = RGBColor(0xd5, 0x5e, 0x00);
const GRID: RGBColor = RGBColor(0xe4, 0xe7, 0xec);
/// Muted text (quadrant names, axis notes).
const MUTED: RGBColor = RGBColor(0x5b, 0x63, 0x70);
/// plotters' SVG backend writes `font-size` as the size given divided by this, so
/// sizes in this module are that many times the pixels they display at.
const PX: f64 = 1.24;
/// Text size of the wide layout (12 px as drawn).
const FONT: f64 = 15.0;

/// The three layouts every chart is drawn in: wide for screens, print for paper,
/// and narrow for phones, where the SVG is shown at about its own size so that no
/// text is smaller than [`NARROW_FONT_PX`] px (labels move above their bars, scatter
/// points are numbered with a key, wide heat maps are split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// [`WIDE_WIDTH`] px wide, scaled to the screen's column.
    Wide,
    /// [`NARROW_WIDTH`] px wide, shown at its own size.
    Narrow,
    /// The wide layout drawn [`PRINT_WIDTH`] px wide with the same text sizes, so
    /// that printed across an A4 page its smallest text is about 8 pt (the wide
    /// layout would print it at about 6.5 pt).
    Print,
}

impl Layout {
    /// Width of the drawing, in px.
    pub fn width(self) -> i32 {
        match self {
            Layout::Wide => WIDE_WIDTH,
            Layout::Narrow => NARROW_WIDTH,
            Layout::Print => PRINT_WIDTH,
        }
    }
}

/// Width of the wide layout, in px.
pub const WIDE_WIDTH: i32 = 900;
/// Width of the print layout, in px: printed 182 mm wide (A4 less its margins),
/// text of 11.3 px measures 11.3 × 182 / 720 mm, about 8.1 pt.
pub const PRINT_WIDTH: i32 = 720;
/// Smallest text of the wide and print layouts, in px as drawn.
pub const WIDE_FONT_PX: f64 = (FONT - 1.0) / PX;

/// Width of the narrow layout, in px: a 390 px phone less the page margins.
pub const NARROW_WIDTH: i32 = 340;
/// Smallest text of the narrow layout, in px as drawn.
pub const NARROW_FONT_PX: f64 = 12.0;
/// Smallest text of the narrow layout, as plotters takes it.
const NARROW_FONT: f64 = NARROW_FONT_PX * PX;
/// Labels of the narrow layout (13 px as drawn).
const NARROW_LABEL: f64 = 13.0 * PX;

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
    /// Points drawn ringed (e.g. a significant change), or empty.
    pub marked: Vec<bool>,
}

/// A labelled point.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPoint {
    /// Drawn emphasised (larger, in the accent colour, label in bold).
    pub highlight: bool,
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
    /// A row's label on its own line above the row (narrow layouts): from the left
    /// edge, its top at `top`, shortened to the chart's `width`.
    fn label_above(&self, label: &str, width: i32, top: i32, size: f64, colour: RGBColor) -> Result<(), String> {
        self.text(
            &fit(label, f64::from(width - 8), size),
            (4, top),
            size,
            colour,
            HPos::Left,
            VPos::Top,
        )
    }

    /// A row's label before the plot (wide layouts): right-aligned at `right`,
    /// centred on `middle`, shortened to `max` px.
    fn label_before(
        &self,
        label: &str,
        right: i32,
        middle: i32,
        max: f64,
        size: f64,
        colour: RGBColor,
    ) -> Result<(), String> {
        self.text(
            &fit(label, max, size),
            (right, middle),
            size,
            colour,
            HPos::Right,
            VPos::Center,
        )
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
        size: f64,
    ) -> Result<(), String> {
        for m in marks {
            self.line(vec![(x(*m), top), (x(*m), bottom)], GRID.stroke_width(1))?;
            self.text(
                &tick_text(*m, step),
                (x(*m), bottom + 6),
                size,
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
fn legend_layout(names: &[&str], x0: i32, max_x: i32, size: f64) -> Vec<(i32, i32, String)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (x0, 0);
    for name in names {
        let label = fit(name, f64::from(max_x - x0 - 24).min(220.0), size);
        let w = 19 + text_width(&label, size) as i32 + 18;
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
fn legend_rows(names: &[&str], x0: i32, max_x: i32, size: f64) -> i32 {
    legend_layout(names, x0, max_x, size).last().map_or(0, |l| l.1 + 1)
}

/// The legend at the top: a swatch and the name of each series, wrapped.
fn legend(c: &Canvas<'_>, names: &[&str], x0: i32, max_x: i32, y: i32, ink: RGBColor, size: f64) -> Result<(), String> {
    for (i, (x, row, label)) in legend_layout(names, x0, max_x, size).into_iter().enumerate() {
        let y = y + row * 20;
        c.rect((x, y - 5), (x + 14, y + 5), SERIES[i % SERIES.len()].filled())?;
        c.text(&label, (x + 19, y), size, ink, HPos::Left, VPos::Center)?;
    }
    Ok(())
}

/// `v` with one decimal and a sign ("+2.1", "-0.4"); a value that rounds to zero
/// is "0.0", never "-0.0" or "+0.0".
fn signed1(v: f64) -> String {
    let text = format!("{:.1}", v.abs());
    if text == "0.0" {
        text
    } else if v < 0.0 {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Horizontal bars from a zero line: below zero in the "worse" colour, above in
/// the "better" one, each with its value. For gaps and net scores. In the narrow
/// layout each label sits on its own line above its bar.
pub fn diverging_bars(
    categories: &[String],
    values: &[Option<f64>],
    palette: Palette,
    layout: Layout,
) -> Result<String, String> {
    diverging_bars_over(categories, values, None, palette, layout, categories)
}

/// [`diverging_bars`] with its axis spanning at least `span` (low, high) and its
/// label column as wide as the widest of `all_labels`: the parts of one chart
/// printed on several pages share their axis and label column, so the zero line
/// stands at the same place on every page.
pub fn diverging_bars_over(
    categories: &[String],
    values: &[Option<f64>],
    span: Option<(f64, f64)>,
    palette: Palette,
    layout: Layout,
    all_labels: &[String],
) -> Result<String, String> {
    let rows: Vec<(&String, f64)> = categories
        .iter()
        .zip(values)
        .filter_map(|(c, v)| Some((c, finite(*v)?)))
        .collect();
    if rows.is_empty() {
        return Err("no values".into());
    }
    let narrow = layout == Layout::Narrow;
    let (lo, hi) = span.unwrap_or((0.0, 0.0));
    let lo = rows.iter().map(|r| r.1).fold(lo.min(0.0), f64::min);
    let hi = rows.iter().map(|r| r.1).fold(hi.max(0.0), f64::max);
    let (marks, lo, hi) = ticks(lo, hi, if narrow { 4 } else { 6 });
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    let (font, small) = if narrow {
        (NARROW_LABEL, NARROW_FONT)
    } else {
        (FONT, FONT - 1.0)
    };
    let label_w = if narrow {
        0
    } else {
        rows.iter()
            .map(|r| r.0)
            .chain(all_labels)
            .map(|r| text_width(&fit(r, 300.0, FONT), FONT))
            .fold(60.0, f64::max) as i32
            + 16
    };
    let (width, row, bar_top) = (
        layout.width(),
        if narrow { 40 } else { 30 },
        if narrow { 19 } else { 6 },
    );
    let (left, right, top) = if narrow {
        (40, width - 40, 8)
    } else {
        (label_w + 12, width - 56, 16)
    };
    let height = top + row * rows.len() as i32 + 36;
    let x = |v: f64| left + ((v - lo) / (hi - lo) * (right - left) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        let bottom = top + row * rows.len() as i32;
        c.x_grid(&marks, step, &x, (top, bottom), palette.ink, small)?;
        for (i, (label, v)) in rows.iter().enumerate() {
            let y = top + row * i as i32;
            let colour = if *v < 0.0 { BAD } else { GOOD };
            let (a, b) = (x(0.0).min(x(*v)), x(0.0).max(x(*v)));
            let (y0, y1) = if narrow {
                (y + bar_top, y + row - 5)
            } else {
                (y + 6, y + row - 6)
            };
            c.rect((a, y0), (b.max(a + 1), y1), colour.filled())?;
            if narrow {
                c.label_above(label, width, y + 2, font, palette.ink)?;
            } else {
                c.label_before(label, left - 10, y + row / 2, 300.0, font, palette.ink)?;
            }
            let room = if narrow { 4 } else { left + 30 };
            // A value sits at its bar's end; a negative bar with no room beyond its
            // end carries its value inside, in white, so that it never reads as
            // belonging to the positive side.
            let text = signed1(*v);
            let inside = f64::from(b - a) > text_width(&text, small) / PX + 8.0;
            let (at, h, ink) = if *v >= 0.0 || a - 4 >= room {
                if *v < 0.0 {
                    (a - 4, HPos::Right, palette.ink)
                } else {
                    (b + 4, HPos::Left, palette.ink)
                }
            } else if inside {
                (a + 4, HPos::Left, WHITE)
            } else {
                (b + 4, HPos::Left, palette.ink)
            };
            c.text(&text, (at, (y0 + y1) / 2), small, ink, h, VPos::Center)?;
        }
        if narrow {
            // The zero line crosses the bars only, never a label's line.
            for i in 0..rows.len() as i32 {
                let y = top + row * i;
                c.line(
                    vec![(x(0.0), y + bar_top - 2), (x(0.0), y + row - 3)],
                    palette.ink.stroke_width(2),
                )?;
            }
            Ok(())
        } else {
            c.line(
                vec![(x(0.0), top - 4), (x(0.0), bottom + 2)],
                palette.ink.stroke_width(2),
            )
        }
    })
}

/// Horizontal grouped bars: one bar per series within each category, with
/// interval whiskers where given and a legend. In the narrow layout each
/// category's label sits on its own line above its bars.
pub fn grouped_bars(
    categories: &[String],
    series: &[Line],
    palette: Palette,
    layout: Layout,
) -> Result<String, String> {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.low).chain(&s.high))
        .filter_map(|v| finite(*v))
        .collect();
    if all.is_empty() || categories.is_empty() {
        return Err("no values".into());
    }
    let narrow = layout == Layout::Narrow;
    let lo = all.iter().copied().fold(0.0, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let (marks, lo, hi) = ticks(lo, hi, if narrow { 4 } else { 6 });
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    let k = series.len().max(1) as i32;
    let bar = 12;
    let label_row = if narrow { 18 } else { 0 };
    let row = bar * k + 14 + label_row;
    let label_w = if narrow {
        0
    } else {
        categories
            .iter()
            .map(|c| text_width(&fit(c, 300.0, FONT), FONT))
            .fold(60.0, f64::max) as i32
            + 16
    };
    let (width, small) = if narrow {
        (NARROW_WIDTH, NARROW_FONT)
    } else {
        (layout.width(), FONT - 1.0)
    };
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let (left, right) = if narrow {
        (8, width - 20)
    } else {
        (label_w + 12, width - 56)
    };
    let legend_x = if narrow { 4 } else { left };
    let top = 16 + 20 * legend_rows(&names, legend_x, width - 20, small);
    let height = top + row * categories.len() as i32 + 36;
    let x = |v: f64| left + ((v - lo) / (hi - lo) * (right - left) as f64).round() as i32;
    canvas(width as u32, height as u32, |c| {
        let bottom = top + row * categories.len() as i32;
        legend(c, &names, legend_x, width - 20, 14, palette.ink, small)?;
        c.x_grid(&marks, step, &x, (top, bottom), palette.ink, small)?;
        for (i, cat) in categories.iter().enumerate() {
            let y0 = top + row * i as i32 + 7 + label_row;
            if narrow {
                c.label_above(cat, width, y0 - label_row, NARROW_LABEL, palette.ink)?;
            } else {
                c.label_before(cat, left - 10, y0 + bar * k / 2, 300.0, FONT, palette.ink)?;
            }
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

/// One panel of a line chart: its box in pixels, y range and text size.
struct Panel {
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
    lo: f64,
    hi: f64,
    marks: Vec<f64>,
    step: f64,
    size: f64,
    /// Room between the plot's sides and the first and last category, so their
    /// labels stay inside the panel.
    inset: i32,
}

/// The inset a panel of `width` px needs for the category labels at its ends.
fn label_inset(categories: &[String], size: f64, width: i32) -> i32 {
    let end = |c: Option<&String>| c.map_or(0.0, |c| text_width(&fit(c, 140.0, size), size) / PX / 2.0);
    let half = end(categories.first()).max(end(categories.last())).ceil() as i32 + 2;
    ((width / 12).min(30)).max(half).min(width / 3)
}

impl Panel {
    fn x(&self, i: usize, n: usize) -> i32 {
        if n == 1 {
            (self.left + self.right) / 2
        } else {
            let inset = self.inset;
            self.left
                + inset
                + (f64::from(self.right - self.left - 2 * inset) * i as f64 / (n - 1) as f64).round() as i32
        }
    }
    fn y(&self, v: f64) -> i32 {
        self.bottom - ((v - self.lo) / (self.hi - self.lo) * f64::from(self.bottom - self.top)).round() as i32
    }
}

/// Draws `series` (coloured from `first_colour` on) into panel `p`: grid, y ticks,
/// category labels (thinned so they never overlap), bands, lines, points and, where
/// there is room, values.
fn line_panel(
    c: &Canvas<'_>,
    categories: &[String],
    series: &[&Line],
    first_colour: usize,
    p: &Panel,
    ink: RGBColor,
) -> Result<(), String> {
    let n = categories.len();
    for m in &p.marks {
        c.line(vec![(p.left, p.y(*m)), (p.right, p.y(*m))], GRID.stroke_width(1))?;
        c.text(
            &tick_text(*m, p.step),
            (p.left - 6, p.y(*m)),
            p.size,
            ink,
            HPos::Right,
            VPos::Center,
        )?;
    }
    let spacing = if n > 1 {
        f64::from(p.x(1, n) - p.x(0, n))
    } else {
        f64::INFINITY
    };
    let widest = categories
        .iter()
        .map(|c| text_width(&fit(c, 140.0, p.size), p.size))
        .fold(0.0, f64::max);
    let every = ((widest + 10.0) / spacing).ceil().max(1.0) as usize;
    // The first wave is labelled too whenever it clears the last one.
    let span = f64::from(p.x(n - 1, n) - p.x(0, n));
    let labelled = |i: usize| {
        i == n - 1 || (i == 0 && span >= widest / PX + 10.0) || (i.is_multiple_of(every) && n - 1 - i >= every)
    };
    let room_for_values = spacing >= 34.0;
    for (i, cat) in categories.iter().enumerate().filter(|(i, _)| labelled(*i)) {
        c.text(
            &fit(cat, 140.0, p.size),
            (p.x(i, n), p.bottom + 6),
            p.size,
            ink,
            HPos::Center,
            VPos::Top,
        )?;
    }
    c.line(vec![(p.left, p.bottom), (p.right, p.bottom)], ink.stroke_width(1))?;
    for (j, s) in series.iter().enumerate() {
        let colour = SERIES[(first_colour + j) % SERIES.len()];
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
                let mut poly: Vec<Px> = (start..i)
                    .map(|k| (p.x(k, n), p.y(limits[k].expect("run").1)))
                    .collect();
                poly.extend((start..i).rev().map(|k| (p.x(k, n), p.y(limits[k].expect("run").0))));
                c.area
                    .draw(&Polygon::new(poly, colour.mix(0.15).filled()))
                    .map_err(|e| e.to_string())?;
            } else if i - start == 1 {
                let (l, h) = limits[start].expect("run");
                c.line(
                    vec![(p.x(start, n), p.y(l)), (p.x(start, n), p.y(h))],
                    colour.mix(0.5).stroke_width(3),
                )?;
            }
            i += 1;
        }
        let points: Vec<Option<Px>> = (0..n)
            .map(|i| finite(s.values.get(i).copied().flatten()).map(|v| (p.x(i, n), p.y(v))))
            .collect();
        for pair in points.windows(2) {
            if let [Some(a), Some(b)] = pair {
                c.line(vec![*a, *b], colour.stroke_width(2))?;
            }
        }
        for (i, pt) in points.iter().enumerate() {
            if let Some(pt) = pt {
                c.circle(*pt, if room_for_values { 4 } else { 2 }, colour.filled())?;
                if s.marked.get(i).copied().unwrap_or(false) {
                    c.circle(*pt, 8, palette_ink_ring(ink))?;
                }
                if (j == 0 || series.len() <= 3) && (room_for_values || i == n - 1) {
                    let v = s.values[i].unwrap_or_default();
                    let text = format!("{v:.1}");
                    // A white ground, so an interval's whisker never runs through
                    // the value.
                    let (w, h) = ((text_width(&text, p.size) / PX) as i32, (p.size / PX) as i32);
                    c.rect(
                        (pt.0 - w / 2 - 2, pt.1 - 8 - h),
                        (pt.0 + w / 2 + 2, pt.1 - 7),
                        WHITE.filled(),
                    )?;
                    c.text(&text, (pt.0, pt.1 - 7), p.size, colour, HPos::Center, VPos::Bottom)?;
                }
            }
        }
    }
    Ok(())
}

/// The ring around a marked point: the ink colour, unfilled.
fn palette_ink_ring(ink: RGBColor) -> ShapeStyle {
    ink.stroke_width(2)
}

/// The y range of `series` with some room around it: (ticks, low, high, step).
fn line_range(series: &[Line], target: usize) -> Option<(Vec<f64>, f64, f64, f64)> {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().chain(&s.low).chain(&s.high))
        .filter_map(|v| finite(*v))
        .collect();
    if all.is_empty() {
        return None;
    }
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let pad = ((hi - lo) * 0.1).max(0.5);
    let (marks, lo, hi) = ticks(lo - pad, hi + pad, target);
    let step = marks.get(1).map_or(1.0, |m| m - marks[0]);
    Some((marks, lo, hi, step))
}

/// Whether a line chart of `series` has its value axis start at 0 (the data reach
/// down to it); when not, its caption says so.
pub fn line_axis_starts_at_zero(series: &[Line]) -> bool {
    line_range(series, 5).is_some_and(|(_, lo, _, _)| lo <= 0.0)
}

/// Series beyond which a line chart becomes small multiples (one panel per series,
/// on a shared y axis) instead of one tangle of lines.
pub const SMALL_MULTIPLES_FROM: usize = 5;

/// Lines across ordered categories (waves) with point markers, a shaded band
/// between the interval limits where given, and a legend. The y range follows
/// the data (it does not start at zero; the axis is labelled). With
/// [`SMALL_MULTIPLES_FROM`] series or more, each series gets its own small panel
/// on the same y range.
pub fn line_chart(categories: &[String], series: &[Line], palette: Palette, layout: Layout) -> Result<String, String> {
    if categories.is_empty() {
        return Err("no values".into());
    }
    let narrow = layout == Layout::Narrow;
    let Some((marks, lo, hi, step)) = line_range(series, 5) else {
        return Err("no values".into());
    };
    let size = if narrow { NARROW_FONT } else { FONT - 1.0 };
    if series.len() >= SMALL_MULTIPLES_FROM {
        return small_multiples(categories, series, palette, layout, (marks, lo, hi, step));
    }
    let width = layout.width();
    let left = if narrow { 40 } else { 56 };
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let legend_x = if narrow { 4 } else { left };
    let rows = legend_rows(&names, legend_x, width - 20, size);
    let plot_h = if narrow { 220 } else { 292 };
    let top = 24 + 20 * rows;
    let height = top + plot_h + 40;
    let panel = Panel {
        left,
        right: width - if narrow { 14 } else { 40 },
        top,
        bottom: top + plot_h,
        lo,
        hi,
        marks,
        step,
        size,
        inset: label_inset(categories, size, width - if narrow { 14 } else { 40 } - left),
    };
    let refs: Vec<&Line> = series.iter().collect();
    canvas(width as u32, height as u32, |c| {
        legend(c, &names, legend_x, width - 20, 16, palette.ink, size)?;
        line_panel(c, categories, &refs, 0, &panel, palette.ink)
    })
}

/// Panels of small multiples per printed part: two rows of three (about a third
/// of a page), so that parts fill what is left of a page.
const PRINT_PANELS: usize = 6;

/// A line chart of small multiples printed in parts of at most [`PRINT_PANELS`]
/// panels, all on the whole chart's y range; `None` when it prints whole (fewer
/// series than that, or too few for small multiples).
pub fn line_chart_print_parts(categories: &[String], series: &[Line], palette: Palette) -> Option<Vec<String>> {
    if series.len() < SMALL_MULTIPLES_FROM.max(PRINT_PANELS + 1) || categories.is_empty() {
        return None;
    }
    let range = line_range(series, 5)?;
    // Parts of whole rows of three panels, as few and as even as may be.
    let rows = series.len().div_ceil(3);
    let parts = rows.div_ceil(PRINT_PANELS / 3);
    let size = rows.div_ceil(parts) * 3;
    series
        .chunks(size)
        .map(|part| small_multiples(categories, part, palette, Layout::Print, range.clone()).ok())
        .collect()
}

/// One panel per series, titled with its name, all on one y range.
fn small_multiples(
    categories: &[String],
    series: &[Line],
    palette: Palette,
    layout: Layout,
    (marks, lo, hi, step): (Vec<f64>, f64, f64, f64),
) -> Result<String, String> {
    let narrow = layout == Layout::Narrow;
    let width = layout.width();
    let size = if narrow { NARROW_FONT } else { FONT - 1.0 };
    let columns = if narrow {
        if categories.len() <= 4 {
            2
        } else {
            1
        }
    } else {
        3
    };
    let cell_w = width / columns;
    let (title_h, plot_h, below) = (22, if narrow { 110 } else { 130 }, 30);
    let cell_h = title_h + plot_h + below + 8;
    let rows = series.len().div_ceil(columns as usize) as i32;
    let height = cell_h * rows + 6;
    // A coarser y axis: small panels need fewer ticks.
    let thin: Vec<f64> = marks
        .iter()
        .copied()
        .step_by(if marks.len() > 5 { 2 } else { 1 })
        .collect();
    let thin_step = thin.get(1).map_or(step, |m| m - thin[0]);
    canvas(width as u32, height as u32, |c| {
        for (k, s) in series.iter().enumerate() {
            let (col, row) = ((k as i32) % columns, (k as i32) / columns);
            let x0 = col * cell_w;
            let y0 = row * cell_h + 4;
            c.text(
                &fit(
                    &s.name,
                    f64::from(cell_w - 12),
                    if narrow { NARROW_LABEL } else { FONT },
                ),
                (x0 + 6, y0 + title_h - 6),
                if narrow { NARROW_LABEL } else { FONT },
                palette.ink,
                HPos::Left,
                VPos::Bottom,
            )?;
            let panel = Panel {
                left: x0 + 38,
                right: x0 + cell_w - 10,
                top: y0 + title_h + 4,
                bottom: y0 + title_h + plot_h,
                lo,
                hi,
                marks: thin.clone(),
                step: thin_step,
                size,
                inset: label_inset(categories, size, cell_w - 48),
            };
            // Panels are titled, so every one takes the first colour: a colour of
            // its own would read as a meaning (orange is "worse" elsewhere).
            line_panel(c, categories, &[s], 0, &panel, palette.ink)?;
        }
        Ok(())
    })
}

/// Box of a text in pixels: (x0, y0, x1, y1).
type TextBox = (f64, f64, f64, f64);

fn text_box(at: (f64, f64), w: f64, h: f64, hp: HPos, vp: VPos) -> TextBox {
    let x0 = match hp {
        HPos::Left => at.0,
        HPos::Right => at.0 - w,
        HPos::Center => at.0 - w / 2.0,
    };
    let y0 = match vp {
        VPos::Top => at.1,
        VPos::Bottom => at.1 - h,
        VPos::Center => at.1 - h / 2.0,
    };
    (x0, y0, x0 + w, y0 + h)
}

fn overlaps(a: &TextBox, b: &TextBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Labelled points with axis labels, dashed quadrant lines and, when given, the
/// quadrants' names in their corners (e.g. the importance–performance matrix).
/// Highlighted points are drawn larger, in the accent colour, with bold labels. In
/// the narrow layout points carry numbers and a key below the plot names them.
#[allow(clippy::too_many_arguments)]
pub fn scatter(
    points: &[LabelledPoint],
    x_label: &str,
    y_label: &str,
    x_line: Option<f64>,
    y_line: Option<f64>,
    quadrants: Option<&[String; 4]>,
    palette: Palette,
    layout: Layout,
) -> Result<String, String> {
    let pts: Vec<&LabelledPoint> = points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).collect();
    if pts.is_empty() {
        return Err("no points".into());
    }
    let narrow = layout == Layout::Narrow;
    let xs = pts.iter().map(|p| p.x).chain(x_line.filter(|v| v.is_finite()));
    let (x_lo, x_hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let ys = pts.iter().map(|p| p.y).chain(y_line.filter(|v| v.is_finite()));
    let (y_lo, y_hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let target = if narrow { 4 } else { 6 };
    // Room at the top and bottom for the quadrant names.
    let y_room = if quadrants.is_some() { 0.16 } else { 0.08 };
    let (xm, x_lo, x_hi) = ticks(x_lo - (x_hi - x_lo) * 0.08, x_hi + (x_hi - x_lo) * 0.08, target);
    let (ym, y_lo, y_hi) = ticks(y_lo - (y_hi - y_lo) * y_room, y_hi + (y_hi - y_lo) * y_room, target);
    let (xs_step, ys_step) = (
        xm.get(1).map_or(1.0, |m| m - xm[0]),
        ym.get(1).map_or(1.0, |m| m - ym[0]),
    );
    let size = if narrow { NARROW_FONT } else { FONT - 1.0 };
    // Printed, the plot is lower than on screens, so that a matrix fits under a
    // page's opening figures.
    let plot_h = match layout {
        Layout::Narrow => 300,
        Layout::Wide => 484,
        Layout::Print => 400,
    };
    let width = layout.width();
    let (left, right, top) = if narrow {
        (50, width - 10, 10)
    } else {
        (70, width - 30, 20)
    };
    let bottom = top + plot_h;
    let key_line = 19;
    let key_h = if narrow { 12 + key_line * pts.len() as i32 } else { 0 };
    let height = bottom + 46 + key_h;
    let x = |v: f64| left + ((v - x_lo) / (x_hi - x_lo) * (right - left) as f64).round() as i32;
    let y = |v: f64| bottom - ((v - y_lo) / (y_hi - y_lo) * (bottom - top) as f64).round() as i32;
    let accent = BAD;
    canvas(width as u32, height as u32, |c| {
        c.x_grid(&xm, xs_step, &x, (top, bottom), palette.ink, size)?;
        for m in &ym {
            c.line(vec![(left, y(*m)), (right, y(*m))], GRID.stroke_width(1))?;
            c.text(
                &tick_text(*m, ys_step),
                (left - 6, y(*m)),
                size,
                palette.ink,
                HPos::Right,
                VPos::Center,
            )?;
        }
        c.line(vec![(left, bottom), (right, bottom)], palette.ink.stroke_width(1))?;
        c.line(vec![(left, top), (left, bottom)], palette.ink.stroke_width(1))?;
        c.text(
            &fit(x_label, f64::from(width - 20), size),
            ((left + right) / 2, bottom + 40),
            size,
            palette.ink,
            HPos::Center,
            VPos::Bottom,
        )?;
        let style = TextStyle::from(("sans-serif", size).into_font().transform(FontTransform::Rotate270))
            .color(&palette.ink)
            .pos(Pos::new(HPos::Center, VPos::Top));
        c.area
            .draw(&Text::new(
                fit(y_label, f64::from(plot_h - 10), size),
                (if narrow { 2 } else { 10 }, (top + bottom) / 2),
                style,
            ))
            .map_err(|e| e.to_string())?;
        if let Some(v) = x_line.filter(|v| v.is_finite()) {
            c.dashed((x(v), top), (x(v), bottom), palette.reference)?;
        }
        if let Some(v) = y_line.filter(|v| v.is_finite()) {
            c.dashed((left, y(v)), (right, y(v)), palette.reference)?;
        }
        let at: Vec<Px> = pts.iter().map(|p| (x(p.x), y(p.y))).collect();
        // A point's box reaches beyond its dot, so that a label keeps clear of the
        // points it does not name (a number beside another point reads as its name).
        let clear = 11.0;
        let mut taken: Vec<TextBox> = at
            .iter()
            .map(|&(px, py)| {
                (
                    f64::from(px) - clear,
                    f64::from(py) - clear,
                    f64::from(px) + clear,
                    f64::from(py) + clear,
                )
            })
            .collect();
        if let Some(names) = quadrants {
            let h = size + 2.0;
            let corners = [
                (left + 6, top + 4, HPos::Left, VPos::Top),
                (right - 6, top + 4, HPos::Right, VPos::Top),
                (left + 6, bottom - 4, HPos::Left, VPos::Bottom),
                (right - 6, bottom - 4, HPos::Right, VPos::Bottom),
            ];
            for (name, (cx, cy, hp, vp)) in names.iter().zip(corners) {
                let label = fit(name, f64::from(right - left) / 2.0 - 10.0, size);
                let w = text_width(&label, size);
                taken.push(text_box((f64::from(cx), f64::from(cy)), w, h, hp, vp));
                c.text(&label, (cx, cy), size, MUTED, hp, vp)?;
            }
        }
        // Labels: the first of a few positions around its point that stays in the
        // plot and overlaps neither another label nor a point (greedy, in point order,
        // so the result is deterministic).
        for (k, (p, &(px, py))) in pts.iter().zip(&at).enumerate() {
            let (colour, r) = if p.highlight { (accent, 7) } else { (palette.bar, 5) };
            c.circle((px, py), r, colour.filled())?;
            let label = if narrow {
                (k + 1).to_string()
            } else {
                fit(&p.label, 180.0, size)
            };
            let w = text_width(&label, size) * if p.highlight { 1.08 } else { 1.0 };
            let h = size + 2.0;
            let (fx, fy) = (f64::from(px), f64::from(py));
            // (anchor x offset, anchor y offset, horizontal alignment, vertical alignment)
            let candidates = [
                (9, 0, HPos::Left, VPos::Center),
                (-9, 0, HPos::Right, VPos::Center),
                (6, -10, HPos::Left, VPos::Bottom),
                (6, 10, HPos::Left, VPos::Top),
                (-6, -10, HPos::Right, VPos::Bottom),
                (-6, 10, HPos::Right, VPos::Top),
                (0, -10, HPos::Center, VPos::Bottom),
                (0, 10, HPos::Center, VPos::Top),
            ];
            let boxed = |&(dx, dy, hp, vp): &(i32, i32, HPos, VPos)| {
                text_box((fx + f64::from(dx), fy + f64::from(dy)), w, h, hp, vp)
            };
            let inside = |b: &TextBox| {
                b.0 >= f64::from(left) && b.2 <= f64::from(right) && b.1 >= f64::from(top) && b.3 <= f64::from(bottom)
            };
            let own = taken[k];
            // Labels keep off the quadrant lines too.
            let crosses = |b: &TextBox| {
                x_line.filter(|v| v.is_finite()).is_some_and(|v| {
                    let lx = f64::from(x(v));
                    b.0 - 2.0 < lx && lx < b.2 + 2.0
                }) || y_line.filter(|v| v.is_finite()).is_some_and(|v| {
                    let ly = f64::from(y(v));
                    b.1 - 2.0 < ly && ly < b.3 + 2.0
                })
            };
            let choice = candidates
                .iter()
                .find(|cand| {
                    let b = boxed(cand);
                    inside(&b) && !crosses(&b) && !taken.iter().any(|t| *t != own && overlaps(t, &b))
                })
                .or_else(|| {
                    candidates.iter().find(|cand| {
                        let b = boxed(cand);
                        inside(&b) && !taken.iter().any(|t| *t != own && overlaps(t, &b))
                    })
                })
                .or_else(|| candidates.iter().find(|cand| inside(&boxed(cand))))
                .unwrap_or(&candidates[0]);
            taken.push(boxed(choice));
            let (dx, dy, hp, vp) = *choice;
            let mut font = ("sans-serif", size).into_font();
            if p.highlight {
                font = font.style(FontStyle::Bold);
            }
            let style = TextStyle::from(font).color(&palette.ink).pos(Pos::new(hp, vp));
            c.area
                .draw(&Text::new(label, (px + dx, py + dy), style))
                .map_err(|e| e.to_string())?;
        }
        if narrow {
            // The key: number, point, label; highlighted entries in bold.
            let y0 = bottom + 58;
            for (k, p) in pts.iter().enumerate() {
                let yk = y0 + key_line * k as i32;
                let (colour, r) = if p.highlight { (accent, 6) } else { (palette.bar, 4) };
                c.text(
                    &format!("{}", k + 1),
                    (22, yk),
                    size,
                    palette.ink,
                    HPos::Right,
                    VPos::Center,
                )?;
                c.circle((32, yk), r, colour.filled())?;
                let mut font = ("sans-serif", size).into_font();
                if p.highlight {
                    font = font.style(FontStyle::Bold);
                }
                let style = TextStyle::from(font)
                    .color(&palette.ink)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                c.area
                    .draw(&Text::new(fit(&p.label, f64::from(width - 50), size), (44, yk), style))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// The least distance from the reference (in the values' unit, points for scores)
/// drawn in the full colour.
const HEAT_FLOOR: f64 = 5.0;

/// How a heat map's cells are coloured: by how far each is better or worse than
/// its row's reference.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeatColours {
    /// Per row, whether higher is better; empty for higher everywhere.
    pub higher_is_better: Vec<bool>,
    /// Per row, the reference; the mean of the row's cells where absent.
    pub centre: Vec<Option<f64>>,
    /// The words under the two ends of the colour scale (worse, better).
    pub legend: [String; 2],
    /// The distance at which colours are full; the map's largest (at least 5
    /// points) when `None`.
    pub scale: Option<f64>,
}

/// Fill of a cell `t` of the way (−1 to 1) from the row's reference towards worse
/// (orange, negative) or better (blue, positive); white at the reference.
fn heat(t: f64) -> RGBColor {
    let (to, t) = if t < 0.0 { (BAD, -t) } else { (GOOD, t) };
    let t = t.clamp(0.0, 1.0) * 0.7;
    let mix = |a: u8| (255.0 + (f64::from(a) - 255.0) * t).round() as u8;
    RGBColor(mix(to.0), mix(to.1), mix(to.2))
}

/// `text` in at most two lines of about `max` px at `size` (the second shortened
/// with an ellipsis when needed).
fn wrap2(text: &str, max: f64, size: f64) -> Vec<String> {
    if text_width(text, size) <= max {
        return vec![text.to_string()];
    }
    let mut first = String::new();
    let mut rest = text.chars().peekable();
    while let Some(&c) = rest.peek() {
        if text_width(&first, size) + text_width(&c.to_string(), size) > max {
            break;
        }
        first.push(c);
        rest.next();
    }
    // Prefer breaking at a space when the first line has one.
    let second: String = rest.collect();
    let (first, second) = match first.rfind(' ') {
        Some(i) if i > 0 && !second.is_empty() => (first[..i].to_string(), format!("{}{second}", &first[i + 1..])),
        _ => (first, second),
    };
    vec![first, fit(second.trim(), max, size)]
}

/// `text` on at most `most` lines of `max` px: broken at spaces, and between
/// characters only in a run without spaces that holds Chinese (a Latin word is
/// never cut: the estimate of its width is generous); the last line shortened to
/// fit.
fn wrap_lines(text: &str, max: f64, size: f64, most: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text.trim().to_string();
    while out.len() + 1 < most && text_width(&rest, size) > max {
        let mut line = String::new();
        for c in rest.chars() {
            if text_width(&line, size) + text_width(&c.to_string(), size) > max {
                break;
            }
            line.push(c);
        }
        let first_word = rest.split(' ').next().unwrap_or("");
        let cut = match line.rfind(' ') {
            Some(i) if i > 0 => i,
            // One word longer than the line: whole, unless it is Chinese.
            _ if first_word.is_ascii() => first_word.len(),
            _ => line.len().max(rest.chars().next().map_or(1, char::len_utf8)),
        };
        out.push(rest[..cut].trim_end().to_string());
        rest = rest[cut..].trim_start().to_string();
        if rest.is_empty() {
            return out;
        }
    }
    out.push(if rest.is_ascii() && !rest.contains(' ') {
        rest
    } else {
        fit(&rest, max, size)
    });
    out
}

/// Each heat-map cell's signed distance from its row's reference (better positive),
/// and the distance at which colours are full: the given scale, or the map's
/// largest distance (at least 5 points).
pub fn heat_deviations(values: &[Vec<Option<f64>>], colours: &HeatColours) -> (Vec<Vec<Option<f64>>>, f64) {
    // Each cell's signed distance from its row's reference, better positive.
    let deviation: Vec<Vec<Option<f64>>> = values
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let present: Vec<f64> = row.iter().filter_map(|v| finite(*v)).collect();
            let centre = colours
                .centre
                .get(i)
                .copied()
                .flatten()
                .filter(|c| c.is_finite())
                .or_else(|| (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64));
            let sign = if colours.higher_is_better.get(i).copied().unwrap_or(true) {
                1.0
            } else {
                -1.0
            };
            row.iter().map(|v| Some((finite(*v)? - centre?) * sign)).collect()
        })
        .collect();
    let largest = deviation
        .iter()
        .flatten()
        .filter_map(|d| *d)
        .fold(0.0, |a: f64, d| a.max(d.abs()));
    let scale = match colours.scale {
        // A shared scale; a cell beyond it is shown at full colour.
        Some(s) if s.is_finite() && s > 0.0 => s,
        // A floor, so that a map whose cells differ by a point or two stays pale
        // instead of borrowing the full colour range.
        _ => largest.max(HEAT_FLOOR),
    };
    (deviation, scale)
}

/// A rows × columns grid of values, each cell showing its value and coloured by how
/// much better (blue) or worse (orange) it is than its row's reference, with a
/// legend of the scale; missing cells grey. In the narrow layout each row's label
/// sits above its cells and more than five columns are split into panels. The
/// label column is as wide as the widest of `all_rows` (the whole map's rows, when
/// this is one printed part of it), so that the parts' cells line up.
pub fn heatmap(
    rows: &[String],
    columns: &[String],
    values: &[Vec<Option<f64>>],
    colours: &HeatColours,
    palette: Palette,
    layout: Layout,
    all_rows: &[String],
) -> Result<String, String> {
    let all: Vec<f64> = values.iter().flatten().filter_map(|v| finite(*v)).collect();
    if all.is_empty() || rows.is_empty() || columns.is_empty() {
        return Err("no values".into());
    }
    let narrow = layout == Layout::Narrow;
    let (deviation, scale) = heat_deviations(values, colours);
    let size = if narrow { NARROW_FONT } else { FONT - 1.0 };
    let width_total = layout.width();
    let label_w = if narrow {
        0
    } else {
        rows.iter()
            .chain(all_rows)
            .map(|r| text_width(&fit(r, 260.0, FONT), FONT))
            .fold(60.0, f64::max) as i32
            + 16
    };
    let per_panel = if narrow { 5 } else { columns.len().max(1) };
    let cell_w = if narrow {
        (width_total - 8) / per_panel.min(columns.len()) as i32
    } else {
        ((width_total - 40 - label_w) / columns.len() as i32).clamp(44, 120)
    };
    let head_lines = columns
        .iter()
        .map(|c| wrap2(c, f64::from(cell_w - 6), size).len())
        .max()
        .unwrap_or(1) as i32;
    let head = 10 + 16 * head_lines;
    let (cell_h, label_row) = if narrow { (26, 18) } else { (28, 0) };
    let row_h = cell_h + label_row;
    let panels: Vec<std::ops::Range<usize>> = (0..columns.len())
        .step_by(per_panel)
        .map(|a| a..(a + per_panel).min(columns.len()))
        .collect();
    let panel_h = head + row_h * rows.len() as i32 + 12;
    let legend_h = 54;
    let width = if narrow {
        width_total
    } else {
        label_w + cell_w * columns.len() as i32 + 20
    }
    .max(320);
    let height = panel_h * panels.len() as i32 + legend_h;
    let x0 = if narrow { 4 } else { label_w };
    canvas(width as u32, height as u32, |c| {
        for (k, range) in panels.iter().enumerate() {
            let py = panel_h * k as i32;
            for (j, col) in columns[range.clone()].iter().enumerate() {
                let cx = x0 + cell_w * j as i32 + cell_w / 2;
                let lines = wrap2(col, f64::from(cell_w - 6), size);
                let n = lines.len() as i32;
                for (l, line) in lines.iter().enumerate() {
                    c.text(
                        line,
                        (cx, py + head - 6 - 16 * (n - 1 - l as i32)),
                        size,
                        palette.ink,
                        HPos::Center,
                        VPos::Bottom,
                    )?;
                }
            }
            for (i, row) in rows.iter().enumerate() {
                let y = py + head + row_h * i as i32;
                if narrow {
                    c.label_above(row, width, y + 2, NARROW_LABEL, palette.ink)?;
                } else {
                    c.label_before(row, label_w - 10, y + cell_h / 2, 260.0, FONT, palette.ink)?;
                }
                let y = y + label_row;
                for (j, col) in range.clone().enumerate() {
                    let xc = x0 + cell_w * j as i32;
                    let v = finite(values.get(i).and_then(|r| r.get(col)).copied().flatten());
                    let d = deviation.get(i).and_then(|r| r.get(col)).copied().flatten();
                    let fill = match (v, d) {
                        (Some(_), Some(d)) => heat(d / scale),
                        (Some(_), None) => WHITE,
                        _ => RGBColor(0xee, 0xee, 0xee),
                    };
                    c.rect((xc + 1, y + 1), (xc + cell_w - 1, y + cell_h - 1), fill.filled())?;
                    if let Some(v) = v {
                        c.text(
                            &format!("{v:.1}"),
                            (xc + cell_w / 2, y + cell_h / 2),
                            size,
                            palette.ink,
                            HPos::Center,
                            VPos::Center,
                        )?;
                    }
                }
            }
        }
        // The legend: seven swatches from worse to better, the scale's ends and its
        // words.
        let ly = panel_h * panels.len() as i32 + 6;
        let sw = 26;
        let lx = if narrow { 4 } else { x0 };
        for k in 0..7 {
            let t = (k as f64 - 3.0) / 3.0;
            let xs = lx + sw * k;
            c.rect((xs, ly), (xs + sw, ly + 14), heat(t).filled())?;
        }
        c.rect((lx, ly), (lx + 7 * sw, ly + 14), palette.ink.stroke_width(1))?;
        c.text(
            &signed1(-scale),
            (lx, ly + 17),
            size,
            palette.ink,
            HPos::Left,
            VPos::Top,
        )?;
        c.text(
            "0",
            (lx + sw * 7 / 2, ly + 17),
            size,
            palette.ink,
            HPos::Center,
            VPos::Top,
        )?;
        c.text(
            &signed1(scale),
            (lx + 7 * sw, ly + 17),
            size,
            palette.ink,
            HPos::Right,
            VPos::Top,
        )?;
        let words = format!("← {}  ·  {} →", colours.legend[0], colours.legend[1]);
        let room = f64::from(width - lx - 7 * sw - 16);
        if !narrow && text_width(&words, size) <= room {
            c.text(
                &words,
                (lx + 7 * sw + 12, ly + 7),
                size,
                palette.ink,
                HPos::Left,
                VPos::Center,
            )?;
        } else {
            c.text(
                &fit(&words, f64::from(width - 8), size),
                (lx, ly + 34),
                size,
                palette.ink,
                HPos::Left,
                VPos::Top,
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {

    use super::{causal_order, path_diagram, wrap_lines, DiagramArrow, DiagramBox, Layout, Palette};

    fn diagram_boxes(names: &[&str]) -> Vec<DiagramBox> {
        names
            .iter()
            .map(|n| DiagramBox {
                label: n.to_string(),
                note: Some("R² 0.46".into()),
            })
            .collect()
    }

    fn arrow(from: usize, to: usize, label: &str, strong: bool) -> DiagramArrow {
        DiagramArrow {
            from,
            to,
            label: label.into(),
            strong,
        }
    }

    /// Boxes in causal order whatever order they are given in, every label drawn
    /// in every layout, a loop or a missing box refused.
    #[test]
    fn path_diagrams_draw_causes_before_effects_and_refuse_loops() {
        // Given effects first: loyalty <- satisfaction <- quality, quality -> loyalty.
        let boxes = diagram_boxes(&["Loyalty", "Satisfaction", "Perceived quality"]);
        let arrows = vec![
            arrow(2, 1, "0.512", true),
            arrow(1, 0, "0.485", true),
            arrow(2, 0, "0.031", false),
        ];
        assert_eq!(causal_order(3, &arrows), Some(vec![2, 1, 0]));
        for layout in [Layout::Wide, Layout::Narrow, Layout::Print] {
            let svg = path_diagram(&boxes, &arrows, Palette::default(), layout).unwrap();
            for text in ["0.512", "0.485", "0.031", "Satisfaction", "R² 0.46"] {
                assert!(svg.contains(text), "{layout:?}: {text} missing");
            }
        }
        let looped = vec![arrow(0, 1, "a", true), arrow(1, 2, "b", true), arrow(2, 0, "c", true)];
        assert_eq!(causal_order(3, &looped), None);
        assert!(path_diagram(&boxes, &looped, Palette::default(), Layout::Wide).is_err());
        assert!(path_diagram(&boxes, &[arrow(0, 5, "x", true)], Palette::default(), Layout::Wide).is_err());
    }

    /// Names wrap at spaces, Chinese between characters, a Latin word never cut.
    #[test]
    fn box_names_wrap_without_cutting_words() {
        assert_eq!(
            wrap_lines("Customer expectations", 80.0, 12.0, 3),
            ["Customer", "expectations"]
        );
        assert_eq!(wrap_lines("Satisfaction", 40.0, 12.0, 3), ["Satisfaction"]);
        let zh = wrap_lines("顾客满意度指数模型", 40.0, 12.0, 3);
        assert!(zh.len() > 1 && zh.concat().starts_with("顾客满意"), "{zh:?}");
    }
    use plotters::style::RGBColor;

    /// CIELAB (D65) of `c` as seen with the dichromacy `m` (Machado, Oliveira and
    /// Fernandes 2009, severity 1, applied in linear RGB).
    fn seen(c: RGBColor, m: &[[f64; 3]; 3]) -> [f64; 3] {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let rgb = [lin(c.0), lin(c.1), lin(c.2)];
        let sim: Vec<f64> = m
            .iter()
            .map(|row| (row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]).clamp(0.0, 1.0))
            .collect();
        let xyz = [
            (0.4124 * sim[0] + 0.3576 * sim[1] + 0.1805 * sim[2]) / 0.95047,
            0.2126 * sim[0] + 0.7152 * sim[1] + 0.0722 * sim[2],
            (0.0193 * sim[0] + 0.1192 * sim[1] + 0.9505 * sim[2]) / 1.08883,
        ];
        let f = |t: f64| {
            if t > 0.008856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        let (fx, fy, fz) = (f(xyz[0]), f(xyz[1]), f(xyz[2]));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    fn delta_e(a: RGBColor, b: RGBColor, m: &[[f64; 3]; 3]) -> f64 {
        let (a, b) = (seen(a, m), seen(b, m));
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    }

    const DEUTERANOPIA: [[f64; 3]; 3] = [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ];
    const PROTANOPIA: [[f64; 3]; 3] = [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ];

    #[test]
    fn colours_stay_apart_for_colour_blind_readers() {
        for m in [&DEUTERANOPIA, &PROTANOPIA] {
            // Better and worse are far apart (a red/green pair, the old encoding, is
            // not: about 31 under deuteranopia).
            assert!(delta_e(super::GOOD, super::BAD, m) > 60.0);
            assert!(delta_e(RGBColor(0x3a, 0x9e, 0x6e), RGBColor(0xc0, 0x39, 0x2b), m) < 40.0);
            // Every two series colours stay distinguishable.
            for (i, a) in super::SERIES.iter().enumerate() {
                for b in &super::SERIES[i + 1..] {
                    assert!(delta_e(*a, *b, m) > 12.0, "{a:?} {b:?}");
                }
            }
        }
    }

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

/// A box of a path diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagramBox {
    /// Its name.
    pub label: String,
    /// A line under the name.
    pub note: Option<String>,
}

/// An arrow of a path diagram, between boxes by position.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagramArrow {
    /// From this box.
    pub from: usize,
    /// To this box.
    pub to: usize,
    /// Its label.
    pub label: String,
    /// Solid when strong, dashed otherwise.
    pub strong: bool,
}

/// The boxes in causal order: by the longest chain of arrows leading to each
/// (ties in the order given). `None` when the arrows form a loop or name a box
/// that does not exist.
fn causal_order(n: usize, arrows: &[DiagramArrow]) -> Option<Vec<usize>> {
    if arrows.iter().any(|a| a.from >= n || a.to >= n || a.from == a.to) {
        return None;
    }
    let mut depth = vec![0usize; n];
    // Relaxing n times settles every chain of an acyclic graph; a change after
    // that means a loop.
    for round in 0..=n {
        let mut changed = false;
        for a in arrows {
            if depth[a.to] < depth[a.from] + 1 {
                depth[a.to] = depth[a.from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        if round == n {
            return None;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (depth[i], i));
    Some(order)
}

/// A quadratic Bézier from `a` to `b` bent through `control`, as `steps` + 1 points.
fn bezier(a: (f64, f64), control: (f64, f64), b: (f64, f64), steps: usize) -> Vec<(f64, f64)> {
    (0..=steps)
        .map(|i| {
            let t = i as f64 / steps as f64;
            let u = 1.0 - t;
            (
                u * u * a.0 + 2.0 * u * t * control.0 + t * t * b.0,
                u * u * a.1 + 2.0 * u * t * control.1 + t * t * b.1,
            )
        })
        .collect()
}

/// A path diagram: the boxes in a row in causal order (a column in the narrow
/// layout), an arrow between neighbours straight, a longer one as an arc, above
/// and below the row in turn (left and right of the column), higher the more boxes
/// it passes; each arrow's label at its middle on a white ground. Strong arrows
/// solid, the others dashed and lighter: the encoding is the line, not a colour.
pub fn path_diagram(
    boxes: &[DiagramBox],
    arrows: &[DiagramArrow],
    palette: Palette,
    layout: Layout,
) -> Result<String, String> {
    let n = boxes.len();
    if n < 2 || arrows.is_empty() {
        return Err("a path diagram needs two boxes and an arrow".into());
    }
    let order = causal_order(n, arrows).ok_or("the arrows form a loop")?;
    let mut slot = vec![0usize; n];
    for (k, &i) in order.iter().enumerate() {
        slot[i] = k;
    }
    // On screens a model of many constructs takes the page's whole width (the
    // drawing scales down where there is less). A row of boxes needs about 110 px
    // a box (the box and its arrow's label); with less, the boxes go in a column,
    // as on a phone.
    let width = match layout {
        Layout::Wide => (n as i32 * 150).clamp(WIDE_WIDTH, 1060),
        _ => layout.width(),
    };
    let narrow = layout == Layout::Narrow || (width - 20) / (n as i32) < 110;
    let size = if layout == Layout::Narrow {
        NARROW_FONT
    } else {
        FONT - 1.0
    };
    let line_h = (size * 1.25).round() as i32;
    // Arcs, shortest first, alternately on either side; each side's arcs nest.
    let mut long: Vec<usize> = (0..arrows.len())
        .filter(|&e| slot[arrows[e].from].abs_diff(slot[arrows[e].to]) > 1)
        .collect();
    long.sort_by_key(|&e| (slot[arrows[e].from].abs_diff(slot[arrows[e].to]), slot[arrows[e].from]));
    let side: Vec<i32> = (0..arrows.len())
        .map(|e| match long.iter().position(|&l| l == e) {
            Some(k) if k % 2 == 0 => -1,
            Some(_) => 1,
            None => 0,
        })
        .collect();
    let span = |e: usize| slot[arrows[e].from].abs_diff(slot[arrows[e].to]) as f64;
    let longest = long.iter().map(|&e| span(e)).fold(1.0, f64::max);
    // How far an arc of `s` boxes bends out, and the room each side needs.
    let reach = if narrow { 84.0 } else { 110.0 };
    let bend = |s: f64| 18.0 + (reach - 18.0) * (s - 1.0) / (longest - 1.0).max(1.0);
    // Two lines of the name and one of the note.
    // Room between neighbours for their arrow's label.
    let box_w = if narrow {
        (width - 2 * (reach as i32 + 24)).clamp(120, 170)
    } else {
        ((width - 20) / n as i32 - 46).clamp(64, 150)
    };
    // Names on up to three lines in narrow boxes, the note under them; every box
    // as tall as the tallest.
    let wrapped: Vec<(Vec<String>, Option<String>)> = boxes
        .iter()
        .map(|b| {
            (
                wrap_lines(&b.label, f64::from(box_w - 8), size, 3),
                // Notes are short figures (`R² 0.46`): never cut.
                b.note.clone(),
            )
        })
        .collect();
    let lines = wrapped
        .iter()
        .map(|(l, note)| l.len() + usize::from(note.is_some()))
        .max()
        .unwrap_or(1)
        .max(2) as i32;
    let box_h = line_h * lines + 10;
    // Box centres.
    let (height, centre): (i32, Vec<(i32, i32)>) = if narrow {
        let step = box_h + 46;
        let top = 12 + box_h / 2;
        let h = top + step * (n as i32 - 1) + box_h / 2 + 12;
        (h, (0..n).map(|i| (width / 2, top + step * slot[i] as i32)).collect())
    } else {
        // An arc's middle lies `bend` beyond the row (its control point twice that).
        let room = reach as i32 + line_h / 2 + 8;
        let above = if side.contains(&-1) { room } else { 20 };
        let below = if side.contains(&1) { room } else { 20 };
        let mid = above + box_h / 2;
        let step = (width - 20) as f64 / n as f64;
        (
            mid + box_h / 2 + below,
            (0..n)
                .map(|i| (10 + (step * (slot[i] as f64 + 0.5)).round() as i32, mid))
                .collect(),
        )
    };
    let fill = RGBColor(0xee, 0xf3, 0xf9);
    let faint = MUTED;
    canvas(width as u32, height as u32, |c| {
        let mut lines_of: Vec<Vec<(f64, f64)>> = Vec::new();
        for (e, a) in arrows.iter().enumerate() {
            let (p, q) = (centre[a.from], centre[a.to]);
            let (p, q) = ((f64::from(p.0), f64::from(p.1)), (f64::from(q.0), f64::from(q.1)));
            let half = (f64::from(box_w) / 2.0, f64::from(box_h) / 2.0);
            let points = if side[e] == 0 {
                // Neighbours: from one box's edge to the other's.
                if narrow {
                    let dir = if q.1 > p.1 { 1.0 } else { -1.0 };
                    vec![(p.0, p.1 + dir * half.1), (q.0, q.1 - dir * half.1)]
                } else {
                    let dir = if q.0 > p.0 { 1.0 } else { -1.0 };
                    vec![(p.0 + dir * half.0, p.1), (q.0 - dir * half.0, q.1)]
                }
            } else {
                let out = f64::from(side[e]) * bend(span(e));
                if narrow {
                    // Out of the box's side, round, into the other's side.
                    let x0 = p.0 + f64::from(side[e]) * half.0;
                    let a0 = (x0, p.1);
                    let b0 = (x0, q.1);
                    let control = (x0 + 2.0 * out, (p.1 + q.1) / 2.0);
                    bezier(a0, control, b0, 24)
                } else {
                    let y0 = p.1 + f64::from(side[e]) * half.1;
                    let a0 = (p.0, y0);
                    let b0 = (q.0, y0);
                    let control = ((p.0 + q.0) / 2.0, y0 + 2.0 * out);
                    bezier(a0, control, b0, 24)
                }
            };
            let px: Vec<Px> = points
                .iter()
                .map(|&(x, y)| (x.round() as i32, y.round() as i32))
                .collect();
            let ink = if a.strong { palette.ink } else { faint };
            if a.strong {
                c.line(px.clone(), ink.stroke_width(2))?;
            } else if px.len() == 2 {
                c.dashed(px[0], px[1], ink)?;
            } else {
                for pair in px.windows(2).step_by(2) {
                    c.line(pair.to_vec(), ink.stroke_width(1))?;
                }
            }
            // The arrowhead, along the last stretch of the line.
            let (tip, before) = (
                points[points.len() - 1],
                points[points.len().saturating_sub(3).min(points.len() - 2)],
            );
            let (dx, dy) = (tip.0 - before.0, tip.1 - before.1);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (ux, uy) = (dx / len, dy / len);
            let (l, w) = (9.0, 4.5);
            let head = vec![
                (tip.0.round() as i32, tip.1.round() as i32),
                (
                    (tip.0 - l * ux + w * uy).round() as i32,
                    (tip.1 - l * uy - w * ux).round() as i32,
                ),
                (
                    (tip.0 - l * ux - w * uy).round() as i32,
                    (tip.1 - l * uy + w * ux).round() as i32,
                ),
            ];
            c.area
                .draw(&Polygon::new(head, ink.filled()))
                .map_err(|e| e.to_string())?;
            lines_of.push(points);
        }
        for (i, (label, note)) in wrapped.iter().enumerate() {
            let (x, y) = centre[i];
            let (l, t) = (x - box_w / 2, y - box_h / 2);
            c.rect((l, t), (l + box_w, t + box_h), fill.filled())?;
            c.rect((l, t), (l + box_w, t + box_h), palette.ink.stroke_width(1))?;
            let used = (label.len() + usize::from(note.is_some())) as i32;
            let mut row = t + 5 + line_h / 2 + (lines - used) * line_h / 2;
            for text in label.iter().chain(note.iter()) {
                c.text(text, (x, row), size, palette.ink, HPos::Center, VPos::Center)?;
                row += line_h;
            }
        }
        // Labels last, on a white ground, so that lines never cross them: at an
        // arrow's middle, or along it where that would cover another label or a
        // box; straight arrows first (their place is fixed), then arcs, shortest
        // first.
        let mut taken: Vec<TextBox> = centre
            .iter()
            .map(|&(x, y)| {
                let (x, y) = (f64::from(x), f64::from(y));
                let (hw, hh) = (f64::from(box_w) / 2.0, f64::from(box_h) / 2.0);
                (x - hw, y - hh, x + hw, y + hh)
            })
            .collect();
        let boxes_end = taken.len();
        let mut placing: Vec<usize> = (0..arrows.len()).collect();
        placing.sort_by_key(|&e| (side[e] != 0, slot[arrows[e].from].abs_diff(slot[arrows[e].to])));
        for e in placing {
            let (points, a) = (&lines_of[e], &arrows[e]);
            let label = fit(&a.label, f64::from(width - 12), size);
            let w = text_width(&label, size) + 6.0;
            let h = f64::from(line_h);
            let at = |t: f64| {
                if points.len() == 2 {
                    let (p, q) = (points[0], points[1]);
                    (p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1))
                } else {
                    points[(t * (points.len() - 1) as f64).round() as usize]
                }
            };
            let half = (w / 2.0 + 1.0).min(f64::from(width) / 2.0);
            let clamp = |(x, y): (f64, f64)| (x.clamp(half, f64::from(width) - half), y);
            let text_box = |(x, y): (f64, f64)| (x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0);
            let free = |b: &TextBox, taken: &[TextBox]| {
                // Straight labels may touch the boxes they join.
                let others = if side[e] == 0 { &taken[boxes_end..] } else { taken };
                !others.iter().any(|t| overlaps(b, t))
            };
            let spot = [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75, 0.18, 0.82]
                .iter()
                .map(|&t| clamp(at(t)))
                .find(|&p| free(&text_box(p), &taken))
                .unwrap_or_else(|| clamp(at(0.5)));
            taken.push(text_box(spot));
            let (x, y) = spot;
            let (l, t) = ((x - w / 2.0).round() as i32, (y - h / 2.0).round() as i32);
            c.rect((l, t), (l + w.round() as i32, t + line_h), WHITE.filled())?;
            c.text(
                &label,
                (x.round() as i32, y.round() as i32),
                size,
                if a.strong { palette.ink } else { faint },
                HPos::Center,
                VPos::Center,
            )?;
        }
        Ok(())
    })
}
