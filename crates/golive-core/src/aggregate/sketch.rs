//! Resolution durations kept as counts per logarithmic bucket, so that
//! figures maintained as events are applied (the board's since-go-live
//! window) give MTTR quantiles without keeping or sorting every sample.
//!
//! A duration of `x` ms (`x >= 1`) falls in bucket `k = ⌈ln x / ln γ⌉`,
//! covering `(γ^(k-1), γ^k]`, with `γ = (1 + α) / (1 − α)`; 0 ms has a
//! bucket of its own. A quantile is found by rank (the exact nearest-rank
//! definition picks the bucket holding the ⌈p·n⌉-th smallest sample) and
//! reported as the bucket's value `2γ^k / (γ + 1)`, which is within `α` of
//! every duration in the bucket, relative. `α` is 0.9 %, so a reported
//! quantile is within 1 % of the exact one even with the rounding of the
//! logarithm at a bucket's edge. The mean is exact (an integer sum). Only
//! buckets holding a duration are stored, so memory follows the spread of
//! the durations, not their number: at most ~1,400 buckets (a year), a few
//! for a tally of a few tickets.
//! Counts can be taken out again (a fact dated after the window's end),
//! which is what makes "running total minus the facts at or after now"
//! work for quantiles too.

/// Relative accuracy of a bucket's value.
const ALPHA: f64 = 0.009;

/// Durations in milliseconds: count, exact sum and bucket counts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Sketch {
    count: u64,
    sum_ms: i128,
    /// (bucket, count) for the buckets holding any duration, by bucket:
    /// bucket 0 holds 0 ms, bucket `k + 1` holds `(γ^(k-1), γ^k]`. Sparse,
    /// so a tally of a few durations (one site's application) stays a few
    /// bytes, and a busy one at most ~1,400 entries (a year in ms).
    buckets: Vec<(u16, u32)>,
}

fn gamma() -> f64 {
    (1.0 + ALPHA) / (1.0 - ALPHA)
}

impl Sketch {
    pub(super) fn count(&self) -> u64 {
        self.count
    }

    pub(super) fn sum_ms(&self) -> i128 {
        self.sum_ms
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) one duration. A negative
    /// duration counts as 0, as a resolution before its opening cannot be.
    pub(super) fn record(&mut self, ms: i64, sign: i64) {
        let ms = ms.max(0);
        self.count = self.count.saturating_add_signed(sign);
        self.sum_ms += i128::from(sign) * i128::from(ms);
        let bucket = bucket_of(ms);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(at) => {
                let count = &mut self.buckets[at].1;
                *count = count.saturating_add_signed(sign as i32);
                if *count == 0 {
                    self.buckets.remove(at);
                }
            }
            Err(at) if sign > 0 => self.buckets.insert(at, (bucket, 1)),
            // Taking out what was never added: nothing to take.
            Err(_) => {}
        }
    }

    /// Adds every duration `other` holds.
    pub(super) fn absorb(&mut self, other: &Sketch) {
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        for &(bucket, count) in &other.buckets {
            match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
                Ok(at) => self.buckets[at].1 = self.buckets[at].1.saturating_add(count),
                Err(at) => self.buckets.insert(at, (bucket, count)),
            }
        }
    }

    /// The `rank`-th smallest duration (1-based), to within the bucket's
    /// accuracy, in milliseconds; `None` when empty.
    pub(super) fn rank_ms(&self, rank: u64) -> Option<f64> {
        let &(last, _) = self.buckets.last()?;
        let rank = rank.clamp(1, self.count.max(1));
        let mut seen = 0u64;
        let found = self
            .buckets
            .iter()
            .find(|&&(_, count)| {
                seen += u64::from(count);
                seen >= rank
            })
            .map_or(last, |&(bucket, _)| bucket);
        Some(value_of(found))
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * size_of::<(u16, u32)>()
    }
}

/// The bucket of a duration of `ms` (0 for 0 ms).
fn bucket_of(ms: i64) -> u16 {
    if ms <= 0 {
        return 0;
    }
    let k = ((ms as f64).ln() / gamma().ln()).ceil().max(0.0);
    // i64::MAX ms is bucket ~2,400: far inside a u16.
    (k as u16).saturating_add(1)
}

/// The value a bucket reports: within `α` of every duration in it.
fn value_of(bucket: u16) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let gamma = gamma();
    2.0 * gamma.powi(i32::from(bucket) - 1) / (gamma + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The exact nearest-rank value, as the reports compute it.
    fn exact(samples: &mut [i64], rank: usize) -> i64 {
        samples.sort_unstable();
        samples[rank.clamp(1, samples.len()) - 1]
    }

    proptest! {
        #[test]
        fn quantiles_are_within_one_percent(
            mut samples in prop::collection::vec(
                prop_oneof![Just(0i64), 0i64..100, 0i64..100_000_000, 0i64..40_000_000_000],
                1..400,
            ),
            removed in 0usize..50,
        ) {
            let mut sketch = Sketch::default();
            for &ms in &samples {
                sketch.record(ms, 1);
            }
            // Taking some out leaves the sketch of the rest.
            let removed = removed.min(samples.len() - 1);
            for ms in samples.drain(..removed) {
                sketch.record(ms, -1);
            }
            let n = samples.len();
            prop_assert_eq!(sketch.count(), n as u64);
            prop_assert_eq!(sketch.sum_ms(), samples.iter().map(|&s| i128::from(s)).sum::<i128>());
            for rank in [1, n.div_ceil(2), (9 * n).div_ceil(10), n] {
                let want = exact(&mut samples, rank) as f64;
                let got = sketch.rank_ms(rank as u64).unwrap_or(f64::NAN);
                prop_assert!(
                    (got - want).abs() <= 0.01 * want,
                    "rank {} of {}: {} for {}", rank, n, got, want
                );
            }
        }
    }

    #[test]
    fn empty_and_zero() {
        let mut sketch = Sketch::default();
        assert_eq!(sketch.rank_ms(1), None);
        sketch.record(0, 1);
        assert_eq!(sketch.rank_ms(1), Some(0.0));
        sketch.record(0, -1);
        assert_eq!((sketch.count(), sketch.rank_ms(1)), (0, None));
    }
}
