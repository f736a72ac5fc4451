//! `rapport-bench fsync`: the raw durability ceiling of a file system.
//!
//! Overwrites 4 KiB blocks of a preallocated 4 MiB file (like a database's
//! recycled write-ahead log) and calls `sync_data()` (fdatasync) after each
//! write. A server that commits each request on its own cannot beat this
//! rate; one that batches commits (group commit) can.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::report;

const BLOCK: usize = 4096;
const BLOCKS: u64 = 1024;

pub fn run(dir: &Path, length: Duration, json: bool) -> anyhow::Result<()> {
    let scratch = Scratch(dir.join(format!("rapport-bench-fsync-{}.tmp", std::process::id())));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&scratch.0)
        .with_context(|| format!("creating {}", scratch.0.display()))?;
    preallocate(&file)?;

    let mut block = [0u8; BLOCK];
    let mut syncs: u64 = 0;
    let started = Instant::now();
    while started.elapsed() < length {
        // Change the data each round so nothing can skip an identical write.
        block[..8].copy_from_slice(&syncs.to_le_bytes());
        file.write_all_at(&block, (syncs % BLOCKS) * BLOCK as u64)?;
        file.sync_data()?;
        syncs += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_second = syncs as f64 / seconds;
    let mean_us = seconds * 1e6 / syncs.max(1) as f64;

    let summary = format!(
        "fsync: {syncs} x (4 KiB write + fdatasync) in {seconds:.1} s on {}: {per_second:.0}/s, mean {mean_us:.0} µs",
        dir.display()
    );
    let report = json!({
        "dir": dir.display().to_string(),
        "seconds": seconds,
        "fsyncs": syncs,
        "fsyncs_per_s": per_second,
        "mean_us": mean_us,
    });
    report::print(json, "", &summary, &report);
    Ok(())
}

/// Writes the whole file once and syncs it, so the loop measures overwrites
/// of allocated blocks rather than file growth.
fn preallocate(file: &File) -> anyhow::Result<()> {
    let zeros = [0u8; BLOCK];
    for index in 0..BLOCKS {
        file.write_all_at(&zeros, index * BLOCK as u64)?;
    }
    file.sync_all()?;
    Ok(())
}

/// The scratch file, removed when the probe ends (or fails).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
