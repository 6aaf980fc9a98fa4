//! The parameters of the synthetic population: who the respondents are and how
//! satisfied they are with what. They encode the patterns of the 2000 telecom case
//! in seed 000 and the trends the showcase narrative describes:
//!
//! * the index near 67 in 2000, rising about a point a wave;
//! * high-spend users least satisfied (≈ 63), prepaid-card users most (≈ 69),
//!   ordinary contract users in between (≈ 68);
//! * the longer a customer has been on the network, the lower the satisfaction;
//! * billing (seed 000, Table 1): everybody dislikes the bill credit limit, ordinary
//!   users doubt billing accuracy, high-spend users are unhappy with everything but
//!   payment methods, prepaid users with both prepaid services;
//! * performance above expectation almost everywhere, with clear shortfalls on the
//!   bill credit limit, complaint resolution and hotline waiting time;
//! * overall satisfaction driven by network, complaint handling and billing, which
//!   also perform worst ("improve first"); the importance of promotions falls wave
//!   after wave (0.20 → 0.12 → 0.05).
//!
//! Parameters are looked up by the ids of the study; an id the profile does not
//! know gets neutral values, so the generator also runs on other studies.
//!
//! Ratings are modelled on the raw 1–10 scale: one raw point is 100/9 ≈ 11.1 index
//! points.

/// Customer types, in the order of the `customer_type` segment's codes.
pub const ORDINARY: usize = 0;
/// High-spend users (高额话费用户).
pub const HIGH_SPEND: usize = 1;
/// Prepaid-card users (储值卡用户).
pub const PREPAID: usize = 2;

/// Respondents per wave, by wave position (the last value repeats).
pub const SAMPLE_SIZE: [usize; 3] = [3012, 3047, 3106];

/// Sample shares of the customer types (high-spend users are over-sampled).
pub const TYPE_SAMPLE: [f64; 3] = [0.60, 0.15, 0.25];

/// Population shares of the customer types by wave position, the targets of the
/// post-stratification weights: prepaid cards keep gaining share.
pub const TYPE_POPULATION: [[f64; 3]; 3] = [[0.58, 0.12, 0.30], [0.55, 0.12, 0.33], [0.52, 0.12, 0.36]];

/// Sample shares of the regions (the provincial capital is over-sampled).
pub const REGION_SAMPLE: [f64; 3] = [0.40, 0.33, 0.27];

/// Population shares of the regions.
pub const REGION_POPULATION: [f64; 3] = [0.34, 0.36, 0.30];

/// First year anybody in the customer base joined.
pub const FIRST_JOIN_YEAR: i32 = 1988;

/// Mean respondent latent rating (1–10 scale) by wave position, before type,
/// tenure and region effects.
pub const LEVEL: [f64; 3] = [7.10, 7.16, 7.23];

/// Standard deviation of the respondent latent rating.
pub const SD_RESPONDENT: f64 = 0.65;
/// Standard deviation of a respondent's category-specific deviation.
pub const SD_CATEGORY: f64 = 1.00;
/// Standard deviation of the item-level noise of a performance rating.
pub const SD_ITEM: f64 = 0.90;
/// Standard deviation of the item-level noise of an expectation rating.
pub const SD_EXPECTATION: f64 = 0.90;
/// How much of a respondent's latent satisfaction shows in their expectations.
pub const EXPECTATION_TRACKS_LATENT: f64 = 0.30;
/// Standard deviation of the noise of overall satisfaction around the weighted
/// category scores.
pub const SD_OVERALL: f64 = 0.55;
/// Standard deviation of recommendation intention around overall satisfaction.
pub const SD_RECOMMEND: f64 = 0.85;

/// Share of don't-know (code 0), refused (99) and not-asked (−99) answers on the
/// 1–10 items, applied after empty cells.
pub const CODE_SHARES: [f64; 3] = [0.012, 0.005, 0.003];

/// Effect of the customer type on the latent rating, by wave position: high-spend
/// users do not share in the improvement of the later waves.
pub fn type_effect(t: usize, wave: usize) -> f64 {
    match t {
        HIGH_SPEND => [-0.31, -0.35, -0.40][wave.min(2)],
        PREPAID => 0.12,
        _ => 0.0,
    }
}

/// Effect of tenure (years on the network at fieldwork): newer customers are more
/// satisfied, about a quarter of an index point less per year.
pub fn tenure_effect(years: i32) -> f64 {
    0.07 - 0.026 * f64::from(years)
}

/// Effect of the region (by code position): the capital is the most demanding.
pub fn region_effect(r: usize) -> f64 {
    match r {
        0 => -0.06,
        2 => 0.05,
        _ => 0.0,
    }
}

/// Relative frequency of joining in `year` for customer type `t`, interviewed in
/// `wave_year`. Contract customers joined throughout, high-spend users early,
/// prepaid cards exist from 1997 on; the fieldwork year counts ten months.
pub fn join_weight(t: usize, year: i32, wave_year: i32) -> f64 {
    let since = f64::from(year - FIRST_JOIN_YEAR);
    let w = match t {
        HIGH_SPEND => (3.0 - 0.2 * since).max(0.4),
        PREPAID if year < 1997 => 0.0,
        PREPAID => (1.0 + f64::from(year - 1997)).min(4.0),
        _ => (0.6 + 0.25 * since).min(2.6),
    };
    if year == wave_year {
        w * 0.8
    } else {
        w
    }
}

/// Effect of a first-level category on its latent score, for customer type `t`.
pub fn category_effect(category: &str, t: usize) -> f64 {
    let base = match category {
        "network" => -0.30,
        "outlets" => 0.35,
        "hotline" => 0.05,
        "complaint" => -0.40,
        "billing" => -0.15,
        "promotions" => 0.15,
        "vas" => 0.30,
        "brand" => 0.40,
        _ => 0.0,
    };
    let by_type = match (category, t) {
        ("billing", HIGH_SPEND) => -0.20,
        ("network", PREPAID) => 0.05,
        _ => 0.0,
    };
    base + by_type
}

/// Importance of each first-level category for overall satisfaction, by wave
/// position: the weights of the category latent scores in the overall rating
/// (they sum to 1). Promotions fall 0.20 → 0.12 → 0.05; network, complaint
/// handling and billing gain.
pub fn importance(category: &str, wave: usize) -> f64 {
    let w = wave.min(2);
    let table: [f64; 3] = match category {
        "network" => [0.19, 0.21, 0.23],
        "outlets" => [0.05, 0.05, 0.06],
        "hotline" => [0.09, 0.10, 0.11],
        "complaint" => [0.17, 0.19, 0.21],
        "billing" => [0.17, 0.19, 0.21],
        "promotions" => [0.20, 0.12, 0.05],
        "vas" => [0.04, 0.04, 0.04],
        "brand" => [0.09, 0.10, 0.09],
        _ => [0.0; 3],
    };
    table[w]
}

/// Effect of an indicator on its rating relative to its category, for customer
/// type `t`.
pub fn indicator_effect(id: &str, t: usize) -> f64 {
    let base = match id {
        "net_coverage" => 0.10,
        "net_indoor" => -0.35,
        "net_connect" => 0.15,
        "net_clarity" => 0.20,
        "net_drop" => -0.10,
        "outlet_location" => 0.10,
        "outlet_environment" => 0.30,
        "outlet_attitude" => 0.10,
        "outlet_speed" => -0.30,
        "hotline_reach" => -0.25,
        "hotline_attitude" => 0.25,
        "complaint_channel" => 0.20,
        "complaint_attitude" => 0.30,
        "complaint_speed" => -0.20,
        "complaint_result" => -0.35,
        "bill_tariff" => 0.20,
        "bill_limit" => -0.55,
        "bill_statement" => 0.30,
        "bill_payment" => 0.45,
        "prepaid_purchase" => -0.50,
        "prepaid_balance" => -0.45,
        "promo_fit" => -0.10,
        "promo_info" => 0.10,
        "vas_variety" => 0.10,
        "vas_sms" => 0.30,
        "vas_price" => -0.30,
        "brand_trust" => 0.10,
        "brand_strength" => 0.35,
        "brand_innovation" => 0.10,
        "brand_care" => -0.30,
        _ => 0.0,
    };
    let by_type = match (id, t) {
        ("bill_accuracy", ORDINARY) => -0.45,
        ("bill_accuracy", HIGH_SPEND) => -0.40,
        ("bill_accuracy", PREPAID) => -0.20,
        ("bill_tariff", HIGH_SPEND) => -0.40,
        ("bill_limit", HIGH_SPEND) => -0.30,
        ("bill_statement", HIGH_SPEND) => -0.45,
        ("bill_payment", HIGH_SPEND) => 0.25,
        _ => 0.0,
    };
    base + by_type
}

/// Expected minus performed rating of an indicator for customer type `t`, on
/// average (the negative of the gap). Negative almost everywhere (performance
/// above expectation); positive where the case finds shortfalls.
pub fn expectation_shift(id: &str, t: usize) -> f64 {
    let base = match id {
        "bill_limit" => 0.60,
        "complaint_result" => 0.45,
        "complaint_speed" => 0.25,
        "net_indoor" => -0.10,
        "bill_accuracy" => -0.20,
        "prepaid_purchase" => 0.40,
        "prepaid_balance" => 0.35,
        _ => -0.45,
    };
    let by_type = match (id, t) {
        ("bill_accuracy", ORDINARY) => 0.55,
        ("bill_accuracy", HIGH_SPEND) => 0.60,
        ("bill_tariff" | "bill_statement", HIGH_SPEND) => 0.80,
        ("bill_limit", HIGH_SPEND) => 0.20,
        ("bill_payment", HIGH_SPEND) => -0.10,
        // High-spend users expect more everywhere.
        (_, HIGH_SPEND) => 0.20,
        _ => 0.0,
    };
    base + by_type
}

/// Whether customer type `t` is asked about indicator `id`: the prepaid services
/// only of prepaid-card users, statements and payment methods only of contract
/// users.
pub fn applies(id: &str, t: usize) -> bool {
    match id {
        "prepaid_purchase" | "prepaid_balance" => t == PREPAID,
        "bill_statement" | "bill_payment" => t != PREPAID,
        _ => true,
    }
}

/// Share of empty cells of an item, 3–6 % and fixed per column name.
pub fn empty_share(column: &str) -> f64 {
    0.03 + 0.03 * (crate::rng::fnv1a(column) % 1000) as f64 / 1000.0
}

/// How a quantity (a non-rating measure such as minutes) is drawn: log-normal
/// around a median that moves with the respondent's category score.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    /// Median of the experienced value, by wave position.
    pub median: [f64; 3],
    /// Log-scale standard deviation of the experienced value.
    pub sigma: f64,
    /// Change of the log value per raw point of the category score above the
    /// wave mean (negative: the more satisfied, the shorter the wait).
    pub sensitivity: f64,
    /// Median of the expected value.
    pub expected_median: f64,
    /// Log-scale standard deviation of the expected value.
    pub expected_sigma: f64,
    /// Decimals written.
    pub decimals: usize,
    /// Share of "can't remember" answers (the scale's first missing code).
    pub dont_know: f64,
}

/// The quantity model of indicator `id` on a scale `min..max`.
pub fn quantity(id: &str, min: f64, max: f64) -> Quantity {
    match id {
        "hotline_wait" => Quantity {
            median: [5.5, 5.0, 4.6],
            sigma: 0.55,
            sensitivity: -0.18,
            expected_median: 2.5,
            expected_sigma: 0.45,
            decimals: 1,
            dont_know: 0.05,
        },
        "complaint_days" => Quantity {
            median: [5.0, 4.6, 4.3],
            sigma: 0.60,
            sensitivity: -0.20,
            expected_median: 2.5,
            expected_sigma: 0.40,
            decimals: 0,
            dont_know: 0.09,
        },
        _ => {
            let m = min + 0.25 * (max - min);
            Quantity {
                median: [m; 3],
                sigma: 0.5,
                sensitivity: -0.15,
                expected_median: min + 0.15 * (max - min),
                expected_sigma: 0.4,
                decimals: 1,
                dont_know: 0.03,
            }
        }
    }
}
