//! Shared by the golive-core benchmarks: the deterministic generator their
//! synthetic go-lives are drawn from, so every run sees the same data.

#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};

/// A seeded generator, so every run sees the same data.
pub struct Rng(StdRng);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(StdRng::seed_from_u64(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.random()
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
