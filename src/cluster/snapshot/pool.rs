//! Work spread over the cores: snapshot files are independent, and so are the items of a
//! large list. Results always come back in input order, so output never depends on timing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How many threads to read with: the cores, at most 8 (`REMEDY_THREADS` overrides).
pub fn threads() -> usize {
    std::env::var("REMEDY_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 8)
}

/// `f` over `items` on up to `threads` threads, results in order.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().ok().flatten())
        .collect()
}

/// Items made one by one on this thread (`produce` calls its argument for each; reading an
/// archive is sequential) and worked on by `threads` others, results in production order.
/// At most a few items wait at a time, so memory stays bounded by what is being worked on.
pub fn stream<T: Send, R: Send>(
    threads: usize,
    produce: impl FnOnce(&mut dyn FnMut(T)),
    work: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.max(1);
    let (tx, rx) = mpsc::sync_channel::<(usize, T)>(threads * 2);
    let rx = Mutex::new(rx);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((i, item)) = job else { break };
                    let r = work(item);
                    if let Ok(mut out) = results.lock() {
                        out.push((i, r));
                    }
                }
            });
        }
        let mut n = 0;
        produce(&mut |item| {
            let _ = tx.send((n, item));
            n += 1;
        });
        drop(tx);
    });
    let mut out = results.into_inner().unwrap_or_default();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(
            super::map(&items, 4, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        let out = super::stream(
            3,
            |emit| {
                for i in 0..500 {
                    emit(i)
                }
            },
            |i: usize| i + 1,
        );
        assert_eq!(out, (1..=500).collect::<Vec<_>>());
    }
}
