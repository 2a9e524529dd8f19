//! Spreading independent per-message work (reading, hashing and scanning message files) over
//! the machine's cores, for the bulk operations: reconstruct and import.

use crate::error::{Result, StoreError};

/// Most threads one bulk operation uses.
const MAX_THREADS: usize = 8;

/// `f` applied to every item, on up to [`MAX_THREADS`] scoped threads (one per core), results
/// in the items' order; the first error (in that order) is returned. Items are dealt out
/// interleaved (item i to thread i mod n), which evens out big and small messages.
pub(crate) fn map_ordered<T, R, F>(items: &[T], f: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS);
    if threads == 1 || items.len() < 2 * threads {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    let shares: Vec<Vec<Result<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || items.iter().skip(t).step_by(threads).map(f).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut shares: Vec<_> = shares.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        let next = shares[i % threads]
            .next()
            .ok_or_else(|| StoreError::corrupt("bulk operation", "a worker thread stopped"))?;
        out.push(next?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_and_the_first_error_wins() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = map_ordered(&items, |i| Ok(i * 2)).unwrap();
        assert_eq!(doubled, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
        let failed = map_ordered(&items, |i| match i {
            500 | 700 => Err(StoreError::NoSuchMessage(*i)),
            _ => Ok(*i),
        });
        assert!(matches!(failed, Err(StoreError::NoSuchMessage(500))));
        let few: Vec<u32> = vec![1, 2];
        assert_eq!(map_ordered(&few, |i| Ok(*i)).unwrap(), [1, 2]);
    }
}
