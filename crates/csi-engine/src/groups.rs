//! Random groups for the bootstrap of derived importance.
//!
//! A respondent-level bootstrap needs every respondent in memory, or one pass per
//! replicate. Instead each respondent falls, by a hash of its position in the
//! wave's data, into one of [`BOOTSTRAP_GROUPS`] random groups, and the engine
//! keeps the co-moments of the importance pairs per group: one extra update per
//! respondent, whatever the number of replicates, mergeable like every other sum.
//! A replicate then draws groups with replacement and merges their sums (the
//! bootstrap of random groups, whose groups are independent subsamples): the SDK's
//! `Statistics::bootstrap` does that, with a seed derived from the wave id.
//!
//! The assignment is `splitmix64(position) mod G`, with `position` the 0-based
//! index of the respondent among those passed on by the data checks, in file
//! order. It is documented so that an independent implementation (the golden
//! script) reproduces the same groups.

/// Number of random groups per wave.
pub const BOOTSTRAP_GROUPS: u64 = 100;

/// One step of the SplitMix64 generator (Steele, Lea & Flood 2014): a 64-bit mix
/// of `x`, used both to assign groups and, in the SDK, to draw replicates.
pub use csi_stats::resample::splitmix64;

/// The random group of the respondent at `position`.
pub fn group_of(position: u64) -> usize {
    (splitmix64(position) % BOOTSTRAP_GROUPS) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // The first outputs of SplitMix64 seeded with 0 (state advanced by the
        // golden ratio before mixing), as published with the algorithm.
        let mut state = 0u64;
        let mut next = || {
            let out = super::splitmix64(state);
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            out
        };
        assert_eq!(next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn groups_are_roughly_even() {
        let mut counts = vec![0u32; super::BOOTSTRAP_GROUPS as usize];
        for p in 0..100_000 {
            counts[super::group_of(p)] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    }
}
