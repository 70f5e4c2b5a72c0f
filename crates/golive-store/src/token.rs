//! Bearer tokens: generation and hashing.
//!
//! A token is 32 random bytes in hex behind a `glv_` prefix (so it is
//! recognisable in a leaked config). Only its SHA-256 is stored: with 256
//! bits of entropy a slow password hash buys nothing, and a fast one keeps
//! authentication off the hot path's budget.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random token, shown to its owner once.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("glv_{}", hex::encode(bytes))
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b);
        assert!(a.starts_with("glv_") && a.len() == 68);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
        assert_eq!(super::hash(&a).len(), 64);
    }
}
