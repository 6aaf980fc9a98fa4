//! The words analyses share, so that every page says the same thing the same way:
//! how a p-value is printed, which multiple-comparison adjustment a table used,
//! how the `correction` option is read, and what the top box is called and how
//! its definition is stated (the site's word: 高分段 / top box).

use csi_stats::multiple::Correction;

/// A p-value as tables print it: `< 0.001`, `> 0.99` (an adjusted p capped at 1
/// says nothing more), else three decimals (never `0.000` nor `1.000`).
pub fn p_value(p: f64) -> String {
    csi_blocks::p_value_text(p)
}

/// A p-value in a sentence: `p < 0.001`, `p > 0.99` or `p = 0.016`.
pub fn p_clause(p: f64) -> String {
    match p_value(p) {
        v if v.starts_with(['<', '>']) => format!("p {v}"),
        v => format!("p = {v}"),
    }
}

/// The name of a multiple-comparison adjustment, in Chinese (`zh`) or English.
pub fn correction(c: Correction, zh: bool) -> &'static str {
    match (c, zh) {
        (Correction::None, true) => "未做多重比较校正",
        (Correction::None, false) => "no multiple-comparison adjustment",
        (Correction::Bonferroni, true) => "Bonferroni 校正",
        (Correction::Bonferroni, false) => "Bonferroni adjustment",
        (Correction::BenjaminiHochberg, true) => "Benjamini–Hochberg（FDR）校正",
        (Correction::BenjaminiHochberg, false) => "Benjamini–Hochberg (FDR) adjustment",
    }
}

/// The `correction` option of a request (Bonferroni when absent or empty), or an
/// error naming the accepted values.
pub fn correction_option(options: &serde_json::Map<String, serde_json::Value>) -> Result<Correction, String> {
    match options.get("correction").and_then(|v| v.as_str()).unwrap_or("") {
        "" => Ok(Correction::Bonferroni),
        name => Correction::parse(name)
            .ok_or_else(|| format!("unknown correction `{name}`: use none, bonferroni or benjamini_hochberg")),
    }
}

/// What the top box is called: `高分段` in Chinese (the site's word: its share is
/// 高分段比例), `top box` in English.
pub fn top_box(zh: bool) -> &'static str {
    if zh {
        "高分段"
    } else {
        "top box"
    }
}

/// What the share of answers in the top box is called: `高分段比例` in Chinese,
/// `top-box share` in English.
pub fn top_box_share(zh: bool) -> &'static str {
    if zh {
        "高分段比例"
    } else {
        "top-box share"
    }
}

/// A number of scale points as the definitions print it: `9`, `0.5`.
fn point(x: f64) -> String {
    format!("{x}")
}

/// Which points of a `min`–`max` scale make its top box, given `top`, the raw value
/// from which an answer is in it (at or above it, or at or below it when lower is
/// better: the rows' `csi.top`): "1–10 量表的最高 2 档（9–10）", "the top 2 points of
/// the 1–10 scale (9–10)", "the bottom 2 points of the 1–5 scale (1–2; lower is
/// better)".
pub fn top_box_points(min: f64, max: f64, top: f64, lower_is_better: bool, zh: bool) -> String {
    let (k, from, to) = if lower_is_better {
        (top - min + 1.0, min, top)
    } else {
        (max - top + 1.0, top, max)
    };
    let range = if from == to {
        point(from)
    } else {
        format!("{}–{}", point(from), point(to))
    };
    let (min, max, k) = (point(min), point(max), point(k));
    match (lower_is_better, zh) {
        (false, true) => format!("{min}–{max} 量表的最高 {k} 档（{range}）"),
        (true, true) => format!("{min}–{max} 量表的最低 {k} 档（{range}，越低越好）"),
        (false, false) if k == "1" => format!("the top point of the {min}–{max} scale ({range})"),
        (true, false) if k == "1" => format!("the bottom point of the {min}–{max} scale ({range}; lower is better)"),
        (false, false) => format!("the top {k} points of the {min}–{max} scale ({range})"),
        (true, false) => format!("the bottom {k} points of the {min}–{max} scale ({range}; lower is better)"),
    }
}

/// The top box's definition, to state where a top-box figure is shown:
/// "高分段 = 1–10 量表的最高 2 档（9–10）", "top box = the top 2 points of the 1–10
/// scale (9–10)". See [`top_box_points`].
pub fn top_box_definition(min: f64, max: f64, top: f64, lower_is_better: bool, zh: bool) -> String {
    format!(
        "{} = {}",
        top_box(zh),
        top_box_points(min, max, top, lower_is_better, zh)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_top_box_is_named_with_its_points() {
        assert_eq!(
            super::top_box_definition(1.0, 10.0, 9.0, false, true),
            "高分段 = 1–10 量表的最高 2 档（9–10）"
        );
        assert_eq!(
            super::top_box_definition(1.0, 10.0, 9.0, false, false),
            "top box = the top 2 points of the 1–10 scale (9–10)"
        );
        assert_eq!(
            super::top_box_points(1.0, 5.0, 2.0, true, true),
            "1–5 量表的最低 2 档（1–2，越低越好）"
        );
        assert_eq!(
            super::top_box_points(1.0, 5.0, 5.0, false, false),
            "the top point of the 1–5 scale (5)"
        );
    }

    #[test]
    fn p_values_never_print_as_zero() {
        assert_eq!(super::p_value(0.0004), "< 0.001");
        assert_eq!(super::p_value(0.0123), "0.012");
        assert_eq!(super::p_clause(0.0004), "p < 0.001");
        assert_eq!(super::p_clause(0.0123), "p = 0.012");
        assert_eq!(super::p_value(1.0), "> 0.99");
        assert_eq!(super::p_clause(0.999), "p > 0.99");
        let none = serde_json::Map::new();
        assert_eq!(super::correction_option(&none), Ok(super::Correction::Bonferroni));
        let mut bad = serde_json::Map::new();
        bad.insert("correction".into(), "holm".into());
        assert!(super::correction_option(&bad)
            .unwrap_err()
            .contains("benjamini_hochberg"));
    }
}
