//! Penalty–reward contrast analysis (Kano-style classes), from the respondent rows.
//!
//! **Categories.** Each answer to an indicator falls in one of three categories:
//! *low* (the lower half of the scale: a score below 50 on 0–100), *top* (the
//! scale's top box, as the study defines it: the `csi.top` metadata of the rows; a
//! scale without a top box uses its top two points, and the table says so), and
//! *middle* (the rest), the reference. A scale that leaves no middle answer (1–4
//! with a top-two box: 1–2 are low, 3–4 top) or whose top box reaches into the lower
//! half cannot be analysed this way, and the indicator is listed as not classified,
//! with the reason.
//!
//! **Model.** The outcome's 0–100 score is regressed on a low and a top dummy per
//! indicator (plus an intercept) by weighted least squares, over the respondents
//! who answered the outcome and every classified indicator (listwise deletion: a
//! non-respondent is never counted in the reference category). An indicator with
//! fewer than [`MIN_CELL`] of those respondents in one of its categories is not
//! classified and leaves the model (which can only add respondents to the others).
//! When fewer than 3 × [`MIN_CELL`] respondents answered everything — many
//! indicators, each with some non-response, or questions asked of different
//! customers — each driver's indicators get a model of their own, over that
//! driver's complete cases (the note lists each model's base); and a driver whose
//! own indicators were asked of different customers (a billing category with
//! contract and prepaid sub-categories) in turn gets one model per part (its
//! sub-categories, or its indicators), each over its own complete cases ([`Group`]).
//! Every model is the same regression, over its own respondents. A group whose
//! indicators are still too thin is not classified, and the table says so
//! (classify fewer indicators at a time with the driver option `within`).
//! The *penalty* is minus the low coefficient (points lost by a low rating compared
//! with a middle one), the *reward* the top coefficient (points gained by a top-box
//! rating). Neither is clamped.
//!
//! **Standard errors** are heteroskedasticity-robust, HC1:
//! `n/(n−k) · (XᵀWX)⁻¹ [Σ w² e² x xᵀ] (XᵀWX)⁻¹`, which is the linearised variance for
//! sampling weights (statsmodels `WLS(…).fit(cov_type="HC1")`), unchanged when all
//! weights are rescaled.
//!
//! **Classes**, at the study's confidence level (two-sided intervals `b ± z·SE`):
//! *performance* when both penalty and reward are significantly above 0, *basic*
//! (must-be) when only the penalty is, *excitement* when only the reward is, not
//! classified when neither is; a significantly negative penalty or reward is an
//! *unexpected sign* and not classified.

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::Float64Type;
use csi_plugin_sdk::arrow_array::{Array, RecordBatch};
use csi_plugin_sdk::arrow_schema::SchemaRef;
use csi_plugin_sdk::csi_stats::Confidence;

/// The fewest respondents each of an indicator's three categories needs for it to
/// be classified.
pub const MIN_CELL: u64 = 30;

/// The most distinct answer patterns the analysis keeps in memory (see
/// [`penalty_reward`]); a respondent of any other pattern is written to a
/// temporary file instead.
pub const MAX_PATTERNS: usize = 1 << 16;

/// An answer's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The lower half of the scale (score below 50).
    Low,
    /// Neither low nor in the top box: the reference.
    Middle,
    /// The top box.
    Top,
}

/// An indicator's scale as the analysis reads it from the rows' metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleInfo {
    /// Lowest raw value.
    pub min: f64,
    /// Highest raw value.
    pub max: f64,
    /// Whether lower raw values are better (the top box is then at the low end).
    pub lower_is_better: bool,
    /// The raw value from which an answer is in the top box (at or above it; at or
    /// below it when lower is better).
    pub top: f64,
    /// Whether the scale sets no top box, so its top two points are used.
    pub top_two_assumed: bool,
}

impl ScaleInfo {
    /// The number of answer points (`min`, `min + 1`, … up to `max`).
    pub fn points(&self) -> u32 {
        ((self.max - self.min + 1e-9).floor() + 1.0) as u32
    }

    /// The number of points in the top box.
    pub fn top_box(&self) -> u32 {
        let k = if self.lower_is_better {
            self.top - self.min
        } else {
            self.max - self.top
        };
        (k.round() + 1.0).max(0.0) as u32
    }

    /// A raw answer on 0–100 (reversed when lower is better).
    pub fn score(&self, x: f64) -> f64 {
        let s = (x - self.min) / (self.max - self.min) * 100.0;
        if self.lower_is_better {
            100.0 - s
        } else {
            s
        }
    }

    fn is_top(&self, x: f64) -> bool {
        if self.lower_is_better {
            x <= self.top + 1e-9
        } else {
            x >= self.top - 1e-9
        }
    }

    /// The category of a raw answer.
    pub fn category(&self, x: f64) -> Category {
        if self.is_top(x) {
            Category::Top
        } else if self.score(x) < 50.0 {
            Category::Low
        } else {
            Category::Middle
        }
    }

    /// Why the scale cannot be analysed, if it cannot.
    fn problem(&self) -> Option<NotClassified> {
        let points: Vec<f64> = (0..self.points()).map(|i| self.min + f64::from(i)).collect();
        let (points_n, top_box) = (self.points(), self.top_box());
        if points.iter().any(|&v| self.is_top(v) && self.score(v) < 50.0) {
            Some(NotClassified::TopBoxInLowerHalf {
                points: points_n,
                top_box,
            })
        } else if !points.iter().any(|&v| !self.is_top(v) && self.score(v) >= 50.0) {
            Some(NotClassified::NoMiddle {
                points: points_n,
                top_box,
            })
        } else {
            None
        }
    }
}

/// Why an indicator is not classified (and not in the model).
#[derive(Debug, Clone, PartialEq)]
pub enum NotClassified {
    /// Every answer point is either in the lower half or in the top box (1–4 with a
    /// top-two box): there is no middle reference category.
    NoMiddle {
        /// Answer points of the scale.
        points: u32,
        /// Points in the top box.
        top_box: u32,
    },
    /// The top box reaches into the lower half of the scale.
    TopBoxInLowerHalf {
        /// Answer points of the scale.
        points: u32,
        /// Points in the top box.
        top_box: u32,
    },
    /// So few respondents answered the outcome and every indicator analysable on
    /// its scale (fewer than 3 × [`MIN_CELL`]) that listwise deletion leaves no
    /// model: classify fewer indicators at a time.
    TooFewComplete {
        /// Those respondents.
        n: u64,
        /// The indicators analysable on their scale (of the group, when the model
        /// is a group's).
        indicators: usize,
        /// The fewest respondents who answered the outcome and one of those
        /// indicators: many, with `n` 0, when the indicators were asked of
        /// different respondents.
        each: u64,
        /// The group whose model it is (a driver's label, or a part's), `None`
        /// for the model over every indicator.
        group: Option<String>,
    },
    /// Fewer than [`MIN_CELL`] respondents (among those who answered the outcome
    /// and all the indicators analysable on their scale) in one category.
    TooFew {
        /// The sparsest category.
        category: Category,
        /// Its respondents.
        n: u64,
    },
    /// The model of this indicator's group could not be estimated (singular, or
    /// no more respondents than coefficients), when each driver has its own
    /// model: the other drivers' models stand.
    Model(String),
}

/// An estimated penalty or reward with its robust standard error and interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficient {
    /// Points on the outcome's 0–100 scale.
    pub estimate: f64,
    /// HC1 standard error.
    pub se: f64,
    /// Lower end of the interval at the study's confidence level.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl Coefficient {
    /// Whether the interval lies above 0.
    pub fn significantly_positive(&self) -> bool {
        self.low > 0.0
    }

    /// Whether the interval lies below 0.
    pub fn significantly_negative(&self) -> bool {
        self.high < 0.0
    }
}

/// A Kano-style class, or why the evidence does not give one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Penalty and reward both significantly above 0.
    Performance,
    /// Only the penalty significantly above 0 (must-be).
    Basic,
    /// Only the reward significantly above 0.
    Excitement,
    /// Neither significant: not classified.
    NoEffect,
    /// A significantly negative penalty or reward: not classified.
    UnexpectedSign,
}

impl Class {
    /// The class of an indicator with this penalty and reward (the rule of the
    /// module documentation).
    pub fn of(penalty: &Coefficient, reward: &Coefficient) -> Self {
        if penalty.significantly_negative() || reward.significantly_negative() {
            return Class::UnexpectedSign;
        }
        match (penalty.significantly_positive(), reward.significantly_positive()) {
            (true, true) => Class::Performance,
            (true, false) => Class::Basic,
            (false, true) => Class::Excitement,
            (false, false) => Class::NoEffect,
        }
    }
}

/// One indicator's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyReward {
    /// Indicator id.
    pub node: String,
    /// Label.
    pub label: String,
    /// Its scale.
    pub scale: ScaleInfo,
    /// Respondents rated low, middle and top, among those used (for an indicator
    /// with too few, among those it was judged on; zeros when its scale is refused).
    pub counts: [u64; 3],
    /// Penalty and reward, or why there are none.
    pub estimate: Result<(Coefficient, Coefficient), NotClassified>,
}

impl PenaltyReward {
    /// `−β_low`, if estimated.
    pub fn penalty(&self) -> Option<&Coefficient> {
        self.estimate.as_ref().ok().map(|e| &e.0)
    }

    /// `β_top`, if estimated.
    pub fn reward(&self) -> Option<&Coefficient> {
        self.estimate.as_ref().ok().map(|e| &e.1)
    }

    /// The class, if estimated (see [`Class::of`]).
    pub fn class(&self) -> Option<Class> {
        self.estimate.as_ref().ok().map(|(p, r)| Class::of(p, r))
    }
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyRewardAnalysis {
    /// Every rating-scale indicator asked for, in the rows' column order.
    pub indicators: Vec<PenaltyReward>,
    /// Respondents in the regression (0 when no indicator could be classified; the
    /// largest of the models' when there is one model per group).
    pub used: u64,
    /// Respondents in the rows.
    pub respondents: u64,
    /// Respondents who answered the outcome and every indicator analysable on its
    /// scale (the joint model's listwise sample, before sparse indicators are
    /// dropped).
    pub complete: u64,
    /// The models fitted: one over every indicator, or, when listwise deletion
    /// leaves too few respondents for that, one per group of indicators.
    pub models: Vec<Model>,
    /// Whether the rows carry respondent weights.
    pub weighted: bool,
    /// The confidence level of the intervals and the classes.
    pub confidence: f64,
    /// Labels of the indicators left out because they are measured in their own
    /// unit (minutes, percentages), not on a rating scale.
    pub not_rating_scales: Vec<String>,
}

/// One penalty–reward model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The group of indicators (a driver's label, or a part's) when the analysis
    /// fits one model per group; `None` for the single model over every indicator.
    pub group: Option<String>,
    /// The driver whose part `group` is, when the driver has one model per part
    /// (its sub-categories or indicators); `None` for a driver's own model.
    pub part_of: Option<String>,
    /// Respondents who answered the outcome and every indicator of the driver
    /// `part_of` (so few that it has one model per part); 0 otherwise.
    pub part_of_complete: u64,
    /// Respondents in its regression (0 when none of its indicators was estimated).
    pub used: u64,
    /// Respondents who answered the outcome and every indicator of the model
    /// analysable on its scale.
    pub complete: u64,
}

/// A group of indicators that gets a penalty–reward model of its own when the
/// model over every indicator has too few complete cases: a driver, with its
/// `parts` (its sub-categories, or its indicators, each a group too), which get
/// a model each when the driver's own indicators have too few complete cases
/// together — questions asked of different customers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group<'a> {
    /// The group's label (a driver's, a sub-category's or an indicator's).
    pub label: String,
    /// Its indicators' ids.
    pub indicators: Vec<&'a str>,
    /// Its parts; empty for an indicator.
    pub parts: Vec<Group<'a>>,
}

/// A model to fit: its group (`None`: every indicator), the driver it is a part
/// of, and its indicators' eligible positions.
struct Planned {
    group: Option<String>,
    part_of: Option<String>,
    set: Vec<usize>,
}

/// The models for the indicators `set` of the group `label` (a part of the
/// driver `part_of`, if it is one) with its `parts`: one model, unless its complete
/// cases (`complete`) are fewer than 3 × [`MIN_CELL`] and a model per part (and so
/// on down) gives some part enough. `positions` maps a group to its indicators'
/// eligible positions.
fn plan(
    label: Option<&str>,
    part_of: Option<&str>,
    set: Vec<usize>,
    mut parts: &[Group],
    complete: &dyn Fn(&[usize]) -> u64,
    positions: &dyn Fn(&Group) -> Vec<usize>,
) -> Vec<Planned> {
    let whole = || {
        vec![Planned {
            group: label.map(str::to_string),
            part_of: part_of.map(str::to_string),
            set: set.clone(),
        }]
    };
    if complete(&set) >= 3 * MIN_CELL {
        return whole();
    }
    // A group with a single part that holds all of it: that part's parts.
    loop {
        let with: Vec<&Group> = parts.iter().filter(|p| !positions(p).is_empty()).collect();
        match with[..] {
            [only] if positions(only) == set => parts = &only.parts,
            _ => break,
        }
    }
    let with: Vec<(&Group, Vec<usize>)> = parts
        .iter()
        .map(|p| (p, positions(p)))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    if with.len() < 2 {
        return whole();
    }
    // The parts of the root are the drivers; the parts of a driver are its parts.
    let within = if label.is_none() { None } else { part_of.or(label) };
    let planned: Vec<Planned> = with
        .into_iter()
        .flat_map(|(p, s)| plan(Some(&p.label), within, s, &p.parts, complete, positions))
        .collect();
    if planned.iter().any(|m| complete(&m.set) >= 3 * MIN_CELL) {
        planned
    } else {
        whole()
    }
}

struct Column {
    index: usize,
    node: String,
    label: String,
    scale: ScaleInfo,
}

/// Sums over the respondents who share one answer pattern (see [`penalty_reward`]).
#[derive(Clone, Copy)]
struct Sums {
    n: u64,
    sw: f64,
    swy: f64,
    sw2: f64,
    /// The first outcome score of the pattern: the squares below are taken about
    /// it, so that they do not cancel when the residuals are small.
    shift: f64,
    /// Σ w² (y − shift).
    sw2d: f64,
    /// Σ w² (y − shift)².
    sw2d2: f64,
}

impl Sums {
    fn new(shift: f64) -> Self {
        Sums {
            n: 0,
            sw: 0.0,
            swy: 0.0,
            sw2: 0.0,
            shift,
            sw2d: 0.0,
            sw2d2: 0.0,
        }
    }

    fn add(&mut self, y: f64, w: f64) {
        let d = y - self.shift;
        self.n += 1;
        self.sw += w;
        self.swy += w * y;
        self.sw2 += w * w;
        self.sw2d += w * w * d;
        self.sw2d2 += w * w * d * d;
    }

    /// Σ w² (y − fitted)² over the pattern, whose fitted value is `fitted`.
    fn sum_w2_e2(&self, fitted: f64) -> f64 {
        let c = fitted - self.shift;
        (self.sw2d2 - 2.0 * c * self.sw2d + c * c * self.sw2).max(0.0)
    }
}

/// The distinct answer patterns met so far and their sums: the keys side by side
/// in one array (so that the passes over the patterns read memory in order), found
/// through a hash table of their positions; past `cap` patterns, each respondent
/// of a pattern not yet met is written to a temporary file ([`Spill`]).
struct Patterns {
    /// Words per key.
    words: usize,
    keys: Vec<u64>,
    sums: Vec<Sums>,
    table: hashbrown::HashTable<u32>,
    cap: usize,
    spill: Spill,
}

/// The respondents written out once the table of patterns is full, one record
/// each (key words, outcome score, weight: little-endian), in the rows' order. The
/// file is anonymous: the system removes it when it is closed, however the
/// analysis ends.
struct Spill {
    words: usize,
    file: Option<std::io::BufWriter<std::fs::File>>,
    respondents: u64,
}

impl Spill {
    fn push(&mut self, key: &[u64], y: f64, w: f64) -> Result<(), String> {
        use std::io::Write;
        let writer = match &mut self.file {
            Some(writer) => writer,
            None => {
                let file = tempfile::tempfile().map_err(|e| spill_error("create", &e))?;
                self.file.insert(std::io::BufWriter::with_capacity(1 << 20, file))
            }
        };
        let mut record = [0u8; 8 * (MAX_WORDS + 2)];
        let len = record_len(self.words);
        for (at, word) in record
            .chunks_exact_mut(8)
            .zip(key.iter().chain([&y.to_bits(), &w.to_bits()]))
        {
            at.copy_from_slice(&word.to_le_bytes());
        }
        writer.write_all(&record[..len]).map_err(|e| spill_error("write", &e))?;
        self.respondents += 1;
        Ok(())
    }
}

/// The most words a key may have for [`Spill`]'s records: 2 bits per indicator,
/// so 512 indicators.
const MAX_WORDS: usize = 16;

fn record_len(words: usize) -> usize {
    8 * (words + 2)
}

fn spill_error(what: &str, e: &std::io::Error) -> String {
    format!(
        "cannot {what} the temporary file that holds the respondents of rare answer patterns ({e}); free some space in the temporary folder, or set TMPDIR to another"
    )
}

/// A key's hash for the table of patterns: the words mixed by multiplication
/// (the keys are dense bit patterns, and the table's order is never seen: the
/// patterns are used in the order they were first met).
fn hash_key(key: &[u64]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = K;
    for &w in key {
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    // The finaliser of MurmurHash3 (fmix64): every bit of the key reaches the
    // bits the table indexes by.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl Patterns {
    /// Patterns of `words`-word keys, at most `cap` of them in memory.
    fn new(words: usize, cap: usize) -> Self {
        assert!(words <= MAX_WORDS, "at most {MAX_WORDS} words per key");
        Patterns {
            words,
            keys: Vec::new(),
            sums: Vec::new(),
            table: hashbrown::HashTable::new(),
            cap,
            spill: Spill {
                words,
                file: None,
                respondents: 0,
            },
        }
    }

    /// Adds a respondent with outcome score `y` and weight `w` to pattern `key`
    /// (to the temporary file when the table is full and the pattern new).
    fn add(&mut self, key: &[u64], y: f64, w: f64) -> Result<(), String> {
        let hash = hash_key(key);
        let Patterns {
            words,
            keys,
            sums,
            table,
            cap,
            spill,
        } = self;
        let at = |i: u32| &keys[i as usize * *words..(i as usize + 1) * *words];
        if let Some(&i) = table.find(hash, |&i| at(i) == key) {
            sums[i as usize].add(y, w);
            return Ok(());
        }
        if sums.len() >= *cap {
            return spill.push(key, y, w);
        }
        let i = sums.len() as u32;
        keys.extend_from_slice(key);
        let mut s = Sums::new(y);
        s.add(y, w);
        sums.push(s);
        let words = *words;
        table.insert_unique(hash, i, |&j| {
            hash_key(&keys[j as usize * words..(j as usize + 1) * words])
        });
        Ok(())
    }

    /// The patterns in the order they were first met (the rows' order, which is
    /// the file's: so the sums, and the published bytes, do not depend on the
    /// table or on the number of threads), then the respondents written out, in
    /// their order; the table of positions dropped.
    fn finished(self) -> Result<KnownPatterns, String> {
        let Patterns {
            words,
            keys,
            sums,
            spill,
            ..
        } = self;
        let spilled = match spill.file {
            None => None,
            Some(writer) => {
                let file = writer.into_inner().map_err(|e| spill_error("write", e.error()))?;
                Some((file, spill.respondents))
            }
        };
        Ok(KnownPatterns {
            words,
            keys,
            sums,
            spilled,
            error: Default::default(),
        })
    }
}

/// The answer patterns in the order they were first met, and the respondents
/// written out (see [`Patterns`]).
struct KnownPatterns {
    words: usize,
    keys: Vec<u64>,
    sums: Vec<Sums>,
    spilled: Option<(std::fs::File, u64)>,
    /// The first failure to read the temporary file back (see [`Self::checked`]).
    error: std::cell::RefCell<Option<String>>,
}

impl KnownPatterns {
    /// Calls `f` with each pattern's key and sums, then with each respondent
    /// written out as a pattern of one. A failure to read the file back stops the
    /// pass; [`Self::checked`] reports it.
    fn each(&self, mut f: impl FnMut(&[u64], &Sums)) {
        for (key, sums) in self.keys.chunks_exact(self.words).zip(&self.sums) {
            f(key, sums);
        }
        let Some((file, respondents)) = &self.spilled else {
            return;
        };
        if self.error.borrow().is_some() {
            return;
        }
        if let Err(e) = self.each_spilled(file, *respondents, &mut f) {
            *self.error.borrow_mut() = Some(spill_error("read back", &e));
        }
    }

    fn each_spilled(
        &self,
        mut file: &std::fs::File,
        respondents: u64,
        f: &mut impl FnMut(&[u64], &Sums),
    ) -> std::io::Result<()> {
        use std::io::{Read, Seek};
        file.seek(std::io::SeekFrom::Start(0))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let len = record_len(self.words);
        let mut record = [0u8; 8 * (MAX_WORDS + 2)];
        let mut key = [0u64; MAX_WORDS];
        for _ in 0..respondents {
            reader.read_exact(&mut record[..len])?;
            let word = |i: usize| u64::from_le_bytes(record[8 * i..8 * i + 8].try_into().expect("8 bytes"));
            for (i, k) in key[..self.words].iter_mut().enumerate() {
                *k = word(i);
            }
            let (y, w) = (f64::from_bits(word(self.words)), f64::from_bits(word(self.words + 1)));
            let mut sums = Sums::new(y);
            sums.add(y, w);
            f(&key[..self.words], &sums);
        }
        Ok(())
    }

    /// The failure to read the temporary file back, if any pass met one.
    fn checked(&self) -> Result<(), String> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// 2 bits per indicator: 0 missing, 1 low, 2 middle, 3 top.
fn state(key: &[u64], e: usize) -> u64 {
    (key[e / 32] >> (2 * (e % 32))) & 3
}

/// The inverse of a symmetric positive definite matrix by Cholesky; `None` when a
/// pivot falls below 1e-10 of its diagonal element (a column that the others
/// explain: collinear dummies).
fn spd_inverse(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d <= 1e-10 * a[i][i].abs() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    // Column c of the inverse solves L Lᵀ x = e_c; the inverse is symmetric, so
    // the columns are also its rows.
    let inv = (0..n)
        .map(|c| {
            let mut y = vec![0.0; n];
            for i in 0..n {
                let b = f64::from(u8::from(i == c));
                y[i] = (b - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
            }
            let mut x = vec![0.0; n];
            for i in (0..n).rev() {
                x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
            }
            x
        })
        .collect();
    Some(inv)
}

/// Runs the analysis for the indicators `wanted` (ids) on `outcome` (a node id)
/// over the streamed `rows` (with their self-describing `schema`), at the
/// `confidence` level of the study. One model covers every indicator; when
/// listwise deletion leaves fewer than 3 × [`MIN_CELL`] respondents for it (the
/// indicators were asked of different customers), each of `groups` (a driver's
/// label and its indicators) gets a model of its own, over its own complete cases,
/// and a driver too thin for that one model per part ([`Group`]).
///
/// The rows are read once. The point estimates need only XᵀWX and XᵀWy, but the
/// robust variance's middle term Σ w² e² x xᵀ needs the residuals, which depend on
/// the coefficients, known only at the end. Expanding e² = (y − xᵀb)² into
/// streamed sums needs moments up to the fourth order in the dummies (O(k⁴)
/// numbers, and as many updates per respondent), and buffering the respondents
/// grows with their number. Instead the respondents are grouped by their *answer
/// pattern* (each indicator missing, low, middle or top: 2 bits each), keeping per
/// pattern n, Σw, Σw·y, Σw², Σw²·d and Σw²·d² (d = y minus the pattern's first y).
/// Everyone in a pattern has the same design row x, so XᵀWX, XᵀWy and, once b is
/// known, Σ w² e² x xᵀ follow exactly from these sums — and so does listwise
/// deletion over any subset of the indicators. Few indicators or clustered
/// answers give few patterns; many indicators give nearly one per respondent.
/// Memory stays bounded whatever the number of respondents: past
/// [`MAX_PATTERNS`] patterns in memory (about 5 MB), a respondent of a pattern
/// not yet met is written to an anonymous temporary file (8 bytes per two
/// indicators, plus 16) and read back, in order, as a pattern of one at each
/// pass; the estimates are the same.
pub fn penalty_reward<I>(
    schema: SchemaRef,
    rows: I,
    outcome: &str,
    wanted: &[&str],
    groups: &[Group],
    confidence: f64,
) -> Result<PenaltyRewardAnalysis, String>
where
    I: IntoIterator<Item = Result<RecordBatch, String>>,
{
    penalty_reward_keeping(schema, rows, outcome, wanted, groups, confidence, MAX_PATTERNS)
}

/// [`penalty_reward`], with at most `cap` patterns in memory.
fn penalty_reward_keeping<I>(
    schema: SchemaRef,
    rows: I,
    outcome: &str,
    wanted: &[&str],
    groups: &[Group],
    confidence: f64,
    cap: usize,
) -> Result<PenaltyRewardAnalysis, String>
where
    I: IntoIterator<Item = Result<RecordBatch, String>>,
{
    let z = Confidence::new(confidence)
        .map_err(|e| format!("the study's confidence level: {e}"))?
        .z();
    let meta = |i: usize, k: &str| schema.field(i).metadata().get(k).cloned();
    let num = |i: usize, k: &str| meta(i, k).and_then(|v| v.parse::<f64>().ok());
    let mut indicators: Vec<Column> = Vec::new();
    let mut not_rating_scales = Vec::new();
    let (mut outcome_col, mut weight_col) = (None, None);
    for i in 0..schema.fields().len() {
        match meta(i, "csi.role").as_deref() {
            Some("weight") => weight_col = Some(i),
            Some("answer") => {
                let node = meta(i, "csi.node").unwrap_or_default();
                let (Some(min), Some(max)) = (num(i, "csi.min"), num(i, "csi.max")) else {
                    continue;
                };
                if max.is_nan() || min.is_nan() || max <= min {
                    continue;
                }
                let lower_is_better = meta(i, "csi.direction").as_deref() == Some("lower_is_better");
                let (top, top_two_assumed) = match num(i, "csi.top") {
                    Some(t) => (t, false),
                    None if lower_is_better => (min + 1.0, true),
                    None => (max - 1.0, true),
                };
                let col = Column {
                    index: i,
                    label: meta(i, "csi.label").unwrap_or_else(|| node.clone()),
                    node,
                    scale: ScaleInfo {
                        min,
                        max,
                        lower_is_better,
                        top,
                        top_two_assumed,
                    },
                };
                if col.node == outcome {
                    outcome_col = Some(col);
                } else if wanted.contains(&col.node.as_str()) {
                    if meta(i, "csi.unit").is_some() {
                        not_rating_scales.push(col.label);
                    } else {
                        indicators.push(col);
                    }
                }
            }
            _ => {}
        }
    }
    let outcome_col = outcome_col.ok_or_else(|| {
        format!("the outcome `{outcome}` has no answers in the respondent rows (the index and categories are computed, not asked); penalty–reward needs an overall item as the outcome")
    })?;
    if indicators.is_empty() {
        return Err("none of the drivers' indicators is a rating scale".into());
    }
    let refused: Vec<Option<NotClassified>> = indicators.iter().map(|c| c.scale.problem()).collect();
    let eligible: Vec<usize> = (0..indicators.len()).filter(|&j| refused[j].is_none()).collect();

    // One pass: sums per answer pattern of the eligible indicators, over the
    // respondents with the outcome and a valid weight.
    let words = (eligible.len() * 2).div_ceil(64).max(1);
    if words > MAX_WORDS {
        return Err(format!(
            "{} indicators at once are more than penalty–reward can classify ({}); classify fewer at a time (option `within`)",
            eligible.len(),
            MAX_WORDS * 32
        ));
    }
    let mut patterns = Patterns::new(words, cap);
    let mut respondents = 0u64;
    let mut keys: Vec<u64> = Vec::new();
    let state_of = |scale: &ScaleInfo, x: f64| -> u64 {
        match scale.category(x) {
            Category::Low => 1,
            Category::Middle => 2,
            Category::Top => 3,
        }
    };
    // The states of each scale's points, looked up (answers are mostly whole
    // points); any other value is classified as it comes.
    let points: Vec<Vec<u64>> = eligible
        .iter()
        .map(|&j| {
            let scale = &indicators[j].scale;
            (0..scale.points())
                .map(|i| state_of(scale, scale.min + f64::from(i)))
                .collect()
        })
        .collect();
    for batch in rows {
        let batch = batch?;
        let f = |i: usize| batch.column(i).as_primitive::<Float64Type>().clone();
        let y_col = f(outcome_col.index);
        let w_col = weight_col.map(f);
        let n = batch.num_rows();
        // Every row's key, indicator by indicator (each column read in order).
        keys.clear();
        keys.resize(n * words, 0);
        for (e, &j) in eligible.iter().enumerate() {
            let col = f(indicators[j].index);
            let scale = &indicators[j].scale;
            let (word, shift) = (e / 32, 2 * (e % 32));
            let points = &points[e];
            let state_at = |x: f64| -> u64 {
                let i = (x - scale.min).max(0.0) as usize;
                if i < points.len() && scale.min + i as f64 == x {
                    points[i]
                } else {
                    state_of(scale, x)
                }
            };
            let values = col.values();
            match col.nulls() {
                None => {
                    for (r, &x) in values.iter().enumerate() {
                        keys[r * words + word] |= state_at(x) << shift;
                    }
                }
                Some(valid) => {
                    for (r, (&x, valid)) in values.iter().zip(valid.iter()).enumerate() {
                        if valid {
                            keys[r * words + word] |= state_at(x) << shift;
                        }
                    }
                }
            }
        }
        for (r, key) in keys.chunks_exact(words).enumerate() {
            respondents += 1;
            if y_col.is_null(r) {
                continue;
            }
            let w = match &w_col {
                Some(w) if w.is_null(r) || w.value(r).is_nan() || w.value(r) <= 0.0 => continue,
                Some(w) => w.value(r),
                None => 1.0,
            };
            let y = outcome_col.scale.score(y_col.value(r));
            patterns.add(key, y, w)?;
        }
    }
    // The rows' order, so that the sums (and so the published bytes) do not depend
    // on the table.
    let patterns = patterns.finished()?;

    // Listwise counts over a set of eligible positions.
    let count_once = |set: &[usize]| -> (u64, Vec<[u64; 3]>) {
        let mut used = 0;
        let mut counts = vec![[0u64; 3]; set.len()];
        patterns.each(|key, sums| {
            if set.iter().all(|&e| state(key, e) != 0) {
                used += sums.n;
                for (c, &e) in counts.iter_mut().zip(set) {
                    c[state(key, e) as usize - 1] += sums.n;
                }
            }
        });
        (used, counts)
    };
    // The same sets are counted several times over (the joint model's, the kept
    // indicators'): each is counted once.
    type Counts = (u64, Vec<[u64; 3]>);
    let counted: std::cell::RefCell<std::collections::HashMap<Vec<usize>, Counts>> = Default::default();
    let count = |set: &[usize]| -> (u64, Vec<[u64; 3]>) {
        if let Some(c) = counted.borrow().get(set) {
            return c.clone();
        }
        let c = count_once(set);
        counted.borrow_mut().insert(set.to_vec(), c.clone());
        c
    };
    let mut results: Vec<Option<Result<(Coefficient, Coefficient), NotClassified>>> =
        refused.into_iter().map(|r| r.map(Err)).collect();
    let mut counts = vec![[0u64; 3]; indicators.len()];
    // One model over every eligible indicator; when listwise deletion leaves too
    // few respondents for it (indicators asked of different customers), one model
    // per group of indicators (per driver), each over its own complete cases, and
    // within a driver too thin for that, per part — only where that helps: some
    // model has enough complete cases.
    let all: Vec<usize> = (0..eligible.len()).collect();
    let (complete, _) = count(&all);
    patterns.checked()?;
    let positions = |g: &Group| -> Vec<usize> {
        (0..eligible.len())
            .filter(|&e| g.indicators.contains(&indicators[eligible[e]].node.as_str()))
            .collect()
    };
    let complete_of = |set: &[usize]| count(set).0;
    let sets = plan(None, None, all, groups, &complete_of, &positions);
    // The fewest respondents with the outcome and one indicator of a set.
    let each = |set: &[usize]| set.iter().map(|&e| count(&[e]).0).min().unwrap_or(0);
    let mut models = Vec::new();
    for Planned { group, part_of, set } in sets {
        let part_of_complete = part_of.as_ref().map_or(0, |d| {
            let driver = groups.iter().find(|g| &g.label == d);
            driver.map_or(0, |g| count(&positions(g)).0)
        });
        let (complete, first_counts) = count(&set);
        let fewest = if complete < 3 * MIN_CELL { each(&set) } else { 0 };
        let mut kept = Vec::new();
        for (&e, c) in set.iter().zip(&first_counts) {
            let (sparsest, n) = [Category::Low, Category::Middle, Category::Top]
                .into_iter()
                .zip(*c)
                .min_by_key(|&(_, n)| n)
                .expect("three categories");
            if complete < 3 * MIN_CELL {
                results[eligible[e]] = Some(Err(NotClassified::TooFewComplete {
                    n: complete,
                    indicators: set.len(),
                    each: fewest,
                    group: group.clone(),
                }));
                counts[eligible[e]] = *c;
            } else if n < MIN_CELL {
                results[eligible[e]] = Some(Err(NotClassified::TooFew { category: sparsest, n }));
                counts[eligible[e]] = *c;
            } else {
                kept.push(e);
            }
        }
        // Dropping an indicator only adds respondents: the others keep their bases.
        let (used, kept_counts) = count(&kept);
        for (&e, c) in kept.iter().zip(&kept_counts) {
            counts[eligible[e]] = *c;
        }
        let mut regression_used = 0;
        if !kept.is_empty() {
            // Design: intercept, then the low and top dummies of each kept indicator.
            let k = 1 + 2 * kept.len();
            // In a model of its own, a group that cannot be estimated fails alone.
            let fail =
                |message: String, results: &mut Vec<Option<Result<(Coefficient, Coefficient), NotClassified>>>| {
                    for &e in &kept {
                        results[eligible[e]] = Some(Err(NotClassified::Model(message.clone())));
                    }
                };
            if used <= k as u64 {
                let message = format!(
                    "too few respondents for the penalty–reward model: {used} answered the outcome and every indicator, for {k} coefficients"
                );
                if group.is_none() {
                    return Err(message);
                }
                fail(message, &mut results);
                models.push(Model {
                    group,
                    part_of,
                    part_of_complete,
                    used: 0,
                    complete,
                });
                continue;
            }
            // The design row of a pattern (its nonzero columns, in `active`); `false`
            // when the pattern misses a kept indicator (listwise deletion).
            let design = |key: &[u64], active: &mut Vec<usize>| -> bool {
                active.clear();
                active.push(0);
                for (i, &e) in kept.iter().enumerate() {
                    match state(key, e) {
                        0 => return false,
                        1 => active.push(1 + 2 * i),
                        3 => active.push(2 + 2 * i),
                        _ => {}
                    }
                }
                true
            };
            // Symmetric sums, accumulated in the upper triangle (`active` is in
            // increasing order) and mirrored.
            let symmetric = |upper: Vec<f64>| -> Vec<Vec<f64>> {
                (0..k)
                    .map(|a| (0..k).map(|b| upper[a.min(b) * k + a.max(b)]).collect())
                    .collect()
            };
            let mut active = Vec::with_capacity(k);
            let mut upper = vec![0.0; k * k];
            let mut xtwy = vec![0.0; k];
            patterns.each(|key, sums| {
                if !design(key, &mut active) {
                    return;
                }
                for (i, &a) in active.iter().enumerate() {
                    xtwy[a] += sums.swy;
                    let row = &mut upper[a * k..(a + 1) * k];
                    for &b in &active[i..] {
                        row[b] += sums.sw;
                    }
                }
            });
            patterns.checked()?;
            let xtwx = symmetric(upper);
            const SINGULAR: &str = "the penalty–reward regression is singular: some indicators' categories coincide (the same respondents rate them low, or top)";
            let Some(bread) = spd_inverse(&xtwx) else {
                if group.is_none() {
                    return Err(SINGULAR.into());
                }
                fail(SINGULAR.into(), &mut results);
                models.push(Model {
                    group,
                    part_of,
                    part_of_complete,
                    used: 0,
                    complete,
                });
                continue;
            };
            let beta: Vec<f64> = (0..k).map(|a| (0..k).map(|b| bread[a][b] * xtwy[b]).sum()).collect();
            let mut upper = vec![0.0; k * k];
            patterns.each(|key, sums| {
                if !design(key, &mut active) {
                    return;
                }
                let fitted: f64 = active.iter().map(|&a| beta[a]).sum();
                let e2 = sums.sum_w2_e2(fitted);
                for (i, &a) in active.iter().enumerate() {
                    let row = &mut upper[a * k..(a + 1) * k];
                    for &b in &active[i..] {
                        row[b] += e2;
                    }
                }
            });
            let meat = symmetric(upper);
            let hc1 = used as f64 / (used - k as u64) as f64;
            let variance = |a: usize| -> f64 {
                let mut v = 0.0;
                for i in 0..k {
                    for j in 0..k {
                        v += bread[a][i] * meat[i][j] * bread[j][a];
                    }
                }
                hc1 * v
            };
            let coefficient = |estimate: f64, se: f64| Coefficient {
                estimate,
                se,
                low: estimate - z * se,
                high: estimate + z * se,
            };
            for (i, &e) in kept.iter().enumerate() {
                let (low, top) = (1 + 2 * i, 2 + 2 * i);
                let penalty = coefficient(-beta[low], variance(low).sqrt());
                let reward = coefficient(beta[top], variance(top).sqrt());
                results[eligible[e]] = Some(Ok((penalty, reward)));
            }
            regression_used = used;
        }
        models.push(Model {
            group,
            part_of,
            part_of_complete,
            used: regression_used,
            complete,
        });
    }
    let indicators = indicators
        .into_iter()
        .zip(results)
        .zip(counts)
        .map(|((c, estimate), counts)| PenaltyReward {
            node: c.node,
            label: c.label,
            scale: c.scale,
            counts,
            estimate: estimate.expect("every indicator is refused, too sparse or estimated"),
        })
        .collect();
    patterns.checked()?;
    Ok(PenaltyRewardAnalysis {
        indicators,
        used: models.iter().map(|m| m.used).max().unwrap_or(0),
        respondents,
        complete,
        models,
        weighted: weight_col.is_some(),
        confidence,
        not_rating_scales,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(min: f64, max: f64, top_box: u32, lower_is_better: bool) -> ScaleInfo {
        let k = f64::from(top_box) - 1.0;
        ScaleInfo {
            min,
            max,
            lower_is_better,
            top: if lower_is_better { min + k } else { max - k },
            top_two_assumed: false,
        }
    }

    #[test]
    fn four_points_with_a_top_two_box_leave_no_middle() {
        let s = scale(1.0, 4.0, 2, false);
        assert_eq!((s.points(), s.top_box()), (4, 2));
        assert_eq!(s.problem(), Some(NotClassified::NoMiddle { points: 4, top_box: 2 }));
        let one = scale(1.0, 4.0, 1, false);
        assert_eq!(one.problem(), None);
        assert_eq!(
            [1.0, 2.0, 3.0, 4.0].map(|x| one.category(x)),
            [Category::Low, Category::Low, Category::Middle, Category::Top]
        );
        assert_eq!(
            scale(1.0, 4.0, 3, false).problem(),
            Some(NotClassified::TopBoxInLowerHalf { points: 4, top_box: 3 })
        );
    }

    #[test]
    fn categories_follow_the_scale_and_its_direction() {
        let five = scale(1.0, 5.0, 2, false);
        assert_eq!(five.problem(), None);
        assert_eq!(
            [1.0, 2.0, 3.0, 4.0, 5.0].map(|x| five.category(x)),
            [
                Category::Low,
                Category::Low,
                Category::Middle,
                Category::Top,
                Category::Top
            ]
        );
        let effort = scale(1.0, 5.0, 2, true);
        assert_eq!((effort.top, effort.top_box()), (2.0, 2));
        assert_eq!(
            [1.0, 2.0, 3.0, 4.0, 5.0].map(|x| effort.category(x)),
            [
                Category::Top,
                Category::Top,
                Category::Middle,
                Category::Low,
                Category::Low
            ]
        );
        let ten = scale(1.0, 10.0, 2, false);
        assert_eq!(
            (1..=10).map(|x| ten.category(f64::from(x))).collect::<Vec<_>>(),
            [
                [Category::Low; 5].as_slice(),
                &[Category::Middle; 3],
                &[Category::Top; 2]
            ]
            .concat()
        );
    }

    #[test]
    fn classes_need_significance_and_the_expected_sign() {
        let c = |estimate: f64| Coefficient {
            estimate,
            se: 1.0,
            low: estimate - 1.96,
            high: estimate + 1.96,
        };
        assert_eq!(Class::of(&c(5.0), &c(5.0)), Class::Performance);
        assert_eq!(Class::of(&c(5.0), &c(1.0)), Class::Basic);
        assert_eq!(Class::of(&c(1.0), &c(5.0)), Class::Excitement);
        assert_eq!(Class::of(&c(1.0), &c(-1.0)), Class::NoEffect);
        assert_eq!(Class::of(&c(5.0), &c(-5.0)), Class::UnexpectedSign);
        assert_eq!(Class::of(&c(-5.0), &c(1.0)), Class::UnexpectedSign);
    }

    /// The finished patterns are every pattern added, in the order each was first
    /// met, each with its own sums (keys of two words, many repeated, some
    /// differing in the second word only: the hash mixes every word); with a full
    /// table, the rest follow as the respondents written out, in their order.
    #[test]
    fn patterns_keep_the_order_they_were_first_met() {
        for cap in [usize::MAX, 100, 0] {
            let mut patterns = Patterns::new(2, cap);
            let mut first_met: Vec<[u64; 2]> = Vec::new();
            let mut spilled: Vec<([u64; 2], (u64, f64))> = Vec::new();
            let mut expected: std::collections::HashMap<[u64; 2], (u64, f64)> = Default::default();
            let mut x: u64 = 12345;
            for i in 0..20_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let key = [(x >> 60) & 3, (x >> 40) % 997];
                let (y, w) = ((i % 11) as f64, 1.0 + (i % 3) as f64);
                patterns.add(&key, y, w).expect("added");
                if !expected.contains_key(&key) && first_met.len() >= cap {
                    spilled.push((key, (1, w * y)));
                    continue;
                }
                let e = expected.entry(key).or_insert_with(|| {
                    first_met.push(key);
                    (0, 0.0)
                });
                (e.0, e.1) = (e.0 + 1, e.1 + w * y);
            }
            let known = patterns.finished().expect("finished");
            let mut got: Vec<([u64; 2], (u64, f64))> = Vec::new();
            known.each(|k, s| got.push(([k[0], k[1]], (s.n, s.swy))));
            known.checked().expect("read back");
            let mut want: Vec<([u64; 2], (u64, f64))> = first_met.iter().map(|k| (*k, expected[k])).collect();
            want.extend(spilled);
            assert_eq!(got, want, "cap {cap}");
            assert_eq!(known.spilled.is_some(), cap < 997 * 4);
        }
    }

    /// Respondents written out when the table of patterns is full give the same
    /// analysis as patterns held in memory: the same bases and classes, and
    /// estimates equal up to the order of the additions (weights, answers left
    /// out, a lower-is-better scale, two batches).
    #[test]
    fn a_full_table_writes_respondents_out_and_changes_no_estimate() {
        use csi_plugin_sdk::arrow_array::{ArrayRef, Float64Array};
        use csi_plugin_sdk::arrow_schema::{DataType, Field, Schema};
        use std::sync::Arc;
        let field = |name: &str, meta: &[(&str, &str)]| {
            Field::new(name, DataType::Float64, true).with_metadata(
                meta.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<std::collections::HashMap<String, String>>(),
            )
        };
        let answer = |node: &'static str, direction: &'static str| {
            field(
                node,
                &[
                    ("csi.role", "answer"),
                    ("csi.node", node),
                    ("csi.min", "1"),
                    ("csi.max", "10"),
                    ("csi.top", if direction == "lower_is_better" { "2" } else { "9" }),
                    ("csi.direction", direction),
                ],
            )
        };
        let schema = Arc::new(Schema::new(vec![
            field("w", &[("csi.role", "weight")]),
            answer("overall", "higher_is_better"),
            answer("a", "higher_is_better"),
            answer("b", "higher_is_better"),
            answer("c", "lower_is_better"),
        ]));
        let mut x: u64 = 99;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        let mut batches = Vec::new();
        for _ in 0..2 {
            let n = 3000;
            let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::new(); 5];
            for _ in 0..n {
                let base = 1 + next(10) as i64;
                let near = |d: u64| (base + d as i64 - 2).clamp(1, 10) as f64;
                let (a, b, c) = (near(next(5)), near(next(5)), 11.0 - near(next(5)));
                let overall = ((a + b + (11.0 - c)) / 3.0 + next(3) as f64 - 1.0)
                    .round()
                    .clamp(1.0, 10.0);
                cols[0].push(Some(0.5 + next(100) as f64 / 50.0));
                cols[1].push(Some(overall));
                cols[2].push(Some(a));
                cols[3].push((next(20) != 0).then_some(b));
                cols[4].push(Some(c));
            }
            let arrays: Vec<ArrayRef> = cols
                .into_iter()
                .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
                .collect();
            batches.push(RecordBatch::try_new(schema.clone(), arrays).expect("batch"));
        }
        let run = |cap: usize| {
            let rows = batches.iter().cloned().map(Ok);
            penalty_reward_keeping(schema.clone(), rows, "overall", &["a", "b", "c"], &[], 0.95, cap).expect("analysed")
        };
        let whole = run(usize::MAX);
        for cap in [0, 1, 40] {
            let spilled = run(cap);
            assert_eq!(
                (spilled.used, spilled.respondents, spilled.complete),
                (whole.used, whole.respondents, whole.complete)
            );
            assert!(whole.used > 5000, "{}", whole.used);
            for (s, w) in spilled.indicators.iter().zip(&whole.indicators) {
                assert_eq!((s.counts, s.class()), (w.counts, w.class()), "{}", w.node);
                let (sp, sr) = s.estimate.clone().expect("estimated");
                let (wp, wr) = w.estimate.clone().expect("estimated");
                for (got, want) in [
                    (sp.estimate, wp.estimate),
                    (sp.se, wp.se),
                    (sr.estimate, wr.estimate),
                    (sr.se, wr.se),
                ] {
                    assert!(
                        (got - want).abs() <= 1e-10 * want.abs().max(1e-3),
                        "{}: {got} vs {want} (cap {cap})",
                        w.node
                    );
                }
            }
        }
    }

    #[test]
    fn the_inverse_is_the_inverse_and_collinearity_is_caught() {
        let a = vec![vec![4.0, 2.0, 0.6], vec![2.0, 5.0, 1.0], vec![0.6, 1.0, 3.0]];
        let inv = spd_inverse(&a).unwrap();
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let p: f64 = row.iter().zip(&inv).map(|(x, r)| x * r[j]).sum();
                assert!((p - f64::from(u8::from(i == j))).abs() < 1e-14, "{i}{j}: {p}");
            }
        }
        // Low + top = intercept (no middle answers): singular, whatever the weights' scale.
        for scale in [1.0, 1e-9] {
            let s = vec![
                vec![10.0 * scale, 4.0 * scale, 6.0 * scale],
                vec![4.0 * scale, 4.0 * scale, 0.0],
                vec![6.0 * scale, 0.0, 6.0 * scale],
            ];
            assert!(spd_inverse(&s).is_none());
        }
    }
}
