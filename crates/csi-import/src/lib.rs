//! # csi-import: a study definition drafted from a data file
//!
//! [`profile`] reads a wave's data file (CSV, Parquet, workbook or SPSS file)
//! in one pass of numbers and, for its text columns, a pass that stops once a
//! column has shown it is free text, and describes every variable: numbers or
//! text, range, distinct values, and what the file declares of it (an SPSS
//! file's variable labels, value labels and missing values). [`draft`] turns that
//! into a commented `study.yaml`: the respondent id and weight, the scale (from
//! value labels or the values seen) with its missing codes, the items grouped
//! into a draft tree by name prefix, the overall item, candidate segments, and
//! the list of what it guessed, for the user to check.
#![deny(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use arrow_array::Array as _;

use csi_data::{
    ColumnKind, ColumnPlan, DataError, DataFile, DataPolicy, Dictionary, IssueKind, LabelledValue, MissingValue,
    Parallelism, Policy,
};

/// Why a file could not be profiled.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The file has no column to draft a study from.
    #[error("{0}: the file has no named columns; it needs a header row (or SPSS variables)")]
    NoColumns(String),
}

/// The most distinct values kept per variable; more make it continuous or free text.
const MAX_DISTINCT: usize = 40;

/// What the data say of one variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The column name.
    pub name: String,
    /// The file's label for it, if any.
    pub label: Option<String>,
    /// Cells that are numbers (declared missing values not counted).
    pub numbers: u64,
    /// Cells that are text, not numbers.
    pub texts: u64,
    /// The smallest and largest number seen.
    pub range: Option<(f64, f64)>,
    /// Whether every number is whole.
    pub whole: bool,
    /// The distinct numbers and how often each occurs, in increasing order, when
    /// there are at most [`MAX_DISTINCT`].
    pub distinct_numbers: Option<Vec<(f64, u64)>>,
    /// The distinct texts, when there are at most [`MAX_DISTINCT`].
    pub distinct_texts: Option<Vec<String>>,
    /// The file's value labels (SPSS), in file order.
    pub value_labels: Vec<(LabelledValue, String)>,
    /// The file's declared missing values (SPSS).
    pub missing: Vec<MissingValue>,
    /// The file's measurement level (SPSS): `nominal`, `ordinal`, `scale`.
    pub measure: Option<&'static str>,
    /// For a column that could be the respondent id (named like one, or the
    /// first column with a number on every row): how many of its values repeat
    /// an earlier one; `None` when not checked.
    pub repeated: Option<u64>,
}

/// What the data say of every variable of a file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// The variables (unnamed and repeated columns left out).
    pub columns: Vec<Profile>,
    /// The weight variable the file names (SPSS), if any.
    pub weight: Option<String>,
    /// The file's label (SPSS), if any.
    pub label: Option<String>,
    /// Respondents read.
    pub respondents: u64,
}

#[derive(Debug, Clone, Default)]
struct Stats {
    n: u64,
    min: f64,
    max: f64,
    fractional: bool,
    /// Each distinct number's bits and how often it occurs.
    distinct: BTreeMap<u64, u64>,
    many: bool,
}

impl Stats {
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            (self.min, self.max) = (x, x);
        }
        self.n += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.fractional |= x.fract() != 0.0;
        if !self.many {
            *self.distinct.entry(x.to_bits()).or_default() += 1;
            self.many = self.distinct.len() > MAX_DISTINCT;
        }
    }

    fn merge(&mut self, other: Stats) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other;
            return;
        }
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.fractional |= other.fractional;
        self.many |= other.many;
        if !self.many {
            for (x, n) in other.distinct {
                *self.distinct.entry(x).or_default() += n;
            }
            self.many = self.distinct.len() > MAX_DISTINCT;
        }
    }
}

/// Reads `file` and describes its variables.
pub fn profile(file: &DataFile) -> Result<Survey, ImportError> {
    let header = csi_data::read_header(file)?;
    let dictionary = csi_data::dictionary(file)?.unwrap_or_default();
    let mut seen = BTreeSet::new();
    let names: Vec<String> = header
        .into_iter()
        .filter(|h| !h.is_empty() && seen.insert(h.clone()))
        .collect();
    if names.is_empty() {
        return Err(ImportError::NoColumns(file.path.display().to_string()));
    }
    let excluding = DataPolicy {
        non_numeric: Policy::Exclude,
        out_of_range: Policy::Exclude,
        invalid_weight: Policy::Exclude,
        duplicate_id: Policy::Exclude,
        unknown_segment: Policy::Exclude,
    };
    let plan: Vec<ColumnPlan> = names
        .iter()
        .map(|n| ColumnPlan {
            name: n.clone(),
            kind: ColumnKind::Measure {
                min: f64::MIN,
                max: f64::MAX,
                missing: Vec::new(),
            },
        })
        .collect();
    let width = plan.len();
    let mut stats = vec![Stats::default(); width];
    let report = csi_data::scan_numbers(
        file,
        &plan,
        &excluding,
        Parallelism::all_cores(8 << 20),
        &|| vec![Stats::default(); width],
        &|acc: &mut Vec<Stats>, rows| {
            for row in rows.rows() {
                for (s, x) in acc.iter_mut().zip(row) {
                    if !x.is_nan() {
                        s.add(*x);
                    }
                }
            }
        },
        &mut |acc| {
            for (s, a) in stats.iter_mut().zip(acc) {
                s.merge(a);
            }
        },
    )?;
    let texts: BTreeMap<&str, u64> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::NonNumeric)
        .map(|i| (i.column.as_str(), i.count))
        .collect();
    let mut columns = Vec::with_capacity(width);
    for (k, (name, s)) in names.iter().zip(stats).enumerate() {
        let text_count = texts.get(name.as_str()).copied().unwrap_or(0);
        let distinct_texts = if text_count > 0 {
            distinct_texts(file, name)?
        } else {
            Some(Vec::new())
        };
        let var = dictionary_variable(&dictionary, name);
        let could_be_id = name_is(name, ID_NAMES) || (k == 0 && s.many && s.n == report.rows_read);
        let repeated = if could_be_id {
            Some(repeated_values(file, name)?)
        } else {
            None
        };
        columns.push(Profile {
            name: name.clone(),
            label: var.and_then(|v| v.label.clone()),
            numbers: s.n,
            texts: text_count,
            range: (s.n > 0).then_some((s.min, s.max)),
            whole: !s.fractional,
            distinct_numbers: (!s.many).then(|| {
                let mut d: Vec<(f64, u64)> = s.distinct.iter().map(|(b, n)| (f64::from_bits(*b), *n)).collect();
                d.sort_by(|a, b| a.0.total_cmp(&b.0));
                d
            }),
            distinct_texts,
            value_labels: var.map(|v| v.value_labels.clone()).unwrap_or_default(),
            missing: var.map(|v| v.missing.clone()).unwrap_or_default(),
            measure: var.and_then(|v| v.measure),
            repeated,
        });
    }
    Ok(Survey {
        columns,
        weight: dictionary.weight.clone(),
        label: dictionary.label.clone(),
        respondents: report.rows_read,
    })
}

fn dictionary_variable<'d>(d: &'d Dictionary, name: &str) -> Option<&'d csi_data::Variable> {
    d.variables.iter().find(|v| v.name == name)
}

/// How many values of `column` repeat an earlier one (empty cells aside).
fn repeated_values(file: &DataFile, column: &str) -> Result<u64, ImportError> {
    let plan = [ColumnPlan {
        name: column.to_string(),
        kind: ColumnKind::Id,
    }];
    let policy = DataPolicy {
        duplicate_id: Policy::Exclude,
        ..DataPolicy::default()
    };
    let report = csi_data::scan_numbers(
        file,
        &plan,
        &policy,
        Parallelism::all_cores(8 << 20),
        &|| (),
        &|_, _| {},
        &mut |_| {},
    )?;
    Ok(report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::DuplicateId)
        .map(|i| i.count)
        .sum())
}

/// Names of a respondent id column.
const ID_NAMES: &[&str] = &[
    "id",
    "rid",
    "respid",
    "resp_id",
    "respondent_id",
    "caseid",
    "case_id",
    "编号",
    "序号",
    "样本编号",
    "问卷编号",
];

/// The distinct texts of a column, in order of first appearance, or `None`
/// when it has more than [`MAX_DISTINCT`] (the read stops there).
fn distinct_texts(file: &DataFile, column: &str) -> Result<Option<Vec<String>>, ImportError> {
    let plan = [ColumnPlan {
        name: column.to_string(),
        kind: ColumnKind::Id,
    }];
    let policy = DataPolicy {
        duplicate_id: Policy::Exclude,
        ..DataPolicy::default()
    };
    let mut found: Vec<String> = Vec::new();
    let mut numbers = 0usize;
    let read = csi_data::scan(file, &plan, &policy, &mut |batch| {
        let ids = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .ok_or("not text")?;
        for i in 0..ids.len() {
            if ids.is_null(i) || ids.value(i).trim().is_empty() {
                continue;
            }
            let t = ids.value(i).trim();
            if t.parse::<f64>().is_ok() {
                numbers += 1;
                continue; // the numbers of a mixed column are profiled as numbers
            }
            found.push(t.to_string());
            if found.len() > MAX_DISTINCT {
                return Err("many".into());
            }
        }
        Ok(())
    });
    match read {
        Ok(_) => Ok(Some(found)),
        Err(DataError::Consumer(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What a variable is taken for in the draft.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Id,
    Weight,
    /// A rated item on a scale `[min, max]` with missing codes.
    Item {
        min: f64,
        max: f64,
        missing: Vec<f64>,
    },
    /// A segment with its codes and labels.
    Segment(Vec<(String, String)>),
    /// Another number (minutes, a year, an amount).
    OtherNumber,
    /// Free text or anything else the study does not read.
    Unused,
}

/// Codes that surveys commonly use for "no answer" or "don't know".
fn looks_like_missing_code(x: f64) -> bool {
    [0.0, -1.0, -9.0, -99.0, -999.0, 9.0, 97.0, 98.0, 99.0, 999.0, 9999.0].contains(&x)
}

fn name_is(name: &str, words: &[&str]) -> bool {
    let n = name.to_lowercase();
    words.iter().any(|w| n == *w)
}

fn text_of(v: &LabelledValue) -> String {
    match v {
        LabelledValue::Number(x) => format!("{x}"),
        LabelledValue::Text(t) => t.clone(),
    }
}

fn declared_numbers(missing: &[MissingValue]) -> Vec<f64> {
    missing
        .iter()
        .filter_map(|m| match m {
            MissingValue::Number(x) => Some(*x),
            _ => None,
        })
        .collect()
}

/// The role of a variable, and why (for the list of guesses).
fn role_of(p: &Profile, survey: &Survey, first: bool) -> (Role, String) {
    let declared_weight = survey.weight.as_deref() == Some(p.name.as_str());
    if p.numbers > 0
        && p.texts == 0
        && p.numbers == survey.respondents
        && p.range.is_some_and(|(lo, _)| lo > 0.0)
        && (declared_weight || name_is(&p.name, &["w", "wt", "wgt", "weight", "权重", "加权"]))
    {
        let why = if declared_weight {
            "the file's weight variable"
        } else {
            "named like a weight, all values positive"
        };
        return (Role::Weight, why.into());
    }
    let distinct_numbers = p.distinct_numbers.as_ref();
    let all_distinct =
        survey.respondents > 0 && distinct_numbers.is_none() && p.texts == 0 && p.numbers == survey.respondents;
    let id_name = name_is(&p.name, ID_NAMES);
    // An id is different on every row: a column whose values repeat is not one.
    let unique = p.repeated == Some(0);
    if unique && (id_name || (first && all_distinct && p.whole)) {
        let why = if id_name {
            "named like an id, a different value on every row"
        } else {
            "the first column, a different whole number on every row"
        };
        return (Role::Id, why.into());
    }
    // Labelled codes: a segment when nominal or few, else a rated item.
    let labelled: Vec<(f64, String)> = p
        .value_labels
        .iter()
        .filter_map(|(v, l)| match v {
            LabelledValue::Number(x) => Some((*x, l.clone())),
            LabelledValue::Text(_) => None,
        })
        .collect();
    let declared = declared_numbers(&p.missing);
    if p.texts == 0 && p.numbers > 0 && p.whole {
        let counted = distinct_numbers.cloned().unwrap_or_default();
        let values: Vec<f64> = counted.iter().map(|(x, _)| *x).collect();
        let nominal = matches!(p.measure, Some("nominal"));
        // Labels on a run of at least 4 whole points within 0-11 mark a rating
        // scale (SPSS files often label every point), unless declared nominal.
        let mut points: Vec<f64> = labelled.iter().map(|l| l.0).filter(|x| !declared.contains(x)).collect();
        points.sort_by(f64::total_cmp);
        let scale_like = points.len() >= 4
            && points.iter().all(|x| x.fract() == 0.0 && (0.0..=11.0).contains(x))
            && points.windows(2).all(|w| w[1] - w[0] == 1.0);
        let seen_codes = values.iter().filter(|x| !declared.contains(x)).count();
        if !labelled.is_empty()
            && (nominal || (!scale_like && 2 * labelled.len() >= seen_codes && labelled.len() <= 12))
        {
            // Every code seen is a group, labelled or not (else the study
            // would refuse the unlabelled ones as unknown segment codes).
            let mut codes: Vec<(String, String)> = labelled
                .iter()
                .filter(|(x, _)| !declared.contains(x))
                .map(|(x, l)| (format!("{x}"), l.clone()))
                .collect();
            let unlabelled: Vec<f64> = values
                .iter()
                .copied()
                .filter(|x| !declared.contains(x) && !labelled.iter().any(|(l, _)| l == x))
                .collect();
            codes.extend(unlabelled.iter().map(|x| (format!("{x}"), format!("{x}"))));
            let why = if unlabelled.is_empty() {
                "its values are labelled codes".to_string()
            } else {
                format!(
                    "its values are labelled codes, and {} unlabelled code(s) seen in the data ({}) are groups labelled with their code",
                    unlabelled.len(),
                    unlabelled.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(", ")
                )
            };
            return (Role::Segment(codes), why);
        }
        if distinct_numbers.is_some() {
            // Codes far outside a rating scale (99, -99, 999) are missing codes.
            let (valid, mut codes): (Vec<(f64, u64)>, Vec<f64>) = {
                let (v, c): (Vec<_>, Vec<_>) = counted
                    .iter()
                    .partition(|(x, _)| !(looks_like_missing_code(*x) && (*x > 11.0 || *x < 0.0)));
                (v, c.into_iter().map(|(x, _)| x).collect())
            };
            // A rare 0 below answers from 1 up is a "don't know" code.
            let per_point = valid.iter().filter(|(x, _)| *x >= 1.0).map(|(_, n)| *n).sum::<u64>() as f64
                / valid.iter().filter(|(x, _)| *x >= 1.0).count().max(1) as f64;
            let valid: Vec<(f64, u64)> = match valid.first() {
                Some((x, n)) if *x == 0.0 && valid.len() > 1 && (*n as f64) < 0.2 * per_point => {
                    codes.push(0.0);
                    valid[1..].to_vec()
                }
                _ => valid,
            };
            let labelled_ends = labelled
                .iter()
                .map(|l| l.0)
                .filter(|x| !declared.contains(x))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
            let seen = (valid.first().map(|v| v.0), valid.last().map(|v| v.0));
            let (min, max) = if labelled.is_empty() {
                // The questionnaire's scale, not the answers seen: from 0 or 1, to
                // the common end at or above the highest answer.
                match seen {
                    (Some(lo), Some(hi)) => (
                        if lo >= 1.0 { 1.0 } else { lo },
                        [4.0, 5.0, 7.0, 10.0, 11.0].into_iter().find(|e| *e >= hi).unwrap_or(hi),
                    ),
                    _ => (f64::NAN, f64::NAN),
                }
            } else {
                (
                    seen.0.map_or(labelled_ends.0, |x| x.min(labelled_ends.0)),
                    seen.1.map_or(labelled_ends.1, |x| x.max(labelled_ends.1)),
                )
            };
            if min.is_finite() && max.is_finite() && min >= 0.0 && max <= 11.0 && max - min >= 3.0 && valid.len() >= 4 {
                let mut missing = declared.clone();
                missing.extend(codes.iter().filter(|x| !declared.contains(x)));
                let why = if labelled.is_empty() {
                    format!("whole numbers from {min} to {max}")
                } else {
                    format!("a labelled scale from {min} to {max}")
                };
                return (Role::Item { min, max, missing }, why);
            }
            if values.len() <= 8 && !values.is_empty() {
                let label = |x: &f64| {
                    labelled
                        .iter()
                        .find(|(l, _)| l == x)
                        .map_or_else(|| format!("{x}"), |(_, l)| l.clone())
                };
                let codes = values
                    .iter()
                    .filter(|x| !declared.contains(x))
                    .map(|x| (format!("{x}"), label(x)))
                    .collect();
                return (Role::Segment(codes), format!("{} distinct codes", values.len()));
            }
        }
    }
    if p.texts > 0 {
        let short = |t: &Vec<String>| t.iter().all(|v| v.chars().count() <= 20);
        // A column of texts and numbers (`1`, `2`, `DK`): its numbers are codes too.
        let numbers: Option<Vec<f64>> = match (p.numbers, distinct_numbers) {
            (0, _) => Some(Vec::new()),
            (_, Some(d)) => Some(d.iter().map(|(x, _)| *x).filter(|x| !declared.contains(x)).collect()),
            (_, None) => None,
        };
        if let (Some(texts), Some(numbers)) = (p.distinct_texts.as_ref().filter(|t| !t.is_empty() && short(t)), numbers)
        {
            if texts.len() + numbers.len() <= 12 {
                let mut codes: Vec<(String, String)> =
                    numbers.iter().map(|x| (format!("{x}"), format!("{x}"))).collect();
                codes.extend(texts.iter().map(|t| (t.clone(), t.clone())));
                return (
                    Role::Segment(codes.clone()),
                    format!("text with {} distinct values", codes.len()),
                );
            }
        }
        return (Role::Unused, "free text".into());
    }
    if p.numbers > 0 {
        return (Role::OtherNumber, "a number not on a rating scale".into());
    }
    (Role::Unused, "empty".into())
}

/// A YAML string, double-quoted.
fn q(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A node id from a column name: lowercase ASCII letters, digits and `_`.
fn node_id(name: &str, fallback: &str, taken: &mut BTreeSet<String>) -> String {
    let mut id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string();
    if id.is_empty() {
        id = fallback.into();
    } else if id.starts_with(|c: char| c.is_ascii_digit()) {
        id = format!("{fallback}_{id}");
    }
    let mut unique = id.clone();
    let mut k = 2;
    while !taken.insert(unique.clone()) {
        unique = format!("{id}_{k}");
        k += 1;
    }
    unique
}

/// The prefix a draft tree groups items by: the name's letters before its first
/// digit or separator (`q1_3` → `q`, `sat_net_2` → `sat`).
fn prefix_of(name: &str) -> String {
    name.split(|c: char| c.is_ascii_digit() || c == '_' || c == '.')
        .next()
        .unwrap_or(name)
        .to_lowercase()
}

fn number_text(x: f64) -> String {
    format!("{x}")
}

/// A drafted study definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The `study.yaml` text, commented.
    pub yaml: String,
    /// What was guessed, one line each, for the user to check.
    pub guesses: Vec<String>,
    /// How many items the draft's tree holds (a study needs at least one).
    pub tree_items: usize,
}

/// Where a drafted study's one wave reads its data.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveSource<'a> {
    /// The wave's id.
    pub id: &'a str,
    /// The data file, as the study names it (relative to its folder).
    pub data: &'a str,
    /// The sheet of a workbook, when not its first.
    pub sheet: Option<&'a str>,
    /// The text encoding of a CSV file, when not UTF-8.
    pub encoding: Option<&'a str>,
}

/// Drafts a study named `id` and titled `title` (unless the file has a label)
/// from `survey`, its one wave reading `wave`.
pub fn draft(survey: &Survey, id: &str, title: &str, wave: &WaveSource<'_>) -> Draft {
    let data = wave.data;
    let mut guesses = Vec::new();
    let roles: Vec<(Role, String)> = survey
        .columns
        .iter()
        .enumerate()
        .map(|(i, p)| role_of(p, survey, i == 0))
        .collect();
    let find = |want: fn(&Role) -> bool| survey.columns.iter().zip(&roles).filter(move |(_, (r, _))| want(r));
    let label_of = |p: &Profile| p.label.clone().unwrap_or_else(|| p.name.clone());
    let chinese = survey
        .columns
        .iter()
        .filter_map(|p| p.label.as_deref())
        .chain(survey.label.as_deref())
        .chain(survey.columns.iter().map(|p| p.name.as_str()))
        .any(|l| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Drafted by `csi import` from {data}: check every line marked GUESS, then"
    );
    let _ = writeln!(
        y,
        "# run `csi check` and `csi build`. Labels come from the file where it has them."
    );
    let _ = writeln!(y, "id: {}", q(id));
    let _ = writeln!(y, "title: {}", q(survey.label.as_deref().unwrap_or(title)));
    let _ = writeln!(y, "language: {}", if chinese { "zh" } else { "en" });
    let _ = writeln!(
        y,
        "index:\n  label: {}",
        q(if chinese {
            "顾客满意度指数"
        } else {
            "Customer satisfaction index"
        })
    );
    let ids: Vec<_> = find(|r| *r == Role::Id).collect();
    if let Some((p, (_, why))) = ids.first() {
        let _ = writeln!(y, "respondent_id: {}   # GUESS: {why}", q(&p.name));
        guesses.push(format!("respondent id: `{}` ({why})", p.name));
    }
    // The scale most items share.
    let mut scales: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for (r, _) in &roles {
        if let Role::Item { min, max, .. } = r {
            *scales.entry((min.to_bits(), max.to_bits())).or_default() += 1;
        }
    }
    let widest_common = scales
        .iter()
        .max_by_key(|((a, b), n)| (**n, (f64::from_bits(*b) - f64::from_bits(*a)) as i64))
        .map(|(k, _)| *k);
    // An item inherits the main scale only on its very range: a 1-5 item scored
    // on 1-10 would be wrong.
    let contains = |(a, b): (u64, u64), min: f64, max: f64| f64::from_bits(a) == min && max == f64::from_bits(b);
    // Its missing codes: those of every item within its range.
    let main: Option<((u64, u64), BTreeSet<u64>)> = widest_common.map(|k| {
        let mut missing = BTreeSet::new();
        for (r, _) in &roles {
            if let Role::Item { min, max, missing: m } = r {
                if contains(k, *min, *max) {
                    missing.extend(m.iter().map(|x| x.to_bits()));
                }
            }
        }
        (k, missing)
    });
    let scale_text = |min: f64, max: f64, missing: &[f64]| {
        let codes: Vec<String> = missing.iter().map(|x| number_text(*x)).collect();
        format!(
            "min: {}, max: {}, missing: [{}]",
            number_text(min),
            number_text(max),
            codes.join(", ")
        )
    };
    if let Some(((min, max), missing)) = &main {
        let (min, max) = (f64::from_bits(*min), f64::from_bits(*max));
        let mut missing: Vec<f64> = missing.iter().map(|b| f64::from_bits(*b)).collect();
        missing.sort_by(|a, b| b.total_cmp(a));
        let top_box = if max - min >= 6.0 { 2 } else { 1 };
        let _ = writeln!(
            y,
            "scale:   # GUESS: the range most items use; the missing codes the file declares or the data show"
        );
        let codes: Vec<String> = missing.iter().map(|x| number_text(*x)).collect();
        let _ = writeln!(
            y,
            "  min: {}\n  max: {}\n  missing: [{}]",
            number_text(min),
            number_text(max),
            codes.join(", ")
        );
        let _ = writeln!(y, "  top_box: {top_box}");
        // Point labels: the first item on this scale that has any.
        let labels = survey.columns.iter().zip(&roles).find_map(|(p, (r, _))| match r {
            Role::Item { min: a, max: b, .. } if *a >= min && *b <= max && !p.value_labels.is_empty() => {
                Some(&p.value_labels)
            }
            _ => None,
        });
        if let Some(labels) = labels {
            let points: Vec<String> = labels
                .iter()
                .filter(|(v, _)| matches!(v, LabelledValue::Number(x) if *x >= min && *x <= max))
                .map(|(v, l)| format!("{}: {}", text_of(v), q(l)))
                .collect();
            if !points.is_empty() {
                let _ = writeln!(y, "  labels: {{{}}}", points.join(", "));
            }
        }
        guesses.push(format!(
            "scale: {} (used by most items)",
            scale_text(min, max, &missing)
        ));
    } else {
        let _ = writeln!(
            y,
            "scale: {{min: 1, max: 10, missing: [99]}}   # GUESS: no rated item was found; set the scale"
        );
        guesses.push("scale: no rated item found; 1-10 written as a placeholder".into());
    }
    let weights: Vec<_> = find(|r| *r == Role::Weight).collect();
    let _ = writeln!(y, "waves:\n  - id: {}\n    data: {}", q(wave.id), q(data));
    if let Some(encoding) = wave.encoding.filter(|e| *e != "UTF-8") {
        let _ = writeln!(y, "    encoding: {}", q(&encoding.to_lowercase()));
    }
    if let Some(sheet) = wave.sheet {
        let _ = writeln!(y, "    sheet: {}   # GUESS: the sheet with the most columns", q(sheet));
        guesses.push(format!("sheet: `{sheet}` (the one with the most columns)"));
    }
    if let Some((p, (_, why))) = weights.first() {
        let _ = writeln!(y, "    weight: {}   # GUESS: {why}", q(&p.name));
        guesses.push(format!("weight: `{}` ({why})", p.name));
    }
    // Items: the overall one, and the rest grouped by name prefix.
    let items: Vec<(&Profile, &Role)> = survey
        .columns
        .iter()
        .zip(&roles)
        .filter(|(_, (r, _))| matches!(r, Role::Item { .. }))
        .map(|(p, (r, _))| (p, r))
        .collect();
    let overall_words = ["总体", "整体", "总的来说", "overall", "total satisfaction", "osat"];
    let is_overall = |p: &Profile| {
        let text = format!("{} {}", p.name.to_lowercase(), label_of(p).to_lowercase());
        overall_words.iter().any(|w| text.contains(w))
    };
    let overall = items.iter().find(|(p, _)| is_overall(p)).map(|(p, _)| *p);
    let mut taken = BTreeSet::from(["index".to_string()]);
    let item_scale = |r: &Role| -> Option<String> {
        match (r, &main) {
            (Role::Item { min, max, .. }, Some((k, _))) if contains(*k, *min, *max) => None,
            (Role::Item { min, max, missing }, _) => Some(scale_text(*min, *max, missing)),
            _ => None,
        }
    };
    // Expectation items (`e1`, `exp1`) paired with the item of the same number.
    let number_of = |name: &str| -> Option<(String, String)> {
        let n = name.to_lowercase();
        let digits = n.trim_start_matches(|c: char| !c.is_ascii_digit());
        let letters = &n[..n.len() - digits.len()];
        (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
            .then(|| (letters.to_string(), digits.to_string()))
    };
    let mut expectation_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (e, _) in &items {
        let Some((letters, digits)) = number_of(&e.name) else {
            continue;
        };
        if !["e", "exp", "expect", "expectation"].contains(&letters.as_str()) {
            continue;
        }
        let partner = items.iter().find(|(p, _)| {
            p.name != e.name
                && overall.is_none_or(|o| o.name != p.name)
                && number_of(&p.name).is_some_and(|(l, d)| d == digits && l != letters)
        });
        if let Some((p, _)) = partner {
            expectation_of.insert(&p.name, &e.name);
        }
    }
    let is_expectation = |name: &str| expectation_of.values().any(|e| *e == name);
    let mut groups: BTreeMap<String, Vec<(&Profile, &Role)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (p, r) in &items {
        if overall.is_some_and(|o| o.name == p.name) || is_expectation(&p.name) {
            continue;
        }
        let prefix = prefix_of(&p.name);
        if !groups.contains_key(&prefix) {
            order.push(prefix.clone());
        }
        groups.entry(prefix).or_default().push((p, r));
    }
    let _ = writeln!(
        y,
        "# GUESS: the items grouped by the start of their names; regroup them into the"
    );
    let _ = writeln!(
        y,
        "# study's categories, give categories their labels and weights, and pair each"
    );
    let _ = writeln!(
        y,
        "# performance item with its expectation item (`expectation: COLUMN`) if any."
    );
    let _ = writeln!(y, "tree:");
    if order.is_empty() {
        let _ = writeln!(y, "  []   # no rated item besides the overall one was found");
    }
    for prefix in &order {
        let members = &groups[prefix];
        let category = node_id(&format!("group_{prefix}"), "group", &mut taken);
        let label = if chinese {
            format!("{prefix} 题组")
        } else {
            format!("Items {prefix}")
        };
        let _ = writeln!(
            y,
            "  - id: {category}\n    label: {}\n    weight: 1\n    children:",
            q(&label)
        );
        for (p, r) in members {
            let id = node_id(&p.name, "item", &mut taken);
            let _ = writeln!(
                y,
                "      - id: {id}\n        label: {}\n        column: {}",
                q(&label_of(p)),
                q(&p.name)
            );
            if let Some(e) = expectation_of.get(p.name.as_str()) {
                let _ = writeln!(
                    y,
                    "        expectation: {}   # GUESS: the expectation item of the same number",
                    q(e)
                );
                guesses.push(format!("expectation: `{e}` for `{}`", p.name));
            }
            if let Some(s) = item_scale(r) {
                let _ = writeln!(y, "        scale: {{{s}}}   # GUESS: its own range");
            }
        }
    }
    guesses.push(format!(
        "tree: {} item(s) in {} group(s) by name prefix ({})",
        groups.values().map(Vec::len).sum::<usize>(),
        order.len(),
        order.join(", ")
    ));
    let mut overall_id = None;
    if let Some(p) = overall {
        let id = node_id(&p.name, "overall", &mut taken);
        overall_id = Some(id.clone());
        let _ = writeln!(
            y,
            "overall:   # GUESS: the item whose name or label says overall satisfaction"
        );
        let _ = writeln!(
            y,
            "  - id: {id}\n    label: {}\n    column: {}",
            q(&label_of(p)),
            q(&p.name)
        );
        guesses.push(format!("overall item: `{}` ({})", p.name, label_of(p)));
    } else {
        guesses.push("overall item: none found (add one under `overall:` for the driver analysis)".into());
    }
    let segments: Vec<_> = survey
        .columns
        .iter()
        .zip(&roles)
        .filter_map(|(p, (r, why))| match r {
            Role::Segment(codes) if !codes.is_empty() => Some((p, codes, why)),
            _ => None,
        })
        .collect();
    if !segments.is_empty() {
        let _ = writeln!(y, "segments:");
        for (p, codes, why) in &segments {
            let id = node_id(&p.name, "segment", &mut taken);
            let values: Vec<String> = codes.iter().map(|(c, l)| format!("{}: {}", q(c), q(l))).collect();
            let _ = writeln!(
                y,
                "  - id: {id}   # GUESS: {why}\n    label: {}\n    column: {}\n    values: {{{}}}",
                q(&label_of(p)),
                q(&p.name),
                values.join(", ")
            );
            guesses.push(format!("segment: `{}` ({why}, {} groups)", p.name, codes.len()));
        }
    }
    let others: Vec<String> = survey
        .columns
        .iter()
        .zip(&roles)
        .filter(|(_, (r, _))| matches!(r, Role::OtherNumber | Role::Unused))
        .map(|(p, (_, why))| format!("{} ({why})", p.name.replace(|c: char| c.is_control(), " ")))
        .collect();
    if !others.is_empty() {
        let _ = writeln!(y, "# Not read by the study: {}.", others.join(", "));
        let _ = writeln!(
            y,
            "# A number such as a waiting time can be an item with its own `scale:` and"
        );
        let _ = writeln!(
            y,
            "# `direction: lower_is_better`; a year can be a segment with `bands:`."
        );
        guesses.push(format!("not used: {}", others.join(", ")));
    }
    let _ = writeln!(y, "analyses:");
    // The gap analysis compares expectations with performance.
    if !expectation_of.is_empty() {
        let _ = writeln!(y, "  - plugin: gap");
    }
    if let Some(id) = &overall_id {
        // With one category, its items are the drivers.
        let level = if order.len() < 2 { ", level: 2" } else { "" };
        let _ = writeln!(y, "  - plugin: driver\n    options: {{outcome: {id}{level}}}");
    }
    if !segments.is_empty() {
        let _ = writeln!(y, "  - plugin: segment");
    }
    let _ = writeln!(y, "  - plugin: trend");
    let tree_items = groups.values().map(Vec::len).sum();
    Draft {
        yaml: y,
        guesses,
        tree_items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_ids() {
        assert_eq!(prefix_of("q1_3"), "q");
        assert_eq!(prefix_of("sat_net_2"), "sat");
        assert_eq!(prefix_of("Q12"), "q");
        let mut taken = BTreeSet::new();
        assert_eq!(node_id("Q1", "item", &mut taken), "q1");
        assert_eq!(node_id("q1", "item", &mut taken), "q1_2");
        assert_eq!(node_id("满意度", "item", &mut taken), "item");
        assert_eq!(node_id("总体", "item", &mut taken), "item_2");
        assert_eq!(node_id("1st", "item", &mut taken), "item_1st");
        assert_eq!(node_id("客户类型", "segment", &mut taken), "segment");
    }

    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(q("a \"b\"\\"), "\"a \\\"b\\\"\\\\\"");
        assert_eq!(q("一\n二"), "\"一\\n二\"");
    }
}
