//! What a study leaves for its data file to say: an SPSS file's variable labels
//! as the labels of items and segments the YAML does not label, its value labels
//! as the codes and labels of segments without `values` and as the scale's point
//! labels. The YAML always wins where it says something.

use csi_data::{DataError, DataFile, Dictionary, LabelledValue, MissingValue};
use csi_study::{Diagnostic, Label, Node, SegmentKind, Study};

/// The dictionary of the study's latest wave held as an SPSS file, if any.
fn latest_dictionary(study: &Study) -> Result<Option<Dictionary>, DataError> {
    for wave in study.waves.iter().rev() {
        if let Some(d) = csi_data::dictionary(&DataFile::of_wave(wave))? {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

fn is_declared_missing(missing: &[MissingValue], x: f64) -> bool {
    missing.iter().any(|m| match m {
        MissingValue::Number(v) => *v == x,
        MissingValue::Range(lo, hi) => *lo <= x && x <= *hi,
        MissingValue::Text(_) => false,
    })
}

fn code_of(v: &LabelledValue) -> String {
    match v {
        LabelledValue::Number(x) => format!("{x}"),
        LabelledValue::Text(t) => t.clone(),
    }
}

/// Fills what `study` left for its data to say (see [`csi_study::FromData`])
/// from the dictionary of its latest SPSS wave. Returns an error diagnostic for
/// each segment left without codes (no `values`, and no value labels in the file).
pub fn labels_from_data(study: &mut Study) -> Result<Vec<Diagnostic>, DataError> {
    let wanted = &study.from_data;
    if wanted.node_labels.is_empty()
        && wanted.segment_labels.is_empty()
        && wanted.segment_values.is_empty()
        && !wanted.scale_labels
    {
        return Ok(Vec::new());
    }
    let Some(dict) = latest_dictionary(study)? else {
        return Ok(missing_values(study, "its data files are not SPSS files"));
    };
    let var = |column: &str| dict.variables.iter().find(|v| v.name == column);
    let label_of = |column: &str| var(column).and_then(|v| v.label.clone()).map(Label::Text);
    let from_data = study.from_data.clone();
    // Items' labels and the scale's point labels.
    let mut points: Option<(f64, f64, std::collections::BTreeMap<String, Label>)> = None;
    fn walk(nodes: &mut [Node], f: &mut dyn FnMut(&mut Node)) {
        for n in nodes {
            f(n);
            walk(&mut n.children, f);
        }
    }
    let mut items: Vec<(String, String, f64, f64)> = Vec::new();
    walk(&mut study.tree, &mut |n| {
        if let Some(m) = &n.measure {
            if from_data.node_labels.contains(&n.id) {
                if let Some(l) = label_of(&m.column.name) {
                    n.label = l;
                }
            }
            items.push((n.id.clone(), m.column.name.clone(), m.scale.min, m.scale.max));
        }
    });
    for o in &mut study.overall {
        if from_data.node_labels.contains(&o.id) {
            if let Some(l) = label_of(&o.measure.column.name) {
                o.label = l;
            }
        }
        items.push((
            o.id.clone(),
            o.measure.column.name.clone(),
            o.measure.scale.min,
            o.measure.scale.max,
        ));
    }
    if from_data.scale_labels {
        // The first item whose column labels points of its scale.
        for (_, column, min, max) in &items {
            let Some(v) = var(column) else { continue };
            let labels: std::collections::BTreeMap<String, Label> = v
                .value_labels
                .iter()
                .filter_map(|(value, label)| match value {
                    LabelledValue::Number(x) if *x >= *min && *x <= *max && !is_declared_missing(&v.missing, *x) => {
                        Some((format!("{x}"), Label::Text(label.clone())))
                    }
                    _ => None,
                })
                .collect();
            if !labels.is_empty() {
                points = Some((*min, *max, labels));
                break;
            }
        }
    }
    if let Some((min, max, labels)) = points {
        walk(&mut study.tree, &mut |n| {
            if let Some(m) = &mut n.measure {
                if m.scale.min == min && m.scale.max == max && m.scale.labels.is_empty() {
                    m.scale.labels = labels.clone();
                }
            }
        });
        for o in &mut study.overall {
            let s = &mut o.measure.scale;
            if s.min == min && s.max == max && s.labels.is_empty() {
                s.labels = labels.clone();
            }
        }
    }
    for s in &mut study.segments {
        if from_data.segment_labels.contains(&s.id) {
            if let Some(l) = label_of(&s.column.name) {
                s.label = l;
            }
        }
        if from_data.segment_values.contains(&s.id) {
            if let Some(v) = var(&s.column.name) {
                let values = v
                    .value_labels
                    .iter()
                    .filter(
                        |(value, _)| !matches!(value, LabelledValue::Number(x) if is_declared_missing(&v.missing, *x)),
                    )
                    .map(|(value, label)| (code_of(value), Label::Text(label.clone())))
                    .collect();
                s.kind = SegmentKind::Categorical { values };
            }
        }
    }
    Ok(missing_values(study, "its column has no value labels in the SPSS file"))
}

/// An error for each segment still without codes.
fn missing_values(study: &Study, why: &str) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(&study.file).unwrap_or_default();
    study
        .segments
        .iter()
        .filter(|s| study.from_data.segment_values.contains(&s.id) && s.is_empty())
        .map(|s| {
            Diagnostic::error(
                format!("segment `{}` has no `values` and {why}", s.id),
                Some(study.file.clone()),
                s.column.at,
                &text,
            )
            .with_help("list its codes and labels, e.g. `values: {1: 普通客户, 2: 高端客户}`")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_fills_what_the_study_leaves_out() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/import"));
        let text = "id: t\ntitle: t\nscale: {min: 1, max: 10, missing: [99, -99, 0]}\nwaves:\n  - {id: a, data: survey.sav}\n\
                    tree:\n  - id: c\n    children:\n      - {id: coverage, column: q1}\n      - {id: quality, column: q2, label: mine}\n\
                    segments:\n  - {id: type, column: ctype}\n  - {id: region, column: region, label: 区域, values: {1: 北}}\n";
        let mut study = csi_study::parse(text, &dir.join("study.yaml"), dir).unwrap();
        assert!(labels_from_data(&mut study).unwrap().is_empty());
        let leaf = |i: usize| &study.tree[0].children[i];
        assert_eq!(leaf(0).label, Label::Text("网络覆盖满意度".into()));
        assert_eq!(leaf(1).label, Label::Text("mine".into()), "the YAML's label wins");
        assert_eq!(
            study.tree[0].label,
            Label::Text("c".into()),
            "a category has no column to ask"
        );
        let points = &leaf(0).measure.as_ref().unwrap().scale.labels;
        assert_eq!(points.get("1"), Some(&Label::Text("非常不满意".into())));
        assert_eq!(points.get("10"), Some(&Label::Text("非常满意".into())));
        assert_eq!(points.len(), 2);
        assert_eq!(study.segments[0].label, Label::Text("客户类型".into()));
        let SegmentKind::Categorical { values } = &study.segments[0].kind else {
            panic!()
        };
        let codes: Vec<&str> = values.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["1", "2", "3"]);
        assert_eq!(values[1].1, Label::Text("高端客户".into()));
        let SegmentKind::Categorical { values } = &study.segments[1].kind else {
            panic!()
        };
        assert_eq!(values.len(), 1, "the YAML's values win");
        assert_eq!(study.segments[1].label, Label::Text("区域".into()));
    }
}
