//! The worker pool of registry transfers (pull's downloads, push's uploads): up to N threads take items in the
//! order given, each result lands at its item's index, and the first failure raises `cancel`, which the work
//! itself watches (its readers fail once it is up), so the other transfers stop early. That first failure is the
//! one returned; the others are its consequence.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Runs `work(i)` for every `i` of `order` (indexes below `len`) on up to `workers` threads; the result holds each
/// item's outcome at its index, `None` for indexes not in `order`.
pub(crate) fn run<T: Send>(
    workers: usize,
    len: usize,
    order: &[usize],
    cancel: &AtomicBool,
    work: impl Fn(usize) -> Result<T> + Sync,
) -> Result<Vec<Option<T>>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..len).map(|_| None).collect());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers.min(order.len()) {
            s.spawn(|| {
                while !cancel.load(Ordering::Relaxed) {
                    let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    match work(i) {
                        Ok(t) => results.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(t),
                        Err(e) => {
                            if !cancel.swap(true, Ordering::Relaxed) {
                                *first_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(e);
    }
    Ok(results.into_inner().unwrap_or_else(PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_by_index_and_first_failure_cancels() {
        let cancel = AtomicBool::new(false);
        let out = run(3, 5, &[4, 2, 0], &cancel, |i| Ok(i * 10)).unwrap();
        assert_eq!(out, [Some(0), None, Some(20), None, Some(40)]);
        let cancel = AtomicBool::new(false);
        let done = AtomicUsize::new(0);
        let e = run(1, 4, &[0, 1, 2, 3], &cancel, |i| {
            done.fetch_add(1, Ordering::Relaxed);
            if i == 1 {
                Err(Error::Runtime("layer 1 failed".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "layer 1 failed");
        assert!(cancel.load(Ordering::Relaxed));
        assert_eq!(done.load(Ordering::Relaxed), 2, "nothing starts after a failure");
    }
}
