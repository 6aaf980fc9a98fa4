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
        report.blocks.len(),
        "one drawing per chart"
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

#[test]
fn marks_match_the_data() {
    let one = |i: usize| {
        let mut r = fixture();
        r.blocks = vec![r.blocks[i].clone()];
        render_blocks(&r, Palette::default())
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
        assert!(h.contains(&format!(">{v}<")), "{v}");
    }
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
