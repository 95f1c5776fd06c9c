//! The cache of decoded traces: one small JSON file per trace holding its [`TraceSummary`],
//! keyed by the trace's canonical path and invalidated when its size or modification time
//! changes (or when this format's version changes); and, once a command needed the samples
//! themselves (`requests`, `export`), the trace's power column as Parquet under the same name
//! ([`crate::store`]).
//!
//! Where: `--cache-dir DIR`, else `$ENERGY_STATS_CACHE`, else `$XDG_CACHE_HOME/cpython-energy/energy-stats`,
//! else `~/.cache/cpython-energy/energy-stats`. A cache that cannot be read or written is
//! ignored (the trace is decoded again), never an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::trace::TraceSummary;

/// Bumped whenever what a cache entry means changes.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
    summary: TraceSummary,
}

/// The default cache directory (see the module doc).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ENERGY_STATS_CACHE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("cpython-energy").join("energy-stats"))
}

/// A cache rooted at one directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What a cache entry belongs to: a trace's canonical path, size and modification time.
#[derive(Debug)]
pub struct Key {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
}

impl Key {
    /// The trace's canonical path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes when the key was taken.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Its modification time (ns since the epoch) when the key was taken.
    pub fn mtime_ns(&self) -> u128 {
        self.mtime_ns
    }

    /// The key of `trace` as it is now (`None` when it cannot be looked up). Taken before the
    /// trace is decoded, so that a trace rewritten meanwhile is not cached under its new size
    /// and time with the old contents.
    pub fn of(trace: &Path) -> Option<Key> {
        let path = trace.canonicalize().ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        let mtime_ns = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(Key {
            path,
            size: meta.len(),
            mtime_ns,
        })
    }
}

impl Cache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, canonical: &Path) -> PathBuf {
        let h = fnv1a(canonical.as_os_str().as_encoded_bytes());
        self.dir.join(format!("{h:016x}.json"))
    }

    /// Where the trace `k`'s power column is kept as Parquet ([`crate::store`]): beside its
    /// summary, under the same name.
    pub fn column_path(&self, k: &Key) -> PathBuf {
        self.entry_path(&k.path).with_extension("parquet")
    }

    /// The cached summary of the trace `k`, if there is one for its size and mtime.
    pub fn get(&self, k: &Key) -> Option<TraceSummary> {
        let text = std::fs::read(self.entry_path(&k.path)).ok()?;
        let e: Entry = serde_json::from_slice(&text).ok()?;
        (e.version == VERSION && e.path == k.path && e.size == k.size && e.mtime_ns == k.mtime_ns)
            .then_some(e.summary)
    }

    /// Store the summary of the trace `k` (best effort).
    pub fn put(&self, k: &Key, summary: &TraceSummary) {
        let dest = self.entry_path(&k.path);
        let entry = Entry {
            version: VERSION,
            path: k.path.clone(),
            size: k.size,
            mtime_ns: k.mtime_ns,
            summary: summary.clone(),
        };
        let _ = std::fs::create_dir_all(&self.dir).and_then(|()| {
            let mut f = records::AtomicFile::create(&dest)?;
            f.write_all(&serde_json::to_vec(&entry).map_err(std::io::Error::other)?)?;
            f.commit().map(|_| ())
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A one-sample trace and an empty cache in a fresh directory (kept alive by the first).
    fn trace_and_cache() -> (tempfile::TempDir, PathBuf, Cache) {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("a.csv");
        std::fs::write(&trace, ",MAIN_POWER\n0,1\n").unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        (dir, trace, cache)
    }

    #[test]
    fn entry_is_invalidated_when_the_trace_changes() {
        let (_dir, trace, cache) = trace_and_cache();
        let key = || Key::of(&trace).unwrap();
        assert!(cache.get(&key()).is_none());
        let s = crate::trace::read_trace(&trace).unwrap();
        cache.put(&key(), &s);
        assert_eq!(cache.get(&key()), Some(s));
        std::fs::write(&trace, ",MAIN_POWER\n0,1\n1,3\n").unwrap();
        assert!(cache.get(&key()).is_none());
    }

    #[test]
    fn a_trace_rewritten_while_it_is_decoded_is_not_cached_under_its_new_key() {
        let (_dir, trace, cache) = trace_and_cache();
        let before = Key::of(&trace).unwrap();
        let old = crate::trace::read_trace(&trace).unwrap();
        std::fs::write(&trace, ",MAIN_POWER\n0,1\n1,3\n").unwrap();
        cache.put(&before, &old);
        assert!(cache.get(&Key::of(&trace).unwrap()).is_none());
    }
}
