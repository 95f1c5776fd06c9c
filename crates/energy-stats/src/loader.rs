//! Reading many traces on every core, through the cache.
//!
//! Decompressing xz is the floor of a first read (about 2 s per study trace on one core), so
//! the files are spread over worker threads, each decoding and parsing one whole file at a
//! time: memory stays at one trace's power column per thread. Results come back in input order.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use procs::Interrupt;

use crate::cache::{Cache, Key};
use crate::trace::{read_trace, TraceError, TraceSummary};

/// Threads and cache for [`load_traces`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Worker threads; 0 = one per available core.
    pub threads: usize,
    /// The cache, or `None` to decode every trace (`--no-cache`).
    pub cache: Option<Cache>,
}

/// Summaries of `paths`, in the same order. Once `interrupt` is set, no worker starts another
/// file; the files not read come back as errors.
pub fn load_traces(
    paths: &[PathBuf],
    opts: &LoadOptions,
    interrupt: &Interrupt,
) -> Vec<Result<TraceSummary, TraceError>> {
    let mut results: Vec<Option<Result<TraceSummary, TraceError>>> = Vec::new();
    results.resize_with(paths.len(), || None);
    // Cached entries first, on this thread: they cost microseconds. The key is taken once,
    // before decoding, and the decoded summary is stored under it.
    let mut todo: Vec<(usize, Option<Key>)> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let key = opts.cache.as_ref().and_then(|_| Key::of(p));
        match opts
            .cache
            .as_ref()
            .zip(key.as_ref())
            .and_then(|(c, k)| c.get(k))
        {
            Some(s) => results[i] = Some(Ok(s)),
            None => todo.push((i, key)),
        }
    }
    let decoded = on_workers(&todo, opts.threads, interrupt, |(i, key)| {
        let r = read_trace(&paths[*i]);
        if let (Ok(summary), Some(cache), Some(key)) = (&r, &opts.cache, key) {
            cache.put(key, summary);
        }
        r
    });
    for ((i, _), r) in todo.iter().zip(decoded) {
        results[*i] = r;
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                Err(TraceError::Io {
                    path: paths[i].clone(),
                    source: std::io::Error::other("worker thread stopped before reading it"),
                })
            })
        })
        .collect()
}

/// `f` over `items` on `threads` workers (0 = one per core), each taking the next item when
/// done with one, so memory holds one item's work per worker; results in input order, `None`
/// for the items not started because `interrupt` was set.
pub(crate) fn on_workers<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    interrupt: &Interrupt,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                if interrupt.is_set() {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(k) else { break };
                let r = f(item);
                if let Ok(mut guard) = results.lock() {
                    guard[k] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_interrupt_stops_the_workers_before_the_next_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| dir.path().join(format!("{i}.csv")))
            .collect();
        for p in &paths {
            std::fs::write(p, ",MAIN_POWER\n0,2\n").unwrap();
        }
        let opts = LoadOptions::default();
        let calm = load_traces(&paths, &opts, &Interrupt::new());
        assert!(calm.iter().all(Result::is_ok));
        let stopped = Interrupt::new();
        stopped.trigger();
        let cut = load_traces(&paths, &opts, &stopped);
        assert_eq!(cut.len(), 3);
        assert!(cut.iter().all(Result::is_err));
    }
}
