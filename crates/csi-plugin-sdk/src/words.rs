//! The words analyses share, so that every page says the same thing the same way:
//! how a p-value is printed, which multiple-comparison adjustment a table used,
//! and how the `correction` option is read.

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

#[cfg(test)]
mod tests {
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
