//! Every chart kind a plugin can specify is drawn as an SVG (Chinese labels kept,
//! user text escaped, output deterministic), and data that cannot be drawn falls
//! back to the data table instead of failing.

use csi_blocks::Report;
use csi_site::{render_blocks, Palette};

fn fixture() -> Report {
    Report::from_json(include_bytes!("fixtures/all_charts.json")).unwrap()
}

#[test]
fn every_chart_kind_is_drawn() {
    let report = fixture();
    let html = render_blocks(&report, Palette::default());
    assert_eq!(
        html.matches("<svg").count(),
        3 * report.blocks.len(),
        "three drawings per chart (wide, narrow and print)"
    );
    assert_eq!(
        html.matches("<div class=\"chart-narrow\">").count(),
        report.blocks.len()
    );
    // Data tables stay available under every drawing.
    assert_eq!(html.matches("<details>").count(), report.blocks.len());
    for label in [
        "网络覆盖范围",
        "主要竞争对手",
        "促销优惠",
        "预付费卡客户",
        "重要性（相对权重，%）",
    ] {
        assert!(html.contains(label), "{label}");
    }
    assert!(!html.contains("<script>"), "labels are escaped");
    assert!(html.contains("&lt;script&gt;"));
    // Determinism: same report, same bytes.
    assert_eq!(html, render_blocks(&report, Palette::default()));
}

/// The wide drawing of a page holding one chart.
fn wide(html: &str) -> &str {
    html.split("<div class=\"chart-narrow\">").next().unwrap()
}

/// The narrow drawing of a page holding one chart.
fn narrow(html: &str) -> &str {
    let rest = html.split("<div class=\"chart-narrow\">").nth(1).unwrap();
    rest.split("<div class=\"chart-print\"").next().unwrap()
}

/// The printed drawing (all its parts) of a page holding one chart.
fn print(html: &str) -> &str {
    html.split("<div class=\"chart-print\"").nth(1).unwrap()
}

/// The widths of the SVGs in `html`.
fn svg_widths(html: &str) -> Vec<f64> {
    html.split("<svg")
        .skip(1)
        .map(|s| {
            s.split("width=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// The font sizes an SVG's texts are drawn at.
fn font_sizes(svg: &str) -> Vec<f64> {
    svg.split("font-size=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn marks_match_the_data() {
    let one = |i: usize| {
        let mut r = fixture();
        r.blocks = vec![r.blocks[i].clone()];
        wide(&render_blocks(&r, Palette::default())).to_string()
    };
    // Diverging: four bars (rects besides the background), signed value labels.
    let d = one(1);
    assert!(d.contains("-8.2") && d.contains("+4.0"), "{d}");
    // Line: 3 + 3 + 2 point markers (a missing value is not drawn).
    assert_eq!(one(3).matches("<circle").count(), 8);
    // Scatter: one marker per point.
    assert_eq!(one(4).matches("<circle").count(), 4);
    // Heat map: the 11 values are printed, the missing cell is not.
    let h = one(5);
    for v in ["72.0", "58.2", "73.3"] {
        assert!(h.contains(&format!("\n{v}\n")), "{v}");
    }
}

/// On a phone every chart is drawn in its narrow layout, shown at about its own size
/// (340 px in a column of about 340–355 px), so no text may be drawn below 12 px; the wide
/// layout keeps at least 11 px at 900 px. Checked for every chart kind, a line
/// chart of many series (small multiples) and a wide heat map (split into panels).
#[test]
fn chart_text_is_never_small() {
    let mut report = fixture();
    let many = r#"{"type":"chart","title":"t","kind":"line","categories":["2000","2001","2002"],
        "series":[{"name":"a","values":[1,2,3]},{"name":"b","values":[2,3,4]},{"name":"c","values":[3,4,5]},
                  {"name":"d","values":[4,5,6]},{"name":"e","values":[5,6,7]},{"name":"f","values":[6,7,8]}]}"#;
    let wide_heat = r#"{"type":"chart","title":"t","kind":"heatmap","rows":["网络覆盖范围","计费准确性"],
        "columns":["普通签约用户","高额话费用户","储值卡用户","1995年及以前","1996–1998年","1999年及以后","省会城市","地级市"],
        "values":[[60,61,62,63,64,65,66,67],[70,71,72,73,74,75,76,null]],"centre":[63.5,null],"legend":["低于全体","高于全体"]}"#;
    let diagram = r#"{"type":"chart","title":"t","kind":"path_diagram",
        "nodes":[{"label":"企业形象"},{"label":"顾客期望","note":"R² 0.158"},{"label":"感知质量","note":"R² 0.267"},
                 {"label":"感知价值","note":"R² 0.388"},{"label":"顾客满意","note":"R² 0.459"},{"label":"顾客抱怨","note":"R² 0.113"},
                 {"label":"顾客忠诚","note":"R² 0.345"}],
        "edges":[{"from":0,"to":1,"label":"0.398","strong":true},{"from":0,"to":4,"label":"0.184","strong":true},
                 {"from":0,"to":6,"label":"0.113","strong":false},{"from":1,"to":2,"label":"0.517","strong":true},
                 {"from":2,"to":4,"label":"0.370","strong":true},{"from":3,"to":4,"label":"0.149","strong":true},
                 {"from":2,"to":3,"label":"0.509","strong":true},{"from":4,"to":5,"label":"-0.337","strong":true},
                 {"from":4,"to":6,"label":"0.473","strong":true},{"from":5,"to":6,"label":"-0.143","strong":false}]}"#;
    for extra in [many, wide_heat, diagram] {
        report.blocks.push(serde_json::from_str(extra).unwrap());
    }
    for (i, b) in report.blocks.iter().enumerate() {
        let html = render_blocks(
            &Report {
                title: None,
                blocks: vec![b.clone()],
                overview: vec![],
            },
            Palette::default(),
        );
        let small = font_sizes(narrow(&html)).into_iter().fold(f64::INFINITY, f64::min);
        assert!(small >= 12.0 - 1e-9, "chart {i}: narrow text at {small} px");
        let small = font_sizes(wide(&html)).into_iter().fold(f64::INFINITY, f64::min);
        assert!(small >= 11.0 - 1e-9, "chart {i}: wide text at {small} px");
        assert!(narrow(&html).contains("width=\"340\""), "chart {i}");
        // Printed across 182 mm, the print layout's 720 px put 11 px text at 7.9 pt.
        let small = font_sizes(print(&html)).into_iter().fold(f64::INFINITY, f64::min);
        assert!(small >= 11.0 - 1e-9, "chart {i}: print text at {small} px");
        let widest = svg_widths(print(&html)).into_iter().fold(0.0, f64::max);
        assert!(widest <= 720.0, "chart {i}: printed drawing {widest} px wide");
    }
    // Six series are drawn as six titled panels, not one tangle of lines.
    let html = render_blocks(
        &Report {
            title: None,
            blocks: vec![serde_json::from_str(many).unwrap()],
            overview: vec![],
        },
        Palette::default(),
    );
    assert_eq!(wide(&html).matches("<circle").count(), 18);
    // The heat map says what its colours mean.
    let html = render_blocks(
        &Report {
            title: None,
            blocks: vec![serde_json::from_str(wide_heat).unwrap()],
            overview: vec![],
        },
        Palette::default(),
    );
    assert!(wide(&html).contains("低于全体") && narrow(&html).contains("高于全体"));
}

#[test]
fn degenerate_charts_fall_back_or_draw_sensibly() {
    let cases = [
        r#"{"type":"chart","title":"t","kind":"line","categories":[],"series":[]}"#,
        r#"{"type":"chart","title":"t","kind":"line","categories":["a","b"],"series":[{"name":"s","values":[null,null]}]}"#,
        r#"{"type":"chart","title":"t","kind":"diverging_bar","categories":["a"],"series":[]}"#,
        r#"{"type":"chart","title":"t","kind":"heatmap","rows":["r"],"columns":["c"],"values":[[null]]}"#,
        r#"{"type":"chart","title":"t","kind":"scatter","x_label":"x","y_label":"y","points":[]}"#,
    ];
    for case in cases {
        let r = Report::from_json(format!(r#"{{"blocks":[{case}]}}"#).as_bytes()).unwrap();
        let html = render_blocks(&r, Palette::default());
        assert!(!html.contains("<svg"), "nothing to draw: {case}");
        assert!(html.contains("<figure"), "{case}");
    }
    let drawable = [
        // One point, identical values, a single category.
        r#"{"type":"chart","title":"t","kind":"scatter","x_label":"x","y_label":"y","points":[{"label":"p","x":1,"y":1}]}"#,
        r#"{"type":"chart","title":"t","kind":"line","categories":["2000"],"series":[{"name":"s","values":[50],"low":[49],"high":[51]}]}"#,
        r#"{"type":"chart","title":"t","kind":"diverging_bar","categories":["a","b"],"series":[{"name":"s","values":[0,0]}]}"#,
        r#"{"type":"chart","title":"t","kind":"heatmap","rows":["r","s"],"columns":["c"],"values":[[5],[5]]}"#,
    ];
    for case in drawable {
        let r = Report::from_json(format!(r#"{{"blocks":[{case}]}}"#).as_bytes()).unwrap();
        let html = render_blocks(&r, Palette::default());
        assert!(html.contains("<svg") && !html.contains("NaN"), "{case}: {html}");
    }
}

/// Writes the fixture's charts as a page to `CSI_CHARTS_PAGE` when set, for
/// looking at them in a browser (not a check).
#[test]
fn write_preview_page_when_asked() {
    let Some(path) = std::env::var_os("CSI_CHARTS_PAGE") else {
        return;
    };
    let css = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../themes/default/static/style.css"
    ))
    .unwrap();
    let body = render_blocks(&fixture(), Palette::default());
    let page = format!("<!doctype html><html lang=\"zh\"><meta charset=\"utf-8\"><style>{css}</style><body><main>{body}</main></body></html>");
    std::fs::write(path, page).unwrap();
}

/// A tall chart prints in balanced parts of at most 12 rows (small multiples: 6
/// panels), every part on the whole chart's axis, so that parts fill what is left of
/// a page; a short one prints whole.
#[test]
fn tall_charts_print_in_parts_on_one_axis() {
    // Labels of different widths, the longest in the last part.
    let rows = |n: usize| {
        (0..n)
            .map(|i| format!("\"指标{}{i}\"", if i + 1 == n { "很长的名称" } else { "" }))
            .collect::<Vec<_>>()
            .join(",")
    };
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("{}", i as f64 - 10.0))
            .collect::<Vec<_>>()
            .join(",")
    };
    let one = |json: String| {
        render_blocks(
            &Report {
                title: None,
                blocks: vec![serde_json::from_str(&json).unwrap()],
                overview: vec![],
            },
            Palette::default(),
        )
    };
    let diverging = |n: usize| {
        one(format!(
            r#"{{"type":"chart","title":"t","kind":"diverging_bar","categories":[{}],"series":[{{"name":"s","values":[{}]}}]}}"#,
            rows(n),
            values(n)
        ))
    };
    for (n, parts) in [(12, 1), (13, 2), (40, 4)] {
        let html = diverging(n);
        assert_eq!(print(&html).matches("<svg").count(), parts, "{n} rows");
        assert_eq!(html.contains("in-parts"), parts > 1, "{n} rows");
    }
    // Every part of 40 rows (values −10 to +29) carries the whole axis, and its zero
    // line (the only 2 px line) at the same place: the parts share the label column.
    let html = diverging(40);
    let mut zero_lines = Vec::new();
    for part in print(&html).split("<svg").skip(1) {
        assert!(part.contains(">\n-10\n<") && part.contains(">\n30\n<"), "{part}");
        let line = part
            .split("<polyline")
            .find(|l| l.contains("stroke-width=\"2\""))
            .expect("zero line");
        zero_lines.push(
            line.split("points=\"")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(zero_lines.len(), 4);
    assert!(zero_lines.iter().all(|x| *x == zero_lines[0]), "{zero_lines:?}");
    let series = (0..25)
        .map(|i| format!(r#"{{"name":"s{i}","values":[{},{}]}}"#, 50 + i, 60 + i))
        .collect::<Vec<_>>()
        .join(",");
    let html = one(format!(
        r#"{{"type":"chart","title":"t","kind":"line","categories":["2001","2002"],"series":[{series}]}}"#
    ));
    // 25 panels (9 rows of three): parts of two rows (6, 6, 6, 6, 1).
    let parts: Vec<&str> = print(&html).split("<svg").skip(1).collect();
    assert_eq!(
        parts
            .iter()
            .map(|p| p.matches("<circle").count() / 2)
            .collect::<Vec<_>>(),
        [6, 6, 6, 6, 1]
    );
}
