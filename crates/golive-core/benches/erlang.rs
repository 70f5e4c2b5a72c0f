//! Benchmark placeholder until the module lands.
fn main() {}
