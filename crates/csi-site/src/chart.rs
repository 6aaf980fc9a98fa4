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
