//! Reproducible resampling: the SplitMix64 generator, the FNV-1a hash that seeds a
//! wave's draws from its id, and percentile intervals of bootstrap replicates.
//!
//! Every draw is a documented function of a seed and a counter, so that an
//! independent implementation (a golden script) reproduces the same resamples and
//! a published wave keeps its intervals byte for byte, on any number of threads.

/// The SplitMix64 output for counter `x` (Steele, Lea & Flood 2014): the state
/// `x` advanced by the golden-ratio increment, then mixed.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bit (the seed of a wave's draws from its id).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// How many times each of `n` respondents is drawn in bootstrap replicate
/// `replicate` (n draws with replacement): draw `k` (0-based) picks respondent
/// `⌊splitmix64(seed + replicate·n + k) · n / 2⁶⁴⌋` (wrapping arithmetic; the
/// multiplication in 128 bits).
pub fn resample_counts(n: usize, seed: u64, replicate: u64) -> Vec<u32> {
    let mut counts = vec![0u32; n];
    let start = seed.wrapping_add(replicate.wrapping_mul(n as u64));
    for k in 0..n as u64 {
        let r = splitmix64(start.wrapping_add(k));
        counts[((u128::from(r) * n as u128) >> 64) as usize] += 1;
    }
    counts
}

/// The `q` quantile of `xs` (sorted in place), by linear interpolation between
/// order statistics (numpy's default, R's type 7). `None` for no values.
pub fn quantile(xs: &mut [f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let h = (xs.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    Some(xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo]))
}

/// A bootstrap summary of one figure: the replicates' standard deviation (with
/// n − 1) and their percentile interval at `confidence`. `None` with fewer than
/// two replicates.
pub fn bootstrap_summary(values: &[f64], confidence: f64) -> Option<BootstrapSummary> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let se = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let mut sorted = values.to_vec();
    let a = (1.0 - confidence) / 2.0;
    Some(BootstrapSummary {
        se,
        low: quantile(&mut sorted, a)?,
        high: quantile(&mut sorted, 1.0 - a)?,
        replicates: n,
    })
}

/// See [`bootstrap_summary`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSummary {
    /// The standard deviation of the replicates (the bootstrap standard error).
    pub se: f64,
    /// The lower end of the percentile interval.
    pub low: f64,
    /// The upper end.
    pub high: f64,
    /// How many replicates it is built on.
    pub replicates: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_cover_every_respondent_in_proportion() {
        let counts = resample_counts(1000, 7, 3);
        assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), 1000);
        // About 1 − 1/e of the respondents drawn at least once.
        let drawn = counts.iter().filter(|&&c| c > 0).count();
        assert!((600..=660).contains(&drawn), "{drawn}");
        assert_ne!(counts, resample_counts(1000, 7, 4));
        assert_eq!(counts, resample_counts(1000, 7, 3));
    }

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        // numpy.quantile([1, 2, 3, 4], [0.25, 0.5, 0.9]) = 1.75, 2.5, 3.7
        let mut xs = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&mut xs, 0.25), Some(1.75));
        assert_eq!(quantile(&mut xs, 0.5), Some(2.5));
        assert!((quantile(&mut xs, 0.9).unwrap() - 3.7).abs() < 1e-15);
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}
