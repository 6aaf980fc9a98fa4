//! The words analyses share, so that every page says the same thing the same way:
//! how numbers are written in text with the study's decimals (`fixed`, `signed`,
//! `percent`, as the site prints table cells), how a p-value is printed, which
//! multiple-comparison adjustment a table used, how the `correction` option is
//! read, and what the top box is called and how its definition is stated (the
//! site's word: 高分段 / top box).
//!
//! The decimals come from the request (`request.study.decimals`: `score`,
//! `share`, `change`, `coefficient`, `p`), so that a finding says a figure the
//! way its table shows it.

use csi_stats::multiple::Correction;

/// `x` with `decimals` decimals, never a negative zero (a small negative value
/// that rounds to zero is `0.0`, not `-0.0`), `–` when not finite: `72.4`.
/// Table cells are printed the same way by the site.
pub fn fixed(x: f64, decimals: u8) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let d = usize::from(decimals);
    let text = format!("{x:.d$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|c| c == b'0' || c == b'.') => rest.to_string(),
        _ => text,
    }
}

/// A change or difference with `decimals` decimals and its sign, as signed
/// columns print it: `+2.1`, `-0.4`, and `0.0` (no sign) when it rounds to zero.
pub fn signed(x: f64, decimals: u8) -> String {
    let text = fixed(x, decimals);
    if x > 0.0 && text.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        format!("+{text}")
    } else {
        text
    }
}

/// A 0–1 share as a percentage with `decimals` decimals, as percent columns
/// print it: `35.2%`.
pub fn percent(share: f64, decimals: u8) -> String {
    format!("{}%", fixed(share * 100.0, decimals))
}

/// A p-value as tables print it: `< 0.001`, `> 0.99` (an adjusted p capped at 1
/// says nothing more), else three decimals (never `0.000` nor `1.000`).
pub fn p_value(p: f64) -> String {
    csi_blocks::p_value_text(p)
}

/// A p-value with `decimals` decimals (the study's `decimals.p`; 0 is read as 1,
/// a p-value is never rounded to a whole number): below the last decimal `< 0.001`
/// (`< 0.01`, `< 0.0001` …), near 1 `> 0.99` (`> 0.9` with one decimal), else
/// the value (never all zeros, never `1.0…`). With three decimals, the same as
/// [`p_value`].
pub fn p_value_with(p: f64, decimals: u8) -> String {
    csi_blocks::p_value_text_with(p, decimals)
}

/// A p-value in a sentence: `p < 0.001`, `p > 0.99` or `p = 0.016`.
pub fn p_clause(p: f64) -> String {
    clause(p_value(p))
}

/// A p-value in a sentence with `decimals` decimals (see [`p_value_with`]):
/// `p < 0.01`, `p = 0.02` with two.
pub fn p_clause_with(p: f64, decimals: u8) -> String {
    clause(p_value_with(p, decimals))
}

fn clause(v: String) -> String {
    if v.starts_with(['<', '>']) {
        format!("p {v}")
    } else {
        format!("p = {v}")
    }
}

/// The name of a multiple-comparison adjustment, in Chinese (`zh`) or English.
pub fn correction(c: Correction, zh: bool) -> &'static str {
    match (c, zh) {
        (Correction::None, true) => "未做多重比较校正",
        (Correction::None, false) => "no multiple-comparison adjustment",
        (Correction::Bonferroni, true) => "按检验项数校正（Bonferroni 法）",
        (Correction::Bonferroni, false) => "Bonferroni adjustment",
        (Correction::BenjaminiHochberg, true) => "按错误发现率校正（Benjamini–Hochberg 法）",
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
    fn numbers_follow_the_decimals_without_a_negative_zero() {
        use super::{fixed, percent, signed};
        assert_eq!(fixed(72.3849, 1), "72.4");
        assert_eq!(fixed(72.3849, 2), "72.38");
        assert_eq!(fixed(72.5, 0), "72");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(-0.4, 0), "0");
        assert_eq!(fixed(-0.06, 1), "-0.1");
        assert_eq!(fixed(f64::NAN, 1), "–");
        assert_eq!(signed(2.14, 1), "+2.1");
        assert_eq!(signed(-0.44, 1), "-0.4");
        assert_eq!(signed(0.04, 1), "0.0");
        assert_eq!(signed(-0.04, 1), "0.0");
        assert_eq!(signed(0.004, 2), "0.00");
        assert_eq!(signed(0.006, 2), "+0.01");
        assert_eq!(signed(3.0, 0), "+3");
        assert_eq!(percent(0.0792, 1), "7.9%");
        assert_eq!(percent(0.0792, 2), "7.92%");
        // The SDK writes what `{:.1}` and `{:+.1}` wrote, except the zeros.
        for x in [-12.345, -1.05, 0.25, 3.96, 68.899] {
            assert_eq!(fixed(x, 1), format!("{x:.1}"));
            assert_eq!(signed(x, 1), format!("{x:+.1}"));
            assert_eq!(fixed(x, 3), format!("{x:.3}"));
        }
    }

    #[test]
    fn p_values_follow_their_decimals() {
        use super::{p_clause_with, p_value, p_value_with};
        for p in [0.0, 0.0004, 0.001, 0.0123, 0.5, 0.98, 0.99, 0.995, 1.0, f64::NAN] {
            assert_eq!(p_value_with(p, 3), p_value(p), "{p}");
        }
        assert_eq!(p_value_with(0.0004, 2), "< 0.01");
        assert_eq!(p_value_with(0.0123, 2), "0.01");
        assert_eq!(p_value_with(0.995, 2), "> 0.99");
        assert_eq!(p_value_with(0.00004, 4), "< 0.0001");
        assert_eq!(p_value_with(0.0123, 4), "0.0123");
        assert_eq!(p_value_with(0.995, 4), "> 0.99");
        assert_eq!(p_value_with(0.04, 1), "< 0.1");
        assert_eq!(p_value_with(0.95, 1), "> 0.9");
        assert_eq!(p_value_with(0.04, 0), "< 0.1", "0 is read as 1");
        assert_eq!(p_clause_with(0.0123, 2), "p = 0.01");
        assert_eq!(p_clause_with(0.0004, 2), "p < 0.01");
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
