//! Build script: fingerprints this crate's sources for checkpoints.
//!
//! A checkpoint is the ledger's and the aggregator's memory written out
//! with serde. Any change to those structures (a field added, an index
//! kept differently) makes an older checkpoint unreadable or, worse,
//! readable as something else; a version number bumped by hand would be
//! forgotten once. So the checkpoint format names the exact sources it was
//! written from, and a binary built from any other sources replays the log
//! instead (`golive_core::checkpoint::STATE_ID`).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    collect(Path::new("src"), &mut files);
    files.sort();
    // FNV-1a: a fingerprint against accidents, not against an adversary.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let contents = std::fs::read(&file).unwrap_or_default();
        let name = file.to_string_lossy().replace('\\', "/");
        for byte in name.bytes().chain([0]).chain(contents).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=GOLIVE_CORE_SOURCES={hash:016x}");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}
