//! From a validated study to one table of synthetic respondents per wave.
//!
//! Each respondent gets a customer type, region and year of joining (drawn from the
//! sample shares of [`crate::profile`]), a latent satisfaction
//! `L = level(wave) + type + tenure + region + noise`, and for every first-level
//! category a latent score `C = L + category effect + noise`. An indicator's rating
//! is `C + indicator effect + noise`, rounded and clipped to its scale; its
//! expectation is the group's expected performance plus the profile's expectation
//! shift, a little of the respondent's own latent, and noise. Quantities (minutes,
//! days) are log-normal around a median that shortens as the category score rises.
//! Overall satisfaction is the importance-weighted sum of the category scores plus
//! noise, so derived importances recover the profile's importances.
//!
//! Every respondent consumes the same number of random draws whatever their
//! answers, so changing one parameter moves values but never desynchronises the
//! stream, and the output depends only on the study and the seed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use csi_stats::Direction;
use csi_study::{Measure, Node, Scale, SegmentKind, Study, Wave};

use crate::profile::{self, Quantity};
use crate::rng::{exp, fnv1a, ln, splitmix64, Rng};

/// The seed every published data file was generated with.
pub const DEFAULT_SEED: u64 = 20_001_001;

/// One generated wave: header and rows of already formatted cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV: UTF-8, comma-separated, a header row, `\n` line ends.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        w.write_record(&self.header)?;
        for r in &self.rows {
            w.write_record(r)?;
        }
        w.into_inner().context("finishing the CSV buffer")
    }
}

/// How an item's values are drawn.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A rating on a scale with integer points.
    Rating,
    /// A measured quantity (minutes, days).
    Quantity(Quantity),
}

/// A leaf of the tree, prepared for generation.
struct Item<'a> {
    id: &'a str,
    measure: &'a Measure,
    /// Index of its first-level category.
    category: usize,
    kind: Kind,
}

/// A segment column the generator fills.
enum SegmentColumn {
    /// The customer-type column: codes in segment order, type = position.
    CustomerType(Vec<String>),
    /// The region column: codes in segment order.
    Region(Vec<String>),
    /// The column that holds the year of joining.
    JoinYear,
    /// Any other categorical segment: a uniform draw among its codes.
    Codes(Vec<String>),
    /// Any other banded segment: a uniform integer in `lo..=hi`.
    Range(i64, i64),
}

/// The wave's year: the leading four digits of its id, else 2000 + position.
fn wave_year(wave: &Wave, pos: usize) -> i32 {
    let digits: String = wave.id.chars().take_while(char::is_ascii_digit).collect();
    match digits.get(..4).and_then(|d| d.parse().ok()) {
        Some(y) if digits.len() == 4 => y,
        _ => 2000 + pos as i32,
    }
}

/// Formats a number with `decimals` decimals; integers without a point.
fn number(x: f64, decimals: usize) -> String {
    if decimals == 0 {
        format!("{}", x.round() as i64)
    } else {
        format!("{x:.decimals$}")
    }
}

/// Formats a missing code as written in the study (`99`, `-99`, `-1`, `0.5`).
fn code(x: f64) -> String {
    if x.fract() == 0.0 {
        number(x, 0)
    } else {
        format!("{x}")
    }
}

/// Rounds a latent rating to the nearest scale point in `min..=max`.
fn rating(v: f64, scale: &Scale) -> f64 {
    // The profile speaks the 1–10 scale; other rating scales are mapped linearly.
    let x = scale.min + (v - 1.0) / 9.0 * (scale.max - scale.min);
    x.round().clamp(scale.min, scale.max)
}

/// A missing code for uniform `u`, or `None`: don't know (0) first, then the
/// other codes in the order written, with the shares of
/// [`profile::CODE_SHARES`] (ratings) or the quantity's don't-know share.
fn missing_code(u: f64, scale: &Scale, kind: Kind) -> Option<f64> {
    let mut codes: Vec<f64> = scale.missing.clone();
    if let Some(p) = codes.iter().position(|c| *c == 0.0) {
        let zero = codes.remove(p);
        codes.insert(0, zero);
    }
    let shares: Vec<f64> = match kind {
        Kind::Rating => profile::CODE_SHARES.to_vec(),
        Kind::Quantity(q) => vec![q.dont_know],
    };
    let mut acc = 0.0;
    for (c, s) in codes.iter().zip(shares) {
        acc += s;
        if u < acc {
            return Some(*c);
        }
    }
    None
}

/// The non-response draws of one cell.
#[derive(Debug, Clone, Copy)]
struct Nonresponse {
    /// Probability of an empty cell (1 when the question is not asked).
    empty: f64,
    /// Uniform deciding whether the cell is empty.
    u_empty: f64,
    /// Uniform deciding whether an answer is replaced by a missing code.
    u_code: f64,
}

/// Cell text for a value, or an empty cell / missing code: `u_empty` below the
/// empty share leaves the cell empty, then `u_code` may turn it into a missing
/// code.
fn cell(value: f64, decimals: usize, nr: Nonresponse, scale: &Scale, kind: Kind) -> String {
    if nr.u_empty < nr.empty {
        return String::new();
    }
    match missing_code(nr.u_code, scale, kind) {
        Some(c) => code(c),
        None => number(value, decimals),
    }
}

/// Generates the table of wave `pos` of `study` with `seed`, at the example's
/// sample size.
pub fn wave_table(study: &Study, pos: usize, seed: u64) -> Result<Table> {
    wave_table_sized(study, pos, seed, None)
}

/// Like [`wave_table`], with `respondents` rows instead of the example's sample
/// size when given (for benchmarks).
pub fn wave_table_sized(study: &Study, pos: usize, seed: u64, respondents: Option<usize>) -> Result<Table> {
    let wave = &study.waves[pos];
    let year = wave_year(wave, pos);
    let wp = pos.min(2);

    // Items in tree order, each with its first-level category.
    fn leaves<'a>(n: &'a Node, cat: usize, out: &mut Vec<Item<'a>>) {
        if let Some(m) = &n.measure {
            let kind = if m.direction == Direction::LowerIsBetter || m.unit.is_some() {
                Kind::Quantity(profile::quantity(&n.id, m.scale.min, m.scale.max))
            } else {
                Kind::Rating
            };
            out.push(Item {
                id: &n.id,
                measure: m,
                category: cat,
                kind,
            });
        }
        for c in &n.children {
            leaves(c, cat, out);
        }
    }
    let mut items = Vec::new();
    for (k, cat) in study.tree.iter().enumerate() {
        leaves(cat, k, &mut items);
    }
    let categories: Vec<&str> = study.tree.iter().map(|c| c.id.as_str()).collect();

    // Segment columns, each column filled once.
    let mut seg_cols: Vec<(String, SegmentColumn)> = Vec::new();
    for s in &study.segments {
        if seg_cols.iter().any(|(c, _)| *c == s.column.name) {
            continue;
        }
        let col = match (&s.kind, s.id.as_str()) {
            (SegmentKind::Categorical { values }, id) => {
                let codes: Vec<String> = values.iter().map(|(c, _)| c.clone()).collect();
                match id {
                    "customer_type" => SegmentColumn::CustomerType(codes),
                    "region" => SegmentColumn::Region(codes),
                    _ => SegmentColumn::Codes(codes),
                }
            }
            (SegmentKind::Banded { .. }, "cohort") => SegmentColumn::JoinYear,
            (SegmentKind::Banded { bands }, _) => {
                let lo = bands
                    .iter()
                    .filter_map(|b| b.min.or(b.max))
                    .fold(f64::INFINITY, f64::min);
                let hi = bands
                    .iter()
                    .filter_map(|b| b.max.or(b.min))
                    .fold(f64::NEG_INFINITY, f64::max);
                if !(lo.is_finite() && hi.is_finite()) {
                    bail!("segment `{}`: cannot tell what values to draw", s.id);
                }
                SegmentColumn::Range((lo - 5.0).floor() as i64, (hi + 5.0).ceil() as i64)
            }
        };
        seg_cols.push((s.column.name.clone(), col));
    }

    // Header: respondent id, segments, weight, overall items, indicators.
    let mut header: Vec<String> = Vec::new();
    header.extend(study.respondent_id.iter().map(|c| c.name.clone()));
    header.extend(seg_cols.iter().map(|(c, _)| c.clone()));
    header.extend(wave.weight.iter().map(|c| c.name.clone()));
    for o in &study.overall {
        header.push(o.measure.column.name.clone());
    }
    for it in &items {
        header.push(it.measure.column.name.clone());
        header.extend(it.measure.expectation.iter().map(|c| c.name.clone()));
    }
    {
        let mut seen = std::collections::HashSet::new();
        for h in &header {
            if !seen.insert(h) {
                bail!("column `{h}` is used twice in the study; the generator writes each column once");
            }
        }
    }

    let mut state = seed ^ fnv1a(&study.id) ^ fnv1a(&wave.id).rotate_left(17);
    let mut rng = Rng::new(splitmix64(&mut state));
    let n = respondents.unwrap_or(profile::SAMPLE_SIZE[wp]);

    struct Resp {
        t: usize,
        r: usize,
        cells: Vec<String>,
    }
    let mut resps: Vec<Resp> = Vec::with_capacity(n);
    let years: Vec<i32> = (profile::FIRST_JOIN_YEAR..=year).collect();

    for i in 0..n {
        // Who they are.
        let t = rng.choose(&profile::TYPE_SAMPLE);
        let r = rng.choose(&profile::REGION_SAMPLE);
        let jw: Vec<f64> = years.iter().map(|y| profile::join_weight(t, *y, year)).collect();
        let join = years[rng.choose(&jw)];
        let mut seg_cells = Vec::with_capacity(seg_cols.len());
        let mut t_eff = t;
        let mut r_eff = r;
        for (_, sc) in &seg_cols {
            let u = rng.uniform();
            seg_cells.push(match sc {
                SegmentColumn::CustomerType(codes) => {
                    t_eff = t.min(codes.len() - 1);
                    codes[t_eff].clone()
                }
                SegmentColumn::Region(codes) => {
                    r_eff = r.min(codes.len() - 1);
                    codes[r_eff].clone()
                }
                SegmentColumn::JoinYear => join.to_string(),
                SegmentColumn::Codes(codes) => codes[((u * codes.len() as f64) as usize).min(codes.len() - 1)].clone(),
                SegmentColumn::Range(lo, hi) => (lo + ((u * (hi - lo + 1) as f64) as i64).min(hi - lo)).to_string(),
            });
        }

        // How satisfied they are.
        let group = profile::LEVEL[wp]
            + profile::type_effect(t, wp)
            + profile::tenure_effect(year - join)
            + profile::region_effect(r);
        let own = profile::SD_RESPONDENT * rng.normal();
        let latent = group + own;
        let cat_scores: Vec<f64> = categories
            .iter()
            .map(|c| latent + profile::category_effect(c, t) + profile::SD_CATEGORY * rng.normal())
            .collect();

        let mut item_cells = Vec::with_capacity(items.len() * 2);
        for it in &items {
            let cat = categories[it.category];
            let z_p = rng.normal();
            let z_e = rng.normal();
            let (u_pe, u_pc, u_ee, u_ec) = (rng.uniform(), rng.uniform(), rng.uniform(), rng.uniform());
            let applies = profile::applies(it.id, t);
            let scale = &it.measure.scale;
            let empty_p = profile::empty_share(&it.measure.column.name);
            let (p, e, dec) = match it.kind {
                Kind::Rating => {
                    let eff = profile::indicator_effect(it.id, t);
                    let p = rating(cat_scores[it.category] + eff + profile::SD_ITEM * z_p, scale);
                    let expected = group
                        + profile::category_effect(cat, t)
                        + eff
                        + profile::expectation_shift(it.id, t)
                        + profile::EXPECTATION_TRACKS_LATENT * own
                        + profile::SD_EXPECTATION * z_e;
                    (p, rating(expected, scale), 0)
                }
                Kind::Quantity(q) => {
                    let centre = profile::LEVEL[wp] + profile::category_effect(cat, t);
                    let lp = ln(q.median[wp]) + q.sensitivity * (cat_scores[it.category] - centre) + q.sigma * z_p;
                    let le = ln(q.expected_median) + q.expected_sigma * z_e;
                    let f = 10f64.powi(q.decimals as i32);
                    let p = ((exp(lp) * f).round() / f).clamp(scale.min, scale.max);
                    let e = ((exp(le) * f).round() / f).clamp(scale.min, scale.max);
                    (p, e, q.decimals)
                }
            };
            let nr = |empty: f64, u_empty: f64, u_code: f64| Nonresponse {
                empty: if applies { empty } else { 1.0 },
                u_empty,
                u_code,
            };
            item_cells.push(cell(p, dec, nr(empty_p, u_pe, u_pc), scale, it.kind));
            if let Some(ec) = &it.measure.expectation {
                let empty_e = profile::empty_share(&ec.name);
                item_cells.push(cell(e, dec, nr(empty_e, u_ee, u_ec), scale, it.kind));
            }
        }

        // Overall satisfaction: importance-weighted category scores plus noise;
        // further overall items (recommendation) follow it.
        let total_imp: f64 = categories.iter().map(|c| profile::importance(c, wp)).sum();
        let weighted: f64 = if total_imp > 0.0 {
            categories
                .iter()
                .zip(&cat_scores)
                .map(|(c, s)| profile::importance(c, wp) * s)
                .sum::<f64>()
                / total_imp
        } else {
            cat_scores.iter().sum::<f64>() / cat_scores.len() as f64
        };
        let overall = weighted + profile::SD_OVERALL * rng.normal();
        let mut overall_cells = Vec::with_capacity(study.overall.len());
        for (j, o) in study.overall.iter().enumerate() {
            let z = rng.normal();
            let (u_e, u_c) = (rng.uniform(), rng.uniform());
            let v = if j == 0 {
                overall
            } else {
                overall + 0.1 + profile::SD_RECOMMEND * z
            };
            let scale = &o.measure.scale;
            let empty = profile::empty_share(&o.measure.column.name) / 3.0;
            let nr = Nonresponse {
                empty,
                u_empty: u_e,
                u_code: u_c,
            };
            overall_cells.push(cell(rating(v, scale), 0, nr, scale, Kind::Rating));
        }

        let mut cells = Vec::with_capacity(header.len());
        if study.respondent_id.is_some() {
            cells.push(format!("{}", i64::from(year) * 100_000 + i as i64 + 1));
        }
        cells.extend(seg_cells);
        if wave.weight.is_some() {
            cells.push(String::new()); // filled in below
        }
        cells.extend(overall_cells);
        cells.extend(item_cells);
        resps.push(Resp {
            t: t_eff,
            r: r_eff,
            cells,
        });
    }

    // Post-stratification weights: type × region cells weighted to the population
    // shares of the profile, normalised to a mean of 1.
    if wave.weight.is_some() {
        let wcol = usize::from(study.respondent_id.is_some()) + seg_cols.len();
        let mut counts = [[0usize; 3]; 3];
        for p in &resps {
            counts[p.t][p.r] += 1;
        }
        let target = |t: usize, r: usize| profile::TYPE_POPULATION[wp][t] * profile::REGION_POPULATION[r];
        let raw: Vec<f64> = resps
            .iter()
            .map(|p| target(p.t, p.r) / counts[p.t][p.r] as f64)
            .collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        for (p, w) in resps.iter_mut().zip(raw) {
            p.cells[wcol] = format!("{:.4}", w / mean);
        }
    }

    Ok(Table {
        header,
        rows: resps.into_iter().map(|p| p.cells).collect(),
    })
}

/// Where wave `wave`'s file goes: its `data` path, or the same relative path
/// under `out`.
pub fn target(wave: &Wave, out: Option<&Path>) -> PathBuf {
    match out {
        Some(dir) => dir.join(&wave.data_as_written),
        None => wave.data.clone(),
    }
}
